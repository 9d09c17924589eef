"""nzila_ops: the production-operations layer for a Django + Celery + PostgreSQL product."""

import logging

__version__ = "0.1.0"

# A library's loggers get a NullHandler (the logging HOWTO's advice): on a host that never
# configured logging, Python's last-resort handler would otherwise print every warning and
# error to stderr, and a failed command would say its one line twice. Records still propagate
# to the handlers a host configures (root or "nzila_ops"), and Celery workers get them as before.
logging.getLogger("nzila_ops").addHandler(logging.NullHandler())
