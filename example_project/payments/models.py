import uuid

from django.db import models


class Payment(models.Model):
    reference = models.UUIDField(default=uuid.uuid4, unique=True)
    deal = models.ForeignKey("deals.Deal", on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    provider = models.CharField(max_length=30)
    succeeded = models.BooleanField(default=False)
    paid_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.reference})"
