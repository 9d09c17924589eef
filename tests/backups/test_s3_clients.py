"""S3 storages share botocore's loaded service data, never credentials: each storage made
resolves its own (keys rotated since the last storage was made are the ones it uses)."""

from __future__ import annotations

import pytest

from nzila_ops.backups.storages.s3 import S3Storage
from nzila_ops.exceptions import ConfigurationError, StorageError

pytestmark = pytest.mark.s3


def test_storages_share_the_service_model_but_each_resolves_its_credentials(
    aws_env: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = S3Storage("default", bucket=s3_bucket, region="us-east-1")
    first.write_bytes("a.txt", b"first")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "rotated")
    second = S3Storage("secondary", bucket=s3_bucket, region="eu-west-1")
    assert second.read_bytes("a.txt") == b"first"
    assert first.client.meta.service_model._service_description is (
        second.client.meta.service_model._service_description
    )
    credentials = {
        storage.name: storage.client._request_signer._credentials.access_key
        for storage in (first, second)
    }
    assert credentials == {"default": "testing", "secondary": "rotated"}


def test_a_storage_made_after_the_endpoint_changed_uses_the_new_one(
    aws_env: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    S3Storage("default", bucket=s3_bucket).write_bytes("b.txt", b"there")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    down = S3Storage("default", bucket=s3_bucket, max_attempts=1, connect_timeout=1)
    with pytest.raises(StorageError):
        down.read_bytes("b.txt")


def test_an_unknown_profile_still_fails_in_one_line(aws_env: str) -> None:
    storage = S3Storage("dr", bucket="any", profile="nzila-no-such-profile")
    with pytest.raises(ConfigurationError, match="no AWS profile 'nzila-no-such-profile'"):
        storage.client  # noqa: B018
