"""A few read-only JSON APIs of the example marketplace, so health checks have real APIs."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from deals.models import Deal
from payments.models import Payment
from vehicles.models import Vehicle


def vehicles(request: HttpRequest) -> JsonResponse:
    rows = Vehicle.objects.order_by("-id").values("vin", "make", "model", "year", "price")[:20]
    return JsonResponse({"vehicles": [{**r, "price": str(r["price"])} for r in rows]})


def deals(request: HttpRequest) -> JsonResponse:
    rows = Deal.objects.order_by("-id").values("id", "status", "destination_port")[:20]
    return JsonResponse({"deals": list(rows)})


def payments(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"succeeded": Payment.objects.filter(succeeded=True).count()})


def session(request: HttpRequest) -> JsonResponse:
    user = getattr(request, "user", None)
    return JsonResponse({"authenticated": bool(user and user.is_authenticated)})


urlpatterns = [
    path("vehicles/", vehicles),
    path("deals/", deals),
    path("payments/", payments),
    path("auth/session/", session),
]
