"""The baseline of ``bench_copy.py``: what ``aws s3 cp s3://a/key s3://b/key`` does through a
stream, with boto3 alone: get_object's body handed to upload_fileobj (multipart, the same part
size as ours). Prints the seconds of the copy itself as JSON.

Usage: python _copy_baseline.py ENDPOINT SRC_BUCKET SRC_KEY DST_REGION DST_BUCKET DST_KEY PART_MB
CONCURRENCY
"""

from __future__ import annotations

import json
import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig


def main() -> None:
    endpoint, src_bucket, src_key, dst_region, dst_bucket, dst_key, part_mb, concurrency = sys.argv[
        1:9
    ]
    part = int(part_mb) << 20
    config = TransferConfig(
        multipart_threshold=part, multipart_chunksize=part, max_concurrency=int(concurrency)
    )
    source = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    target = boto3.client("s3", endpoint_url=endpoint, region_name=dst_region)
    # Timed once the clients exist, as copy_backups' own time is (copy_missing made its two).
    started = time.monotonic()
    body = source.get_object(Bucket=src_bucket, Key=src_key)["Body"]
    target.upload_fileobj(body, dst_bucket, dst_key, Config=config)
    print(json.dumps({"seconds": time.monotonic() - started}))


if __name__ == "__main__":
    main()
