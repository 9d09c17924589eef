"""Incidents survive a restore: the replaced database's incident rows are carried into the
restored one.

Incidents live in the app's database, the very thing a restore replaces. Restoring an older
backup used to take every incident opened (and every acknowledgement, resolution, note and
delivery recorded) after that backup was taken with it, the incident the restore recovers from
included, and the SLA report lost them. An incident is operational state about the system, not
business data, so it must not go back in time with the data.

The replaced database is still there (the swap keeps it as ``<name>_pre_restore_<time>``), and
it holds everything the app knew of its incidents until the moment of the swap. So, right after
the swap and before the restore itself is announced, its Incident, IncidentEvent and Delivery
rows replace the restored ones, with their ids (the incident numbers the on-call engineers were
told in e-mails and pages stay right), and the id sequences go on from the highest. An incident
only the backup knows (the replaced database was a new, empty one) is kept too, under a new id.

Why not documents in storage, as restores and drills are kept (backups/history.py)? An incident
changes at each transition, and storage is often what is unreachable in the disaster that
opens one; the rows of the replaced database are right there, complete and consistent.

All or nothing, in one transaction of the restored database, while the restore still holds
its lock: any failure leaves the restored rows as they were and says, loudly, where the
incidents still are. The restore itself has succeeded either way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.color import no_style
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from nzila_ops.models import Delivery, Incident, IncidentEvent

logger = logging.getLogger("nzila_ops.restore")

#: Parents first: rows are inserted in this order and deleted in the reverse one.
MODELS: tuple[type[models.Model], ...] = (Incident, IncidentEvent, Delivery)
BATCH = 500


def carry_incidents(alias: str, previous: str | None) -> dict[str, int] | None:
    """Carry the incident rows of ``previous`` (the database a restore of ``alias`` has just
    replaced) into the restored database. Returns how many rows of each model were carried, or
    None when there was nothing to carry: no previous database, incidents kept in another
    database, or a previous database without incident tables (never migrated). Never raises:
    the restore has succeeded, and a failure here is logged with where the incidents are."""
    if previous is None or router.db_for_write(Incident) != alias:
        return None
    live = connections[alias]
    live.close()  # opened before the swap, it may still point at the database now kept
    try:
        with _connection_to(live, previous) as old:
            if not _has_tables(connections[old]):
                return None
            return _carry(old, alias)
    except Exception as exc:
        # Anything, a bug included: the restore has succeeded and must still be recorded and
        # announced. Rolled back, so the restored rows are as they were.
        logger.error(
            "incidents not carried across the restore of %s: they are still in the replaced "
            "database %s: %s",
            alias,
            previous,
            _first_line(exc),
            exc_info=not isinstance(exc, DatabaseError),
        )
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def _connection_to(live: BaseDatabaseWrapper, name: str) -> Iterator[str]:
    """A connection alias, in this thread only, to the database ``name`` of ``live``'s server
    (same engine, user and options), so that the ORM reads it with its converters."""
    alias = f"{live.alias}__nzila_pre_restore"
    backend = load_backend(live.settings_dict["ENGINE"])
    wrapper = backend.DatabaseWrapper({**live.settings_dict, "NAME": name}, alias=alias)
    connections[alias] = wrapper
    try:
        yield alias
    finally:
        wrapper.close()
        del connections[alias]


def _has_tables(connection: BaseDatabaseWrapper) -> bool:
    tables = set(connection.introspection.table_names())
    return all(model._meta.db_table in tables for model in MODELS)


def _carry(old: str, alias: str) -> dict[str, int]:
    with transaction.atomic(using=alias):
        return _replace(old, alias)


def _replace(old: str, alias: str) -> dict[str, int]:
    # Only the backup knows these: the replaced database was a new one, migrated after a loss.
    known = set(Incident.objects.using(old).values_list("key", "detected_at"))
    stranded = [
        incident
        for incident in Incident.objects.using(alias).order_by("pk")
        if (incident.key, incident.detected_at) not in known
    ]
    stranded_events = {
        incident.pk: list(IncidentEvent.objects.using(alias).filter(incident_id=incident.pk))
        for incident in stranded
    }
    stranded_deliveries = {
        event.pk: list(Delivery.objects.using(alias).filter(event_id=event.pk))
        for events in stranded_events.values()
        for event in events
    }
    live = connections[alias]
    carried: dict[str, int] = {}
    with live.cursor() as cursor:
        for model in reversed(MODELS):
            cursor.execute(f"DELETE FROM {live.ops.quote_name(model._meta.db_table)}")
        for model in MODELS:
            carried[model.__name__] = _copy_rows(model, old, live)
        for statement in live.ops.sequence_reset_sql(no_style(), list(MODELS)):
            cursor.execute(statement)
    for incident in stranded:
        _keep(incident, stranded_events[incident.pk], stranded_deliveries, alias)
    logger.info("incidents carried across the restore of %s: %s", alias, carried)
    return carried


def _copy_rows(model: type[models.Model], old: str, live: BaseDatabaseWrapper) -> int:
    """Insert every row of ``model`` read from ``old`` into ``live`` as it is, ids and
    ``auto_now_add`` times included (which is why this is not bulk_create)."""
    fields = model._meta.concrete_fields
    table = live.ops.quote_name(model._meta.db_table)
    columns = ", ".join(live.ops.quote_name(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
    rows = model._default_manager.using(old).order_by("pk")
    count = 0
    batch: list[list[Any]] = []
    with live.cursor() as cursor:
        for row in rows.values_list(*(field.attname for field in fields)).iterator(BATCH):
            batch.append(
                [
                    field.get_db_prep_save(value, connection=live)
                    for field, value in zip(fields, row, strict=True)
                ]
            )
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                count, batch = count + len(batch), []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _keep(
    incident: Incident,
    events: list[IncidentEvent],
    deliveries: dict[int, list[Delivery]],
    alias: str,
) -> None:
    """Insert an incident only the backup knew, with its timeline, under new ids."""
    old_pk = incident.pk
    try:
        with transaction.atomic(using=alias):
            _insert_again(incident, alias)
            for event in events:
                event_pk = event.pk
                event.incident_id = incident.pk
                _insert_again(event, alias)
                for delivery in deliveries.get(event_pk, []):
                    delivery.event_id = event.pk
                    _insert_again(delivery, alias)
    except IntegrityError:
        # An open incident of its key was carried: that one is the fault now. This one is
        # still in the backup.
        logger.error(
            "incident #%s (%s) of the restored backup not kept: another incident of its key "
            "is open",
            old_pk,
            incident.key,
        )


def _insert_again(row: models.Model, alias: str) -> None:
    created = getattr(row, "created_at", None)
    row.pk = None
    row._state.adding = True
    row.save(using=alias, force_insert=True)
    if created is not None:  # auto_now_add set it to now
        type(row)._default_manager.using(alias).filter(pk=row.pk).update(created_at=created)
