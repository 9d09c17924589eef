from __future__ import annotations

import shutil

from nzila_ops.health.base import Check, Warn


class MigrationsCheck(Check):
    """No unapplied migrations on a database (option ``alias``); a warning, not critical."""

    name = "migrations"
    critical = False

    def check(self) -> str | None:
        from django.db import connections
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connections[self.options.get("alias", "default")])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:3])
            raise Warn(f"{len(plan)} unapplied migration(s): {names}")
        return None


class DiskSpaceCheck(Check):
    """Free space on a path (option ``path``, default "/"): warning under ``warn_percent``
    (default 15), failing under ``fail_percent`` (default 5)."""

    name = "disk"

    def check(self) -> str | None:
        usage = shutil.disk_usage(self.options.get("path", "/"))
        free = usage.free * 100 / usage.total
        if free < float(self.options.get("fail_percent", 5)):
            raise RuntimeError(f"{free:.1f} % free")
        if free < float(self.options.get("warn_percent", 15)):
            raise Warn(f"{free:.1f} % free")
        return f"{free:.1f} % free"
