from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('nzila_ops', '0004_recorded_uptime'),
    ]

    operations = [
        migrations.AddField(
            model_name='backuprecord',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text="Refreshed every few seconds by the run that holds the 'running' claim; a claim whose heartbeat has stopped belongs to a dead run and is taken over.", null=True),
        ),
    ]
