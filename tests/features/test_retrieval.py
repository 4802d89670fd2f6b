"""Point-in-time join: each rule of the contract on a case small enough to read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.features import _kernels
from mlcore.features._chunks import Batches, micros
from mlcore.features.aggregations import Aggregation
from mlcore.features.retrieval import ViewSource, latest, point_in_time_join

from .conftest import assert_matches_reference, minutes

HOUR = dt.timedelta(hours=1)


def view(*files: object, **kwargs: object) -> ViewSource:
    options: dict[str, object] = {
        "join_keys": ("driver",),
        "event_timestamp": "ts",
        "features": ("rate",),
        "files": files,
    }
    options.update(kwargs)
    return ViewSource("stats", **options)  # type: ignore[arg-type]


def stats(
    drivers: list[int], at: list[float], rates: list[float | None], **extra: list[object]
) -> pl.DataFrame:
    return pl.DataFrame({"driver": drivers, "ts": [minutes(m) for m in at], "rate": rates, **extra})


def entities(drivers: list[int | None], at: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"driver": drivers, "at": [None if m is None else minutes(m) for m in at]},
        schema={"driver": pl.Int64, "at": pl.Datetime("us", "UTC")},
    )


def rates(result: pl.DataFrame) -> list[object]:
    return result["rate"].to_list()


def test_latest_row_at_or_before_the_entity_time() -> None:
    data = stats([1, 1, 1], [0, 10, 20], [0.1, 0.2, 0.3])
    ent = entities([1, 1, 1, 1], [-1, 10, 15, 99])
    assert rates(point_in_time_join(ent, "at", [view(data)])) == [None, 0.2, 0.2, 0.3]


def test_ttl_bounds_are_inclusive() -> None:
    data = stats([1], [0], [0.5])
    ent = entities([1, 1, 1], [0, 60, 60.001])
    assert rates(point_in_time_join(ent, "at", [view(data, ttl=HOUR)])) == [0.5, 0.5, None]


def test_zero_ttl_matches_only_the_same_instant() -> None:
    data = stats([1], [5], [0.5])
    ent = entities([1, 1], [5, 5.5])
    assert rates(point_in_time_join(ent, "at", [view(data, ttl=dt.timedelta(0))])) == [0.5, None]


def test_tie_goes_to_the_greater_created_time_wherever_it_sits() -> None:
    data = stats(
        [1, 1, 1], [5, 5, 5], [0.1, 0.9, 0.2], created=[minutes(1), minutes(9), minutes(2)]
    )
    assert rates(
        point_in_time_join(entities([1], [5]), "at", [view(data, created_timestamp="created")])
    ) == [0.9]


def test_missing_created_time_loses_the_tie() -> None:
    data = stats([1, 1], [5, 5], [0.1, 0.2], created=[minutes(1), None])
    assert rates(
        point_in_time_join(entities([1], [6]), "at", [view(data, created_timestamp="created")])
    ) == [0.1]


def test_full_tie_goes_to_later_ingestion() -> None:
    first = stats([1, 1], [5, 5], [0.1, 0.2])  # within a batch, the later row
    second = stats([1], [5], [0.3])
    ent = entities([1], [6])
    assert rates(point_in_time_join(ent, "at", [view(first)])) == [0.2]
    assert rates(point_in_time_join(ent, "at", [view(first, second)])) == [0.3]
    assert rates(point_in_time_join(ent, "at", [view(second, first)])) == [0.2]


def test_null_value_in_latest_row_is_returned_not_skipped() -> None:
    data = stats([1, 1], [0, 10], [0.4, None])
    assert rates(point_in_time_join(entities([1], [11]), "at", [view(data)])) == [None]


def test_every_row_once_in_input_order_with_its_columns() -> None:
    data = stats([1, 2], [0, 0], [0.1, 0.2])
    ent = entities([2, 7, None, 1, 2, 2], [5, 5, 5, 5, None, 5]).with_columns(
        label=pl.Series(list("abcdef"))
    )
    result = point_in_time_join(ent, "at", [view(data)])
    assert result.columns == ["driver", "at", "label", "rate"]
    assert result["label"].to_list() == list("abcdef")
    assert rates(result) == [0.2, None, None, 0.1, None, 0.2]


def test_renamed_composite_keys_and_several_views() -> None:
    trips = pl.DataFrame(
        {
            "driver_id": [1, 1, 2],
            "city": ["paris", "rome", "paris"],
            "ts": [minutes(0)] * 3,
            "fare": [10.0, 20.0, 30.0],
        }
    )
    weather = pl.DataFrame({"city": ["paris", "rome"], "ts": [minutes(1)] * 2, "temp": [12, 18]})
    ent = pl.DataFrame(
        {"driver": [2, 1, 1], "town": ["paris", "rome", "paris"], "at": [minutes(2)] * 3}
    )
    views = [
        ViewSource(
            "trips",
            join_keys=("driver_id", "city"),
            entity_keys=("driver", "town"),
            event_timestamp="ts",
            features=("fare",),
            files=(trips,),
        ),
        ViewSource(
            "weather",
            join_keys=("city",),
            entity_keys=("town",),
            event_timestamp="ts",
            features=("temp",),
            output_names=("weather__temp",),
            files=(weather,),
        ),
    ]
    result = point_in_time_join(ent, "at", views)
    assert result["fare"].to_list() == [30.0, 20.0, 10.0]
    assert result["weather__temp"].to_list() == [12, 18, 12]
    assert_matches_reference(result, ent, "at", views)


def test_categorical_entity_keys_match_string_keys() -> None:
    data = pl.DataFrame({"city": ["rome"], "ts": [minutes(0)], "temp": [18]})
    ent = pl.DataFrame({"city": ["rome", "oslo"], "at": [minutes(1)] * 2}).with_columns(
        pl.col("city").cast(pl.Categorical)
    )
    v = ViewSource(
        "w", join_keys=("city",), event_timestamp="ts", features=("temp",), files=(data,)
    )
    assert point_in_time_join(ent, "at", [v])["temp"].to_list() == [18, None]


def test_feature_types_survive() -> None:
    data = stats([1], [0], [0.5], label=["fast"], trips=pl.Series([3], dtype=pl.UInt16))
    v = view(data, features=("rate", "label", "trips"))
    result = point_in_time_join(entities([1, 2], [1, 1]), "at", [v])
    assert result.schema["label"] == pl.String and result.schema["trips"] == pl.UInt16
    assert result.row(1) == (2, minutes(1), None, None, None)


def test_matched_timestamp_reports_the_joined_row() -> None:
    data = stats([1, 1], [0, 10], [0.1, 0.2])
    result = point_in_time_join(
        entities([1, 1], [5, -5]), "at", [view(data, matched_timestamp="seen")]
    )
    assert result["seen"].to_list() == [minutes(0), None]


def test_empty_entities_and_views_without_data() -> None:
    data = stats([1], [0], [0.5])
    empty = entities([], [])
    result = point_in_time_join(empty, "at", [view(data)])
    assert result.height == 0 and result.schema["rate"] == pl.Float64
    nothing = point_in_time_join(
        entities([1], [0]), "at", [view(aggregations=(Aggregation("rate", "count", "1h"),))]
    )
    assert nothing.row(0)[2:] == (None, 0)


def test_errors_name_the_problem() -> None:
    data = stats([1], [0], [0.5])
    with pytest.raises(NotFound, match=r"entity column 'tme' not found\. Did you mean 'time'"):
        point_in_time_join(entities([1], [0]).rename({"at": "time"}), "tme", [view(data)])
    with pytest.raises(NotFound, match="entity column 'driver' not found"):
        point_in_time_join(entities([1], [0]).rename({"driver": "d"}), "at", [view(data)])
    with pytest.raises(NotFound, match=r"view stats column 'rte' not found\. Did you mean 'rate'"):
        point_in_time_join(entities([1], [0]), "at", [view(data, features=("rte",))])
    with pytest.raises(InvalidInput, match="result columns collide: rate"):
        point_in_time_join(entities([1], [0]), "at", [view(data), view(data)])
    with pytest.raises(InvalidInput, match="result columns collide: driver"):
        point_in_time_join(entities([1], [0]), "at", [view(data, output_names=("driver",))])
    with pytest.raises(InvalidInput, match="naive timestamps"):
        point_in_time_join(
            entities([1], [0]).with_columns(pl.col("at").dt.replace_time_zone(None)),
            "at",
            [view(data)],
        )
    with pytest.raises(
        InvalidInput,
        match="key driver is Int64 in the feature data but entity column driver is String",
    ):
        point_in_time_join(
            entities([1], [0]).with_columns(pl.col("driver").cast(pl.String)), "at", [view(data)]
        )
    with pytest.raises(InvalidInput, match="rows without an event timestamp"):
        point_in_time_join(
            entities([1], [0]),
            "at",
            [view(data.with_columns(ts=None).cast({"ts": pl.Datetime("us", "UTC")}))],
        )
    with pytest.raises(InvalidInput, match="1 join keys but 2 entity keys"):
        view(data, entity_keys=("a", "b"))
    with pytest.raises(InvalidInput, match="cannot read"):
        point_in_time_join(entities([1], [0]), "at", [view(files=("/nonexistent.parquet",))])


def test_latest_gives_online_rows_without_ttl() -> None:
    data = stats([2, 1, 1, 3], [0, 0, 30, 90], [0.2, 0.1, None, 0.3])
    v = view(data, ttl=dt.timedelta(minutes=1), aggregations=(Aggregation("rate", "count", "1h"),))
    online = latest(v, as_of=minutes(59))
    assert online.columns == ["driver", "rate", "rate_count_1h", "ts"]
    assert online.rows() == [(1, None, 1, minutes(30)), (2, 0.2, 1, minutes(0))]


def test_kernels_agree_with_their_python_twins() -> None:
    rng = np.random.default_rng(7)
    key_id = rng.integers(-1, 4, 50)
    for fn in (_kernels.group_rows, _kernels.group_rows.py_func):
        order, starts = fn(key_id, 4)
        assert order.tolist() == [i for k in range(4) for i in np.flatnonzero(key_id == k)]
        assert starts.tolist() == [
            0,
            *np.cumsum(np.bincount(key_id[key_id >= 0], minlength=4)).tolist(),
        ]
    ts = np.sort(rng.integers(0, 20, 30))
    created = rng.integers(0, 3, 30)
    runs = (np.array([0]), np.array([0]), np.array([30]))
    entity_ts = rng.integers(-2, 25, 8)
    starts = np.array([0, 8])
    results = []
    for fn in (_kernels.asof_winners, _kernels.asof_winners.py_func):
        best = [np.zeros(8, np.int64), np.zeros(8, np.int64), np.full(8, -1), np.zeros(8, np.int64)]
        fn(*runs, ts, created, np.empty(0, np.int64), starts, entity_ts, 4, 0, *best)
        results.append([b.tolist() for b in best])
    assert results[0] == results[1]
    values = rng.normal(size=30)
    stats_out = []
    for fn in (_kernels.window_stats, _kernels.window_stats.py_func):
        state = [np.zeros(8, np.int64), *(np.zeros(8) for _ in range(5))]
        fn(*runs, ts, values, values > -1, starts, entity_ts, 5, True, *state)
        stats_out.append(np.concatenate([s.astype(float) for s in state]))
    np.testing.assert_allclose(stats_out[0], stats_out[1], rtol=1e-12)


def test_unsorted_run_is_detected() -> None:
    seen = np.full(2, -1, np.int64)
    ts = np.array([1, 2, 0, 5])
    assert _kernels.runs_are_sorted(
        np.array([0, 1]), np.array([0, 2]), np.array([2, 4]), ts, seen, 0
    )
    assert not _kernels.runs_are_sorted(np.array([0]), np.array([0]), np.array([3]), ts, seen, 1)
    assert not _kernels.runs_are_sorted(
        np.array([1, 1]), np.array([0, 2]), np.array([2, 4]), ts, seen, 2
    )


def test_latest_of_a_view_without_data_is_empty() -> None:
    online = latest(view(), as_of=minutes(0))
    assert online.height == 0
    assert online.columns == ["driver", "rate", "ts"]


def test_key_columns_may_take_any_name() -> None:
    # Names the engine uses internally for runs must never collide with a user's key.
    names = ("len", "value", "start")
    data = pl.DataFrame(
        {"len": [1, 1], "value": ["a", "b"], "start": [0, 0], "ts": [minutes(0)] * 2, "f": [1, 2]}
    )
    v = ViewSource("odd", join_keys=names, event_timestamp="ts", features=("f",), files=(data,))
    ent = pl.DataFrame(
        {"len": [1, 1], "value": ["b", "c"], "start": [0, 0], "at": [minutes(1)] * 2}
    )
    assert point_in_time_join(ent, "at", [v])["f"].to_list() == [2, None]
    single = ViewSource(
        "odd", join_keys=("len",), event_timestamp="ts", features=("f",), files=(data,)
    )
    assert latest(single, as_of=minutes(1))["len"].to_list() == [1]


def test_row_group_statistics_skip_data_out_of_reach(tmp_path: Path, small_chunks: int) -> None:
    data = stats([1] * 8, [0, 10, 20, 30, 40, 50, 60, 70], [float(i) for i in range(8)])
    data.write_parquet(tmp_path / "d.parquet", row_group_size=2)
    batches = Batches([tmp_path / "d.parquet"], "stats")

    def plan(lo: float | None, hi: float) -> list[tuple[int, int]]:
        chunks = batches.plan(
            "ts", None if lo is None else micros(minutes(lo)), micros(minutes(hi))
        )
        return [(c.offset, c.length) for c in chunks]

    assert plan(35, 45) == [(4, 2)]
    assert plan(25, 65) == [(2, 4), (6, 2)]  # chunks close once they reach CHUNK_ROWS (3)
    assert plan(None, 15) == [(0, 2)]
    assert plan(None, 99) == [(0, 4), (4, 4)]
    ent = entities([1, 1], [45, 75])
    result = point_in_time_join(
        ent, "at", [view(str(tmp_path / "d.parquet"), ttl=dt.timedelta(minutes=5))]
    )
    assert rates(result) == [4.0, 7.0]
