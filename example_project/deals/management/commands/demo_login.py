"""manage.py demo_login --password-file PATH — the local demo's superuser, made or reset.

Only for `make demo` on a developer's machine: the password is kept in a file beside the demo's
database (made on first run, readable by its owner only) so that it stays the same from one run
to the next, and the login is printed for the newcomer to use.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

USERNAME = "demo"


def demo_password(path: Path) -> str:
    """The password kept in ``path``, written there first if the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(12) + "\n")
    password = path.read_text().strip()
    if not password:
        raise CommandError(f"{path} is empty: delete it and a new password is made")
    return password


class Command(BaseCommand):
    help = "Create or reset the local demo's superuser 'demo' and print its login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password-file", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        password = demo_password(options["password_file"])
        with transaction.atomic():
            user, _ = get_user_model().objects.get_or_create(username=USERNAME)
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            # Restoring from the admin asks for its own permission, granted by name (a
            # superuser has it implicitly; granting it says so where an operator looks).
            user.user_permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="nzila_ops", codename="restore_backup"
                )
            )
        self.stdout.write(f"{USERNAME} / {password}")
