from django.db import models


class Vehicle(models.Model):
    vin = models.CharField(max_length=17, unique=True)
    make = models.CharField(max_length=50)
    model = models.CharField(max_length=50)
    year = models.PositiveSmallIntegerField()
    mileage_km = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    description = models.TextField(blank=True)
    listed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.year} {self.make} {self.model} ({self.vin})"
