"""The column types: a timestamp binds on SQLite to the text SQLAlchemy's own layers write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import UTCDateTime

SQLITE = sqlite.dialect()
# The layers the one-call processor replaces: the decorator's own conversion to naive UTC,
# then the dialect's DATETIME formatting.
_DATETIME = DateTime(timezone=True).dialect_impl(SQLITE).bind_processor(SQLITE)
assert _DATETIME is not None


def _layered(value: datetime | None) -> str | None:
    return _DATETIME(UTCDateTime().process_bind_param(value, SQLITE))


def _bind(value: datetime | None) -> object:
    process = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert process is not None
    return process(value)


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
        ),
    )
)
def test_a_timestamp_binds_on_sqlite_as_the_layers_it_replaces_write_it(value: datetime) -> None:
    assert _bind(value) == _layered(value)


def test_whole_seconds_keep_their_microseconds_and_the_text_orders_as_time() -> None:
    # isoformat() alone drops ".000000" from a whole second: "…:05" would neither equal the
    # "…:05.000000" stored nor sort after it.
    whole = datetime(2026, 12, 2, 14, 0, 5, tzinfo=UTC)
    assert _bind(whole) == "2026-12-02 14:00:05.000000"
    later = whole + timedelta(microseconds=500_000)
    assert str(_bind(whole)) < str(_bind(later))
    beijing = datetime(2026, 12, 2, 22, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    assert _bind(beijing) == "2026-12-02 14:00:05.000000"


def test_none_binds_as_null_and_a_naive_time_is_refused() -> None:
    assert _bind(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        _bind(datetime(2026, 12, 2, 14, 0))


def test_postgresql_keeps_the_aware_value() -> None:
    dialect = postgresql.dialect()
    value = datetime(2026, 12, 2, 22, 0, tzinfo=timezone(timedelta(hours=8)))
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    bound = process(value) if process is not None else value
    assert bound == value
    assert bound.utcoffset() is not None
