"""Backup storages as settings: ``file:///path`` and ``s3://bucket/prefix?...`` URLs, or dicts
naming a backend, turned into one shape (``{"BACKEND": dotted.path, "OPTIONS": {...}}``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from nzila_ops.exceptions import ConfigurationError

FILESYSTEM_STORAGE = "nzila_ops.backups.storages.filesystem.FileSystemStorage"
S3_STORAGE = "nzila_ops.backups.storages.s3.S3Storage"


def storage_from_url(url: str) -> dict[str, Any]:
    """Turn ``file:///path`` or ``s3://bucket/prefix?sse=aws:kms&kms_key_id=...`` into a dict.

    Query parameters become storage options: for S3 ``sse``, ``kms_key_id``, ``region``,
    ``endpoint_url``, ``part_size_mb``...; for a directory ``create`` (true: create it if missing).
    """
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = unquote(parsed.path)
        if not path or parsed.netloc not in ("", "localhost"):
            raise ConfigurationError(
                f"backup storage URL {url!r} must be an absolute path like file:///srv/backups"
            )
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return {"BACKEND": FILESYSTEM_STORAGE, "OPTIONS": {**options, "location": path}}
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigurationError(
                f"backup storage URL {url!r} has no bucket: use s3://bucket/prefix"
            )
        options: dict[str, Any] = {"bucket": parsed.netloc, "prefix": parsed.path.strip("/")}
        for key, values in parse_qs(parsed.query).items():
            options[key] = values[-1]
        return {"BACKEND": S3_STORAGE, "OPTIONS": options}
    raise ConfigurationError(
        f"backup storage URL {url!r} is not supported: use file:///path or s3://bucket/prefix"
    )


def normalise_storages(storages: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(storages, dict):
        raise ConfigurationError("NZILA_OPS['STORAGES'] must be a dict of name -> URL or dict")
    result: dict[str, dict[str, Any]] = {}
    for name, spec in storages.items():
        if isinstance(spec, str):
            result[name] = storage_from_url(spec)
        elif isinstance(spec, dict) and isinstance(spec.get("BACKEND"), str):
            result[name] = {"BACKEND": spec["BACKEND"], "OPTIONS": dict(spec.get("OPTIONS", {}))}
        else:
            raise ConfigurationError(
                f"NZILA_OPS['STORAGES'][{name!r}] must be a URL or a dict with a BACKEND"
            )
    return result
