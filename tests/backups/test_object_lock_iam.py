"""The IAM policies of docs/backups.md, as written there, on a moto server that enforces IAM: the
app's policy for a locked bucket lets backups be written, locked, checked and expired, and no
delete marker be placed; the restore operator's reads and keeps its history, nothing more.

moto evaluates the actions and resources of a policy. It authorises PutObjectRetention as
PutObject, so the statement bounding retention (its condition) is not proved here; deletes with
and without a version, reads of versions, writes outside _history/ are."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from nzila_ops.backups.storages.s3 import S3Storage
from nzila_ops.exceptions import ConfigurationError, StorageError
from tests.support.s3 import moto_server_process

pytestmark = pytest.mark.s3

DOCS = Path(__file__).resolve().parents[2] / "docs" / "backups.md"
BUCKET = "nzila-iam-test"
MB = 1 << 20


def documented_policy(heading: str) -> dict[str, Any]:
    """The first JSON block after ``heading`` in docs/backups.md, for the test bucket."""
    text = DOCS.read_text()
    after = text[text.index(heading) :]
    block = re.search(r"```json\n(.*?)```", after, flags=re.DOTALL)
    assert block, f"no policy after {heading!r}"
    return json.loads(block.group(1).replace("nzila-backups", BUCKET))


@pytest.fixture
def iam_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server enforcing IAM after the set-up's 7 requests, two users with the documented
    policies, and an AWS credentials file with one profile each."""
    import boto3

    setup = 7  # create_bucket, then 3 requests per user
    with moto_server_process(INITIAL_NO_AUTH_ACTION_COUNT=str(setup)) as endpoint:
        admin = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key": "x",
        }
        boto3.client("s3", **admin).create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        iam = boto3.client("iam", **admin)
        profiles = []
        for user, heading in (
            ("app", "**The app, bucket with Object Lock**"),
            ("operator", "**The restore operator**"),
        ):
            iam.create_user(UserName=user)
            iam.put_user_policy(
                UserName=user,
                PolicyName="backups",
                PolicyDocument=json.dumps(documented_policy(heading)),
            )
            key = iam.create_access_key(UserName=user)["AccessKey"]
            profiles.append(
                f"[{user}]\naws_access_key_id = {key['AccessKeyId']}\n"
                f"aws_secret_access_key = {key['SecretAccessKey']}\n"
            )
        credentials = tmp_path / "credentials"
        credentials.write_text("\n".join(profiles))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        yield endpoint


def storage(endpoint: str, profile: str, **options: Any) -> S3Storage:
    return S3Storage(
        profile,
        bucket=BUCKET,
        prefix="prod",
        endpoint_url=endpoint,
        region="us-east-1",
        part_size_mb=5,
        profile=profile,
        **options,
    )


@pytest.mark.parametrize("mode", ["governance", "compliance"])
def test_the_documented_app_policy_writes_locks_checks_and_expires_but_never_hides(
    iam_server: str, settings: Any, mode: str
) -> None:
    app = storage(iam_server, "app", object_lock=mode)
    app.check()
    app.check_immutability()
    writer = app.open_writer("default/a.bin")
    writer.write(b"x" * (11 * MB))
    writer.commit()
    app.write_bytes("default/a.manifest.json", b"{}")
    until = app.lock_until("default/a.bin", writer.version_id)
    assert until is not None
    with app.open_reader("default/a.bin", writer.version_id) as stream:
        assert len(stream.read()) == 11 * MB
    assert sorted(app.list_keys("default/")) == ["default/a.bin", "default/a.manifest.json"]

    # Credentials stolen from the app: a delete marker (s3:DeleteObject) is refused...
    with pytest.raises(ClientError, match="AccessDenied"):
        app.client.delete_object(Bucket=BUCKET, Key="prod/default/a.bin")
    # ...and so is the delete of the locked version (by the lock, whatever the policy).
    with pytest.raises(StorageError, match="locked until"):
        app.delete("default/a.bin")
    if mode == "compliance":
        # Asking to bypass the lock changes nothing in compliance mode. In governance mode
        # only IAM refuses it (the policy grants no s3:BypassGovernanceRetention), and moto
        # does not check that permission: there the refusal is AWS's, not proved here.
        with pytest.raises(ClientError, match="AccessDenied"):
            app.client.delete_object(
                Bucket=BUCKET, Key="prod/default/a.bin", VersionId=writer.version_id,
                BypassGovernanceRetention=True,
            )  # fmt: skip
        with app.open_reader("default/a.bin", writer.version_id) as stream:
            assert len(stream.read()) == 11 * MB

    # What retention deletes: versions whose lock is over (no minimum age, no margin here).
    settings.NZILA_OPS = {"RETENTION": {"MIN_AGE_MINUTES": 0}}
    expiring = storage(iam_server, "app", object_lock=mode, lock_margin_days=0)
    expiring.write_bytes("default/old.manifest.json", b"{}")
    expiring.delete("default/old.manifest.json")
    assert not expiring.exists("default/old.manifest.json")


def test_the_documented_operator_policy_reads_and_keeps_history_only(iam_server: str) -> None:
    app = storage(iam_server, "app", object_lock="governance")
    app.write_bytes("default/a.manifest.json", b'{"name": "a"}')
    operator = storage(iam_server, "operator")
    assert operator.read_bytes("default/a.manifest.json") == b'{"name": "a"}'
    assert list(operator.list_keys("default/")) == ["default/a.manifest.json"]
    operator.write_bytes("_history/restores/20261127T104000Z-0a0a.json", b"{}")
    with pytest.raises(StorageError, match="access denied"):
        operator.write_bytes("default/a.manifest.json", b"{}")
    with pytest.raises(StorageError, match="access denied"):
        operator.delete("default/a.manifest.json")
    with pytest.raises(StorageError, match="access denied"):
        operator.check()  # it may not write a probe: the operator never takes backups


def test_an_unknown_profile_is_one_clear_line(iam_server: str) -> None:
    with pytest.raises(ConfigurationError, match="no AWS profile 'nzila-dr'"):
        storage(iam_server, "nzila-dr").check()
