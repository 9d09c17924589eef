"""The defaults of every NZILA_OPS setting, each with what it means (docs/*.md list them too).

Kept apart from nzila_ops.conf, which merges the host's settings over these and validates the
result; this module imports nothing but typing, so any module may read the defaults.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # Named storages; each is a URL ("file:///srv/backups", "s3://bucket/prefix") or a dict
    # {"BACKEND": dotted.path, "OPTIONS": {...}}. More than one may exist (second-region copies).
    "STORAGES": {},
    # The name (key of STORAGES) that new backups go to.
    "BACKUP_STORAGE": "default",
    # Database aliases that scheduled backups cover.
    "BACKUP_DATABASES": ["default"],
    # Storages (names in STORAGES, not BACKUP_STORAGE) every successful backup is copied to,
    # verified against its manifest (docs/backups.md, "Copies to a second storage").
    "COPY_STORAGES": [],
    # A failed copy is tried again this many times, after COPY_RETRY_SECONDS doubled each
    # time (at most an hour); then it opens an incident (component copy:<alias>).
    "COPY_TASK_RETRIES": 5,
    "COPY_RETRY_SECONDS": 60,
    # A copy whose task was never queued (the broker down) or that ran out of retries is made
    # by the hourly catch-up (copy_missing), installed only when COPY_STORAGES is not empty.
    "COPY_CATCH_UP_CRON": "15 * * * *",
    # Storage name -> RETENTION entries that differ for that storage (merged over RETENTION).
    "STORAGE_RETENTION": {},
    # Dump engine per Django database vendor, by dotted path.
    "DUMP_ENGINES": {
        "postgresql": "nzila_ops.backups.engines.postgresql.PostgreSQLDumpEngine",
        "sqlite": "nzila_ops.backups.engines.sqlite.SQLiteDumpEngine",
    },
    # Restorer per Django database vendor, by dotted path.
    "RESTORERS": {
        "postgresql": "nzila_ops.backups.restorers.postgresql.PostgreSQLRestorer",
        "sqlite": "nzila_ops.backups.restorers.sqlite.SQLiteRestorer",
    },
    "PG_DUMP": "pg_dump",
    "PG_RESTORE": "pg_restore",
    # "zstd" (default) or "gzip" (level 9, the original plan's format).
    "COMPRESSION": "zstd",
    # None means the codec's default: zstd 3, gzip 9.
    "COMPRESSION_LEVEL": None,
    # zstd worker threads; 0 = in the calling thread, -1 = half the CPUs (at least one).
    "COMPRESSION_THREADS": -1,
    # age X25519 public keys ("age1..."). Encryption is on whenever one is set.
    "AGE_RECIPIENTS": [],
    # File of age private identities ("AGE-SECRET-KEY-1..."); only needed to restore or verify.
    "AGE_IDENTITY_FILE": None,
    # Private directory (mode 0700, files 0600) for temporary files, some of which hold the
    # database in plain text: a restore's decrypted dump, a SQLite snapshot, a pgpass file.
    # None: <system temp>/nzila-ops-<uid>. What a killed run left there is removed by the next.
    "SCRATCH_DIR": None,
    # pg_restore --jobs, and the maintenance_work_mem of its sessions (index builds).
    "RESTORE_JOBS": 2,
    "RESTORE_MAINTENANCE_WORK_MEM": "256MB",
    # Database that CREATE/ALTER/DROP DATABASE statements run from (the live one may be gone).
    "MAINTENANCE_DATABASE": "postgres",
    # Databases kept by a restore (<name>_pre_restore_<time>) may be pruned after this many days.
    "PRE_RESTORE_KEEP_DAYS": 7,
    "RPO_TARGET_SECONDS": 15 * 60,
    # The RPO watch alerts once the newest good backup is older than target + grace.
    "RPO_GRACE_SECONDS": 5 * 60,
    "RTO_TARGET_SECONDS": 60 * 60,
    # Schedules (crontab: minute hour day-of-month month day-of-week, in CELERY_TIMEZONE/UTC)
    # installed by `manage.py setup_schedules`. Backups every 10 minutes meet the RPO target:
    # at worst 10 minutes plus a dump's duration are lost, and the newest backup never gets
    # older than RPO_TARGET_SECONDS in steady state, so neither the RPO watch nor the freshness
    # check alarms. Hourly backups breached the 15-minute RPO 20 minutes after each one; every
    # 15 minutes would still put the worst case at 15 minutes plus the dump, over the target.
    "BACKUP_CRON": "*/10 * * * *",
    "RETENTION_CRON": "30 * * * *",
    "DRILL_CRON": "0 4 * * 0",
    # Storages (keys of STORAGES) the scheduled DR drill takes turns over, one a week (a copy
    # in another region is then proved restorable too); empty: BACKUP_STORAGE only.
    "DRILL_STORAGES": [],
    "RPO_WATCH_CRON": "*/5 * * * *",
    "DIGEST_CRON": "0 7 * * *",
    "HEALTH_SAMPLE_CRON": "* * * * *",
    # A running backup refreshes its claim's heartbeat this often; a claim whose heartbeat is
    # older than the timeout belongs to a dead run and is taken over (its record marked failed).
    # On a PostgreSQL catalog a dead process's claim is taken over at once (an advisory lock).
    "BACKUP_HEARTBEAT_SECONDS": 10,
    "BACKUP_HEARTBEAT_TIMEOUT_SECONDS": 45,
    # Transient storage errors of the backup task are retried this often, with backoff.
    "BACKUP_TASK_RETRIES": 3,
    # Grandfather-father-son retention, per database: the newest backup of each of the last
    # N hours / days / ISO weeks / months is kept. Backups younger than MIN_AGE_MINUTES, and
    # the newest good backup, are always kept.
    "RETENTION": {"HOURLY": 24, "DAILY": 7, "WEEKLY": 4, "MONTHLY": 12, "MIN_AGE_MINUTES": 60},
    # Notifier backends by dotted path; email goes to NOTIFY_EMAILS (default: settings.ADMINS).
    "NOTIFIERS": ["nzila_ops.notify.email.EmailNotifier"],
    "NOTIFY_EMAILS": [],
    # Successful backups: "each" (one email each), "digest" (one a day) or "off".
    "NOTIFY_ON_SUCCESS": "each",
    # Incidents (docs/incidents.md). Each transition (opened, acknowledged, resolved, reopened,
    # severity changed) is delivered to each of these backends, by dotted path.
    "INCIDENT_NOTIFIERS": ["nzila_ops.notify.email.EmailIncidentNotifier"],
    # Severity of a fault per component, or per kind of component ("backup" covers
    # "backup:<alias>"); "warning" is for a health check that is degraded, not failing. Merged
    # over these defaults. Not named: P1 for a critical health check, P2 for any other.
    "INCIDENT_SEVERITIES": {
        "database": "P0",
        "payments_api": "P0",
        "api": "P1",
        "auth_api": "P1",
        "deals_api": "P1",
        "vehicles_api": "P1",
        "celery_workers": "P1",
        "redis": "P1",
        "backup": "P1",
        "rpo": "P1",
        "restore": "P1",
        "websocket": "P2",
        "admin_portal": "P2",
        "drill": "P2",
        "disk": "P3",
        "warning": "P3",
    },
    # Flapping: a component that goes down again within this many seconds of its incident's
    # resolution reopens that incident; once reopened, it resolves only after staying up as long.
    "INCIDENT_FLAP_SECONDS": 15 * 60,
    # A delivery that failed transiently is tried again after RETRY_SECONDS, doubled each time
    # (at most an hour), up to MAX_ATTEMPTS in all; then it is failed, and said so on the timeline.
    "INCIDENT_DELIVERY_RETRY_SECONDS": 60,
    "INCIDENT_DELIVERY_MAX_ATTEMPTS": 10,
    # The periodic task that sends deliveries that are due and resolves settled flapping incidents.
    "INCIDENT_RETRY_CRON": "* * * * *",
    # The alert-path drill (manage.py run_alert_drill, a P2 page waiting 10 minutes for its
    # acknowledgement) as a beat entry, e.g. "0 10 * * 2"; None: not installed. Off by default:
    # it pages a person.
    "ALERT_DRILL_CRON": None,
    # Health checks: each a dotted path, or {"CHECK": dotted.path, "NAME": ..., "OPTIONS": {...}}.
    # None means the built-in set (see nzila_ops.health.registry.default_checks).
    "HEALTH_CHECKS": None,
    # Checks added to the built-in set (when HEALTH_CHECKS is None): the host's own APIs.
    "HEALTH_EXTRA_CHECKS": [],
    # Seconds a health result is reused, so frequent polling cannot hammer dependencies (0: off).
    "HEALTH_CACHE_SECONDS": 10,
    # Default per-check timeout in seconds.
    "HEALTH_TIMEOUT_SECONDS": 2.0,
    # Requests carrying this value in the X-Nzila-Health-Token header see reasons and latencies.
    "HEALTH_TOKEN": None,
    # A component is recorded as down after this many consecutive failing samples.
    "HEALTH_FAILURES_BEFORE_DOWN": 2,
    # A component not sampled for longer than this (the sampler, beat or the database was
    # down) was not observed from its last sample + this on: that stretch is "unknown" (no
    # data in uptime), never its last state run on. Three sample intervals of the default cron.
    "HEALTH_SAMPLE_GAP_SECONDS": 180,
    # UptimeRobot provisioning (manage.py sync_uptimerobot).
    "UPTIMEROBOT": {
        "API_KEY": None,
        "API_URL": "https://api.uptimerobot.com/v2/",
        # Public base URL of this deployment, e.g. "https://hub.example.com".
        "BASE_URL": None,
        "INTERVAL": 300,
        # Alert contact ids as UptimeRobot lists them, e.g. ["0123456"].
        "ALERT_CONTACTS": [],
    },
    # PagerDuty: incident pages through the Events API v2 and provisioning through the REST API
    # v2 (manage.py sync_pagerduty). Described in docs/pagerduty.md.
    "PAGERDUTY": {
        "EVENTS_URL": "https://events.pagerduty.com/v2/enqueue",
        "API_URL": "https://api.pagerduty.com",
        # REST API v2 token: sync_pagerduty only (paging needs the routing keys alone).
        "API_TOKEN": None,
        # Events API v2 routing key per PagerDuty service ("Database": "R0..."); sync_pagerduty
        # prints each once when it creates the service's integration.
        "ROUTING_KEYS": {},
        # PagerDuty service -> its escalation policy (a key of ESCALATION_POLICIES).
        "SERVICES": {
            "API": "High Priority",
            "Database": "Critical Infrastructure",
            "Payments": "Critical Infrastructure",
            "Celery": "High Priority",
            "Auth": "High Priority",
            "Infrastructure": "Medium Priority",
        },
        # Component (shell pattern) -> service, first match wins; anything else: DEFAULT_SERVICE.
        "COMPONENT_SERVICES": {
            "database": "Database",
            "database_*": "Database",
            "migrations": "Database",
            "payments_api": "Payments",
            "celery_*": "Celery",
            "auth_api": "Auth",
            "backup*": "Infrastructure",
            "copy:*": "Infrastructure",
            "drill:*": "Infrastructure",
            "rpo:*": "Infrastructure",
            "restore:*": "Infrastructure",
            "redis": "Infrastructure",
            "cache": "Infrastructure",
            "disk": "Infrastructure",
        },
        "DEFAULT_SERVICE": "API",
        # Prefix of every name sync_pagerduty gives (services, schedules, policies): what it
        # finds by name is what it manages; nothing else in the account is touched.
        "NAME_PREFIX": "Nzila ",
        # On-call rotations: users by e-mail (they must exist in PagerDuty), days per turn,
        # hand-off weekday and time in TIME_ZONE (an IANA name).
        "SCHEDULES": {
            "primary": {"NAME": "Primary On-Call", "USERS": [], "ROTATION_DAYS": 7},
            "secondary": {"NAME": "Secondary On-Call", "USERS": [], "ROTATION_DAYS": 7},
            "manager": {"NAME": "Manager On-Call", "USERS": [], "ROTATION_DAYS": 28},
        },
        "HANDOFF_DAY": "monday",
        "HANDOFF_TIME": "09:00",
        "TIME_ZONE": "UTC",
        # Levels in order: the schedules paged, and minutes before the next level is paged.
        # The delays follow the response targets: P0 5 minutes, P1 30, P2 an hour.
        "ESCALATION_POLICIES": {
            "Critical Infrastructure": {
                "LEVELS": [
                    {"SCHEDULES": ["primary"], "DELAY_MINUTES": 5},
                    {"SCHEDULES": ["secondary"], "DELAY_MINUTES": 5},
                    {"SCHEDULES": ["manager"], "DELAY_MINUTES": 10},
                ],
                "REPEAT": 2,
            },
            "High Priority": {
                "LEVELS": [
                    {"SCHEDULES": ["primary"], "DELAY_MINUTES": 15},
                    {"SCHEDULES": ["secondary"], "DELAY_MINUTES": 15},
                    {"SCHEDULES": ["manager"], "DELAY_MINUTES": 30},
                ],
                "REPEAT": 1,
            },
            "Medium Priority": {
                "LEVELS": [
                    {"SCHEDULES": ["primary"], "DELAY_MINUTES": 30},
                    {"SCHEDULES": ["secondary"], "DELAY_MINUTES": 30},
                ],
                "REPEAT": 0,
            },
        },
        # A call that meets 429, a 5xx or a network error is tried this many times in all,
        # waiting BACKOFF_SECONDS, doubled each time (or the answer's Retry-After), at most
        # BACKOFF_MAX_SECONDS; then a page is left to the periodic retry of deliveries.
        "ATTEMPTS": 3,
        "BACKOFF_SECONDS": 1.0,
        "BACKOFF_MAX_SECONDS": 10.0,
        "TIMEOUT_SECONDS": 10.0,
    },
    # Inbound alert webhooks (docs/webhooks.md); each answers 404 until its secret is set.
    "WEBHOOKS": {
        # Signing secrets of the PagerDuty v3 webhook subscription: the old and the new one
        # while a secret is rotated (a request signed with either is genuine).
        "PAGERDUTY_SECRETS": [],
        # The secret in the UptimeRobot alert contact's URL: /ops/webhooks/uptimerobot/<token>/.
        "UPTIMEROBOT_TOKEN": None,
        # The client secret of the Sentry internal integration.
        "SENTRY_CLIENT_SECRET": None,
        # Bigger bodies are refused (413). PagerDuty never sends more than 256 KB.
        "MAX_BODY_BYTES": 256 * 1024,
        # Severity of an incident opened by a Sentry issue alert, and by a metric alert's trigger.
        "SENTRY_ISSUE_SEVERITY": "P2",
        "SENTRY_METRIC_SEVERITIES": {"critical": "P1", "warning": "P3"},
    },
    # Prometheus metrics at /ops/metrics (docs/MONITORING_GUIDE.md). Without a TOKEN or an
    # ALLOWED_IPS entry the endpoint answers 404: metrics name hosts, queues and volumes.
    "METRICS": {
        # Scrapers send "Authorization: Bearer <TOKEN>".
        "TOKEN": None,
        # Addresses or networks (CIDR) allowed without the token, matched on REMOTE_ADDR.
        "ALLOWED_IPS": [],
        # Celery queues whose length (Redis LLEN) is exported.
        "CELERY_QUEUES": ["celery"],
        # Host metrics computed at scrape time: name -> dotted path of a callable returning a
        # number, or {"CALLABLE": path, "HELP": text}; exported as nzila_business_<name>.
        "BUSINESS": {},
        # A business callable is given this long per scrape, and its value reused this long.
        "BUSINESS_TIMEOUT_SECONDS": 2.0,
        "BUSINESS_CACHE_SECONDS": 60,
        # Redis holding the Celery queues (LLEN) and the task figures the workers record;
        # None: the Celery broker's URL.
        "REDIS_URL": None,
        # A started task stops counting as active after this long (its hard time limit plus a
        # minute when it has one): a SIGKILLed worker never reports its tasks finished.
        "CELERY_ACTIVE_TTL_SECONDS": 3600,
    },
    # SLA reports, burn-rate alerts and the public status page (docs/SLA_TARGETS.md).
    "SLA": {
        # Calendar of the report's periods (months, quarters, years): an IANA time zone.
        "TIME_ZONE": "UTC",
        "TARGET_PERCENT": 99.9,
        # Components counted in the overall uptime; None: the critical health checks.
        "COMPONENTS": None,
        # Service credit tiers: (uptime below this percent, credit in percent of the monthly fee).
        "CREDITS": [[99.9, 10], [99.0, 25], [95.0, 100]],
        # Detect / respond (acknowledge) / resolve targets per severity, in minutes.
        "INCIDENT_TARGETS": {
            "P0": {"DETECT": 5, "RESPOND": 5, "RESOLVE": 60},
            "P1": {"DETECT": 5, "RESPOND": 30, "RESOLVE": 240},
            "P2": {"DETECT": 10, "RESPOND": 60, "RESOLVE": 480},
            "P3": {"DETECT": 60, "RESPOND": 1440, "RESOLVE": 4320},
        },
        # Prometheus HTTP API base URL for the latency figures; None: "not measured".
        "PROMETHEUS_URL": None,
        "PROMETHEUS_TIMEOUT_SECONDS": 5,
        # Components on the public status page: name -> public display name.
        "PUBLIC_COMPONENTS": {},
        "STATUS_CACHE_SECONDS": 60,
        # Monthly report e-mailed by beat (through the notifier backends); burn-rate check.
        "REPORT_CRON": "0 6 1 * *",
        "BURN_RATE_CRON": "*/5 * * * *",
        # Error-budget burn-rate alerts (the SRE workbook's multiwindow rule): a rule fires when
        # the burn rate is >= FACTOR over both windows; rules of one NAME share one incident.
        # Page (P1, high urgency) on 2 % of a 30-day budget in 1 h or 5 % in 6 h; ticket (P3)
        # on 10 % in 3 days. An empty list turns the alerts off.
        "BURN_RATE_RULES": [
            {
                "NAME": "page",
                "LONG_MINUTES": 60,
                "SHORT_MINUTES": 5,
                "FACTOR": 14.4,
                "SEVERITY": "P1",
            },
            {
                "NAME": "page",
                "LONG_MINUTES": 360,
                "SHORT_MINUTES": 30,
                "FACTOR": 6,
                "SEVERITY": "P1",
            },
            {
                "NAME": "ticket",
                "LONG_MINUTES": 4320,
                "SHORT_MINUTES": 360,
                "FACTOR": 1,
                "SEVERITY": "P3",
            },
        ],
    },
}
