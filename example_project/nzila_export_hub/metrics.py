"""The marketplace's business metrics (the plan's DAU, deals per day, revenue per day),
exported by nzila_ops at /ops/metrics as nzila_business_<name> (NZILA_OPS['METRICS']['BUSINESS']
in settings.py).

Each is a count or sum over the last 24 hours (rolling, so a gauge does not drop to zero at
midnight), one aggregate query, computed at scrape time in a thread with a timeout and reused
for BUSINESS_CACHE_SECONDS.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from deals.models import Deal
from payments.models import Payment


def _since() -> datetime:
    return timezone.now() - timedelta(days=1)


def daily_active_users() -> int:
    """Buyers (by e-mail) who opened a deal or paid for one in the last 24 hours."""
    since = _since()
    return (
        Deal.objects.filter(Q(created_at__gte=since) | Q(payments__paid_at__gte=since))
        .values("buyer_email")
        .distinct()
        .count()
    )


def deals_per_day() -> int:
    """Deals opened in the last 24 hours."""
    return Deal.objects.filter(created_at__gte=_since()).count()


def revenue_per_day_usd() -> Decimal:
    """Succeeded USD payments of the last 24 hours, in dollars."""
    total = Payment.objects.filter(succeeded=True, currency="USD", paid_at__gte=_since()).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal(0)
