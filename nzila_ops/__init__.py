"""nzila_ops: the production-operations layer for a Django + Celery + PostgreSQL product."""

__version__ = "0.1.0"
