"""Property tests: the engine agrees with the brute-force reference on random small cases.

Timestamps sit on a coarse grid (minutes, sometimes one microsecond off) so that
ties, ttl and window boundaries are hit often.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlcore.features.aggregations import FUNCTIONS, Aggregation
from mlcore.features.retrieval import ViewSource, point_in_time_join

from .conftest import assert_matches_reference, minutes

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]
US = dt.timedelta(microseconds=1)

moments = st.builds(
    lambda m, off: minutes(m) + off * US, st.integers(0, 8), st.sampled_from([0, 0, 0, 1, -1])
)
values = st.one_of(st.none(), st.floats(-100, 100, allow_nan=False), st.just(float("nan")))


@st.composite
def batches(draw: Any, keys: list[Any], composite: bool, created: bool, sort: bool) -> pl.DataFrame:
    rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "k1": st.sampled_from(keys),
                    "k2": st.sampled_from(["x", "y"]) if composite else st.just("x"),
                    "ts": moments,
                    "created": st.one_of(st.none(), moments) if created else st.none(),
                    "value": values,
                    "n": st.one_of(st.none(), st.integers(-5, 5)),
                }
            ),
            min_size=1,
            max_size=16,
        )
    )
    schema = {
        "k1": pl.Int64 if isinstance(keys[0], int) else pl.String,
        "k2": pl.String,
        "ts": pl.Datetime("us", "UTC"),
        "created": pl.Datetime("us", "UTC"),
        "value": pl.Float64,
        "n": pl.Int32,
    }
    frame = pl.DataFrame(rows, schema=schema)
    by = ["k1", "k2", "ts"] if composite else ["k1", "ts"]
    return frame.sort(by, maintain_order=True) if sort else frame


@st.composite
def scenarios(draw: Any, sort: bool = True) -> dict[str, Any]:
    keys = draw(st.sampled_from([[1, 2], ["a", "b"]]))
    composite = draw(st.booleans())
    created = draw(st.booleans())
    data = draw(st.lists(batches(keys, composite, created, sort), min_size=1, max_size=3))
    ttl = draw(
        st.one_of(st.none(), st.sampled_from([0, 1, 3]).map(lambda m: dt.timedelta(minutes=m)))
    )
    aggregations = draw(
        st.lists(
            st.builds(
                Aggregation,
                st.sampled_from(["value", "n"]),
                st.sampled_from(FUNCTIONS),
                st.sampled_from(["1m", "2m", "5m", "1h"]),
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda a: a.name,
        )
    )
    unknown = 4 if isinstance(keys[0], int) else "z"
    entity_rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "driver": st.sampled_from([*keys, *keys, unknown, None]),
                    "zone": st.sampled_from(["x", "x", "y", None]),
                    "at": st.sampled_from(["grid", "grid", "grid", "early", "null"]).flatmap(
                        lambda kind: (
                            moments
                            if kind == "grid"
                            else st.just(minutes(-5) if kind == "early" else None)
                        )
                    ),
                }
            ),
            min_size=1,
            max_size=12,
        )
    )
    entity_rows += draw(st.lists(st.sampled_from(entity_rows), max_size=3)) if entity_rows else []
    zone = draw(st.sampled_from(ZONES))
    entities = pl.DataFrame(
        entity_rows,
        schema={
            "driver": pl.Int64 if isinstance(keys[0], int) else pl.String,
            "zone": pl.String,
            "at": pl.Datetime("us", "UTC"),
        },
    ).with_columns(pl.col("at").dt.convert_time_zone(zone), row=pl.int_range(pl.len()))
    return {
        "data": data,
        "composite": composite,
        "created": created,
        "ttl": ttl,
        "aggregations": tuple(aggregations),
        "entities": entities,
    }


def _views(s: dict[str, Any], files: list[Any]) -> list[ViewSource]:
    composite = s["composite"]
    main = ViewSource(
        "trips",
        join_keys=("k1", "k2") if composite else ("k1",),
        entity_keys=("driver", "zone") if composite else ("driver",),
        event_timestamp="ts",
        created_timestamp="created" if s["created"] else None,
        ttl=s["ttl"],
        features=("value", "n"),
        output_names=("trip_value", "trip_n"),
        files=tuple(files),
        aggregations=s["aggregations"],
        matched_timestamp="trip_ts",
    )
    # A second view over the same data on another entity: the single key, no ttl, renamed output.
    other = ViewSource(
        "by_driver",
        join_keys=("k1",),
        entity_keys=("driver",),
        event_timestamp="ts",
        features=("value",),
        output_names=("last_value",),
        files=tuple(files),
        created_timestamp="created" if s["created"] else None,
    )
    return [main, other]


def _check(s: dict[str, Any], files: list[Any]) -> None:
    views = _views(s, files)
    entities = s["entities"].with_columns(pl.col("at").dt.convert_time_zone("UTC"))
    result = point_in_time_join(entities, "at", views)
    assert_matches_reference(result, entities, "at", views)
    # Any zone denotes the same instants: the caller's zone changes nothing but the column.
    in_zone = point_in_time_join(s["entities"], "at", views)
    assert in_zone.drop("at").equals(result.drop("at"))


@settings(max_examples=100, deadline=None)
@given(s=scenarios())
def test_frames_match_reference(s: dict[str, Any]) -> None:
    _check(s, s["data"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(s=scenarios())
def test_parquet_row_groups_and_chunks_match_reference(
    s: dict[str, Any], small_chunks: int
) -> None:
    # Tiny row groups and chunks: statistics skip groups, runs straddle chunks and batches.
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, frame in enumerate(s["data"]):
            path = Path(tmp) / f"batch{i}.parquet"
            frame.write_parquet(path, row_group_size=2)
            files.append(str(path))
        _check(s, files)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(s=scenarios(sort=False))
def test_unsorted_batches_are_sorted_on_the_fly(s: dict[str, Any], small_chunks: int) -> None:
    _check(s, s["data"])


@pytest.mark.parametrize("zone", ZONES)
def test_entity_zone_is_only_a_representation(zone: str) -> None:
    data = pl.DataFrame({"k1": [1, 1], "ts": [minutes(0), minutes(60)], "v": [1.0, 2.0]})
    view = ViewSource("v", join_keys=("k1",), event_timestamp="ts", features=("v",), files=(data,))
    entities = pl.DataFrame({"k1": [1, 1], "at": [minutes(59), minutes(60)]})
    local = entities.with_columns(pl.col("at").dt.convert_time_zone(zone))
    assert point_in_time_join(local, "at", [view])["v"].to_list() == [1.0, 2.0]
