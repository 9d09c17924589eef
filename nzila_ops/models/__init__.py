from nzila_ops.models.backups import BackupRecord

__all__ = ["BackupRecord"]
