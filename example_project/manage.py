#!/usr/bin/env python
"""Django's command-line utility for the example host project."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # Lets `python example_project/manage.py` work from the repository root too.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nzila_export_hub.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
