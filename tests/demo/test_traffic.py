"""Entity rows, the label, the seeded subsample and the weekly cut."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.demo import traffic

UTC = dt.UTC


def _flights(n: int = 6) -> pl.DataFrame:
    start = dt.datetime(2013, 3, 9, 22, 30, tzinfo=UTC)
    return pl.DataFrame(
        {
            "flight_id": list(range(n)),
            "carrier": ["UA"] * n,
            "tailnum": ["N1"] * n,
            "origin": ["EWR"] * n,
            "dest": ["IAH"] * n,
            "distance": [1400.0] * n,
            "scheduled_departure": [start + dt.timedelta(hours=5 * i) for i in range(n)],
            "arr_delay": [15.0, 16.0, None, -3.0, 120.0, 0.0][:n],
        }
    )


def test_rows_drop_unarrived_flights_and_label_more_than_15_minutes() -> None:
    rows = traffic.entity_rows(_flights())
    assert rows["flight_id"].to_list() == [0, 1, 3, 4, 5]
    assert rows["delayed"].to_list() == [False, True, False, True, False]


def test_features_are_read_two_hours_before_departure_in_local_hours() -> None:
    flights = _flights()
    rows = traffic.entity_rows(flights)
    new_york = ZoneInfo("America/New_York")
    for row in rows.iter_rows(named=True):
        scheduled = row["scheduled_departure"]
        assert row["features_at"] == scheduled - dt.timedelta(hours=2)
        local = scheduled.astimezone(new_york)  # across the March clock change
        assert (row["hour"], row["weekday"]) == (local.hour, local.isoweekday())


@settings(max_examples=40, deadline=None)
@given(
    small=st.floats(0.0, 1.0),
    extra=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**40),
)
def test_a_smaller_share_is_a_subset_of_a_larger_one(small: float, extra: float, seed: int) -> None:
    rows = pl.DataFrame({"flight_id": range(2_000)})
    larger = min(1.0, small + extra)
    few = set(traffic.subsample(rows, small, seed)["flight_id"])
    more = set(traffic.subsample(rows, larger, seed)["flight_id"])
    assert few <= more
    assert traffic.subsample(rows, small, seed).equals(traffic.subsample(rows, small, seed))


def test_subsample_keeps_about_the_share_and_depends_on_the_seed() -> None:
    rows = pl.DataFrame({"flight_id": range(100_000)})
    first, second = traffic.subsample(rows, 0.1, 0), traffic.subsample(rows, 0.1, 1)
    # binomial(100000, 0.1): sd 95, so 6 sd either side
    assert abs(first.height - 10_000) < 600
    assert abs(second.height - 10_000) < 600
    assert not first.equals(second)
    assert traffic.subsample(rows, 1.0, 3).equals(rows)


@settings(max_examples=30, deadline=None)
@given(offsets=st.lists(st.integers(0, 40 * 24 * 60), max_size=60))
def test_weeks_partition_the_rows_in_order(offsets: list[int]) -> None:
    start = dt.datetime(2013, 9, 2, tzinfo=UTC)
    end = start + dt.timedelta(weeks=4)
    rows = pl.DataFrame(
        {traffic.TIMESTAMP: [start + dt.timedelta(minutes=m) for m in offsets]},
        schema={traffic.TIMESTAMP: pl.Datetime("us", "UTC")},
    )
    weeks = traffic.weeks(rows, start, end)
    inside = rows.filter(pl.col(traffic.TIMESTAMP) < end)
    assert sum(w.height for _, w in weeks) == inside.height
    for begins, week in weeks:
        assert (begins - start) % dt.timedelta(weeks=1) == dt.timedelta(0)
        assert (
            week[traffic.TIMESTAMP].is_between(begins, begins + dt.timedelta(weeks=1), "left").all()
        )
    assert [b for b, _ in weeks] == sorted(b for b, _ in weeks)
