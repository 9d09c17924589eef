"""Incidents, their deliveries and maintenance windows in the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from nzila_ops.admin import display
from nzila_ops.admin.common import ListAdmin, ReadOnlyAdmin, ReadOnlyInline
from nzila_ops.exceptions import InvalidArgument
from nzila_ops.formats import duration
from nzila_ops.models import Delivery, Incident, IncidentEvent, MaintenanceWindow

# The incident service (and its notifiers) is imported by the actions that change an incident:
# the admin autodiscovers this module in every manage.py command (issue 16).

#: What an operator writes on an incident: everything else changes through the service.
POSTMORTEM_FIELDS = ("summary", "root_cause", "follow_up_actions", "postmortem_url")
# What the public status page shows instead of the internal title (docs/status_page.md).
WRITTEN_FIELDS = ("public_title", *POSTMORTEM_FIELDS)
#: The incident page's first section, in the order an operator reads it.
MAIN_FIELDS = ("title", "severity_badge", "status_badge", "component", "source", "key", "is_drill")
#: What the incident service changes on a transition.
TRANSITION_FIELDS = ("status", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by")


class IncidentEventInline(ReadOnlyInline):
    """The timeline, as it happened: append-only, so nothing here is editable."""

    model = IncidentEvent
    fields = ("at_shown", "kind", "severity", "actor", "source", "detail")
    readonly_fields = fields

    at_shown = display.moment_column("at", "at")


class IncidentForm(forms.ModelForm):
    transition = forms.ChoiceField(
        required=False,
        choices=[("", "leave as it is"), ("acknowledge", "acknowledge"), ("resolve", "resolve")],
        label="Status",
        help_text="Done through the incident service, as by the list's actions.",
    )
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Added to the timeline as a note by you (an update, what was tried).",
    )

    postmortem_url = forms.URLField(
        required=False, assume_scheme="https", label="Post-mortem link", max_length=200
    )

    class Meta:
        model = Incident
        fields = WRITTEN_FIELDS


@admin.register(Incident)
class IncidentAdmin(ListAdmin):
    """Incidents are opened by the app and change status only through the incident service:
    the list's actions acknowledge and resolve through it (each a timeline event, delivered to
    the notifiers); the form writes only the post-mortem fields and adds notes. No incident is
    added or deleted by hand: the timeline and the SLA figures depend on every one."""

    form = IncidentForm
    # An alert drill is a badge beside its status, not a column of its own: at 1400 px the list
    # scrolled sideways with one (filter by it on the side).
    list_display = ("number", "title", "severity_badge", "status_badge", "component", "source",
                    "detected", "mtta", "mttr")  # fmt: skip
    list_display_links = ("number", "title")
    list_filter = ("severity", "status", "component", "source", "is_drill")
    search_fields = ("title", "key", "component", "acknowledged_by", "resolved_by", "summary")
    date_hierarchy = "detected_at"
    actions = ("acknowledge_incidents", "resolve_incidents")
    inlines = (IncidentEventInline,)
    readonly_fields = ("title", "severity_badge", "status_badge", "component", "source", "key",
                       "is_drill", "detected", "mtta", "acknowledged", "acknowledged_by", "mttr",
                       "resolved", "resolved_by")  # fmt: skip
    fieldsets = (
        (None, {"fields": MAIN_FIELDS}),
        (
            "Times",
            {
                "fields": (
                    "detected",
                    ("acknowledged", "acknowledged_by", "mtta"),
                    ("resolved", "resolved_by", "mttr"),
                )
            },
        ),
        ("Act", {"fields": ("transition", "note")}),
        ("Status page", {"fields": ("public_title",)}),
        ("Post-mortem", {"fields": POSTMORTEM_FIELDS}),
    )

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        # Also removes the "Delete selected" action.
        return False

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, incident: Incident) -> SafeString:
        return display.badge(incident.severity)

    @admin.display(description="status", ordering="status")
    def status_badge(self, incident: Incident) -> SafeString:
        status = display.badge(incident.status)
        if incident.is_drill:
            return format_html("{} {}", status, display.badge("drill", "alert drill"))
        return status

    detected = display.moment_column("detected_at", "detected", sortable=True)
    acknowledged = display.moment_column("acknowledged_at", "acknowledged", sortable=True)
    resolved = display.moment_column("resolved_at", "resolved", sortable=True)

    @admin.display(description="#", ordering="pk")
    def number(self, incident: Incident) -> str:
        return f"#{incident.pk}"

    @admin.display(description="MTTA")
    def mtta(self, incident: Incident) -> str:
        return duration(incident.seconds_to_acknowledge)  # "-" when not yet, as Django shows empty

    @admin.display(description="MTTR")
    def mttr(self, incident: Incident) -> str:
        return duration(incident.seconds_to_resolve)

    def save_model(self, request: Any, obj: Incident, form: Any, change: bool) -> None:
        from nzila_ops.incidents import service

        # Only the post-mortem fields the operator changed are written, with an UPDATE of
        # those columns: obj.save() would write back the status and times as the form loaded
        # them, undoing an acknowledgement or resolution made meanwhile (a webhook, a colleague).
        changed = {f: getattr(obj, f) for f in WRITTEN_FIELDS if f in form.changed_data}
        if changed:
            Incident.objects.filter(pk=obj.pk).update(**changed)
        by = request.user.get_username()
        transition = form.cleaned_data.get("transition")
        if transition:
            function = service.acknowledge if transition == "acknowledge" else service.resolve
            if not function(obj.pk, by=by, source="manual"):
                status = Incident.objects.get(pk=obj.pk).status
                self.message_user(
                    request, f"#{obj.pk} was not {transition}d: it is {status}.", messages.WARNING
                )
        note = form.cleaned_data.get("note", "").strip()
        if note:
            service.add_note(obj, by=by, text=note)
        # The page's "was changed successfully" names the incident as it is now: the object
        # as the form loaded it still holds the status before the transition.
        obj.refresh_from_db(fields=TRANSITION_FIELDS)

    def _transition(self, request: Any, queryset: Any, verb: str, function: Any) -> None:
        by = request.user.get_username()
        done, skipped = [], 0
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                changed = function(pk, by=by, source="manual")
            except InvalidArgument:  # it went away meanwhile
                changed = False
            if changed:
                done.append(pk)
            else:
                skipped += 1
        if done:
            numbers = ", ".join(f"#{pk}" for pk in done)
            self.message_user(request, f"{verb} {numbers}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} incident(s) not {verb.lower()}: already {verb.lower()} or resolved.",
                messages.WARNING,
            )

    @admin.action(description="Acknowledge selected incidents", permissions=["change"])
    def acknowledge_incidents(self, request: Any, queryset: Any) -> None:
        from nzila_ops.incidents import service

        self._transition(request, queryset, "Acknowledged", service.acknowledge)

    @admin.action(description="Resolve selected incidents", permissions=["change"])
    def resolve_incidents(self, request: Any, queryset: Any) -> None:
        from nzila_ops.incidents import service

        self._transition(request, queryset, "Resolved", service.resolve)


class DeliveryStatusFilter(admin.SimpleListFilter):
    """Failed deliveries first: the pages and e-mails that never arrived. The others (pending:
    waiting for a retry, e.g. during a PagerDuty outage) are one click away."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [*Delivery.Status.choices, (self.ALL, "All")]

    def choices(self, changelist: Any) -> Any:
        current = self.value() or Delivery.Status.FAILED
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value() or Delivery.Status.FAILED
        return queryset if value == self.ALL else queryset.filter(status=value)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    date_hierarchy = "created_at"
    list_display = ("incident", "kind", "notifier", "status_badge", "attempts", "last_error",
                    "created", "sent", "next_attempt")  # fmt: skip
    list_filter = (DeliveryStatusFilter, "notifier", "event__kind")
    list_select_related = ("event", "event__incident")
    search_fields = ("last_error", "notifier", "event__incident__title")
    fields = ("incident", "kind", "notifier", "status_badge", "attempts", "created", "sent",
              "next_attempt", "last_error")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery: Delivery) -> SafeString:
        return display.badge(delivery.status)

    created = display.moment_column("created_at", "created", sortable=True)
    sent = display.moment_column("sent_at", "sent", sortable=True)
    next_attempt = display.moment_column("next_attempt_at", "next attempt", sortable=True)

    @admin.display(description="incident", ordering="event__incident")
    def incident(self, delivery: Delivery) -> str:
        incident = delivery.event.incident
        url = reverse("admin:nzila_ops_incident_change", args=[incident.pk])
        return format_html('<a href="{}">{}</a>', url, incident)

    @admin.display(description="event", ordering="event__kind")
    def kind(self, delivery: Delivery) -> str:
        return delivery.event.kind


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ListAdmin):
    """Declared maintenance: neither up nor down time in the SLA report (docs/SLA_TARGETS.md).
    Blank component: every component."""

    list_display = ("starts", "ends", "component_shown", "reason", "created_by")
    list_filter = ("component",)
    search_fields = ("component", "reason", "created_by")
    date_hierarchy = "starts_at"
    fields = ("component", "starts_at", "ends_at", "reason", "created_by", "created")
    readonly_fields = ("created_by", "created")

    starts = display.moment_column("starts_at", "starts", sortable=True)
    ends = display.moment_column("ends_at", "ends", sortable=True)
    created = display.moment_column("created_at", "created")

    @admin.display(description="component", ordering="component")
    def component_shown(self, window: MaintenanceWindow) -> str:
        return window.component or "(all components)"

    def save_model(self, request: Any, obj: MaintenanceWindow, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
