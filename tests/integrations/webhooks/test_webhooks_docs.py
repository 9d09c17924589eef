"""docs/webhooks.md describes every WEBHOOKS setting with its true default, and nothing else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from nzila_ops.conf import DEFAULTS

DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def test_the_settings_table_lists_each_webhooks_key_with_its_default() -> None:
    rows = re.findall(r'^\| `WEBHOOKS\["([A-Z_]+)"\]` \| `([^`]*)` \|', DOC.read_text(), re.M)

    assert sorted(key for key, _ in rows) == sorted(DEFAULTS["WEBHOOKS"])
    for key, default in rows:
        assert ast.literal_eval(default) == DEFAULTS["WEBHOOKS"][key], key


def test_the_endpoints_in_the_docs_are_the_routed_ones() -> None:
    from django.urls import reverse

    text = DOC.read_text()
    for url in (
        reverse("nzila_ops:webhook-pagerduty"),
        reverse("nzila_ops:webhook-sentry"),
        reverse("nzila_ops:webhook-uptimerobot", args=["TOKEN"]).replace("TOKEN", "<token>"),
    ):
        assert url in text
