"""manage.py incident (list|open|ack|resolve|note) ... [--json]: incidents from a shell.

For the on-call engineer during an outage, on any app host: thin over
nzila_ops.incidents.service, so a transition made here is the same compare-and-update, timeline
event and notification as one made in the admin or by a PagerDuty webhook. A transition that has
already happened changes nothing and says so (exit 0); bad input (an unknown incident, a
severity that is not P0-P3, text the database cannot store) is one line and exit 2.
"""

from __future__ import annotations

import getpass
import json
import re
from typing import Any

from nzila_ops.events import SEVERITIES, Severity, severity_for
from nzila_ops.exceptions import InvalidArgument
from nzila_ops.incidents import service
from nzila_ops.management.base import OpsCommand
from nzila_ops.models import Incident, IncidentEvent

STATUSES = tuple(Incident.Status.values)
# PostgreSQL's bigint: a longer number is no incident of ours, not a database error.
ID_PATTERN = re.compile(r"#?(\d{1,18})")
ACTIONS = ("list", "open", "ack", "resolve", "note")


def default_actor() -> str:
    """The OS user running the command: who did it, on the timeline."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        return "unknown"


def incident_id(value: str) -> int:
    match = ID_PATTERN.fullmatch(value.strip())
    if match is None:
        raise InvalidArgument(f"incident id must be a number like 12, not {value!r}")
    return int(match.group(1))


def checked_text(option: str, value: str | None, *, required: bool = False) -> str:
    """Text the database can store: PostgreSQL refuses NUL characters, and a lone surrogate
    (an undecodable byte in argv) cannot be encoded; both are refused here, in one line."""
    value = (value or "").strip()
    if required and not value:
        raise InvalidArgument(f"{option} must not be empty")
    if "\x00" in value:
        raise InvalidArgument(f"{option} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{option} is not valid UTF-8 text") from None
    return value


def checked_severity(value: str) -> str:
    try:
        return Severity(value.strip().upper()).value
    except ValueError:
        raise InvalidArgument(f"severity {value!r} is not one of {', '.join(SEVERITIES)}") from None


def as_dict(incident: Incident) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": incident.pk,
        "key": incident.key,
        "severity": incident.severity,
        "status": incident.status,
        "component": incident.component,
        "title": incident.title,
        "source": incident.source,
        "is_drill": incident.is_drill,
        "detected_at": when(incident.detected_at),
        "acknowledged_at": when(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": when(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "seconds_to_acknowledge": incident.seconds_to_acknowledge,
        "seconds_to_resolve": incident.seconds_to_resolve,
    }


def one_line(incident: Incident) -> str:
    drill = " [DRILL]" if incident.is_drill else ""
    who = ""
    if incident.status == Incident.Status.ACKNOWLEDGED:
        who = f" by {incident.acknowledged_by}"
    elif incident.status == Incident.Status.RESOLVED:
        who = f" by {incident.resolved_by}"
    return (
        f"#{incident.pk} {incident.severity} {incident.status}{who}{drill}: {incident.title} "
        f"(component {incident.component}, detected {incident.detected_at:%Y-%m-%d %H:%M:%S} UTC)"
    )


class Command(OpsCommand):
    help = (
        "Incidents from a shell: list them, open one by hand, acknowledge, resolve, add a note. "
        "With no action: the open incidents."
    )

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", metavar="{list,open,ack,resolve,note}")

        def action(name: str, help: str) -> Any:
            sub = actions.add_parser(name, help=help)
            sub.add_argument("--json", action="store_true", help="print the result as JSON")
            if name != "list":
                sub.add_argument(
                    "--by", default=None, help="who does it, on the timeline (default: OS user)"
                )
            return sub

        listing = action("list", "open incidents (triggered or acknowledged), newest first")
        listing.add_argument("--status", help=f"only this status: {', '.join(STATUSES)}")
        listing.add_argument("--severity", help="only this severity: P0, P1, P2 or P3")
        listing.add_argument("--component", help="only this component")
        listing.add_argument("--all", action="store_true", help="resolved ones too")
        listing.add_argument("--limit", default="100", help="at most this many (default 100)")

        opening = action("open", "open an incident by hand (or repeat the open one of its key)")
        opening.add_argument("--component", required=True, help="the component at fault")
        opening.add_argument(
            "--severity", help="P0-P3 (default: the component's, INCIDENT_SEVERITIES)"
        )
        opening.add_argument("--title", required=True, help="what is wrong, in one line")
        opening.add_argument("--detail", default="", help="more: the error, what was tried")

        for name, help in (("ack", "acknowledge: someone is on it"), ("resolve", "resolve")):
            sub = action(name, help)
            sub.add_argument("id", help="the incident's number")
            if name == "resolve":
                sub.add_argument("--detail", default="", help="how it was fixed")
        note = action("note", "add a note to the timeline")
        note.add_argument("id", help="the incident's number")
        note.add_argument("text", nargs="+", help="the note")

    def run(self, **options: Any) -> None:
        action = options.get("action") or "list"
        by = ""
        if action != "list":
            by = checked_text("--by", options.get("by") or default_actor(), required=True)
        if action == "list":
            self.list_incidents(options)
        elif action == "open":
            self.open_incident(options, by)
        elif action == "note":
            pk = incident_id(options["id"])
            text = checked_text("the note", " ".join(options["text"]), required=True)
            event = service.add_note(pk, by=by, text=text)
            self.report(Incident.objects.get(pk=pk), True, options, f"note added to #{pk}", event)
        else:
            self.transition(action, options, by)

    def list_incidents(self, options: dict[str, Any]) -> None:
        incidents = Incident.objects.all()
        status = options.get("status")
        if status:
            status = status.strip().lower()
            if status not in STATUSES:
                raise InvalidArgument(f"status {status!r} is not one of {', '.join(STATUSES)}")
            incidents = incidents.filter(status=status)
        elif not options.get("all"):
            incidents = incidents.filter(status__in=Incident.OPEN_STATUSES)
        if options.get("severity"):
            incidents = incidents.filter(severity=checked_severity(options["severity"]))
        if options.get("component"):
            incidents = incidents.filter(component=checked_text("--component",
                                                                options["component"]))  # fmt: skip
        limit = str(options.get("limit") or "100").strip()
        if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 10_000:
            raise InvalidArgument(f"--limit must be a number from 1 to 10000, not {limit!r}")
        found = list(incidents.order_by("-detected_at", "-id")[: int(limit)])
        if options.get("json"):
            self.stdout.write(json.dumps([as_dict(i) for i in found], indent=2))
            return
        if not found:
            self.stdout.write(
                "no incidents" if status or options.get("all") else "no open incidents"
            )
            return
        for incident in found:
            self.stdout.write(one_line(incident))

    def open_incident(self, options: dict[str, Any], by: str) -> None:
        component = checked_text("--component", options.get("component"), required=True)
        title = checked_text("--title", options.get("title"), required=True)
        detail = checked_text("--detail", options.get("detail"))
        given = options.get("severity")
        severity = checked_severity(given) if given is not None else severity_for(component)
        # The key is the component, as for automatic incidents: opening by hand what a health
        # check already reported adds to that incident instead of paging a second time.
        incident, opened = service.open_incident(
            key=component, component=component, severity=severity, source="manual",
            title=title, detail=detail, actor=by,
        )  # fmt: skip
        said = (
            f"opened #{incident.pk}"
            if opened
            else f"#{incident.pk} of {component!r} is already open: recorded as a repeat"
        )
        self.report(incident, opened, options, said)

    def transition(self, action: str, options: dict[str, Any], by: str) -> None:
        pk = incident_id(options["id"])
        if action == "ack":
            changed = service.acknowledge(pk, by=by, source="manual")
            done = "acknowledged"
        else:
            detail = checked_text("--detail", options.get("detail"))
            changed = service.resolve(pk, by=by, source="manual", detail=detail)
            done = "resolved"
        incident = Incident.objects.get(pk=pk)
        said = f"{done} #{pk}" if changed else f"#{pk} is {incident.status}: nothing changed"
        self.report(incident, changed, options, said)

    def report(
        self,
        incident: Incident,
        changed: bool,
        options: dict[str, Any],
        said: str,
        note: IncidentEvent | None = None,
    ) -> None:
        if options.get("json"):
            result: dict[str, Any] = {"changed": changed, "incident": as_dict(incident)}
            if note is not None:
                result["note"] = {"at": note.at.isoformat(), "by": note.actor, "text": note.detail}
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(said)
        self.stdout.write(one_line(incident))
