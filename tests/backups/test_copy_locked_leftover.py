"""A copy whose manifest cannot be written to an object-locked target: the copied object cannot
be deleted (the lock refuses it), and that is said, in the log and in the copy's error, naming
the key and the lock's date, instead of being swallowed.

The target is a moto server enforcing IAM, where the copy's credentials may write objects but
not manifests: the storage failing between the two writes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from nzila_ops.backups.copies import CopyFailed, copy_backup
from nzila_ops.models import BackupCopy
from tests.backups.copies_support import land_backup
from tests.support.s3 import moto_server_process

pytestmark = [pytest.mark.s3, pytest.mark.django_db(transaction=True)]

BUCKET = "nzila-locked-target"
NO_MANIFESTS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*.manifest.json",
        },
    ],
}


@pytest.fixture
def locked_target(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bucket with Object Lock; AWS_* set to a user who cannot put manifests."""
    setup = 4  # create_bucket, create_user, put_user_policy, create_access_key
    with moto_server_process(INITIAL_NO_AUTH_ACTION_COUNT=str(setup)) as endpoint:
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1",
                 "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                 "aws_secret_access_key": "x"}  # fmt: skip
        boto3.client("s3", **admin).create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="copier")
        iam.put_user_policy(
            UserName="copier", PolicyName="p", PolicyDocument=json.dumps(NO_MANIFESTS)
        )
        key = iam.create_access_key(UserName="copier")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield endpoint


def test_a_locked_object_left_by_a_failed_manifest_write_is_reported_not_swallowed(
    ops_settings: Any, locked_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = locked_target
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {
            **ops_settings.NZILA_OPS["STORAGES"],
            "locked": f"s3://{BUCKET}/dr?region=us-east-1&endpoint_url={endpoint}"
            "&object_lock=governance&max_attempts=1",
        },
        "COPY_STORAGES": ["locked"],
    }
    manifest = land_backup(size=1 << 20)
    key = f"dr/{manifest['object']['key']}"

    with (
        caplog.at_level("WARNING", logger="nzila_ops.backups"),
        pytest.raises(CopyFailed, match="access denied") as failed,
    ):
        copy_backup(manifest["name"], "locked")

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    (warning,) = [w for w in warnings if manifest["object"]["key"] in w]
    assert "locked until 20" in warning and "cannot be deleted" in warning
    copy = BackupCopy.objects.get(backup__name=manifest["name"], storage_name="locked")
    assert copy.status == "failed"
    assert "access denied" in copy.error
    assert f"the copied object {manifest['object']['key']} stays" in copy.error
    assert "locked until 20" in copy.error and "cannot be deleted" in copy.error
    assert "stays" in str(failed.value)
    # And it is really still there (only by version: it is listed by no manifest).
    # The copier's keys, given explicitly: boto3's default session keeps the first it found.
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    versions = client.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
    assert [v["Key"] for v in versions] == [key]
