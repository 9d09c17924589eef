"""The Grafana dashboard shipped in the package, and manage.py export_grafana_dashboard."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.observability.grafana import (
    DASHBOARD_UID,
    dashboard,
    dashboard_json,
    provisioning_example,
)
from tests.support.host import MANAGE_PY, example_env

SHIPPED = Path(__file__).resolve().parents[2] / "nzila_ops/observability/grafana/dashboard.json"
# The operations plan's nine panels, in order.
PANEL_TITLES = [
    "API response time p50/p95/p99",
    "Average response time",
    "Uptime (last 5 min)",
    "Requests/s by status",
    "5xx error rate",
    "Database query performance",
    "Redis (cache) hit rate",
    "Celery queue",
    "Business metrics",
]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def panel(title: str) -> dict[str, Any]:
    (found,) = [p for p in dashboard()["panels"] if p["title"] == title]
    return found


def threshold_values(title: str) -> list[float]:
    steps = panel(title)["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [step["value"] for step in steps if step["value"] is not None]


def test_the_dashboard_has_the_plans_nine_panels_and_refreshes_every_30_s() -> None:
    board = dashboard()
    assert [p["title"] for p in board["panels"]] == PANEL_TITLES
    assert board["refresh"] == "30s"
    assert (board["uid"], board["title"]) == (DASHBOARD_UID, "Nzila Export Hub operations")
    assert len({p["id"] for p in board["panels"]}) == 9


def test_the_panels_fit_grafanas_24_column_grid_without_overlapping() -> None:
    cells: dict[tuple[int, int], str] = {}
    for p in dashboard()["panels"]:
        grid = p["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, p["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_the_datasource_is_a_variable_not_an_import_placeholder() -> None:
    board = dashboard()
    # Import placeholders break file provisioning: Grafana never fills them in there.
    assert "${DS_" not in dashboard_json() and "__inputs" not in board
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "datasource"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    for p in board["panels"]:
        assert p["datasource"] == DATASOURCE, p["title"]
        assert p["targets"], p["title"]
        for target in p["targets"]:
            assert target["datasource"] == DATASOURCE, p["title"]


def test_every_target_has_an_expression_over_nzila_metrics() -> None:
    for p in dashboard()["panels"]:
        ref_ids = [t["refId"] for t in p["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), p["title"]
        for target in p["targets"]:
            assert target["expr"].strip(), p["title"]
            assert re.search(r"nzila_[a-z_]+", target["expr"]), target["expr"]


def test_units_are_set_for_what_each_panel_shows() -> None:
    units = {p["title"]: p["fieldConfig"]["defaults"]["unit"] for p in dashboard()["panels"]}
    assert units == {
        "API response time p50/p95/p99": "s",
        "Average response time": "s",
        "Uptime (last 5 min)": "percent",
        "Requests/s by status": "reqps",
        "5xx error rate": "percent",
        "Database query performance": "s",
        "Redis (cache) hit rate": "percent",
        "Celery queue": "short",
        "Business metrics": "short",
    }


def test_the_performance_baselines_are_the_thresholds() -> None:
    # p95 API response < 500 ms, database queries < 100 ms (seconds: the panels' unit).
    assert threshold_values("API response time p50/p95/p99") == [0.5]
    assert threshold_values("Database query performance") == [0.1]
    assert "histogram_quantile(0.95," in panel("Database query performance")["targets"][0]["expr"]
    assert threshold_values("Uptime (last 5 min)") == [99, 99.9]


def test_only_the_5xx_numerator_falls_back_to_zero() -> None:
    # A fallback anywhere else could hide a metric that is missing.
    fallbacks = [
        (p["title"], t["expr"])
        for p in dashboard()["panels"]
        for t in p["targets"]
        if "vector(" in t["expr"]
    ]
    assert [title for title, _ in fallbacks] == ["5xx error rate"]
    assert 'status=~"5.."}[5m])) or vector(0))' in fallbacks[0][1]


def test_the_provisioning_examples_are_grafana_provisioning_files() -> None:
    dashboards = yaml.safe_load(provisioning_example("dashboards"))
    assert dashboards["apiVersion"] == 1
    (provider,) = dashboards["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    datasources = yaml.safe_load(provisioning_example("datasources"))
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["url"].startswith("http")
    with pytest.raises(ValueError, match="no provisioning example for 'alerts'"):
        provisioning_example("alerts")


def test_export_prints_exactly_the_shipped_json() -> None:
    out = StringIO()
    call_command("export_grafana_dashboard", stdout=out)
    assert out.getvalue() == SHIPPED.read_text()
    assert json.loads(out.getvalue())["uid"] == DASHBOARD_UID


def test_export_writes_exactly_the_shipped_json_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "nzila-ops.json"
    target.write_text("an older dashboard")
    out = StringIO()
    call_command("export_grafana_dashboard", "--output", str(target), stdout=out)
    assert target.read_bytes() == SHIPPED.read_bytes()
    assert out.getvalue() == f"wrote the Grafana dashboard to {target}\n"
    # Grafana runs as its own user: the file is readable by it, and nothing else was left.
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nzila-ops.json"]


def test_an_output_in_a_missing_directory_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "nzila-ops.json"
    with pytest.raises(CommandError) as raised:
        call_command("export_grafana_dashboard", "--output", str(target), stdout=StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value) == f"cannot write {target}: No such file or directory"
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_a_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("export_grafana_dashboard", "--output", str(tmp_path), stdout=StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value) == f"cannot write {tmp_path}: it is a directory"
    assert list(tmp_path.iterdir()) == []


def run_export(
    directory: Path, *args: str, as_nobody: bool = False, file_size_limit: int | None = None
) -> subprocess.CompletedProcess:
    """manage.py export_grafana_dashboard ARGS in its own process, as an unprivileged user or
    under a file size limit (writes past it fail with EFBIG, as on a full disk)."""
    env = example_env(DATABASE_URL=f"sqlite:///{directory / 'host.sqlite3'}")
    command = [sys.executable, str(MANAGE_PY), "export_grafana_dashboard", *args]
    if as_nobody:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]

    def limit() -> None:
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, preexec_fn=limit
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory that another user of the machine can enter (pytest's tmp_path is 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="nzila-grafana-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def python_runs_as_nobody() -> bool:
    if os.geteuid() != 0:
        return False
    probe = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable]
    try:
        return (
            subprocess.run([*probe, "-c", "pass"], capture_output=True, timeout=60).returncode == 0
        )
    except OSError:
        return False


def test_a_directory_grafana_owns_keeps_its_old_file_whole(shared_dir: Path) -> None:
    # Root runs the command as nobody: the directory is root's and read-only to nobody.
    if not python_runs_as_nobody():
        pytest.skip("needs root, setpriv and a Python that the user nobody may run")
    target = shared_dir / "nzila-ops.json"
    target.write_text("the dashboard Grafana loads now")
    result = run_export(shared_dir, "--output", str(target), as_nobody=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"CommandError: cannot write {target}: Permission denied"
    )
    assert target.read_text() == "the dashboard Grafana loads now"
    assert sorted(p.name for p in shared_dir.iterdir()) == ["nzila-ops.json"]


def test_a_write_that_fails_halfway_leaves_the_old_file_and_no_temporary_one(
    shared_dir: Path,
) -> None:
    # The dashboard is larger than the limit: the write fails partway, as on a full disk.
    assert len(SHIPPED.read_bytes()) > 4096
    target = shared_dir / "nzila-ops.json"
    target.write_text("the dashboard Grafana loads now")
    result = run_export(shared_dir, "--output", str(target), file_size_limit=4096)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == f"CommandError: cannot write {target}: File too large"
    assert result.stdout == ""
    assert target.read_text() == "the dashboard Grafana loads now"
    assert sorted(p.name for p in shared_dir.iterdir()) == ["nzila-ops.json"]


def test_a_device_is_refused_not_replaced_by_a_file() -> None:
    # As root, a rename onto /dev/null would replace the device node with a regular file.
    with pytest.raises(CommandError) as raised:
        call_command("export_grafana_dashboard", "--output", "/dev/null", stdout=StringIO())
    assert str(raised.value) == "cannot write /dev/null: it is not a regular file"
    assert Path("/dev/null").is_char_device()


def test_a_symbolic_link_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "releases").mkdir()
    real = tmp_path / "releases" / "nzila-ops.json"
    real.write_text("older")
    link = tmp_path / "nzila-ops.json"
    link.symlink_to(real)
    call_command("export_grafana_dashboard", "--output", str(link), stdout=StringIO())
    assert link.is_symlink()
    assert real.read_bytes() == SHIPPED.read_bytes()


@pytest.mark.parametrize("name", ["", "dashboards/", "dashboards/.", "dashboards/.."])
def test_a_name_that_can_only_be_a_directory_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "dashboards").mkdir()
    output = f"{tmp_path}/{name}" if name else ""
    with pytest.raises(CommandError) as raised:
        call_command("export_grafana_dashboard", "--output", output, stdout=StringIO())
    assert str(raised.value) == f"--output {output!r} is not a file name"
    assert [p.name for p in tmp_path.iterdir()] == ["dashboards"]
    assert list((tmp_path / "dashboards").iterdir()) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(
        st.text(max_size=60),
        st.sampled_from(["", "\x00", "a\x00b", "/", ".", "x/.", "x" * 5000, "\udc80", "a\nb"]),
    ).filter(lambda v: ".." not in v)
)
def test_a_hostile_output_name_is_refused_or_written_never_a_crash(value: str) -> None:
    # Under a directory that does not exist nothing can be written: every name is refused, in
    # one line. (".." is left out so that no name can climb out of the scratch directory.)
    scratch = Path(tempfile.mkdtemp(prefix="nzila-grafana-fuzz-"))
    try:
        with pytest.raises(CommandError) as raised:
            call_command(
                "export_grafana_dashboard", "--output", f"{scratch}/missing/{value}",
                stdout=StringIO(),
            )  # fmt: skip
        assert raised.value.returncode == 2
        assert len(str(raised.value).splitlines()) == 1
        assert list(scratch.iterdir()) == []
    finally:
        shutil.rmtree(scratch)
