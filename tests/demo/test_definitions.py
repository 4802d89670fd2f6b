"""The demo's feature views on real data, against a brute-force point-in-time reference."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from mlcore.demo import data, definitions, story, traffic

DAYS = (dt.datetime(2013, 1, 2, tzinfo=dt.UTC), dt.datetime(2013, 1, 5, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def few_days() -> tuple[pl.DataFrame, pl.DataFrame]:
    flights = data.read_flights().filter(
        pl.col("scheduled_departure").is_between(*DAYS, closed="left")
    )
    weather = data.read_weather().filter(pl.col("observed_at") < DAYS[1])
    return flights, weather


@pytest.fixture
def joined(store, few_days) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    flights, weather = few_days
    store.features.apply(list(definitions.VIEWS))
    store.features.ingest("planes", data.read_planes())
    story.ingest_between(store, story.feature_events(flights, weather), None, DAYS[1])
    rows = traffic.entity_rows(flights).sample(120, seed=1)
    frame = store.features.historical(rows, definitions.FEATURES, timestamp=traffic.TIMESTAMP)
    return frame, flights, weather


def _close(got: float | None, want: float | None) -> bool:
    if want is None:
        return got is None
    return got is not None and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def test_delay_aggregations_never_see_a_flight_still_on_the_ground(joined) -> None:
    frame, flights, _ = joined
    departed = flights.filter(pl.col("departed_at").is_not_null())
    for row in frame.iter_rows(named=True):
        t = row[traffic.TIMESTAMP]
        for window in (1, 3, 24):
            since = t - dt.timedelta(hours=window)
            delays = departed.filter(
                (pl.col("origin") == row["origin"])
                & (pl.col("departed_at") > since)
                & (pl.col("departed_at") <= t)
            )["dep_delay"]
            want = None if delays.is_empty() else float(delays.mean())
            assert _close(row[f"origin_delay_mean_{window}h"], want), (row, window)
        recent = departed.filter(
            (pl.col("carrier") == row["carrier"])
            & (pl.col("departed_at") > t - dt.timedelta(hours=3))
            & (pl.col("departed_at") <= t)
        )
        assert row["carrier_delay_count_3h"] == recent.height


def test_weather_is_the_latest_observation_at_most_three_hours_old(joined) -> None:
    frame, _, weather = joined
    for row in frame.iter_rows(named=True):
        t = row[traffic.TIMESTAMP]
        seen = weather.filter(
            (pl.col("origin") == row["origin"])
            & (pl.col("observed_at") <= t)
            & (pl.col("observed_at") >= t - dt.timedelta(hours=3))
        ).sort("observed_at")
        want = None if seen.is_empty() else seen["temp"][-1]
        assert _close(row["temp"], want), row


def test_plane_attributes_by_tail_number(joined) -> None:
    frame, _, _ = joined
    planes = data.read_planes()
    known = dict(zip(planes["tailnum"], planes["seats"], strict=True))
    for row in frame.iter_rows(named=True):
        assert row["seats"] == known.get(row["tailnum"])
