"""What the admin page tests share: users with chosen permissions, and catalog rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from nzila_ops.models import BackupRecord


@pytest.fixture
def staff_client(db: Any) -> Callable[..., Client]:
    """A logged-in staff user (not a superuser) holding exactly the permissions named
    ("nzila_ops.view_backuprecord", ...)."""

    def make(*permissions: str, username: str = "operator") -> Client:
        user = User.objects.create_user(username, password="x", is_staff=True)
        for name in permissions:
            app_label, codename = name.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client = Client()
        client.force_login(user)
        return client

    return make


def make_backup(
    name: str = "default-20261127T000000Z-hourly-abcd",
    status: str = "succeeded",
    started_at: datetime | None = None,
    **fields: Any,
) -> BackupRecord:
    started = started_at or timezone.now() - timedelta(minutes=5)
    values: dict[str, Any] = {
        "database_alias": "default",
        "engine": "postgresql",
        "finished_at": started + timedelta(seconds=3),
        "stored_size": 1_234_567,
        "raw_size": 4_000_000,
        "encryption_recipients": ["sha256:30aaeaa119562585"],
        **fields,
    }
    return BackupRecord.objects.create(name=name, status=status, started_at=started, **values)
