"""``sync_pagerduty``: the on-call set-up of the original plan, made through the REST API v2.

What it makes, all named ``NAME_PREFIX`` + the setting's name and found again by that name:
the on-call schedules (one rotation layer each: users, turn length, hand-off), the escalation
policies (levels of schedules, minutes before the next level) and the PagerDuty services, each
with an Events API v2 integration whose routing key is shown once, when it is created.

Idempotent: what already matches is left alone, what differs is updated (only the fields it
owns: another layer on a schedule, another integration on a service, stay as they are), what is
missing is created. A second run makes no writes. Nothing is ever deleted. Every user is looked
up before anything is written, so a missing user changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nzila_ops.exceptions import ConfigurationError, describe
from nzila_ops.integrations.pagerduty.config import WEEKDAYS, pagerduty_config
from nzila_ops.integrations.pagerduty.rest import RestClient, reference
from nzila_ops.integrations.pagerduty.transport import PagerDutyError, RetryPolicy

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
SCHEDULE, POLICY, SERVICE, INTEGRATION = "schedule", "escalation policy", "service", "integration"
LAYER_NAME = "Nzila rotation"
INTEGRATION_NAME = "Nzila Ops (Events API v2)"
EVENTS_V2 = "events_api_v2_inbound_integration"
DESCRIPTION = "Managed by nzila_ops (manage.py sync_pagerduty)"
# Critical and error events page at high urgency, warning and info at low: our P0/P1 wake
# someone up, P2/P3 wait for working hours.
URGENCY_RULE = {"type": "constant", "urgency": "severity_based"}
# A fixed Monday: a rotation's start must not move between runs, or no run would be unchanged.
ANCHOR = datetime(2024, 1, 1)


@dataclass(frozen=True)
class Change:
    """What ``sync_pagerduty`` did, or in a dry run would do, to one object.

    ``routing_key`` is set only for an integration this run created: the one time it is shown;
    ``service`` is then its key in ``ROUTING_KEYS``.
    """

    kind: str
    name: str
    action: str
    object_id: str | None = None
    fields: tuple[str, ...] = ()
    dry_run: bool = False
    routing_key: str | None = None
    service: str = ""


def sync_pagerduty(dry_run: bool = False) -> list[Change]:
    """Create or update the schedules, escalation policies, services and integrations.

    Raises ConfigurationError for a missing token, a bad setting or a user PagerDuty does not
    know (before any write), PagerDutyError when the API fails.
    """
    config = pagerduty_config(for_sync=True)
    client = RestClient(config["API_TOKEN"], config["API_URL"], RetryPolicy.from_config(config))
    try:
        return Sync(client, config, dry_run).run()
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # An answer not shaped as documented (a proxy's JSON, an API change): one line, and
        # what was written before it is found by name on the next run.
        raise PagerDutyError(
            f"PagerDuty answered in an unexpected shape ({describe(exc)}); stopped after "
            f"{client.writes} write(s)",
            transient=False,
        ) from None


class Sync:
    def __init__(self, client: RestClient, config: dict[str, Any], dry_run: bool) -> None:
        self.client = client
        self.config = config
        self.dry_run = dry_run
        self.prefix = config["NAME_PREFIX"]
        self.changes: list[Change] = []

    def run(self) -> list[Change]:
        users = self.user_ids()
        schedules = {
            key: self.schedule(spec, [users[email.lower()] for email in spec["USERS"]])
            for key, spec in self.config["SCHEDULES"].items()
        }
        policies = {
            name: self.policy(name, spec, schedules)
            for name, spec in self.config["ESCALATION_POLICIES"].items()
        }
        for name, policy_name in self.config["SERVICES"].items():
            self.service(name, policies[policy_name])
        return self.changes

    def user_ids(self) -> dict[str, str]:
        """E-mail (lower case) -> user id, for every user of every schedule."""
        wanted = {e.lower() for s in self.config["SCHEDULES"].values() for e in s["USERS"]}
        found: dict[str, str] = {}
        for email in sorted(wanted):
            for user in self.client.list("users", query=email):
                if str(user.get("email", "")).lower() == email:
                    found[email] = str(user["id"])
        missing = sorted(wanted - set(found))
        if missing:
            raise ConfigurationError(
                f"PagerDuty has no user {', '.join(missing)}: invite them (or fix "
                "NZILA_OPS['PAGERDUTY']['SCHEDULES']); nothing was changed"
            )
        return found

    def find(self, collection: str, name: str, **params: Any) -> dict[str, Any] | None:
        # The API's query matches parts of names; ours is the exact one (if two have it, the
        # lowest id, so that every run picks the same one).
        exact = [
            o for o in self.client.list(collection, query=name, **params) if o.get("name") == name
        ]
        return min(exact, key=lambda o: str(o["id"])) if exact else None

    def reconcile(
        self,
        kind: str,
        name: str,
        found: dict[str, Any],
        collection: str,
        body: dict[str, Any],
        differences: list[str],
    ) -> str:
        """Update an object that exists (unless a dry run) when it differs from ``body``, and
        record what was done. Returns its id."""
        if differences and not self.dry_run:
            self.client.update(f"{collection}/{found['id']}", body["type"], body)
        action = UPDATED if differences else UNCHANGED
        self.record(kind, name, action, str(found["id"]), tuple(differences))
        return str(found["id"])

    def record(
        self,
        kind: str,
        name: str,
        action: str,
        object_id: str | None,
        fields: tuple[str, ...] = (),
        routing_key: str | None = None,
        service: str = "",
    ) -> None:
        self.changes.append(
            Change(kind, name, action, object_id, fields, self.dry_run, routing_key, service)
        )

    def schedule(self, spec: dict[str, Any], user_ids: list[str]) -> str | None:
        name = self.prefix + spec["NAME"]
        start = handoff_start(self.config).isoformat()
        layer = {
            "name": LAYER_NAME,
            "start": start,
            "rotation_virtual_start": start,
            "rotation_turn_length_seconds": spec["ROTATION_DAYS"] * 86400,
            "users": [{"user": reference(uid, "user")} for uid in user_ids],
        }
        wanted = {
            "type": "schedule",
            "name": name,
            "time_zone": self.config["TIME_ZONE"],
            "description": DESCRIPTION,
        }
        found = self.find("schedules", name)
        if found is None:
            created = None
            if not self.dry_run:
                created = self.client.create(
                    "/schedules", "schedule", {**wanted, "schedule_layers": [layer]}
                )
            self.record(SCHEDULE, name, CREATED, created and created["id"])
            return created and str(created["id"])
        current = self.client.get("schedules", str(found["id"]), "schedule")
        layers = [dict(x) for x in current.get("schedule_layers") or []]
        ours = next((x for x in layers if x.get("name") == LAYER_NAME and not x.get("end")), None)
        differences = [] if current.get("time_zone") == wanted["time_zone"] else ["time_zone"]
        if ours is None:
            differences.append("rotation")
            layers.append(layer)
        else:
            differences += _layer_differences(ours, layer)
            ours.update({k: v for k, v in layer.items() if k != "name"})
        return self.reconcile(
            SCHEDULE, name, found, "/schedules", {**wanted, "schedule_layers": layers}, differences
        )

    def policy(self, name: str, spec: dict[str, Any], schedules: dict[str, str | None]) -> Any:
        full_name = self.prefix + name
        rules = [
            {
                "escalation_delay_in_minutes": level["DELAY_MINUTES"],
                "targets": [
                    reference(str(schedules[key]), "schedule") for key in level["SCHEDULES"]
                ],
            }
            for level in spec["LEVELS"]
        ]
        wanted = {
            "type": "escalation_policy",
            "name": full_name,
            "num_loops": spec["REPEAT"],
            "description": DESCRIPTION,
            "escalation_rules": rules,
        }
        found = self.find("escalation_policies", full_name)
        if found is None:
            created = (
                None
                if self.dry_run
                else self.client.create("/escalation_policies", "escalation_policy", wanted)
            )
            self.record(POLICY, full_name, CREATED, created and created["id"])
            return created and str(created["id"])
        differences = []
        if found.get("num_loops") != spec["REPEAT"]:
            differences.append("repeat")
        if _rules(found.get("escalation_rules")) != _rules(rules):
            differences.append("levels")
        return self.reconcile(POLICY, full_name, found, "/escalation_policies", wanted, differences)

    def service(self, name: str, policy_id: str | None) -> None:
        full_name = self.prefix + name
        wanted = {
            "type": "service",
            "name": full_name,
            "description": DESCRIPTION,
            "escalation_policy": reference(str(policy_id), "escalation_policy"),
            "incident_urgency_rule": URGENCY_RULE,
            "alert_creation": "create_alerts_and_incidents",
        }
        found = self.find("services", full_name, **{"include[]": "integrations"})
        if found is None:
            created = None if self.dry_run else self.client.create("/services", "service", wanted)
            self.record(SERVICE, full_name, CREATED, created and created["id"])
            self.integration(name, created and str(created["id"]), [])
            return
        differences = []
        if (found.get("escalation_policy") or {}).get("id") != policy_id:
            differences.append("escalation_policy")
        rule = found.get("incident_urgency_rule") or {}
        if {k: rule.get(k) for k in URGENCY_RULE} != URGENCY_RULE:
            differences.append("incident_urgency_rule")
        # Only the fields that differ: a service's other settings are the account owner's.
        fields = {"type": "service", "name": full_name, **{k: wanted[k] for k in differences}}
        self.reconcile(SERVICE, full_name, found, "/services", fields, differences)
        self.integration(name, str(found["id"]), found.get("integrations") or [])

    def integration(self, service: str, service_id: str | None, have: list[Any]) -> None:
        name = f"{self.prefix}{service}: {INTEGRATION_NAME}"
        ours = [
            i
            for i in have
            if isinstance(i, dict)
            and i.get("type") == EVENTS_V2
            and i.get("name") == INTEGRATION_NAME
        ]
        if ours:
            self.record(INTEGRATION, name, UNCHANGED, str(ours[0]["id"]))
            return
        if self.dry_run or service_id is None:
            self.record(INTEGRATION, name, CREATED, None)
            return
        created = self.client.create(
            f"/services/{service_id}/integrations",
            "integration",
            {
                "type": EVENTS_V2,
                "name": INTEGRATION_NAME,
                "service": reference(service_id, "service"),
            },
        )
        self.record(
            INTEGRATION,
            name,
            CREATED,
            str(created["id"]),
            routing_key=str(created.get("integration_key") or "") or None,
            service=service,
        )


def handoff_start(config: dict[str, Any]) -> datetime:
    """The first hand-off: HANDOFF_DAY of the anchor week at HANDOFF_TIME in TIME_ZONE."""
    hours, minutes = (int(part) for part in config["HANDOFF_TIME"].split(":"))
    day = ANCHOR.day + WEEKDAYS.index(config["HANDOFF_DAY"])
    return ANCHOR.replace(day=day, hour=hours, minute=minutes, tzinfo=ZoneInfo(config["TIME_ZONE"]))


def _layer_differences(have: dict[str, Any], want: dict[str, Any]) -> list[str]:
    differences = []
    users = [(u.get("user") or {}).get("id") for u in have.get("users") or []]
    if users != [u["user"]["id"] for u in want["users"]]:
        differences.append("users")
    if have.get("rotation_turn_length_seconds") != want["rotation_turn_length_seconds"]:
        differences.append("rotation_days")
    if _instant(have.get("rotation_virtual_start")) != _instant(want["rotation_virtual_start"]):
        differences.append("handoff")
    return differences


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _rules(rules: Any) -> list[tuple[Any, list[str]]]:
    return [
        (
            rule.get("escalation_delay_in_minutes"),
            sorted(str(t.get("id")) for t in rule.get("targets") or []),
        )
        for rule in rules or []
    ]
