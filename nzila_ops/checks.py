"""System checks: misconfiguration shows up in ``manage.py check`` with stable ids.

Every id is listed in docs/checks.md.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from nzila_ops.exceptions import OpsError


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    from nzila_ops.backups.encryption import parse_recipients
    from nzila_ops.backups.storages import get_storage
    from nzila_ops.conf import get_config

    try:
        config = get_config()
    except OpsError as exc:
        return [Error(str(exc), id="nzila_ops.E001")]
    messages = []
    try:
        get_storage()
    except OpsError as exc:
        messages.append(
            Error(
                str(exc),
                hint="Set NZILA_OPS['STORAGES'] = {'default': 'file:///srv/backups'} "
                "or an s3:// URL.",
                id="nzila_ops.E002",
            )
        )
    try:
        parse_recipients(config["AGE_RECIPIENTS"])
    except OpsError as exc:
        messages.append(Error(str(exc), id="nzila_ops.E003"))
    try:
        from nzila_ops.health.registry import get_checks

        get_checks()
    except OpsError as exc:
        messages.append(Error(str(exc), id="nzila_ops.E004"))
    for path in config["NOTIFIERS"]:
        # notify() logs and skips a backend it cannot import: found here at deploy time, not
        # when the first failure should have been reported.
        try:
            import_string(path)
        except ImportError as exc:
            messages.append(Error(f"cannot import notifier {path}: {exc}", id="nzila_ops.E005"))
    messages += _incident_notifier_errors(config["INCIDENT_NOTIFIERS"])
    if not config["AGE_RECIPIENTS"]:
        messages.append(
            Warning(
                "backups are not encrypted: NZILA_OPS['AGE_RECIPIENTS'] is empty",
                hint="Generate a key pair with age-keygen and set the public key (age1...).",
                id="nzila_ops.W001",
            )
        )
    return messages


@register(Tags.compatibility, deploy=True)
def check_notification_recipients(app_configs: Any = None, **kwargs: Any) -> list:
    """The e-mail notifier with nobody to write to sends nothing and says nothing (it returns
    quietly, so that a notification problem never fails a backup): found at deploy time.
    A deployment check (``check --deploy``): a development host has no recipients either."""
    from nzila_ops.conf import get_config
    from nzila_ops.notify.email import EmailIncidentNotifier, EmailNotifier, recipients

    try:
        config = get_config()
    except OpsError:
        return []  # nzila_ops.E001 says why
    emailing = False
    # Failures reach e-mail as incidents (INCIDENT_NOTIFIERS); successes through NOTIFIERS.
    backends = [(path, EmailNotifier) for path in config["NOTIFIERS"]]
    backends += [(path, EmailIncidentNotifier) for path in config["INCIDENT_NOTIFIERS"]]
    for path, email_class in backends:
        try:
            notifier = import_string(path)
        except ImportError:
            continue  # nzila_ops.E005
        emailing = emailing or (isinstance(notifier, type) and issubclass(notifier, email_class))
    if not emailing or recipients():
        return []
    return [
        Warning(
            "failure e-mails would go to nobody: the e-mail notifier is configured but "
            "NZILA_OPS['NOTIFY_EMAILS'] and ADMINS are empty",
            hint="Set NZILA_OPS['NOTIFY_EMAILS'] (or ADMINS) to the on-call addresses, or "
            "remove the e-mail notifiers from NZILA_OPS['NOTIFIERS'] and "
            "['INCIDENT_NOTIFIERS'].",
            id="nzila_ops.W002",
        )
    ]


@register(Tags.compatibility)
def check_pagerduty(app_configs: Any = None, **kwargs: Any) -> list:
    """NZILA_OPS['PAGERDUTY'] checked when the app starts, not when the first page fails for
    good on it."""
    from nzila_ops.conf import get_config
    from nzila_ops.integrations.pagerduty.config import pagerduty_config

    try:
        get_config()
    except OpsError:
        return []  # nzila_ops.E001 says why
    try:
        pagerduty_config()
    except OpsError as exc:
        return [Error(str(exc), id="nzila_ops.E006")]
    return []


@register(Tags.compatibility, deploy=True)
def check_pagerduty_routing_keys(app_configs: Any = None, **kwargs: Any) -> list:
    """The PagerDuty notifier with services it cannot page (no routing key): their pages would
    each fail for good. A deployment check: a development host pages nobody."""
    from nzila_ops.conf import get_config
    from nzila_ops.integrations.pagerduty.config import pagerduty_config

    try:
        config = get_config()
        pagerduty = pagerduty_config()
    except OpsError:
        return []  # nzila_ops.E001 or E006 says why
    from nzila_ops.integrations.pagerduty.notifier import PagerDutyNotifier

    paging = False
    for path in config["INCIDENT_NOTIFIERS"]:
        try:
            notifier = import_string(path)
        except ImportError:
            continue  # get_notifiers() refuses it
        paging = paging or (isinstance(notifier, type) and issubclass(notifier, PagerDutyNotifier))
    # The services some component can page: those of COMPONENT_SERVICES and the default one.
    services = {*pagerduty["COMPONENT_SERVICES"].values(), pagerduty["DEFAULT_SERVICE"]}
    missing = sorted(services - set(pagerduty["ROUTING_KEYS"]))
    if not paging or not missing:
        return []
    return [
        Warning(
            f"PagerDuty service(s) {', '.join(missing)} have no routing key: their incidents "
            "would not be paged (each page failed for good)",
            hint="Set NZILA_OPS['PAGERDUTY']['ROUTING_KEYS'] (manage.py sync_pagerduty prints "
            "them when it makes the integrations).",
            id="nzila_ops.W003",
        )
    ]


def _incident_notifier_errors(paths: list[str]) -> list[Error]:
    """A wrong path in INCIDENT_NOTIFIERS is left out when incidents are delivered: said here."""
    from nzila_ops.incidents.notifiers import load_notifier

    messages, names = [], set()
    for path in paths:
        try:
            name = load_notifier(path).name
        except OpsError as exc:
            messages.append(Error(str(exc), id="nzila_ops.E005"))
            continue
        if name in names:
            messages.append(
                Error(
                    f"two incident notifiers are named {name!r}; the second is ignored",
                    id="nzila_ops.E005",
                )
            )
        names.add(name)
    return messages


@register(Tags.compatibility)
def check_webhooks(app_configs: Any = None, **kwargs: Any) -> list:
    """NZILA_OPS['WEBHOOKS'] checked when the app starts: invalid, every webhook would answer
    503 and the vendors' alerts would be lost once their retries run out."""
    from nzila_ops.conf import get_config
    from nzila_ops.integrations.inbound import webhook_config

    try:
        get_config()
    except OpsError:
        return []  # nzila_ops.E001 says why
    try:
        webhook_config()
    except OpsError as exc:
        return [Error(str(exc), id="nzila_ops.E007")]
    return []


@register(Tags.security, deploy=True)
def check_webhook_token(app_configs: Any = None, **kwargs: Any) -> list:
    """A short UptimeRobot webhook token: it is the only proof that an alert is UptimeRobot's
    (it signs nothing), so a guessable one lets anyone open and resolve incidents."""
    from nzila_ops.integrations.inbound import MIN_TOKEN_LENGTH, webhook_config

    try:
        token = webhook_config()["UPTIMEROBOT_TOKEN"]
    except OpsError:
        return []  # nzila_ops.E001 / E007 say why
    if token is None or len(token) >= MIN_TOKEN_LENGTH:
        return []
    return [
        Warning(
            f"NZILA_OPS['WEBHOOKS']['UPTIMEROBOT_TOKEN'] is shorter than {MIN_TOKEN_LENGTH} "
            "characters: anyone who guesses it can open and resolve incidents",
            hint='Use a long random one: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))"',
            id="nzila_ops.W004",
        )
    ]


@register(Tags.compatibility, deploy=True)
def check_storages_reachable(app_configs: Any = None, **kwargs: Any) -> list:
    """The backup storage and every copy target, as the app's credentials see them: a probe
    object written, read back and deleted (E008), and a storage asking for object lock on a
    bucket that has none, or has a default retention rule (E009).

    A deployment check (``check --deploy``) because it talks to the storages: plain system
    checks run before every ``manage.py`` command (each migrate, shell, worker start) and must
    not wait on S3. ``verify_backup`` reports the object lock too."""
    from nzila_ops.backups.storages import get_storage
    from nzila_ops.conf import get_config
    from nzila_ops.exceptions import describe

    try:
        config = get_config()
    except OpsError:
        return []  # nzila_ops.E001 says why
    names = dict.fromkeys([config["BACKUP_STORAGE"], *config.get("COPY_STORAGES", [])])
    messages: list = []
    for name in names:
        try:
            storage = get_storage(name)
        except OpsError:
            continue  # nzila_ops.E002 (or E001 for a copy target) says why
        where = f"backup storage {name!r} ({storage.describe()})"
        try:
            storage.check()
        except Exception as exc:  # any failure to write and read is the finding
            messages.append(
                Error(
                    f"{where}: the app's credentials cannot write, read and delete there: "
                    f"{describe(exc)}",
                    hint="See docs/backups.md, 'Least-privilege IAM policies'.",
                    id="nzila_ops.E008",
                )
            )
            continue
        try:
            storage.check_immutability()
        except OpsError as exc:
            messages.append(
                Error(
                    f"{where}: {exc}",
                    hint="See docs/backups.md, 'Immutable backups (S3 Object Lock)'.",
                    id="nzila_ops.E009",
                )
            )
    return messages


@register(Tags.compatibility)
def check_metrics_multiprocess_dir(app_configs: Any = None, **kwargs: Any) -> list:
    """PROMETHEUS_MULTIPROC_DIR set but missing (a /run directory emptied by a reboot): every
    process then fails to record request metrics and /ops/metrics shows none of them."""
    import os

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path or (os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)):
        return []
    return [
        Warning(
            f"PROMETHEUS_MULTIPROC_DIR is {path!r}, which is not a writable directory: request, "
            "query and cache metrics are not recorded",
            hint="Create it before starting (gunicorn -c python:nzila_ops.observability.gunicorn "
            "creates it at start), or unset it when not serving with several processes.",
            id="nzila_ops.W005",
        )
    ]


@register(Tags.caches, deploy=True)
def check_restore_progress_cache(app_configs: Any = None, **kwargs: Any) -> list:
    """The admin's restore runs in a Celery worker and writes its progress, and the one-restore
    claim, to the default cache, where the web process reads them: a process-local cache
    (LocMem, Dummy) is not shared, so the page would wait forever and a second restore would
    not be refused (only the advisory lock would stop it)."""
    from celery import current_app
    from django.core.cache import caches
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache

    if current_app.conf.task_always_eager:
        return []  # the task runs in the web process: its own memory is shared
    backend = caches["default"]
    if not isinstance(backend, LocMemCache | DummyCache):
        return []
    return [
        Warning(
            f"the default cache ({type(backend).__name__}) is not shared between processes: "
            "the admin's restore page cannot show a restore's progress or refuse a second one",
            hint="Use a shared cache (Redis: CACHES['default'] = {'BACKEND': "
            "'django.core.cache.backends.redis.RedisCache', 'LOCATION': 'redis://…'}).",
            id="nzila_ops.W006",
        )
    ]
