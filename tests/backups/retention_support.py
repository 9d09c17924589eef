"""Hypothesis strategies shared by the retention property tests (the policy and keep_until)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from nzila_ops.backups.retention import Policy

#: Up to 60 distinct successful-backup times, from 2024 up to the tests' NOW.
backup_times = st.lists(
    st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2026, 11, 27, 10, 40),
        timezones=st.just(UTC),
    ),
    max_size=60,
    unique=True,
)
#: Any retention policy, zero counts and a min_age of up to two days included.
policies = st.builds(
    Policy,
    hourly=st.integers(0, 48),
    daily=st.integers(0, 14),
    weekly=st.integers(0, 8),
    monthly=st.integers(0, 24),
    min_age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
)
