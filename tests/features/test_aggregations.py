"""As-of windowed aggregations: parsing, boundaries, types, and agreement with brute force."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlcore.errors import InvalidInput
from mlcore.features.aggregations import FUNCTIONS, Aggregation
from mlcore.features.retrieval import ViewSource, latest, point_in_time_join

from .conftest import assert_matches_reference, brute_force_join, minutes, same_value


@pytest.mark.parametrize(
    ("window", "expected"),
    [("24h", dt.timedelta(days=1)), ("1d 12h", dt.timedelta(hours=36)),
     (dt.timedelta(minutes=5), dt.timedelta(minutes=5))],
)  # fmt: skip
def test_windows_are_durations(window: str | dt.timedelta, expected: dt.timedelta) -> None:
    assert Aggregation("trips", "sum", window).window == expected


@pytest.mark.parametrize("bad", ["", "0h", "1.5h", dt.timedelta(0), 3])
def test_bad_windows_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidInput, match=r"window .* is not a duration") as caught:
        Aggregation("trips", "sum", bad)
    assert caught.value.field == "window"


def test_names_default_to_column_function_window() -> None:
    assert Aggregation("trips", "mean", "7d").name == "trips_mean_7d"
    assert Aggregation("trips", "max", dt.timedelta(hours=36)).name == "trips_max_36h"
    assert Aggregation("trips", "max", dt.timedelta(seconds=1.5)).name == "trips_max_1500000us"
    assert Aggregation("trips", "count", "1h", name="n").name == "n"
    assert Aggregation("trips", "sum", "1H 30m").name == "trips_sum_1h30m"
    with pytest.raises(InvalidInput, match="unknown aggregation function 'median'"):
        Aggregation("trips", "median", "1h")


def events(**columns: list[Any]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame({"driver": [1] * n, **columns}).with_columns(
        pl.col("ts").map_elements(minutes, return_dtype=pl.Datetime("us", "UTC"))
    )


def aggregate(data: pl.DataFrame, at: list[float], *aggs: Aggregation) -> pl.DataFrame:
    view = ViewSource(
        "trips",
        join_keys=("driver",),
        event_timestamp="ts",
        features=(),
        files=(data,),
        aggregations=aggs,
    )
    entities = pl.DataFrame({"driver": [1] * len(at), "at": [minutes(m) for m in at]})
    return point_in_time_join(entities, "at", [view]).drop("driver", "at")


def test_window_excludes_its_start_and_includes_its_end() -> None:
    data = events(ts=[0, 30, 60], fare=[1.0, 2.0, 4.0])
    aggs = [Aggregation("fare", f, "1h") for f in FUNCTIONS]
    result = aggregate(data, [60, 59.99], *aggs)
    assert result.row(0) == (2, 6.0, 3.0, 2.0, 4.0, pytest.approx(math.sqrt(2)), 4.0)
    assert result.row(1) == (2, 3.0, 1.5, 1.0, 2.0, pytest.approx(math.sqrt(0.5)), 2.0)


def test_empty_windows_count_zero_and_the_rest_null() -> None:
    data = events(ts=[0], fare=[1.0])
    result = aggregate(data, [-1, 120, 0], *(Aggregation("fare", f, "1h") for f in FUNCTIONS))
    assert result.row(0) == (0, None, None, None, None, None, None)
    assert result.row(1) == (0, None, None, None, None, None, None)
    assert result.row(2) == (1, 1.0, 1.0, 1.0, 1.0, None, 1.0)  # one value: no sample stddev


def test_nulls_are_skipped_but_last_returns_them_and_nan_propagates() -> None:
    data = events(ts=[0, 1, 2], fare=[1.0, float("nan"), None])
    result = aggregate(data, [3], *(Aggregation("fare", f, "1h") for f in FUNCTIONS))
    count, total, mean, low, high, std, last = result.row(0)
    assert count == 2 and last is None
    assert all(math.isnan(v) for v in (total, mean, low, high, std))


def test_result_types() -> None:
    data = events(
        ts=[0, 1],
        n=pl.Series([3, 5], dtype=pl.Int32),
        ok=[True, False],
        label=["a", "b"],
        seen=[minutes(5), minutes(1)],
        x=pl.Series([1.5, 2.5], dtype=pl.Float32),
    )
    aggs = [
        Aggregation("n", "sum", "1h"),
        Aggregation("n", "max", "1h"),
        Aggregation("n", "mean", "1h"),
        Aggregation("n", "count", "1h"),
        Aggregation("ok", "min", "1h"),
        Aggregation("ok", "sum", "1h"),
        Aggregation("label", "last", "1h"),
        Aggregation("label", "count", "1h"),
        Aggregation("seen", "max", "1h"),
        Aggregation("x", "min", "1h"),
        Aggregation("x", "stddev", "1h"),
    ]
    result = aggregate(data, [2], *aggs)
    assert result.dtypes == [
        pl.Int64,
        pl.Int32,
        pl.Float64,
        pl.Int64,
        pl.Boolean,
        pl.Int64,
        pl.String,
        pl.Int64,
        pl.Datetime("us", "UTC"),
        pl.Float32,
        pl.Float64,
    ]
    assert result.row(0) == (
        8,
        5,
        4.0,
        2,
        False,
        1,
        "b",
        2,
        minutes(5),
        1.5,
        pytest.approx(math.sqrt(0.5)),
    )


def test_numeric_functions_refuse_text() -> None:
    with pytest.raises(InvalidInput, match="cannot take sum of column label"):
        aggregate(events(ts=[0], label=["a"]), [1], Aggregation("label", "sum", "1h"))


@st.composite
def streams(draw: Any) -> dict[str, Any]:
    """Dense events of two drivers, over several batches, queried at many moments."""
    batch = st.lists(
        st.fixed_dictionaries(
            {
                "driver": st.sampled_from([1, 2]),
                "ts": st.integers(0, 40).map(minutes),
                "fare": st.one_of(st.none(), st.floats(-1e3, 1e3, allow_nan=False)),
                "trips": st.one_of(st.none(), st.integers(-100, 100)),
            }
        ),
        min_size=1,
        max_size=25,
    )
    schema = {
        "driver": pl.Int64,
        "ts": pl.Datetime("us", "UTC"),
        "fare": pl.Float64,
        "trips": pl.Int64,
    }
    data = [
        pl.DataFrame(rows, schema=schema).sort("driver", "ts", maintain_order=True)
        for rows in draw(st.lists(batch, min_size=1, max_size=4))
    ]
    aggs = draw(
        st.lists(
            st.builds(
                Aggregation,
                st.sampled_from(["fare", "trips"]),
                st.sampled_from(FUNCTIONS),
                st.sampled_from(["1m", "5m", "15m", "1h"]),
            ),
            min_size=1,
            max_size=6,
            unique_by=lambda a: a.name,
        )
    )
    at = draw(
        st.lists(
            st.tuples(st.sampled_from([1, 2, 3]), st.integers(-2, 45)), min_size=1, max_size=15
        )
    )
    entities = pl.DataFrame({"driver": [d for d, _ in at], "at": [minutes(m) for _, m in at]})
    return {"data": data, "aggs": tuple(aggs), "entities": entities}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(s=streams())
def test_aggregations_match_brute_force_across_files_and_chunks(
    s: dict[str, Any], small_chunks: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, frame in enumerate(s["data"]):
            frame.write_parquet(Path(tmp) / f"{i}.parquet", row_group_size=3)
            files.append(str(Path(tmp) / f"{i}.parquet"))
        view = ViewSource(
            "trips",
            join_keys=("driver",),
            event_timestamp="ts",
            features=(),
            files=tuple(files),
            aggregations=s["aggs"],
        )
        result = point_in_time_join(s["entities"], "at", [view])
        assert_matches_reference(result, s["entities"], "at", [view])


@settings(max_examples=25, deadline=None)
@given(s=streams(), at=st.integers(-2, 45))
def test_latest_is_the_join_as_of_one_moment(s: dict[str, Any], at: int) -> None:
    view = ViewSource(
        "trips",
        join_keys=("driver",),
        event_timestamp="ts",
        features=("fare",),
        files=tuple(s["data"]),
        aggregations=s["aggs"],
        ttl=dt.timedelta(minutes=1),
    )
    online = latest(view, as_of=minutes(at))
    data = pl.concat(s["data"])
    drivers = sorted(set(data.filter(pl.col("ts") <= minutes(at))["driver"]))
    assert online["driver"].to_list() == drivers
    entities = pl.DataFrame(
        {"driver": drivers, "at": [minutes(at)] * len(drivers)},
        schema={"driver": pl.Int64, "at": pl.Datetime("us", "UTC")},
    )
    reference = replace(view, ttl=None, matched_timestamp="ts")
    for name, values in brute_force_join(entities, "at", [reference]).items():
        got = online[name].to_list()
        assert all(same_value(g, e) for g, e in zip(got, values, strict=True)), (name, got, values)


def test_a_window_spanning_batches_merges_exactly() -> None:
    first = events(ts=[0, 10, 20], fare=[1.0, 5.0, 2.0])
    second = events(ts=[30, 40], fare=[8.0, 3.0])
    aggs = [Aggregation("fare", f, "1h") for f in FUNCTIONS]
    both = aggregate(pl.concat([first, second]), [45], *aggs)
    view = ViewSource(
        "trips",
        join_keys=("driver",),
        event_timestamp="ts",
        features=(),
        files=(second, first),
        aggregations=tuple(aggs),
    )
    split = point_in_time_join(pl.DataFrame({"driver": [1], "at": [minutes(45)]}), "at", [view])
    assert split.drop("driver", "at").row(0) == pytest.approx(both.row(0))
    assert both["fare_stddev_1h"].item() == pytest.approx(pl.Series([1.0, 5, 2, 8, 3]).std())
