"""``{% ops_overview as overview %}``: the operations overview's figures, for the nzila_ops
section of the admin (templates/admin/nzila_ops/app_index.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib import admin

register = template.Library()


@register.simple_tag(takes_context=True)
def ops_overview(context: dict[str, Any]) -> dict[str, Any] | None:
    from nzila_ops.admin.overview import overview

    request = context.get("request")
    if request is None or not getattr(request.user, "is_staff", False):
        return None
    site = admin.site
    # The page may be served by another AdminSite holding our models (a host's own site).
    for candidate in admin.sites.all_sites:
        if candidate.name == getattr(request, "current_app", None):
            site = candidate
    return overview(request, site)
