from nzila_ops.models.backups import BackupRecord
from nzila_ops.models.restores import DrillRecord, RestoreRecord

__all__ = ["BackupRecord", "DrillRecord", "RestoreRecord"]
