"""The word an operator types to confirm a restore, on the admin's restore page and at the
restore_database command's prompt alike.

A module of its own, with no imports: the admin loads the restore page's form at set-up, and
the form's label names the word, while the restore itself is loaded only when it runs."""

CONFIRMATION_WORD = "RESTORE"
