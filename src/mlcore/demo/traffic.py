"""Flights as the model sees them: entity rows, the label, the subsample and weekly batches.

A flight becomes one row keyed by ``flight_id`` with what is known of it when
its features are read -- two hours before its scheduled departure
(``features_at``, the entity timestamp of every point-in-time join): origin,
carrier, destination, distance, and the local hour and weekday of its scheduled
departure. The label ``delayed`` says whether it arrived more than 15 minutes
late; cancelled and diverted flights have no arrival delay and are dropped.

Examples
--------
>>> import datetime as dt, polars as pl
>>> departures = pl.DataFrame({
...     "flight_id": [0, 1], "carrier": ["UA", "AA"], "tailnum": ["N1", None],
...     "origin": ["EWR", "JFK"], "dest": ["IAH", "MIA"], "distance": [1400.0, 1089.0],
...     "scheduled_departure": [dt.datetime(2013, 1, 1, 10, 15, tzinfo=dt.UTC)] * 2,
...     "arr_delay": [11.0, 33.0],
... })
>>> rows = entity_rows(departures)
>>> rows.select("features_at", "hour", "weekday", "delayed").rows()[1]
(datetime.datetime(2013, 1, 1, 8, 15, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 5, 2, True)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from mlcore.demo.data import ZONE

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "FLIGHT_FEATURES",
    "KEY",
    "LABEL",
    "LEAD",
    "TIMESTAMP",
    "entity_rows",
    "subsample",
    "weeks",
]

KEY = "flight_id"
LABEL = "delayed"
TIMESTAMP = "features_at"
#: How long before the scheduled departure the prediction is made.
LEAD = dt.timedelta(hours=2)
#: More than this many minutes late at arrival counts as delayed.
DELAY_MINUTES = 15

#: The flight's own columns the model reads (the rest come from the feature store).
FLIGHT_FEATURES = ["origin", "carrier", "dest", "distance", "hour", "weekday"]


def entity_rows(flights: pl.DataFrame) -> pl.DataFrame:
    """One row per flight that arrived: keys, the entity timestamp, own features, label."""
    import polars as pl

    local = pl.col("scheduled_departure").dt.convert_time_zone(ZONE)
    return flights.filter(pl.col("arr_delay").is_not_null()).select(
        KEY,
        "origin",
        "carrier",
        "tailnum",
        "dest",
        "distance",
        local.dt.hour().cast(pl.Int64).alias("hour"),
        local.dt.weekday().cast(pl.Int64).alias("weekday"),
        "scheduled_departure",
        (pl.col("scheduled_departure") - LEAD).alias(TIMESTAMP),
        (pl.col("arr_delay") > DELAY_MINUTES).alias(LABEL),
    )


def subsample(rows: pl.DataFrame, fraction: float, seed: int) -> pl.DataFrame:
    """A deterministic share of the rows, chosen by a seeded hash of the flight id.

    A flight's fate does not depend on which other flights exist, so a training
    set and the later production weeks subsample alike.
    """
    import numpy as np
    import polars as pl

    if fraction >= 1.0:
        return rows
    # splitmix64's finaliser: stable across library versions, unlike Polars' hash
    offset = np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    z = rows[KEY].to_numpy().astype(np.uint64) + offset
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return rows.filter(pl.Series(z < np.uint64(int(fraction * 2.0**64))))


def weeks(
    rows: pl.DataFrame, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, pl.DataFrame]]:
    """``(week start, rows)`` for each week from ``start`` to ``end`` by :data:`TIMESTAMP`.

    Weeks run from ``start``; a week with no rows is left out.
    """
    import polars as pl

    batches = []
    moment = start
    while moment < end:
        until = min(moment + dt.timedelta(days=7), end)
        batch = rows.filter(pl.col(TIMESTAMP).is_between(moment, until, closed="left"))
        if batch.height:
            batches.append((moment, batch))
        moment = until
    return batches
