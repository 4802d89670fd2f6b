"""The online table: latest values per key, ttl enforced on read, refreshed per materialization."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mlcore import Aggregation, Entity, FeatureView, InvalidInput, NotFound, PermissionDenied
from mlcore.features.online import OnlineTable

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def _view(**overrides):
    from ._store_helpers import driver_stats

    return driver_stats(aggregations=[Aggregation("trips", "count", "1d")], **overrides)


@pytest.fixture
def fs(store):
    store.features.apply([_view()])
    data = pl.DataFrame(
        {
            "driver_id": [1, 1, 2, 2],
            "ts": [_ago(5), _ago(1), _ago(30), _ago(3)],
            "rate": [0.1, 0.2, 0.3, 0.4],
            "trips": [1, 2, 3, 4],
        }
    )
    store.features.ingest("driver_stats", data)
    return store.features


def test_materialize_then_read_with_ttl_and_ages(store, fs) -> None:
    (done,) = fs.materialize()
    assert done.view == "driver_stats" and done.rows == 2 and done.version == 1
    assert store.audit_log(action="features.materialize")[-1].subject == "view:driver_stats"
    result = fs.online({"driver_id": [2, 1, 3]}, ["driver_stats:*"], with_age=True)
    assert result.columns == [
        "driver_id", "rate", "rate__age_s", "trips", "trips__age_s",
        "trips_count_1d", "trips_count_1d__age_s",
    ]  # fmt: skip
    assert result["driver_id"].to_list() == [2, 1, 3]
    # driver 2's latest value is 3 h old, beyond the 2 h ttl: null, but its age is known
    assert result["rate"].to_list() == [None, 0.2, None]
    assert result["trips"].to_list() == [None, 2, None]
    ages = result["rate__age_s"].to_list()
    assert 3 * 3600 <= ages[0] < 3 * 3600 + 600 and 3600 <= ages[1] < 3600 + 600 and ages[2] is None
    # aggregations are as of the materialization (not subject to the ttl)
    assert result["trips_count_1d"].to_list() == [1, 2, 0]  # as in retrieval: 0, not null
    assert result["trips_count_1d__age_s"][1] < 600


def test_online_agrees_with_historical_at_materialization_time(fs) -> None:
    (done,) = fs.materialize()
    entities = pl.DataFrame({"driver_id": [1, 2, 3], "event_timestamp": [done.materialized_at] * 3})
    historical = fs.historical(entities, ["driver_stats:rate", "driver_stats:trips_count_1d"])
    online = fs.online(
        entities.select("driver_id"), ["driver_stats:rate", "driver_stats:trips_count_1d"]
    )
    assert online.equals(historical.drop("event_timestamp"))


def test_key_inputs_and_text_keys(fs) -> None:
    fs.materialize("driver_stats")
    one = fs.online({"driver_id": 1}, "driver_stats:rate")
    assert one.rows() == [(1, 0.2)]
    assert fs.online([{"driver_id": 1}, {"driver_id": 5}], "driver_stats:rate").rows() == [
        (1, 0.2),
        (5, None),
    ]
    assert fs.online({"driver_id": ["1"]}, "driver_stats:rate").rows() == [(1, 0.2)]
    with pytest.raises(InvalidInput, match="not an integer"):
        fs.online({"driver_id": ["one"]}, "driver_stats:rate")
    with pytest.raises(InvalidInput, match="no column 'driver_id'"):
        fs.online({"driver": [1]}, "driver_stats:rate")
    with pytest.raises(NotFound, match="Did you mean 'driver_stats:rate'"):
        fs.online({"driver_id": [1]}, "driver_stats:rat")


def test_views_must_be_materialized_first(store, fs) -> None:
    store.features.apply(
        [
            _view(),
            FeatureView("rank", Entity("driver", ["driver_id"]), {"r": int}, event_timestamp="ts"),
        ]
    )
    with pytest.raises(NotFound, match="materialize"):
        fs.online({"driver_id": [1]}, "driver_stats:rate")
    done = {m.view: m for m in fs.materialize()}
    assert done["rank"].rows == 0 and done["rank"].path is None
    with pytest.raises(NotFound, match="online table of view 'rank'"):
        fs.online({"driver_id": [1]}, "rank:r")
    with pytest.raises(NotFound, match="Did you mean 'driver_stats'"):
        fs.materialize(["driver_stat"])


def test_composite_keys_and_several_views(store) -> None:
    trip = Entity("trip", {"city": "string", "zone": "int32"})
    view = FeatureView("zones", trip, {"demand": float}, event_timestamp="ts")
    from ._store_helpers import driver_stats

    store.features.apply([view, driver_stats()])
    store.features.ingest(
        "zones",
        pl.DataFrame(
            {
                "city": ["a", "a", "b"],
                "zone": [1, 2, 1],
                "ts": [_ago(1)] * 3,
                "demand": [1.0, 2.0, 3.0],
            }
        ),
    )
    store.features.ingest(
        "driver_stats",
        pl.DataFrame({"driver_id": [7], "ts": [_ago(1)], "rate": [0.5], "trips": [1]}),
    )
    store.features.materialize()
    keys = {"city": ["b", "a", "a"], "zone": [1, 2, 9], "driver_id": [7, 7, 8]}
    result = store.features.online(keys, ["zones:demand", "driver_stats:rate"], full_names=True)
    assert result.columns == ["city", "zone", "driver_id", "zones__demand", "driver_stats__rate"]
    assert result.schema["zone"] == pl.Int32
    assert result.select("zones__demand", "driver_stats__rate").rows() == [
        (3.0, 0.5),
        (2.0, 0.5),
        (None, None),
    ]


def test_new_materializations_are_picked_up(store, fs) -> None:
    fs.materialize()
    assert fs.online({"driver_id": 1}, "driver_stats:rate")["rate"][0] == 0.2
    patient = OnlineTable(store.storage, refresh_s=3600)
    eager = OnlineTable(store.storage, refresh_s=0)
    for table in (patient, eager):
        assert table.lookup({"driver_id": 1}, "driver_stats:rate")["rate"][0] == 0.2
    fs.ingest(
        "driver_stats",
        pl.DataFrame({"driver_id": [1], "ts": [_ago(0.5)], "rate": [0.9], "trips": [5]}),
    )
    fs.materialize()
    assert (
        fs.online({"driver_id": 1}, "driver_stats:rate")["rate"][0] == 0.9
    )  # same process: at once
    assert eager.lookup({"driver_id": 1}, "driver_stats:rate")["rate"][0] == 0.9
    # within refresh_s another reader may serve the previous materialization
    assert patient.lookup({"driver_id": 1}, "driver_stats:rate")["rate"][0] == 0.2


def test_materializing_needs_the_permission(store, fs) -> None:
    store.grant("rita", "reviewer")
    with pytest.raises(PermissionDenied):
        store.as_actor("rita").features.materialize()
