from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.checks import run_checks
from pyrage import x25519

from nzila_ops.conf import DEFAULTS, get_config
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.storage_urls import FILESYSTEM_STORAGE, S3_STORAGE, storage_from_url

RECIPIENT = str(x25519.Identity.generate().to_public())


def test_file_url_becomes_a_filesystem_storage() -> None:
    assert storage_from_url("file:///srv/backups") == {
        "BACKEND": FILESYSTEM_STORAGE,
        "OPTIONS": {"location": "/srv/backups"},
    }


def test_s3_url_carries_bucket_prefix_and_options() -> None:
    spec = storage_from_url("s3://acme/nzila/prod?sse=aws:kms&kms_key_id=alias/b&part_size_mb=16")
    assert spec == {
        "BACKEND": S3_STORAGE,
        "OPTIONS": {
            "bucket": "acme",
            "prefix": "nzila/prod",
            "sse": "aws:kms",
            "kms_key_id": "alias/b",
            "part_size_mb": "16",
        },
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "is not supported"),
        ("s3:///prefix", "has no bucket"),
        ("file://host/path", "must be an absolute path"),
    ],
)
def test_bad_storage_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        storage_from_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://acme/p?endpoint=http://x", "invalid options: got an unexpected keyword argument"),
        ("s3://acme/p?part_size_mb=8MB", "invalid options: invalid literal for int()"),
    ],
)
def test_a_typo_in_a_storage_url_option_is_a_configuration_error(
    settings: Any, url: str, message: str
) -> None:
    from nzila_ops.backups.storages import get_storage

    settings.NZILA_OPS = {"STORAGES": {"default": url}}
    with pytest.raises(ConfigurationError, match=re.escape(f"backup storage 'default': {message}")):
        get_storage()
    assert "nzila_ops.E002" in check_ids(settings, {"STORAGES": {"default": url}})


def test_user_settings_merge_over_defaults_and_recipients_may_be_a_string(settings: Any) -> None:
    settings.NZILA_OPS = {"AGE_RECIPIENTS": "age1a, age1b", "STORAGES": {"default": "file:///x"}}
    config = get_config()
    assert config["AGE_RECIPIENTS"] == ["age1a", "age1b"]
    assert config["COMPRESSION"] == "zstd" and config["RTO_TARGET_SECONDS"] == 3600


def test_a_section_given_in_part_is_completed_with_its_defaults(settings: Any) -> None:
    settings.NZILA_OPS = {"RETENTION": {"DAILY": 30}, "UPTIMEROBOT": {"API_KEY": "u1-x"}}
    config = get_config()
    assert config["RETENTION"] == {**DEFAULTS["RETENTION"], "DAILY": 30}
    assert config["UPTIMEROBOT"] == {**DEFAULTS["UPTIMEROBOT"], "API_KEY": "u1-x"}
    settings.NZILA_OPS = {"UPTIMEROBOT": {"APIKEY": "u1-x"}}
    with pytest.raises(ConfigurationError, match=r"unknown NZILA_OPS\['UPTIMEROBOT'\] setting"):
        get_config()


def test_override_settings_is_seen_at_once(settings: Any) -> None:
    settings.NZILA_OPS = {"COMPRESSION": "gzip"}
    assert get_config()["COMPRESSION"] == "gzip"
    settings.NZILA_OPS = {"COMPRESSION": "zstd"}
    assert get_config()["COMPRESSION"] == "zstd"


def check_ids(settings: Any, value: dict) -> set[str]:
    settings.NZILA_OPS = value
    return {message.id for message in run_checks() if message.id.startswith("nzila_ops")}


def test_system_checks_report_each_misconfiguration(settings: Any) -> None:
    assert check_ids(settings, {"COMPRESION": "zstd"}) == {"nzila_ops.E001"}
    assert check_ids(settings, {"COMPRESSION": "lz4"}) == {"nzila_ops.E001"}
    assert check_ids(settings, {"STORAGES": {}}) == {"nzila_ops.E002", "nzila_ops.W001"}
    assert check_ids(
        settings, {"STORAGES": {"default": "file:///x"}, "AGE_RECIPIENTS": ["nope"]}
    ) == {"nzila_ops.E003"}
    assert check_ids(settings, {"STORAGES": {"default": "file:///x"}}) == {"nzila_ops.W001"}
    ok = {"STORAGES": {"default": "file:///x"}, "AGE_RECIPIENTS": [RECIPIENT]}
    assert check_ids(settings, ok) == set()
    assert check_ids(settings, {**ok, "RETENTION": {"DAILY": -1}}) == {"nzila_ops.E001"}
    assert check_ids(settings, {**ok, "RETENTION": {"YEARLY": 2}}) == {"nzila_ops.E001"}
    assert check_ids(settings, {**ok, "RETENTION": "7 daily"}) == {"nzila_ops.E001"}
    assert check_ids(settings, {**ok, "UPTIMEROBOT": {"APIKEY": "u1-x"}}) == {"nzila_ops.E001"}
    bad_notifier = {**ok, "NOTIFIERS": ["nzila_ops.notify.email.NoSuchNotifier"]}
    assert check_ids(settings, bad_notifier) == {"nzila_ops.E005"}
    assert check_ids(settings, {**ok, "NOTIFY_ON_SUCCESS": "sometimes"}) == {"nzila_ops.E001"}
    assert check_ids(settings, {**ok, "DRILL_CRON": "weekly"}) == {"nzila_ops.E001"}


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        (["nzila_ops.health.checks.nope.Missing"], "cannot import health check"),
        ([{"CHECK": "nzila_ops.health.checks.cache.CacheCheck", "NAME": "Bad Name"}], "URL-safe"),
        (["nzila_ops.health.checks.cache.CacheCheck"] * 2, "two health checks are named 'cache'"),
        ([{"NAME": "x"}], "needs a CHECK path"),
    ],
)
def test_health_check_misconfiguration_is_a_system_check_error(
    settings: Any, checks: list, message: str
) -> None:
    ok = {"STORAGES": {"default": "file:///x"}, "AGE_RECIPIENTS": [RECIPIENT]}
    settings.NZILA_OPS = {**ok, "HEALTH_CHECKS": checks}
    errors = [m for m in run_checks() if m.id == "nzila_ops.E004"]
    assert len(errors) == 1 and message in errors[0].msg
