"""manage.py seed_demo [--vehicles N] — fill the example apps with plausible rows."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from deals.models import Deal
from payments.models import Payment
from vehicles.models import Vehicle

MAKES = {
    "Toyota": ["Hilux", "Land Cruiser", "Corolla", "RAV4"],
    "Nissan": ["Navara", "Patrol", "X-Trail"],
    "Mercedes-Benz": ["Sprinter", "C-Class", "Actros"],
    "Volkswagen": ["Amarok", "Polo", "Golf"],
}
PORTS = ["Mombasa", "Dar es Salaam", "Lagos", "Tema", "Durban", "Walvis Bay", "Matadi"]
NAMES = ["Amani", "Baraka", "Chidi", "Dalia", "Esi", "Femi", "Grace", "Hassan", "Imani", "Jabari"]
PROVIDERS = ["stripe", "flutterwave", "mpesa", "bank_transfer"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


class Command(BaseCommand):
    help = "Create demo vehicles, deals and payments (idempotent top-up to the asked size)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--vehicles", type=int, default=500)
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic(using=options["database"]):
            self.seed(options["vehicles"], options["database"])

    def seed(self, size: int, db: str) -> None:
        rng = random.Random(2026 + Vehicle.objects.using(db).count())
        wanted = size - Vehicle.objects.using(db).count()
        vehicles = []
        for _ in range(max(wanted, 0)):
            make = rng.choice(list(MAKES))
            vehicles.append(
                Vehicle(
                    vin="".join(rng.choice(VIN_CHARS) for _ in range(17)),
                    make=make,
                    model=rng.choice(MAKES[make]),
                    year=rng.randint(2005, 2025),
                    mileage_km=rng.randint(5_000, 350_000),
                    price=Decimal(rng.randint(3_000, 90_000)),
                    description=f"{rng.choice(['Clean', 'Minor scratches', 'Re-sprayed'])}, "
                    f"{rng.randint(1, 4)} previous owners, service history "
                    f"{rng.choice(['full', 'partial', 'none'])}.",
                )
            )
        Vehicle.objects.using(db).bulk_create(vehicles)
        deals = [
            Deal(
                vehicle=vehicle,
                buyer_name=f"{rng.choice(NAMES)} {rng.choice(NAMES)}son",
                buyer_email=f"buyer{vehicle.vin.lower()}@example.com",
                destination_port=rng.choice(PORTS),
                amount=vehicle.price,
                status=rng.choice(Deal.Status.values),
            )
            for vehicle in vehicles
            if rng.random() < 0.6
        ]
        Deal.objects.using(db).bulk_create(deals)
        Payment.objects.using(db).bulk_create(
            Payment(
                deal=deal,
                amount=deal.amount,
                provider=rng.choice(PROVIDERS),
                succeeded=rng.random() < 0.9,
            )
            for deal in deals
            if deal.status != Deal.Status.OPEN
        )
        self.stdout.write(
            f"demo data: {Vehicle.objects.using(db).count()} vehicles, "
            f"{Deal.objects.using(db).count()} deals, {Payment.objects.using(db).count()} payments"
        )
