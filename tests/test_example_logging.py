"""The example project's nzila_ops log lines are printed once in a Celery worker too."""

from __future__ import annotations

from tests.support.host import example_env, manage

# What a worker does at start (celery.apps.worker.Worker.setup_logging): root gets Celery's
# handler (worker_hijack_root_logger), on top of the Django LOGGING already configured.
CODE = """
import logging
from nzila_export_hub.celery import app
app.log.setup(loglevel="WARNING", redirect_stdouts=False)
logging.getLogger("nzila_ops.backups").warning("backup of 'default' FAILED: marker-7f3")
"""


def test_an_nzila_ops_line_is_printed_once_in_a_celery_worker() -> None:
    result = manage(example_env(), "shell", "-c", CODE, timeout=120)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert output.count("marker-7f3") == 1, output
    # With its level and logger name, as Celery's own lines have theirs.
    assert "WARNING/nzila_ops.backups] backup of 'default' FAILED: marker-7f3" in output
