"""Historical retrieval through the store: references, snapshots, versions, bad input.

The engine's own tests cover the join semantics in depth; here the store's
answers are checked against a brute-force reference end to end.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

from mlcore import Aggregation, Entity, FeatureView, Field, InvalidInput, NotFound

from ._store_helpers import BASE, DRIVER, batch, brute_force, driver_stats, hours

ZONE = "Europe/Paris"


def _entities(rows: list[tuple[int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"driver_id": [r[0] for r in rows], "event_timestamp": [hours(r[1]) for r in rows]},
        schema={"driver_id": pl.Int64, "event_timestamp": pl.Datetime("us", "UTC")},
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_cases_match_the_brute_force_reference(store, seed: int) -> None:
    rng = random.Random(seed)
    trips = FeatureView(
        "trips",
        [DRIVER, Entity("city", {"city": "string"})],
        [Field("fare", "float64"), Field("n", "int32")],
        event_timestamp="ts",
        created_timestamp="written",
        ttl="90m",
    )
    store.features.apply([driver_stats(), trips])
    stats_rows: list[dict] = []
    trip_rows: list[dict] = []
    for _ in range(3):  # several batches: ties across batches go to the later one
        s = [
            (
                rng.randint(1, 4),
                rng.randint(0, 12) / 2,
                rng.choice([None, rng.random()]),
                rng.randint(0, 9),
            )
            for _ in range(12)
        ]
        store.features.ingest("driver_stats", batch(s))
        stats_rows += [{"driver_id": d, "ts": hours(h), "rate": r, "trips": t} for d, h, r, t in s]
        t_rows = [
            {"driver_id": rng.randint(1, 3), "city": rng.choice("ab"), "ts": hours(rng.randint(0, 8)),
             "written": rng.choice([None, hours(rng.randint(0, 3))]), "fare": rng.random(), "n": rng.randint(0, 5)}
            for _ in range(15)
        ]  # fmt: skip
        store.features.ingest("trips", pl.DataFrame(t_rows))
        trip_rows += t_rows
    entity_rows = [
        {"driver_id": rng.randint(0, 4), "town": rng.choice("abc"),
         "event_timestamp": hours(rng.randint(-2, 14) / 2), "label": i}
        for i in range(40)
    ]  # fmt: skip
    entity_rows.append(dict(entity_rows[3]))  # a duplicate row comes back twice
    entities = pl.DataFrame(entity_rows).with_columns(
        pl.col("event_timestamp").dt.convert_time_zone(ZONE)
    )
    result = store.features.historical(
        entities,
        ["driver_stats:*", "trips:fare", "trips:n"],
        key_map={"trips": {"city": "town"}},
    )
    assert result.select(entities.columns).equals(entities)
    expected_stats = brute_force(
        entity_rows, "event_timestamp", stats_rows, keys=["driver_id"], event="ts",
        features=["rate", "trips"], ttl=dt.timedelta(hours=2),
    )  # fmt: skip
    expected_trips = brute_force(
        entity_rows, "event_timestamp", trip_rows, keys=["driver_id", "city"],
        entity_keys=["driver_id", "town"], event="ts", created="written",
        features=["fare", "n"], ttl=dt.timedelta(minutes=90),
    )  # fmt: skip
    got = result.select("rate", "trips", "fare", "n").to_dicts()
    assert got == [{**a, **b} for a, b in zip(expected_stats, expected_trips, strict=True)]


def test_as_of_reproduces_earlier_answers_after_ingestion_and_applies(store) -> None:
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1), (2, 0, 0.2, 2)]))
    entities = _entities([(1, 1.5), (2, 2.5)])
    first = store.features.historical(entities, ["driver_stats:*"])
    snapshot = store.features.snapshot()
    assert first["rate"].to_list() == [0.1, None]  # driver 2's row is older than the ttl

    store.features.ingest("driver_stats", batch([(1, 1, 0.9, 9)]))
    store.features.apply([driver_stats(ttl="3h")])
    later = store.features.historical(entities, ["driver_stats:*"])
    assert later["rate"].to_list() == [0.9, 0.2]
    again = store.features.historical(entities, ["driver_stats:*"], as_of=snapshot)
    assert again.equals(first)
    assert store.features.resolve(["driver_stats:rate"], as_of=snapshot).versions == {
        "driver_stats": 1
    }
    with pytest.raises(InvalidInput, match="not a snapshot"):
        store.features.historical(entities, ["driver_stats:*"], as_of=10_000)


def test_every_entity_row_comes_back_in_order_with_its_columns(store) -> None:
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1)]))
    entities = _entities([(3, 1), (1, 1), (1, 1), (1, -1)]).with_columns(
        label=pl.Series([1, 2, 3, 4])
    )
    result = store.features.historical(entities, ["driver_stats:rate"])
    assert result.columns == ["driver_id", "event_timestamp", "label", "rate"]
    assert result["label"].to_list() == [1, 2, 3, 4]
    assert result["rate"].to_list() == [None, 0.1, 0.1, None]
    empty = store.features.historical(entities.clear(), ["driver_stats:rate"])
    assert empty.height == 0 and empty.columns[-1] == "rate"


def test_naive_entity_timestamps_need_a_zone_and_keep_their_column(store) -> None:
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1)]))
    naive = pl.DataFrame(
        {
            "driver_id": [1, 1],
            "at": [dt.datetime(2024, 3, 1, 1, 30), dt.datetime(2024, 3, 1, 0, 30)],
        }
    )
    with pytest.raises(InvalidInput, match="naive"):
        store.features.historical(naive, ["driver_stats:rate"], timestamp="at")
    result = store.features.historical(
        naive, ["driver_stats:rate"], timestamp="at", assume_tz="Europe/Paris"
    )
    # 01:30 in Paris is 00:30 UTC (visible); 00:30 in Paris is 23:30 UTC the day before (not)
    assert result["rate"].to_list() == [0.1, None]
    assert result["at"].dtype == pl.Datetime("us")


def test_references_are_resolved_with_did_you_mean(store) -> None:
    store.features.apply([driver_stats(aggregations=[Aggregation("trips", "sum", "1d")])])
    entities = _entities([(1, 1)])
    with pytest.raises(
        NotFound, match=r"feature view 'driver_stat' not found\. Did you mean 'driver_stats'"
    ):
        store.features.historical(entities, ["driver_stat:rate"])
    with pytest.raises(NotFound, match="Did you mean 'driver_stats:rate'"):
        store.features.historical(entities, ["driver_stats:rat"])
    with pytest.raises(InvalidInput, match="not 'view:feature'"):
        store.features.historical(entities, ["driver_stats"])
    with pytest.raises(InvalidInput, match="no features requested"):
        store.features.historical(entities, [])
    columns = store.features.historical(entities, "driver_stats:*").columns
    assert columns[2:] == ["rate", "trips", "trips_sum_1d"]


def test_collisions_need_full_names(store) -> None:
    other = FeatureView("driver_rank", DRIVER, {"rate": float}, event_timestamp="ts")
    store.features.apply([driver_stats(), other])
    entities = _entities([(1, 1)])
    with pytest.raises(InvalidInput, match="driver_stats:rate and driver_rank:rate -> rate"):
        store.features.historical(entities, ["driver_stats:rate", "driver_rank:rate"])
    result = store.features.historical(
        entities, ["driver_rank:rate", "driver_stats:rate"], full_names=True
    )
    assert result.columns[2:] == ["driver_rank__rate", "driver_stats__rate"]
    with pytest.raises(InvalidInput, match="already has column"):
        store.features.historical(entities.with_columns(rate=pl.lit(1.0)), ["driver_stats:rate"])


def test_missing_entity_columns_name_the_view_and_the_fix(store) -> None:
    store.features.apply([driver_stats()])
    entities = _entities([(1, 1)]).rename({"driver_id": "driver"})
    with pytest.raises(
        InvalidInput, match="no column 'driver_id' \\(join key of view driver_stats\\)"
    ):
        store.features.historical(entities, ["driver_stats:rate"])
    with pytest.raises(InvalidInput, match="no column 'ts'"):
        store.features.historical(
            entities, ["driver_stats:rate"], timestamp="ts", key_map={"driver_id": "driver"}
        )
    result = store.features.historical(
        entities, ["driver_stats:rate"], key_map={"driver_id": "driver"}
    )
    assert result.columns == ["driver", "event_timestamp", "rate"]


def test_a_forced_breaking_change_starts_the_view_afresh(store) -> None:
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1)]))
    before = store.features.snapshot()
    store.features.apply([driver_stats(schema={"rate": "float32", "trips": "int64"})], force=True)
    entities = _entities([(1, 1)])
    assert store.features.historical(entities, ["driver_stats:rate"])["rate"].to_list() == [None]
    store.features.ingest("driver_stats", batch([(1, 0.5, 0.25, 1)]))
    now = store.features.historical(entities, ["driver_stats:rate"])
    assert now["rate"].dtype == pl.Float32 and now["rate"].to_list() == [0.25]
    old = store.features.historical(entities, ["driver_stats:rate"], as_of=before)
    assert old["rate"].dtype == pl.Float64 and old["rate"].to_list() == [0.1]


def test_fields_added_later_are_null_for_older_data(store) -> None:
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1), (2, 0, 0.2, 2)]))
    store.features.apply([driver_stats(schema={"rate": float, "trips": int, "tips": float})])
    store.features.ingest(
        "driver_stats",
        batch([(2, 0.5, 0.3, 3)]).with_columns(tips=pl.lit(1.5)),
    )
    result = store.features.historical(
        _entities([(1, 1), (2, 1)]), ["driver_stats:tips", "driver_stats:rate"]
    )
    assert result.select("tips", "rate").rows() == [(None, 0.1), (1.5, 0.3)]


def test_aggregations_through_the_store(store) -> None:
    view = driver_stats(
        aggregations=[Aggregation("trips", "sum", "2h"), Aggregation("trips", "count", "1d")]
    )
    store.features.apply([view])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1), (1, 1, 0.1, 2), (1, 2, 0.1, 4)]))
    result = store.features.historical(
        _entities([(1, 2), (1, 0.5), (2, 2)]),
        ["driver_stats:trips_sum_2h", "driver_stats:trips_count_1d"],
    )
    # (t - 2h, t]: at 2h that is (0h, 2h] -> 2 + 4
    assert result["trips_sum_2h"].to_list() == [6, 1, None]
    assert result["trips_count_1d"].to_list() == [3, 1, 0]


def test_entity_timestamps_may_be_text_with_offsets(store) -> None:
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1)]))
    entities = pl.DataFrame({"driver_id": [1], "event_timestamp": ["2024-03-01T02:30:00+02:00"]})
    result = store.features.historical(entities, ["driver_stats:rate"])
    assert result["rate"].to_list() == [0.1]
    assert BASE.isoformat() == "2024-03-01T00:00:00+00:00"


def test_entity_keys_of_the_wrong_type_are_refused(store) -> None:
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1)]))
    floats = pl.DataFrame({"driver_id": [1.0, float("nan")], "event_timestamp": [hours(1)] * 2})
    with pytest.raises(InvalidInput, match="entity column driver_id is Float64"):
        store.features.historical(floats, ["driver_stats:rate"])
    numbers = pl.DataFrame({"driver_id": [1], "event_timestamp": [3]})
    with pytest.raises(InvalidInput, match="is Int64, not a timestamp"):
        store.features.historical(numbers, ["driver_stats:rate"])
