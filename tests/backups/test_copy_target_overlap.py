"""A copy target must be another place than the primary and the other targets: the same
directory or bucket prefix under another name (or one inside the other) is refused, since the
target's retention would delete the primary's backups and a "copy" would protect nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError

S3 = "s3://nzila-backups"
MOTO = "endpoint_url=http://127.0.0.1:5000"


def configure(settings: Any, storages: dict[str, Any], targets: list[str]) -> None:
    settings.NZILA_OPS = {
        "STORAGES": storages,
        "BACKUP_STORAGE": "default",
        "COPY_STORAGES": targets,
    }


@pytest.mark.parametrize(
    ("default", "secondary"),
    [
        ("file://{d}", "file://{d}/"),
        ("file://{d}", "file://{d}/./"),
        ("file://{d}", "file://{d}/sub"),
        ("file://{d}/sub", "file://{d}"),
        ("file://{d}", "file://{link}"),
        (f"{S3}/prod", f"{S3}/prod/"),
        (f"{S3}/prod?region=us-east-1", f"{S3}/prod?region=eu-west-1"),
        (f"{S3}/prod", f"{S3}/prod/dr"),
        (f"{S3}", f"{S3}/dr"),
        (f"{S3}/prod?{MOTO}", f"{S3}/prod?{MOTO}/"),
    ],
)
def test_a_target_at_or_inside_the_primarys_location_is_refused(
    settings: Any, tmp_path: Path, default: str, secondary: str
) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "d")
    where = {"d": tmp_path / "d", "link": tmp_path / "link"}
    configure(
        settings,
        {"default": default.format(**where), "secondary": secondary.format(**where)},
        ["secondary"],
    )
    with pytest.raises(ConfigurationError, match=r"'secondary'.*'default'") as caught:
        get_config()
    assert "\n" not in str(caught.value)


def test_two_targets_at_one_location_are_refused(settings: Any, tmp_path: Path) -> None:
    configure(
        settings,
        {
            "default": f"file://{tmp_path}/primary",
            "dr1": f"{S3}/dr",
            "dr2": {"BACKEND": "nzila_ops.backups.storages.s3.S3Storage",
                    "OPTIONS": {"bucket": "nzila-backups", "prefix": "/dr/"}},
        },
        ["dr1", "dr2"],
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"'dr2'.*'dr1'"):
        get_config()


@pytest.mark.parametrize(
    ("default", "secondary"),
    [
        ("file://{d}/a", "file://{d}/ab"),
        (f"{S3}/prod", f"{S3}/production"),
        (f"{S3}/prod", "s3://nzila-backups-dr/prod"),
        (f"{S3}/prod", f"{S3}/prod?{MOTO}"),
        ("file://{d}/prod", f"{S3}/prod"),
    ],
)
def test_other_locations_are_accepted(
    settings: Any, tmp_path: Path, default: str, secondary: str
) -> None:
    configure(
        settings,
        {"default": default.format(d=tmp_path), "secondary": secondary.format(d=tmp_path)},
        ["secondary"],
    )
    assert get_config()["COPY_STORAGES"] == ["secondary"]


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    first=st.text(alphabet="ab/.~", max_size=12),
    second=st.text(alphabet="ab/.~", max_size=12),
    scheme=st.sampled_from(["file:///tmp/nzila-fuzz/", "s3://nzila-fuzz/"]),
)
def test_any_pair_of_locations_is_accepted_or_refused_in_one_line(
    first: str, second: str, scheme: str
) -> None:
    storages = {"default": scheme + first, "secondary": scheme + second}
    with override_settings(NZILA_OPS={"STORAGES": storages, "COPY_STORAGES": ["secondary"]}):
        try:
            get_config()
        except ConfigurationError as exc:
            assert "\n" not in str(exc)
