"""S3 clients that share what botocore loads once per process.

Every S3 storage makes its own botocore session, so each still resolves its credentials through
the usual chain when it is made (its ``profile``, the environment, the AWS config and credentials
files, an instance role): keys rotated in a credentials file reach the next storage made, as
before, and nothing is cached under credentials. What the sessions share is the data loader: the
parsed S3 service model, endpoint rules and partitions (several MB of JSON), which are the same
for every client of one botocore version. Loading them again for each storage cost about 0.2 s
and 13 MB of peak RSS per storage (a copy makes two; bench/bench_copy.py); with the loader shared
a further client takes about 30 ms.

botocore sessions are used directly, not boto3's: nzila_ops calls only client methods, and a
boto3 session adds its own resource data and handlers to every client.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loader: Any = None


def _shared_loader(session: Any) -> Any:
    """The process's data loader: the first session's, adopted by every later one."""
    global _loader
    with _lock:
        if _loader is None:
            _loader = session.get_component("data_loader")
        return _loader


def make_client(
    *, profile: str | None, region: str | None, endpoint_url: str | None, config: Any
) -> Any:
    """A new S3 client with a session of its own (credentials resolved now) over the shared
    loader. Raises botocore's ProfileNotFound for an unknown ``profile``."""
    import botocore.session

    session = botocore.session.Session(profile=profile)
    session.register_component("data_loader", _shared_loader(session))
    if profile:
        # botocore looks a profile up lazily; an unknown one must fail here, in one line.
        session.get_scoped_config()
    return session.create_client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
