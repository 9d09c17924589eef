"""System check W005: a multiprocess metrics directory that is set but missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from nzila_ops.checks import check_metrics_multiprocess_dir


def ids(monkeypatch: pytest.MonkeyPatch, value: str | None) -> list[str]:
    if value is None:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    else:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", value)
    return [message.id for message in check_metrics_multiprocess_dir()]


def test_a_missing_multiprocess_directory_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert ids(monkeypatch, str(tmp_path / "gone")) == ["nzila_ops.W005"]
    (tmp_path / "a-file").write_text("")
    assert ids(monkeypatch, str(tmp_path / "a-file")) == ["nzila_ops.W005"]


def test_an_existing_directory_or_none_is_fine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert ids(monkeypatch, str(tmp_path)) == []
    assert ids(monkeypatch, None) == []
