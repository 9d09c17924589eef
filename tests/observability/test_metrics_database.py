"""The query duration histogram: every connection, whichever thread or alias opened it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from deals.models import Deal
from nzila_ops.observability.metrics.database import QueryTimer
from tests.observability.metrics_helpers import sample

COUNT = "nzila_db_query_duration_seconds_count"


def in_thread(work: Callable[[], None]) -> None:
    """Run ``work`` in a new thread: Django gives it connections of its own, newly opened."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.mark.django_db
def test_a_query_is_timed_under_its_alias(django_assert_num_queries: Any) -> None:
    before = sample(COUNT, database="default")
    sum_before = sample("nzila_db_query_duration_seconds_sum", database="default")
    with django_assert_num_queries(1):
        Deal.objects.count()
    assert sample(COUNT, database="default") == before + 1
    assert sample("nzila_db_query_duration_seconds_sum", database="default") > sum_before


@pytest.mark.django_db(databases=["default", "sqlite"])
def test_each_database_alias_is_its_own_series() -> None:
    before = sample(COUNT, database="sqlite")
    Deal.objects.using("sqlite").count()
    assert sample(COUNT, database="sqlite") == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_opened_in_another_thread_is_timed_too() -> None:
    before = sample(COUNT, database="default")

    def query() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute("SELECT 2")

    in_thread(query)
    assert sample(COUNT, database="default") == before + 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_query_is_timed() -> None:
    before = sample(COUNT, database="default")

    def bad_query() -> None:
        with (
            pytest.raises(Exception, match="nzila_no_such_table"),
            connections["default"].cursor() as cursor,
        ):
            cursor.execute("SELECT * FROM nzila_no_such_table")

    in_thread(bad_query)
    assert sample(COUNT, database="default") == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_opened_inside_execute_wrapper_keeps_the_timer_after_it() -> None:
    seen: list[str] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    def work() -> None:
        conn = connections["default"]
        # The connection opens inside the context; the context's pop must remove the spy.
        with conn.execute_wrapper(spy), conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert spy not in conn.execute_wrappers
        assert [type(w) for w in conn.execute_wrappers] == [QueryTimer]

    in_thread(work)
    assert seen == ["SELECT 1"]


@pytest.mark.django_db
def test_the_timer_is_installed_once_per_connection() -> None:
    connection.ensure_connection()
    connection.close()
    connection.ensure_connection()  # connection_created again, same wrapper list
    assert sum(isinstance(w, QueryTimer) for w in connection.execute_wrappers) == 1
