"""verify_backup and run_dr_drill reach the same verdict on the same backup, whatever the
schema and table names hold: spaces, quotes, dots, line breaks, non-ASCII letters.

pg_restore --list prints names unquoted ("TABLE DATA Sales Ops Deal Lines postgres"), so the
listing is matched against the manifest's names rather than split on spaces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from hypothesis import given
from hypothesis import strategies as st

from nzila_ops.backups.manifest import missing_tables, table_label
from nzila_ops.backups.verify import tables_in_listing
from nzila_ops.models import DrillRecord
from tests.support import pg

#: (schema, table, rows): what an operator's database may really be called.
ODD_TABLES = [
    ("Sales Ops", "Deal Lines", 3),
    ("public", 'say "hi"', 2),
    ("a.b", "c.d", 1),
    ("Ventes été", "Ligne ß 車", 4),
    ("public", "multi\nline", 1),
    # Two tables that print alike in the listing: "a b c".
    ("a", "b c", 2),
    ("a b", "c", 5),
]


@pytest.fixture
def odd_tables(transactional_db: Any) -> Iterator[list[tuple[str, str, int]]]:
    dbname = connections["default"].settings_dict["NAME"]
    schemas = sorted({schema for schema, _, _ in ODD_TABLES} - {"public"})
    with psycopg.connect(pg.conninfo(dbname), autocommit=True) as conn:
        for schema in schemas:
            conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
        for schema, table, rows in ODD_TABLES:
            identifier = psycopg.sql.Identifier(schema, table)
            conn.execute(
                psycopg.sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY, note text)").format(
                    identifier
                )
            )
            conn.execute(
                psycopg.sql.SQL(
                    "INSERT INTO {} (note) SELECT 'n' FROM generate_series(1, %s)"
                ).format(identifier),
                [rows],
            )
    yield ODD_TABLES
    with psycopg.connect(pg.conninfo(dbname), autocommit=True) as conn:
        for schema, table, _ in ODD_TABLES:
            conn.execute(
                psycopg.sql.SQL("DROP TABLE IF EXISTS {}").format(
                    psycopg.sql.Identifier(schema, table)
                )
            )
        for schema in schemas:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(schema)
                )
            )
    for leftover in pg.databases_like(f"{dbname}_"):
        pg.drop_database(leftover)


def backup() -> str:
    out = StringIO()
    call_command("backup_database", "--json", stdout=out)
    return json.loads(out.getvalue())["name"]


def verify(name: str) -> str:
    out = StringIO()
    call_command("verify_backup", name, stdout=out)
    return out.getvalue()


def drill() -> dict[str, Any]:
    out = StringIO()
    with suppress(CommandError):  # the summary is printed first; the verdict is in it
        call_command("run_dr_drill", "--json", stdout=out)
    return json.loads(out.getvalue())


pytestmark = pytest.mark.postgres


def test_odd_names_pass_both_verify_backup_and_the_drill(
    ops_settings: Any, odd_tables: list, backup_dir: Path
) -> None:
    name = backup()
    manifest = json.loads((backup_dir / "default" / f"{name}.manifest.json").read_text())
    listed = {(t["schema"], t["name"]): t["rows"] for t in manifest["tables"]}
    for schema, table, rows in odd_tables:
        assert listed[(schema, table)] == rows

    assert verify(name).startswith(f"OK {name}: ")
    summary = drill()
    assert summary["result"] == "passed", summary
    assert DrillRecord.objects.get().result == "passed"


@pytest.mark.parametrize(
    "ghost",
    [
        ("a", "b"),  # its listing text "a b " starts both "a b c" lines
        ("Sales Ops", "Deal"),  # a prefix of a table that is there
        ("a.b", "c"),
        ("Ventes été", "Ligne ß"),
        ("public", 'say "hi'),
    ],
)
def test_a_table_the_dump_lacks_fails_both_the_same_way(
    ops_settings: Any, odd_tables: list, backup_dir: Path, ghost: tuple[str, str]
) -> None:
    name = backup()
    path = backup_dir / "default" / f"{name}.manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tables"].append({"schema": ghost[0], "name": ghost[1], "rows": 0})
    path.write_text(json.dumps(manifest))
    label = table_label(*ghost)

    with pytest.raises(CommandError) as caught:
        verify(name)
    assert caught.value.returncode == 1
    assert str(caught.value) == f"backup {name}: the dump has no data for table {label}"

    summary = drill()
    assert summary["result"] == "failed"
    assert f"table {label} is missing" in summary["error"], summary["error"]


def test_labels_quote_what_postgresql_would() -> None:
    assert table_label("public", "deals_deal") == "public.deals_deal"
    assert table_label("Sales Ops", "Deal Lines") == '"Sales Ops"."Deal Lines"'
    assert table_label("public", 'say "hi"') == 'public."say ""hi"""'
    assert table_label("a.b", "c.d") == '"a.b"."c.d"'


NAMES = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)


def printed(table: tuple[str, str]) -> str:
    """A table's schema and name as pg_restore --list prints them: unquoted, line breaks
    turned into spaces."""
    return " ".join(part.replace("\r", " ").replace("\n", " ") for part in table)


def listing_of(tables: list[tuple[str, str]], owner: str = "postgres") -> str:
    head = ";\n; Archive created at 2026-11-27 10:15:00 UTC\n;\n"
    return head + "".join(
        f"{3000 + i}; 0 {16000 + i} TABLE DATA {printed(table)} {owner}\n"
        for i, table in enumerate(tables)
    )


@given(st.lists(st.tuples(NAMES, NAMES), min_size=1, max_size=8, unique=True), st.data())
def test_every_listed_table_is_found_and_one_left_out_is_missing(
    tables: list[tuple[str, str]], data: st.DataObject
) -> None:
    manifest = {"tables": [{"schema": s, "name": n, "rows": 1} for s, n in tables]}
    assert missing_tables(manifest, tables_in_listing(listing_of(tables), manifest)) == []

    left_out = data.draw(st.sampled_from(tables))
    rest = [t for t in tables if t != left_out]
    missing = missing_tables(manifest, tables_in_listing(listing_of(rest), manifest))
    # Exactly one is missing. Tables that print alike cannot be told apart by the listing's
    # text, so the one reported may be another that prints like the one left out.
    assert len(missing) == 1 and printed(missing[0]) == printed(left_out)
