"""The incident admin: operators acknowledge, resolve and annotate through the incident service
(one timeline event each, delivered like any other transition), write post-mortems, and see the
deliveries that failed. Nothing is added or deleted by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.incidents import service
from nzila_ops.models import Delivery, Incident, IncidentEvent

pytestmark = pytest.mark.postgres

LIST = "/admin/nzila_ops/incident/"
DELIVERIES = "/admin/nzila_ops/delivery/"


def open_one(key: str = "database", **overrides: Any) -> Incident:
    fields = {"key": key, "component": key, "severity": "P0", "source": "health",
              "title": f"{key} is DOWN"}  # fmt: skip
    incident, opened = service.open_incident(**{**fields, **overrides})
    assert opened
    return incident


def kinds(incident: Incident) -> list[str]:
    """The timeline without the 'paged' lines of the e-mails sent."""
    return list(incident.events.exclude(kind="paged").values_list("kind", flat=True))


def run_action(client: Any, action: str, *incidents: Incident) -> Any:
    data = {"action": action, "_selected_action": [i.pk for i in incidents]}
    return client.post(LIST, data, follow=True)


def test_the_list_shows_mtta_and_mttr_and_filters_by_each_field(
    transactional_db: Any, admin_client: Any
) -> None:
    now = timezone.now()
    database = open_one("database", detected_at=now - timedelta(minutes=40))
    service.acknowledge(database, by="amara", at=now - timedelta(minutes=36))
    service.resolve(database, by="amara", at=now - timedelta(minutes=9))
    open_one("websocket", severity="P2", source="uptimerobot", is_drill=True)

    page = admin_client.get(LIST).content.decode()
    assert "4 min 00 s" in page and "31 min 00 s" in page  # MTTA and MTTR of the database's

    def listed(query: str) -> set[str]:
        return set(admin_client.get(LIST + query).context["cl"].result_list)

    db_only, ws_only = {database}, {Incident.objects.get(key="websocket")}
    assert listed("?severity__exact=P0") == db_only
    assert listed("?status__exact=triggered") == ws_only
    assert listed("?component__exact=websocket") == ws_only
    assert listed("?source__exact=health") == db_only
    assert listed("?is_drill__exact=1") == ws_only
    assert listed("?q=websocket") == ws_only


def test_acknowledge_action_goes_through_the_service_once(
    transactional_db: Any, admin_client: Any, admin_user: Any
) -> None:
    incident = open_one()
    response = run_action(admin_client, "acknowledge_incidents", incident)
    assert f"Acknowledged #{incident.pk}." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_by == admin_user.username
    event = incident.events.get(kind="acknowledged")
    assert event.actor == admin_user.username and event.source == "manual"
    # The transition is delivered like any other (the e-mail notifier's row).
    assert Delivery.objects.filter(event=event).exists()

    again = run_action(admin_client, "acknowledge_incidents", incident)
    assert "1 incident(s) not acknowledged" in again.content.decode()
    assert kinds(incident) == ["opened", "acknowledged"]


def test_resolve_action_resolves_each_open_incident_once(
    transactional_db: Any, admin_client: Any
) -> None:
    first, second = open_one("database"), open_one("redis", severity="P1")
    service.resolve(second, by="someone else")
    response = run_action(admin_client, "resolve_incidents", first, second)
    text = response.content.decode()
    assert f"Resolved #{first.pk}." in text and "1 incident(s) not resolved" in text
    first.refresh_from_db()
    assert first.status == "resolved" and first.resolved_at is not None
    assert kinds(first) == ["opened", "resolved"]
    assert kinds(second) == ["opened", "resolved"]


def test_a_note_is_added_to_the_timeline_and_the_form_writes_only_the_post_mortem(
    transactional_db: Any, admin_client: Any, admin_user: Any
) -> None:
    incident = open_one()
    change = f"{LIST}{incident.pk}/change/"
    form = admin_client.get(change)
    assert form.status_code == 200
    # Between loading the form and saving it, the incident is resolved elsewhere (a webhook).
    service.resolve(incident, by="pagerduty responder", source="pagerduty")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(
            change,
            {
                "note": "  Failed over to the replica; customers can pay again.  ",
                "summary": "Payments were refused for 12 minutes.",
                "root_cause": "",
                "follow_up_actions": "",
                "postmortem_url": "",
                "events-TOTAL_FORMS": "0",
                "events-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302
    # The form's write names the post-mortem column alone: saving the whole row would put back
    # the status and times read at the start of the request, undoing a transition made meanwhile.
    writes = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "nzila_ops_incident"')]
    assert len(writes) == 1 and '"summary"' in writes[0] and '"status"' not in writes[0]
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_by == "pagerduty responder"
    assert incident.summary == "Payments were refused for 12 minutes."
    note = incident.events.get(kind="note")
    assert note.detail == "Failed over to the replica; customers can pay again."
    assert note.actor == admin_user.username
    assert kinds(incident) == ["opened", "resolved", "note"]


def test_the_timeline_is_shown_read_only_and_nothing_is_added_or_deleted(
    transactional_db: Any, admin_client: Any
) -> None:
    incident = open_one()
    service.add_note(incident, by="amara", text="looking at the replica")
    page = admin_client.get(f"{LIST}{incident.pk}/change/")
    text = page.content.decode()
    assert "looking at the replica" in text and "amara" in text
    # The inline has no editable event field and no delete box.
    assert 'name="events-0-detail"' not in text and 'name="events-0-DELETE"' not in text
    assert admin_client.get(f"{LIST}add/").status_code == 403
    assert admin_client.get(f"{LIST}{incident.pk}/delete/").status_code == 403
    listing = admin_client.get(LIST).content.decode()
    assert "delete_selected" not in listing and "acknowledge_incidents" in listing
    run_action(admin_client, "delete_selected", incident)
    assert Incident.objects.filter(pk=incident.pk).exists()
    assert IncidentEvent.objects.filter(incident=incident).exclude(kind="paged").count() == 2


def test_the_deliveries_list_shows_the_failed_ones_first_read_only(
    transactional_db: Any, admin_client: Any
) -> None:
    incident = open_one()
    opened = incident.events.get(kind="opened")
    failed = Delivery.objects.create(
        event=opened, notifier="pagerduty", status="failed", attempts=1,
        last_error="PagerDuty refused the event: HTTP 400 invalid routing key",
    )  # fmt: skip
    sent = Delivery.objects.get(event=opened, notifier="email")
    assert sent.status == "sent"

    default = admin_client.get(DELIVERIES)
    assert list(default.context["cl"].result_list) == [failed]
    assert "invalid routing key" in default.content.decode()
    everything = admin_client.get(DELIVERIES + "?status=all").context["cl"].result_list
    assert set(everything) == {failed, sent}
    assert list(admin_client.get(DELIVERIES + "?status=sent").context["cl"].result_list) == [sent]
    by_notifier = admin_client.get(DELIVERIES + "?status=all&notifier=pagerduty")
    assert list(by_notifier.context["cl"].result_list) == [failed]

    assert admin_client.get(f"{DELIVERIES}add/").status_code == 403
    assert admin_client.get(f"{DELIVERIES}{failed.pk}/delete/").status_code == 403
    detail = admin_client.get(f"{DELIVERIES}{failed.pk}/change/").content.decode()
    assert 'name="last_error"' not in detail and "invalid routing key" in detail


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parameter=st.sampled_from(
        ["q", "severity__exact", "status__exact", "component__exact", "source__exact", "o"]
    ),
    value=st.text(),
    deliveries=st.booleans(),
)
def test_any_filter_or_search_is_an_answer_never_a_crash(
    transactional_db: Any, admin_client: Any, parameter: str, value: str, deliveries: bool
) -> None:
    if deliveries:
        parameter = {"severity__exact": "status", "component__exact": "notifier"}.get(
            parameter, parameter
        )
    response = admin_client.get(DELIVERIES if deliveries else LIST, {parameter: value})
    # A list, a redirect for a lookup Django refuses (?e=1), or a 400 for a NUL character.
    assert response.status_code in (200, 302, 400)
    if "\x00" in value:
        assert response.status_code == 400


def test_a_nul_character_in_a_filter_is_refused_in_one_line(
    transactional_db: Any, admin_client: Any
) -> None:
    response = admin_client.get(DELIVERIES, {"status": "failed\x00"})
    assert response.status_code == 400
    assert response.content.decode() == "a filter or search holds a NUL character"


def test_a_view_only_operator_can_read_incidents_but_not_change_them(
    transactional_db: Any, client: Any, django_user_model: Any
) -> None:
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_incident"))
    client.force_login(viewer)
    incident = open_one()
    listing = client.get(LIST)
    assert listing.status_code == 200 and "database is DOWN" in listing.content.decode()
    assert "acknowledge_incidents" not in listing.content.decode()
    client.post(LIST, {"action": "acknowledge_incidents", "_selected_action": [incident.pk]})
    client.post(f"{LIST}{incident.pk}/change/", {"note": "sneaky", "summary": "x"})
    incident.refresh_from_db()
    assert incident.status == "triggered" and incident.summary == ""
    assert kinds(incident) == ["opened"]


def change_form(incident: Incident, **data: str) -> dict[str, str]:
    fields = {"transition": "", "note": "", "summary": incident.summary, "root_cause": "",
              "follow_up_actions": "", "postmortem_url": "", "events-TOTAL_FORMS": "0",
              "events-INITIAL_FORMS": "0"}  # fmt: skip
    return {**fields, **data}


def test_the_incident_page_acknowledges_and_resolves_through_the_service(
    transactional_db: Any, admin_client: Any, admin_user: Any
) -> None:
    incident = open_one()
    change = f"{LIST}{incident.pk}/change/"
    admin_client.post(change, change_form(incident, transition="acknowledge", note="on it"))
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_by == admin_user.username
    assert kinds(incident) == ["opened", "acknowledged", "note"]

    admin_client.post(change, change_form(incident, transition="resolve"))
    again = admin_client.post(change, change_form(incident, transition="resolve"), follow=True)
    assert f"#{incident.pk} was not resolved: it is resolved." in again.content.decode()
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_by == admin_user.username
    assert kinds(incident) == ["opened", "acknowledged", "note", "resolved"]
