"""Signals other parts of nzila_ops (and host projects) subscribe to.

Each carries what an incident or a notification needs: the component, a severity hint, a
one-line reason and the exact time.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent after a backup succeeded. Arguments: record, component, at.
backup_succeeded = Signal()
#: Sent after a backup failed. Arguments: record (or None), component, severity, reason, at.
backup_failed = Signal()
#: Sent after a restore finished. Arguments: record (RestoreRecord or None), succeeded, reason, at.
restore_finished = Signal()
#: Sent after a drill failed. Arguments: record, component, severity, reason, at.
drill_failed = Signal()
#: Sent when the RPO watch sees a breach begin or end. Arguments: database, breached, reason,
#: component, severity, at.
rpo_changed = Signal()
#: Sent when a component's recorded health changes. Arguments: component, old, new, reason,
#: critical, severity (P1 for a critical component going down, else P3), at.
component_flipped = Signal()
