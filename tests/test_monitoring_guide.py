"""docs/MONITORING_GUIDE.md names only what exists: commands and their flags, health check names,
/ops/ URLs, settings, metric names, and the dashboard's panels and baselines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import get_commands, load_command_class
from django.urls import Resolver404, resolve

from nzila_ops.conf import DEFAULTS
from nzila_ops.health.registry import get_checks
from nzila_ops.observability.grafana import dashboard

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "docs" / "MONITORING_GUIDE.md").read_text()
PROSE = re.sub(r"^```.*?^```$", "", GUIDE, flags=re.MULTILINE | re.DOTALL)
INLINE_CODE = re.findall(r"`([^`\n]+)`", PROSE)
# Environment variables the guide names, which are not NZILA_OPS settings: each must be one
# that nzila_ops itself reads.
ENVIRONMENT_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR"}
# Upper-case names that are neither: the Django setting holding the others, the WSGI variable of
# the client's address.
OTHER_NAMES = {"NZILA_OPS", "REMOTE_ADDR"}


def setting_names(value: Any) -> Iterator[str]:
    """Every key of DEFAULTS, at any depth (section keys, the keys of their entries)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str):
                yield key
            yield from setting_names(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from setting_names(inner)


def commands_named() -> list[tuple[str, list[str], list[str]]]:
    """(command, its flags, its other words) for each `manage.py <command> ...` of the guide,
    up to the end of its line or inline code span; comments after '#' left out."""
    found = []
    for line in GUIDE.splitlines():
        for span in re.findall(r"manage\.py\s+([^`#\n]*)", line):
            command, *words = span.split() or [""]
            if command.startswith(("<", "…")) or not command:
                continue  # "manage.py …": any command
            flags = [w.split("=")[0] for w in words if w.startswith("--")]
            others = [w for w in words if not w.startswith(("--", "<", "$"))]
            found.append((command.rstrip(":,.)"), flags, others))
    return found


def test_every_command_named_exists_with_its_flags() -> None:
    named = commands_named()
    assert len({command for command, _, _ in named}) >= 10
    commands = get_commands()
    missing = sorted({command for command, _, _ in named} - set(commands))
    assert missing == []
    unknown = []
    for command, flags, _ in named:
        parser = load_command_class(commands[command], command).create_parser("manage.py", command)
        known = set(parser._option_string_actions)
        for action in parser._subparsers._group_actions if parser._subparsers else []:
            for sub in getattr(action, "choices", {}).values():
                known |= set(sub._option_string_actions)
        unknown += [f"{command} {flag}" for flag in flags if flag not in known]
    assert unknown == []


def test_the_checks_named_for_check_health_exist(settings: Any) -> None:
    from nzila_export_hub import settings as example

    # The built-in checks and the example project's own (the original plan's monitors).
    extra = example.NZILA_OPS["HEALTH_EXTRA_CHECKS"]
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_EXTRA_CHECKS": extra}
    names = {check.name for check in get_checks()}
    named = {
        word
        for command, _, words in commands_named()
        if command == "check_health"
        for word in words
        if re.fullmatch(r"[a-z][a-z0-9_]*", word)
    }
    assert {"database", "celery_workers", "backup_freshness"} <= named
    assert sorted(named - names) == []


def test_every_ops_url_resolves_to_its_view() -> None:
    urls = set(re.findall(r"(/ops/[^\s`)'\"|,]*)", GUIDE))
    assert {"/ops/metrics", "/ops/status/", "/ops/health/<name>/"} <= urls
    unresolved = []
    for url in sorted(urls):
        # A placeholder stands for a value: a configured check's name, a webhook's token.
        path = re.sub(r"<[^>]+>", "database", url)
        try:
            match = resolve(path)
        except Resolver404:
            unresolved.append(url)
            continue
        # The catch-alls under /ops/health/ and /ops/webhooks/ answer any path with a 404.
        if match.func.__name__ == "not_found":
            unresolved.append(url)
    assert unresolved == []


def test_every_setting_named_exists() -> None:
    known = set(setting_names(DEFAULTS))
    named = set()
    for span in INLINE_CODE:
        if re.fullmatch(r"[A-Z][A-Z0-9_]+", span):
            named.add(span)
        named |= set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", span))
    sections = re.findall(r"\b([A-Z][A-Z0-9_]+)\[\"([A-Z][A-Z0-9_]+)\"\]", GUIDE)
    assert ("METRICS", "TOKEN") in sections and {"RPO_TARGET_SECONDS", "METRICS"} <= named
    assert sorted(named - known - ENVIRONMENT_VARIABLES - OTHER_NAMES) == []
    for section, key in sections:
        assert isinstance(DEFAULTS.get(section), dict), section
        assert key in DEFAULTS[section], f'{section}["{key}"]'


def test_the_environment_variables_named_are_read_by_nzila_ops() -> None:
    source = "\n".join(p.read_text() for p in (REPO / "nzila_ops").rglob("*.py"))
    for variable in ENVIRONMENT_VARIABLES:
        assert variable in GUIDE and f'"{variable}"' in source, variable


def test_every_metric_named_is_exported_or_on_the_dashboard() -> None:
    corpus = "\n".join(
        path.read_text()
        for root in ("nzila_ops", "example_project")
        for pattern in ("*.py", "*.json")
        for path in (REPO / root).rglob(pattern)
    )
    names = set(re.findall(r"\bnzila_(?!ops\b|export_hub\b)[a-z0-9_]+", GUIDE))
    assert {"nzila_http_request_duration_seconds", "nzila_component_up"} <= names
    # nzila_business_<name>: the example project's METRICS["BUSINESS"] names them.
    from nzila_export_hub import settings as example

    business = {f"nzila_business_{name}" for name in example.NZILA_OPS["METRICS"]["BUSINESS"]}
    assert business, "the example project exports no business metric"
    unknown = []
    for name in sorted(names - business):
        # A name ending in "_" is a family (nzila_business_<name>); a counter's _total, a
        # histogram's _bucket/_sum/_count are added by the client library to its name.
        base = re.sub(r"_(total|bucket|sum|count)$", "", name)
        if name not in corpus and f'"{base}"' not in corpus:
            unknown.append(name)
    assert unknown == []


def guide_panels() -> dict[int, tuple[str, str]]:
    rows = re.findall(r"^\| (\d) \| ([^|]+?) \| [^|]+ \|\s*([^|]*?)\s*\|$", GUIDE, re.MULTILINE)
    return {int(number): (title, baseline) for number, title, baseline in rows}


def test_the_guide_lists_the_dashboards_panels_in_order() -> None:
    titles = [panel["title"] for panel in dashboard()["panels"]]
    assert [title for _, (title, _) in sorted(guide_panels().items())] == titles


@pytest.mark.parametrize(("number", "milliseconds"), [(1, 500), (6, 100)])
def test_the_baselines_are_the_dashboards_thresholds(number: int, milliseconds: int) -> None:
    title, baseline = guide_panels()[number]
    assert f"{milliseconds} ms" in baseline
    (panel,) = [p for p in dashboard()["panels"] if p["title"] == title]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps if s["value"] is not None] == [milliseconds / 1000]
    assert panel["fieldConfig"]["defaults"]["unit"] == "s"
