"""Benchmark ``copy_backups``: copying one 500 MB backup between two moto buckets in two
"regions", against boto3 alone streaming the same object (``aws s3 cp``'s way), in one run.

Usage::

    python bench/bench_copy.py                      # 500 MB, 5 runs of each row
    python bench/bench_copy.py --size-mb 100 --runs 3 --json-out copy.json

moto's S3 server runs as a separate process (so it is not counted in the memory figures); the
backup is random bytes (nothing to gain from compression) with its manifest. Rows, interleaved
and turned each run (a, b, c, then b, c, a, then c, a, b, ...), medians reported:

  a. boto3 alone: get_object's body -> upload_fileobj, 8 MiB parts, 2 parts in flight (the
     same chunking and parallelism as ours)
  b. ours: ``manage.py copy_backups --storage secondary --json`` (a fresh target each run):
     stream (8 MiB read, hashed and uploaded as one part at a time), SHA-256 checked against
     the manifest, commit, manifest written last
  c. boto3 alone with its default 10 parts in flight (for reference: what ``aws s3 cp`` does)

The baseline ("``aws s3 cp``-equivalent") is the streaming copy the AWS CLI makes of a
non-seekable source: s3transfer reads the body part by part and uploads each part from memory.
Row a bounds its concurrency to ours (2 parts uploading, TransferConfig(max_concurrency=2)) so
that the time compares the same work; its memory is s3transfer's own, which still reads up to
``max_in_memory_upload_chunks`` (10) parts ahead, hence its larger peak RSS. Row c is the
CLI's default concurrency (10), for reference. Both run as their own process, measured as ours
is (``_measure.run``: peak RSS of that process, ``ru_maxrss``; moto in its own process for all).

A last row, d, is the floor of ours: ``copy_backups --dry-run`` with the same settings (Django,
the command, both storages' S3 clients made and the target listed, nothing copied), so that the
memory target can be read against what the process holds before a byte moves.

Times are the copy's own, as each row reports it: from the first request (its S3 clients made)
to the completed upload (ours also reads the manifest, checks the target, writes the manifest). The
whole processes' wall times (Python and Django start-up included) are printed too. Targets:
b <= 1.2 x a (medians); the peak RSS of b's process (``ru_maxrss``, the highest of the runs)
<= 100 MB. The ratio of each run's b to the same run's a is printed too: on a loaded machine a
run's rows share its load, so their ratios swing less than the medians of either row.
The report always exits 0 and prints PASS/MISS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure  # sibling modules: bench/ is not a package
from _report import Verdict, print_verdicts, verdicts_json, write_json

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
MANAGE_PY = REPO / "example_project" / "manage.py"
TARGET_RATIO = 1.2
RSS_LIMIT_MB = 100
PART_MB = 8
MIB = 1 << 20
NAME = "default-20261129T120000Z-hourly-be0c"
KEY = f"default/{NAME}.pgdump.zst.age"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("moto's server did not start")


class RandomBody:
    """``size`` random bytes as a readable stream, hashed on the way."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = os.urandom(size)
        self.left -= size
        self.hash.update(data)
        return data


def land_backup(client: Any, bucket: str, size: int) -> None:
    """The backup as run_backup leaves it: the object, then its manifest beside it."""
    from boto3.s3.transfer import TransferConfig

    body = RandomBody(size)
    config = TransferConfig(multipart_chunksize=PART_MB * MIB, max_concurrency=2)
    client.upload_fileobj(body, bucket, f"nzila/{KEY}", Config=config)
    manifest = {
        "format": "nzila-ops-backup", "format_version": 1, "name": NAME,
        "database_alias": "default", "engine": "postgresql", "backup_type": "hourly",
        "started_at": "2026-11-29T11:59:00+00:00", "finished_at": "2026-11-29T12:00:00+00:00",
        "storage": {"name": "default", "location": f"s3://{bucket}/nzila"},
        "object": {"key": KEY, "stored_size": size, "raw_size": size,
                   "sha256": body.hash.hexdigest()},
        "dump": {}, "compression": {"algorithm": "zstd", "level": 3}, "encryption": None,
        "tables": [], "sequences": [],
    }  # fmt: skip
    client.put_object(
        Bucket=bucket, Key=f"nzila/default/{NAME}.manifest.json", Body=json.dumps(manifest)
    )


def empty(client: Any, bucket: str) -> None:
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    import boto3

    workdir = Path(tempfile.mkdtemp(prefix="nzila-bench-copy-"))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "TMPDIR": str(workdir),
    }  # fmt: skip
    moto, endpoint = start_moto(env)
    try:
        source = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")  # fmt: skip
        target = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")  # fmt: skip
        source.create_bucket(Bucket="primary")
        target.create_bucket(
            Bucket="secondary", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        size = args.size_mb * 1000 * 1000
        print(f"landing a {size / 1e6:.0f} MB backup in s3://primary/nzila ...", flush=True)
        land_backup(source, "primary", size)
        ours_env = {
            **env,
            "PYTHONPATH": os.pathsep.join([str(BENCH), str(REPO), str(REPO / "example_project")]),
            "DJANGO_SETTINGS_MODULE": "copy_settings",
            "BENCH_COPY_DB": str(workdir / "catalog.sqlite3"),
            "BENCH_COPY_PRIMARY": f"s3://primary/nzila?region=us-east-1&endpoint_url={endpoint}",
            "BENCH_COPY_SECONDARY": (
                f"s3://secondary/dr?region=eu-west-1&endpoint_url={endpoint}&part_size_mb={PART_MB}"
            ),
        }
        subprocess.run(
            [sys.executable, str(MANAGE_PY), "migrate", "--no-input", "-v0"],
            env=ours_env, check=True,
        )  # fmt: skip
        rows: dict[str, list[float]] = {"a": [], "b": [], "c": []}
        wall: dict[str, list[float]] = {"a": [], "b": [], "c": []}
        rss: dict[str, list[float]] = {"a": [], "b": [], "c": []}
        order = [("a", 2), ("b", None), ("c", 10)]
        for run in range(1, args.runs + 1):
            # The order turns each run: no row always follows the same one (moto may still be
            # freeing the previous row's 500 MB when the next starts).
            shift = (run - 1) % len(order)
            for row, concurrency in order[shift:] + order[:shift]:
                empty(target, "secondary")
                if concurrency is None:
                    argv = [sys.executable, str(MANAGE_PY), "copy_backups", "--storage",
                            "secondary", "--json"]  # fmt: skip
                    m = _measure.run(argv, env=ours_env, cwd=REPO, sample_interval=0.05)
                    if not m.ok:
                        sys.exit(f"copy_backups failed: {m.stderr.strip()[-500:]}")
                    (outcome,) = json.loads(m.stdout)
                    assert outcome["result"] == "copied", outcome
                    seconds = outcome["seconds"]
                else:
                    argv = [sys.executable, str(BENCH / "_copy_baseline.py"), endpoint,
                            "primary", f"nzila/{KEY}", "eu-west-1", "secondary", f"dr/{KEY}",
                            str(PART_MB), str(concurrency)]  # fmt: skip
                    m = _measure.run(argv, env=env, cwd=REPO, sample_interval=0.05)
                    if not m.ok:
                        sys.exit(f"boto3 baseline failed: {m.stderr.strip()[-500:]}")
                    seconds = json.loads(m.stdout)["seconds"]
                rows[row].append(seconds)
                wall[row].append(m.wall_seconds)
                rss[row].append(m.max_rss_mb)
                print(
                    f"  run {run}: {row}. copy {seconds:.2f} s, process {m.wall_seconds:.2f} s, "
                    f"peak RSS {m.max_rss_mb:.1f} MB",
                    flush=True,
                )
        empty(target, "secondary")
        argv = [sys.executable, str(MANAGE_PY), "copy_backups", "--storage", "secondary",
                "--dry-run", "--json"]  # fmt: skip
        floor = _measure.run(argv, env=ours_env, cwd=REPO, sample_interval=0.05)
        if not floor.ok:
            sys.exit(f"copy_backups --dry-run failed: {floor.stderr.strip()[-500:]}")
    finally:
        moto.kill()
        moto.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    med = {row: statistics.median(values) for row, values in rows.items()}
    med_wall = {row: statistics.median(values) for row, values in wall.items()}
    print(f"\n{args.size_mb} MB, medians of {args.runs} runs (copy / whole process / peak RSS):")
    labels = {
        "a": "boto3 alone, 8 MiB parts, 2 in flight",
        "b": "copy_backups (ours), 8 MiB parts, 2 in flight",
        "c": "boto3 alone, 8 MiB parts, 10 in flight",
    }
    for row, label in labels.items():
        print(
            f"  {row}. {label:<46} {med[row]:6.2f} s  {med_wall[row]:6.2f} s  "
            f"{max(rss[row]):6.1f} MB  ({size_mb_per_s(args.size_mb, med[row]):.0f} MB/s)"
        )
    print(
        f"  d. {'copy_backups --dry-run (the floor: no copy)':<46} {'':>6}    "
        f"{floor.wall_seconds:6.2f} s  {floor.max_rss_mb:6.1f} MB"
    )
    ratio = med["b"] / med["a"]
    paired = [b / a for a, b in zip(rows["a"], rows["b"], strict=True)]
    print(
        f"  b / a of each run: {' '.join(f'{r:.2f}' for r in paired)} "
        f"(median {statistics.median(paired):.2f}x)"
    )
    verdicts = [
        Verdict(
            f"copy_backups <= {TARGET_RATIO} x boto3 alone", ratio <= TARGET_RATIO,
            f"{med['b']:.2f} s vs {med['a']:.2f} s = {ratio:.2f}x "
            f"(10 parts in flight: {med['c']:.2f} s)",
        ),
        Verdict(
            f"copy_backups peak RSS <= {RSS_LIMIT_MB} MB", max(rss["b"]) <= RSS_LIMIT_MB,
            f"{max(rss['b']):.1f} MB (boto3 alone: {max(rss['a']):.1f} MB; the floor, no "
            f"copy: {floor.max_rss_mb:.1f} MB)",
        ),
    ]  # fmt: skip
    print_verdicts(verdicts)
    print(
        "\nmoto's server (one Python process) stores and serves every byte: with both rows near "
        "its throughput, it, not the copy, sets the pace."
    )
    if args.json_out:
        write_json(
            args.json_out,
            {"size_mb": args.size_mb, "runs": rows, "process_seconds": wall, "peak_rss_mb": rss,
             "floor_rss_mb": floor.max_rss_mb, "ratio_per_run": paired,
             "targets": verdicts_json(verdicts)},
        )  # fmt: skip


def size_mb_per_s(size_mb: int, seconds: float) -> float:
    return size_mb / seconds if seconds else 0.0


if __name__ == "__main__":
    main()
