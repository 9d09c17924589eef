"""Signals other parts of nzila_ops (and host projects) subscribe to.

Each carries what an incident or a notification needs: the component (named as in
nzila_ops.events), a severity (an nzila_ops.events.Severity, from INCIDENT_SEVERITIES), a
one-line reason and the exact time. Every failure signal has its recovery signal, so whatever a
failure opens can close by itself: backup_failed / backup_succeeded, drill_failed / drill_passed,
rpo_changed (breached / not), component_flipped (down / up), restore_finished (failed /
succeeded). nzila_ops.incidents.receivers turns them into incidents; notifiers hear only of
incident transitions.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent after a backup succeeded. Arguments: record, component, at.
backup_succeeded = Signal()
#: Sent after a backup failed. Arguments: record (or None), component, severity, reason, at;
#: a copy's failure (component "copy:<alias>") adds backup_name and storage (the target).
backup_failed = Signal()
#: Sent after a restore finished (one that replaced the live database, or failed). Arguments:
#: record (RestoreRecord or None), outcome, component ("restore:<alias>"), succeeded, reason, at.
restore_finished = Signal()
#: Sent after a drill failed. Arguments: record, component ("drill:<alias>"), severity, reason, at.
drill_failed = Signal()
#: Sent after a drill passed. Arguments: record, component, at.
drill_passed = Signal()
#: Sent when the RPO watch sees a breach begin or end. Arguments: database, breached, reason,
#: component ("rpo:<alias>"), severity (of the breach), at.
rpo_changed = Signal()
#: Sent when a component's recorded health changes. Arguments: component (the check's name),
#: old, new, reason, critical, severity (of the fault when new is failing or warning, else
#: None), at (the time of the sample that made the flip).
component_flipped = Signal()
