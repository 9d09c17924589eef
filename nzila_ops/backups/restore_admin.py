"""The admin's restore page: a typed confirmation, the ``nzila_ops.restore_backup``
permission, the restore run as a Celery task with its progress shown live by phase, audited.

BackupRecordAdmin inherits ``RestoreFromAdminMixin``, which adds the page's URLs to it:

- ``<pk>/restore/``: what will happen, and the form (type RESTORE). Staff without the
  permission get 403; a wrong word is refused with 400 and changes nothing; a second restore
  of a database while one runs is refused with 409.
- ``restore-progress/<request id>/`` (HTML) and ``.../json/``: the restore's phases, read from
  the cache (restore_progress.py). The swap replaces the database that holds the operator's
  session too, so these pages also admit the browser that started the restore (a signed
  cookie naming that request id), logged in or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.signing import BadSignature
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from nzila_ops.backups.confirmation import CONFIRMATION_WORD
from nzila_ops.formats import human_size

# The restore service (catalog, manifests, storages, restorers) and the progress store are
# imported by the views that use them, not here: the admin autodiscovers this module in every
# manage.py command (issue 16).
if TYPE_CHECKING:
    from nzila_ops.backups.admin_restore_service import AdminRestorePlan

PERMISSION = "nzila_ops.restore_backup"
COOKIE = "nzila_ops_restore"
COOKIE_SALT = "nzila_ops.restore_progress"


class RestoreForm(forms.Form):
    storage = forms.ChoiceField(label="Restore from storage")
    confirm = forms.CharField(
        label=f"Type {CONFIRMATION_WORD} to restore",
        max_length=100,
        required=False,  # empty is a wrong word, with the same message
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off"}),
    )

    def __init__(self, data: Any, storages: list[str], initial: str) -> None:
        super().__init__(data)
        self.fields["storage"].choices = [(name, name) for name in storages]
        self.fields["storage"].initial = initial

    def clean_confirm(self) -> str:
        word = self.cleaned_data["confirm"]
        if word != CONFIRMATION_WORD:
            raise forms.ValidationError(
                f"Type {CONFIRMATION_WORD} exactly (capitals, nothing else): nothing was done."
            )
        return word


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR only, as /ops/metrics: X-Forwarded-For is whatever the client wrote."""
    return request.META.get("REMOTE_ADDR") or None


class RestoreFromAdminMixin:
    """Adds the restore page (and its progress endpoint) to the backup catalog's admin."""

    admin_site: admin.AdminSite
    opts: Any

    def _restore_url_name(self, page: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{page}"

    def _url(self, page: str, *args: Any) -> str:
        """A URL of this admin site (a host's own AdminSite too, not only ``admin``)."""
        return reverse(f"{self.admin_site.name}:{self._restore_url_name(page)}", args=args)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/restore/",
                wrap(self.restore_view),
                name=self._restore_url_name("restore"),
            ),
            # Not admin_view: the session may be gone after the swap (restore_follower).
            path(
                "restore-progress/<str:request_id>/",
                never_cache(self.restore_progress_view),
                name=self._restore_url_name("restore_progress"),
            ),
            path(
                "restore-progress/<str:request_id>/json/",
                never_cache(self.restore_progress_json),
                name=self._restore_url_name("restore_progress_json"),
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    # -- links, only for those who may restore --------------------------------------------

    def may_restore(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = tuple(super().get_list_display(request))  # type: ignore[misc]
        return (*columns, "restore_link") if self.may_restore(request) else columns

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return (*fields, "restore_link")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != "restore_link"]})
            for name, options in fieldsets
        ]
        if obj is not None and self.may_restore(request):
            fieldsets.insert(1, ("Restore", {"fields": ["restore_link"]}))
        return fieldsets

    @admin.display(description="restore")
    def restore_link(self, record: Any) -> str:
        if not record.is_restorable:
            return ""
        url = self._url("restore", record.pk)
        return format_html('<a class="ops-restore-link" href="{}">Restore…</a>', url)

    # -- the page ----------------------------------------------------------------------------

    @method_decorator(require_http_methods(["GET", "POST"]))
    def restore_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from nzila_ops.backups import restore_progress as progress_store
        from nzila_ops.backups.admin_restore_service import (
            RestoreRefused,
            log_refused,
            plan_admin_restore,
            start_admin_restore,
        )

        if not self.may_restore(request):
            raise PermissionDenied
        record = self.get_object(request, object_id)  # type: ignore[attr-defined]
        if record is None:
            raise Http404("no such backup")
        # A copy is chosen on the form, or by a link when the primary cannot be read.
        data = request.POST if request.method == "POST" else request.GET
        plan = plan_admin_restore(record, data.get("storage") or None)
        form = RestoreForm(
            request.POST or None, storages=plan.storages or ["-"], initial=plan.storage
        )
        if request.method != "POST":
            return self._render(request, record, plan, form)
        username = request.user.get_username()
        address = client_address(request)
        if not form.is_valid():
            reason = _refusal_reason(form.errors)
            log_refused(plan.backup, plan.database, username, address, reason)
            return self._render(request, record, plan, form, status=400)
        try:
            request_id = start_admin_restore(plan, username, address)
        except RestoreRefused as exc:
            conflict = not plan.problem and progress_store.running_restore(plan.database)
            return self._render(
                request, record, plan, form, error=str(exc), status=409 if conflict else 400
            )
        url = self._url("restore_progress", request_id)
        response = HttpResponseRedirect(url, status=303)
        response.set_signed_cookie(
            COOKIE,
            request_id,
            salt=COOKIE_SALT,
            max_age=progress_store.KEEP_SECONDS,
            path=self._url("changelist"),
            secure=request.is_secure(),
            httponly=True,
            samesite="Strict",
        )
        return response

    def _render(
        self,
        request: HttpRequest,
        record: Any,
        plan: AdminRestorePlan,
        form: RestoreForm,
        error: str = "",
        status: int = 200,
    ) -> HttpResponse:
        # Here, not at the top: nzila_ops.admin imports this module while it registers.
        from nzila_ops.admin.display import moment
        from nzila_ops.backups import restore_progress as progress_store

        request.current_app = self.admin_site.name  # the templates' {% url %}, as Django's views
        running = progress_store.running_restore(plan.database)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Restore backup {record.name}",
            "record": record,
            "taken": moment(record.finished_at or record.started_at),
            "stored_size": human_size(record.stored_size),
            "plan": plan,
            "form": form,
            "error": error,
            "running_url": running and self._url("restore_progress", running),
        }
        return TemplateResponse(request, "admin/nzila_ops/restore.html", context, status=status)

    # -- progress ----------------------------------------------------------------------------

    def restore_follower(self, request: HttpRequest, request_id: str) -> bool:
        """Who may follow a restore: the browser that started this one (its signed cookie; its
        session may have gone with the swap), or anyone allowed to restore.

        The cookie is looked at first: it needs no database, which the swap has just replaced
        under this process's connections."""
        try:
            if request.get_signed_cookie(COOKIE, salt=COOKIE_SALT) == request_id:
                return True
        except (KeyError, BadSignature):
            pass
        return self.may_restore(request)

    def _progress(self, request: HttpRequest, request_id: str) -> dict[str, Any]:
        from nzila_ops.backups import restore_progress as progress_store

        if not self.restore_follower(request, request_id):
            raise PermissionDenied
        state = progress_store.read_progress(request_id)
        if state is None:
            raise Http404("no such restore (or its outcome has expired)")
        return describe_progress(state)

    @method_decorator(require_GET)
    def restore_progress_view(self, request: HttpRequest, request_id: str) -> HttpResponse:
        from django.contrib.auth.views import redirect_to_login

        if not request.user.is_authenticated and not request.COOKIES.get(COOKIE):
            # The next URL encoded (redirect_to_login): a request id path is plain, but the
            # query string is whatever the client sent.
            return redirect_to_login(
                request.get_full_path(), reverse(f"{self.admin_site.name}:login")
            )
        from nzila_ops.admin.display import moment

        state = self._progress(request, request_id)
        request.current_app = self.admin_site.name
        first = next((p["started_at"] for p in state["phases"] if p.get("started_at")), None)
        started = parse_datetime(first) if first else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Restore of {state['backup']}",
            "state": state,
            "started": moment(started) if started else "",
            "json_url": self._url("restore_progress_json", request_id),
        }
        return TemplateResponse(request, "admin/nzila_ops/restore_progress.html", context)

    @method_decorator(require_GET)
    def restore_progress_json(self, request: HttpRequest, request_id: str) -> HttpResponse:
        try:
            return JsonResponse(self._progress(request, request_id))
        except PermissionDenied:
            return JsonResponse({"error": "not allowed to follow this restore"}, status=403)
        except Http404:
            return JsonResponse({"error": "no such restore"}, status=404)


def describe_progress(state: dict[str, Any]) -> dict[str, Any]:
    """The stored state, with each phase's line as the page shows it."""
    from nzila_ops.backups.restore_progress import FINISHED

    phases = []
    for entry in state["phases"]:
        detail = ""
        if entry["state"] == "running" and state.get("bytes_done"):
            total = state.get("bytes_total")
            of_total = f" of {human_size(total)}" if total else ""
            detail = f"{human_size(state['bytes_done'])}{of_total}"
        elif entry["seconds"] is not None:
            detail = f"{entry['seconds']:.1f} s"
        phases.append({**entry, "detail": detail})
    return {
        **state,
        "phases": phases,
        "finished": state["state"] in FINISHED,
    }


def _refusal_reason(errors: Any) -> str:
    # Not the typed text itself: the log line stays one line, whatever was typed.
    reasons = {
        "confirm": f"the confirmation was not {CONFIRMATION_WORD}",
        "storage": "the storage chosen does not hold this backup",
    }
    return "; ".join(reasons.get(name, f"{name} is invalid") for name in errors)
