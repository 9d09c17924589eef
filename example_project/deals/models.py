from django.db import models


class Deal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        AGREED = "agreed"
        SHIPPED = "shipped"
        CLOSED = "closed"

    vehicle = models.ForeignKey("vehicles.Vehicle", on_delete=models.PROTECT, related_name="deals")
    buyer_name = models.CharField(max_length=100)
    buyer_email = models.EmailField()
    destination_port = models.CharField(max_length=50)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Deal {self.pk} for {self.vehicle_id}"
