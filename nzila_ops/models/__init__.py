from nzila_ops.models.backups import BackupRecord
from nzila_ops.models.copies import BackupCopy
from nzila_ops.models.health import ComponentFlip, ComponentState
from nzila_ops.models.incidents import Delivery, Incident, IncidentEvent
from nzila_ops.models.restores import DrillRecord, RestoreRecord
from nzila_ops.models.rpo import RpoState
from nzila_ops.models.sla import MaintenanceWindow, MonthlyReportSend, SlaReport

__all__ = [
    "BackupCopy",
    "BackupRecord",
    "ComponentFlip",
    "ComponentState",
    "Delivery",
    "DrillRecord",
    "Incident",
    "IncidentEvent",
    "MaintenanceWindow",
    "MonthlyReportSend",
    "RestoreRecord",
    "RpoState",
    "SlaReport",
]
