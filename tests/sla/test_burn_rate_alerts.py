"""Burn-rate alerts on constructed flip histories: which incidents open, stay one, give way to a
page, and resolve. Every burn rate below is worked out by hand in the comment beside it.

The service is ``database`` and ``payments_api`` (SLA.COMPONENTS); both are recorded up from
four days before NOW, so every window is fully observed unless a test says otherwise. The
target is 99.9 %: the budget is 0.1 % of the time, and November's is 30 d x 0.1 % = 43.2 min.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from nzila_ops.conf import DEFAULTS
from nzila_ops.models import Incident
from nzila_ops.sla.burn_alerts import BudgetCheck, check_error_budget
from tests.sla.helpers import history, maintenance, utc

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("transactional_db")]

NOW = utc(2026, 11, 20, 12, 0)
START = NOW - timedelta(days=4)
MIN = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _sla_components(settings: Any) -> Iterator[None]:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": ["database", "payments_api"]}}
    yield


def up_since_start(component: str = "payments_api") -> None:
    history(component, (START, "ok"))


def check(at: datetime) -> BudgetCheck:
    with time_machine.travel(at, tick=False):
        return check_error_budget()


def actions(result: BudgetCheck) -> dict[str, str]:
    return {level.name: level.action for level in result.levels}


def timeline(incident: Incident) -> list[str]:
    return list(incident.events.exclude(kind="paged").values_list("kind", flat=True))


def test_ten_minutes_down_in_the_last_hour_pages_once() -> None:
    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"))  # still down at NOW
    result = check(NOW)
    # 1 h: 10 / 60 down = 1/6, / 0.001 = 166.7x >= 14.4; 5 min: all down, 1000x.
    # 6 h: 10 / 360 / 0.001 = 27.8x >= 6; 30 min: 10 / 30 / 0.001 = 333x. The ticket (3 d:
    # 10 / 4320 / 0.001 = 2.3x) would fire too, but the page covers it.
    assert actions(result) == {"page": "opened", "ticket": "superseded"}
    page = Incident.objects.get()
    assert (page.key, page.component, page.source, page.severity, page.status) == (
        "error_budget:page", "error_budget", "sla", "P1", "triggered",
    )  # fmt: skip
    # 10 min of November's 43.2 min budget: 23.1 %.
    assert page.title == (
        "Error budget burning 166.7x over 1 h and 1000x over 5 min (page): "
        "23.1 % of the 2026-11 budget spent in 1 h"
    )
    assert page.detected_at == NOW
    detail = page.events.get(kind="opened").detail
    assert "FIRES page: 6x over 6 h and 30 min: 27.8x over 6 h" in detail
    assert "Components counted: database, payments_api." in detail
    assert [m.subject.split(": ", 1)[0] for m in mail.outbox] == [
        f"[nzila_ops] P1 incident #{page.pk} opened"
    ]


def test_an_hour_hot_but_the_last_minutes_cool_does_not_page() -> None:
    up_since_start()
    # Ten minutes down, over 40 minutes ago: both long page windows are hot (166.7x over
    # 1 h, 27.8x over 6 h) but neither short one (5 min, 30 min) saw any of it.
    history("database", (START, "ok"), (NOW - 50 * MIN, "failing"), (NOW - 40 * MIN, "ok"))
    result = check(NOW)
    assert actions(result) == {"page": "quiet", "ticket": "opened"}
    assert [v.fires for v in result.verdicts] == [False, False, True]
    # The budget is still being spent over days: a ticket, not a page.
    ticket = Incident.objects.get()
    assert (ticket.key, ticket.severity) == ("error_budget:ticket", "P3")
    # 3 d: 10 / 4320 / 0.001 = 2.3x; 6 h: 27.8x.
    assert ticket.title == (
        "Error budget burning 2.3x over 3 d and 27.8x over 6 h (ticket): "
        "23.1 % of the 2026-11 budget spent in 3 d"
    )


def slow_burn() -> None:
    """A minute down every 3 hours for 3 days, the last one 2 hours ago."""
    up_since_start()
    changes = [(START, "ok")]
    for k in reversed(range(24)):
        down = NOW - timedelta(hours=2 + 3 * k) - MIN
        changes += [(down, "failing"), (down + MIN, "ok")]
    history("database", *changes)


def test_a_slow_burn_over_three_days_opens_a_ticket_and_no_page() -> None:
    slow_burn()
    result = check(NOW)
    # 3 d: 24 min / 4320 / 0.001 = 5.6x >= 1; 6 h: 2 min / 360 / 0.001 = 5.6x >= 1 (and
    # < 6: the slow page does not fire); 1 h: nothing.
    assert actions(result) == {"page": "quiet", "ticket": "opened"}
    ticket = Incident.objects.get()
    assert ticket.severity == "P3" and ticket.source == "sla"
    # 24 min of 43.2: 55.6 %.
    assert ticket.title == (
        "Error budget burning 5.6x over 3 d and 5.6x over 6 h (ticket): "
        "55.6 % of the 2026-11 budget spent in 3 d"
    )


def test_nothing_observed_raises_nothing() -> None:
    result = check(NOW)
    assert actions(result) == {"page": "quiet", "ticket": "quiet"}
    assert all(v.long_burn is None and v.short_burn is None for v in result.verdicts)
    assert not Incident.objects.exists()


def test_an_outage_inside_declared_maintenance_spends_no_budget() -> None:
    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"))
    maintenance(NOW - 15 * MIN, NOW + 15 * MIN)
    # The last 5 minutes are all maintenance: nothing observed, so that window never fires.
    result = check(NOW)
    assert actions(result) == {"page": "quiet", "ticket": "quiet"}
    assert not Incident.objects.exists()


def test_a_component_first_seen_minutes_ago_is_judged_on_what_was_observed() -> None:
    # Only database counts here, first seen 20 minutes ago and down for the last 10: the
    # hour's observed time is 20 min, half of it down (500x); no data is not "up".
    history("database", (NOW - 20 * MIN, "ok"), (NOW - 10 * MIN, "failing"))
    result = check(NOW)
    assert result.verdicts[0].long_burn == pytest.approx(500)
    assert actions(result)["page"] == "opened"


def test_checking_again_while_it_burns_keeps_one_incident_and_adds_nothing() -> None:
    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"))
    check(NOW)
    second = check(NOW + 5 * MIN)
    third = check(NOW + 10 * MIN)
    assert actions(second)["page"] == actions(third)["page"] == "open"
    page = Incident.objects.get()
    assert timeline(page) == ["opened"]
    assert len(mail.outbox) == 1


def test_the_page_resolves_after_the_burning_stops_and_the_ticket_follows() -> None:
    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"), (NOW + 2 * MIN, "ok"))
    check(NOW)
    # +10 min: the 5-minute window is clean, but the last 30 minutes hold 12 down (400x).
    assert actions(check(NOW + 10 * MIN))["page"] == "open"
    # +35 min: neither short window saw the outage: the page resolves. The 3-day budget is
    # still burning (12 / 4320 / 0.001 = 2.8x, and 33x over 6 h): now the ticket opens.
    result = check(NOW + 35 * MIN)
    assert actions(result) == {"page": "resolved", "ticket": "opened"}
    page = Incident.objects.get(key="error_budget:page")
    assert page.status == "resolved" and page.resolved_at == NOW + 35 * MIN
    assert page.events.get(kind="resolved").detail.startswith("no page rule fires any more:")
    ticket = Incident.objects.get(key="error_budget:ticket", status="triggered")
    # +6 h 5 min: the outage has left the 6-hour window: the ticket resolves too.
    assert actions(check(NOW + timedelta(hours=6, minutes=5)))["ticket"] == "resolved"
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert not Incident.objects.exclude(status="resolved").exists()


def test_a_page_supersedes_an_open_ticket() -> None:
    slow_burn()
    check(NOW)
    ticket = Incident.objects.get()
    history("database", (NOW + MIN, "failing"))  # after the slow burn's last "ok"
    result = check(NOW + 11 * MIN)  # 10 minutes down now
    assert actions(result) == {"page": "opened", "ticket": "superseded"}
    page = Incident.objects.get(key="error_budget:page")
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert ticket.events.get(kind="resolved").detail.startswith(
        f"superseded by the page alert (incident #{page.pk}, P1)"
    )
    # While the page lasts the ticket stays resolved: one alert for one burn.
    assert actions(check(NOW + 16 * MIN)) == {"page": "open", "ticket": "superseded"}
    assert Incident.objects.filter(status="triggered").get() == page


def test_a_page_firing_again_soon_after_it_resolved_reopens_it() -> None:
    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"), (NOW + MIN, "ok"),
            (NOW + 35 * MIN, "failing"))  # fmt: skip
    check(NOW)
    assert actions(check(NOW + 31 * MIN))["page"] == "resolved"  # 30 min clean
    # +40 min: 5 more minutes down (11 + 5 in the hour: 266.7x; the last 5 min all down),
    # 9 minutes after the resolution, within INCIDENT_FLAP_SECONDS (15 min).
    assert actions(check(NOW + 40 * MIN))["page"] == "reopened"
    page = Incident.objects.get(key="error_budget:page")
    assert page.status == "triggered"
    assert timeline(page) == ["opened", "resolved", "reopened"]


def test_the_periodic_task_returns_what_it_did(settings: Any) -> None:
    from nzila_ops.tasks import check_error_budget_task

    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"))
    with time_machine.travel(NOW, tick=False):
        outcome = check_error_budget_task.delay().get()
    page = Incident.objects.get()
    assert outcome["levels"]["page"] == {"fires": True, "action": "opened", "incident": page.pk}
    assert outcome["levels"]["ticket"]["action"] == "superseded"
    assert outcome["components"] == ["database", "payments_api"]
    assert outcome["rules"][0]["rule"] == "page: 14.4x over 1 h and 5 min"
    # No rules: nothing is judged.
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": ["database"],
                                                        "BURN_RATE_RULES": []}}  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        assert check_error_budget_task.delay().get()["levels"] == {}


def test_setup_schedules_installs_the_check_with_or_without_rules(settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_schedules", stdout=StringIO())
    entry = PeriodicTask.objects.select_related("crontab").get(name="nzila_ops: error budget")
    assert entry.task == "nzila_ops.check_error_budget"
    assert str(entry.crontab).startswith("*/5 * * * *")
    # Without rules it stays: its next run resolves what the removed rules had opened.
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"BURN_RATE_RULES": []}}
    call_command("setup_schedules", stdout=StringIO())
    assert PeriodicTask.objects.filter(name="nzila_ops: error budget").exists()


def test_the_incident_of_a_level_no_longer_configured_resolves(settings: Any) -> None:
    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"))
    check(NOW)
    page = Incident.objects.get()
    # The page renamed "urgent": the old level's incident cannot close by itself any more.
    urgent = [{**rule, "NAME": "urgent"} for rule in DEFAULTS["SLA"]["BURN_RATE_RULES"][:2]]
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {
        "COMPONENTS": ["database", "payments_api"], "BURN_RATE_RULES": urgent}}  # fmt: skip
    assert actions(check(NOW + MIN)) == {"urgent": "opened"}
    page.refresh_from_db()
    assert page.status == "resolved"
    assert (
        "no burn-rate rule of this level is configured" in page.events.get(kind="resolved").detail
    )
    # No rules at all: the last one resolves too.
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"BURN_RATE_RULES": []}}
    check(NOW + 2 * MIN)
    assert not Incident.objects.exclude(status="resolved").exists()


def flapping_page() -> Incident:
    """A page that fired (NOW), resolved (+31 min), fired again (+40: reopened) and went quiet
    again (+75: 30 minutes clean)."""
    up_since_start()
    history("database", (START, "ok"), (NOW - 10 * MIN, "failing"), (NOW + MIN, "ok"),
            (NOW + 35 * MIN, "failing"), (NOW + 41 * MIN, "ok"))  # fmt: skip
    for minutes in (0, 31, 40):
        check(NOW + minutes * MIN)
    assert actions(check(NOW + 75 * MIN))["page"] == "held"
    return Incident.objects.get(key="error_budget:page")


def test_a_reopened_page_going_quiet_resolves_once_it_has_stayed_quiet() -> None:
    from nzila_ops.incidents.service import settle_flapping

    page = flapping_page()
    # Held open, as a flapping component's incident is, until INCIDENT_FLAP_SECONDS pass.
    assert page.status == "triggered" and page.up_since == NOW + 75 * MIN
    held = page.events.filter(kind="note").latest("id")
    assert (held.source, held.detail.split(";")[0]) == ("sla", "the fault cleared again")
    assert settle_flapping(NOW + 85 * MIN) == []
    assert settle_flapping(NOW + 91 * MIN) == [page.pk]
    page.refresh_from_db()
    assert page.status == "resolved" and page.resolved_at == NOW + 75 * MIN


def test_a_held_page_firing_again_stays_open_and_takes_over_the_ticket() -> None:
    page = flapping_page()
    # +75: the page is quiet but 17 minutes down in 6 h is 47x: the ticket opened.
    ticket = Incident.objects.get(key="error_budget:ticket", status="triggered")
    history("database", (NOW + 80 * MIN, "failing"))
    # +85: 6 + 5 minutes down in the hour (183x), the last 5 all down: the page again.
    assert actions(check(NOW + 85 * MIN)) == {"page": "repeated", "ticket": "superseded"}
    page.refresh_from_db()
    assert page.status == "triggered" and page.up_since is None
    assert timeline(page)[-1] == "repeated"
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
