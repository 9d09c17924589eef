"""Shared set-up of the admin restore tests: the cache on real Redis, users with and without the
restore permission, a real backup to restore."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client

from nzila_ops.models import BackupRecord

#: This file's own Redis database (the other tests use 9-12 and 15); keys carry a per-test
#: prefix and only those are deleted afterwards.
REDIS_DB = 13
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
ADDRESS = "10.20.30.40"


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[str]:
    """Django's cache on real Redis, as in production: the progress and the claim cross it."""
    prefix = f"h3test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def redis_ttl(prefix: str, key: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.ttl(f"{prefix}:1:{key}"))
    finally:
        client.close()


def make_user(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def client_for(user: User) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(user)
    return client


@pytest.fixture
def operator(transactional_db: Any) -> User:
    """Staff who may view the catalog and restore."""
    return make_user("olga", "view_backuprecord", "restore_backup")


@pytest.fixture
def staff_only(transactional_db: Any) -> User:
    """Staff who may view the catalog, without the restore permission."""
    return make_user("sam", "view_backuprecord")


def take_backup() -> BackupRecord:
    call_command("backup_database", stdout=StringIO())
    return BackupRecord.objects.filter(status="succeeded").latest("started_at")


def restore_url(record: BackupRecord) -> str:
    return f"/admin/nzila_ops/backuprecord/{record.pk}/restore/"


def progress_url(request_id: str, json: bool = False) -> str:
    return f"/admin/nzila_ops/backuprecord/restore-progress/{request_id}/" + (
        "json/" if json else ""
    )
