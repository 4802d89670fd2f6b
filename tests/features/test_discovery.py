"""Discovery: search ranking and filters, statistics against Polars, describe and summary."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import polars as pl
import pytest

from mlcore import Entity, FeatureView, Field, NotFound
from mlcore.features.store import FeatureStore

from ._store_helpers import DRIVER, batch, driver_stats


def _others() -> list[FeatureView]:
    rank = FeatureView(
        "driver_rank", DRIVER, [Field("rank", "int32", tags=["pii"])], event_timestamp="ts",
        owner="bo", description="Leaderboard position",
    )  # fmt: skip
    weather = FeatureView(
        "city_weather",
        Entity("city", {"city": "string"}),
        [Field("rain_rate", "float64"), Field("sky", "string")],
        event_timestamp="ts",
        description="weather per city",
    )
    return [rank, weather]


@pytest.fixture
def fs(store):
    store.features.apply([driver_stats(), *_others()])
    return store.features


def _refs(hits) -> list[str]:
    return [h["ref"] for h in hits]


def test_search_ranks_exact_then_prefix_then_substring(fs) -> None:
    assert _refs(fs.search("rate")) == ["driver_stats:rate", "city_weather:rain_rate"]
    assert _refs(fs.search("driver"))[:2] == ["driver_stats", "driver_rank"]
    hit = fs.search("rate")[0]
    assert hit["kind"] == "feature" and hit["dtype"] == "float64"
    assert hit["matched"] == ["description", "name"]
    assert fs.search("nothing-like-this") == [] and fs.search("") == []


def test_search_filters_by_tag_and_owner_and_needs_every_word(fs) -> None:
    assert _refs(fs.search("tag:pii")) == ["driver_rank:rank"]
    assert _refs(fs.search("tag:mobility rate")) == ["driver_stats:rate"]
    assert _refs(fs.search("owner:bo")) == ["driver_rank", "driver_rank:rank"]
    assert _refs(fs.search("owner:ana rank")) == []
    assert _refs(fs.search("weather city")) == ["city_weather"]
    assert len(fs.search("a", limit=2)) == 2


def _expected_stats(data: pl.DataFrame, name: str) -> dict:
    column = data[name]
    present = column.drop_nulls()
    return {
        "count": present.len(),
        "nulls": column.null_count(),
        "null_share": column.null_count() / column.len(),
        "distinct": present.n_unique(),
        "min": present.min(),
        "max": present.max(),
        "mean": present.cast(pl.Float64).mean(),
    }


def test_stats_match_polars_and_are_cached_per_snapshot(store, fs) -> None:
    first = batch([(1, 0, 0.5, 1), (2, 1, None, 1), (1, 2, 0.25, None)])
    second = batch([(3, 5, 1.5, 7), (3, 6, 0.5, 2)])
    fs.ingest("driver_stats", first)
    fs.ingest("driver_stats", second)
    data = pl.concat([first, second])
    before = dt.datetime.now(dt.UTC)
    result = fs.stats("driver_stats")
    after = dt.datetime.now(dt.UTC)
    assert result["rows"] == 5 and result["files"] == 2
    newest = data["ts"].max()
    assert result["newest_event"] == newest.isoformat()
    assert result["oldest_event"] == data["ts"].min().isoformat()
    assert (
        (before - newest).total_seconds()
        <= result["freshness_s"]
        <= (after - newest).total_seconds()
    )
    by_name = {f["name"]: f for f in result["features"]}
    for name in ("rate", "trips"):
        expected = _expected_stats(data, name)
        got = {k: by_name[name][k] for k in expected}
        assert got == pytest.approx(expected)

    again = fs.stats("driver_stats")
    assert again["features"] == result["features"]
    with store.storage.transaction() as tx:
        assert tx.fetchone("SELECT count(*) FROM feature_stats")[0] == 1
    fs.ingest("driver_stats", batch([(4, 7, 0.0, 0)]))
    assert fs.stats("driver_stats")["rows"] == 6
    assert fs.stats("driver_stats", as_of=result["snapshot"])["rows"] == 5


def test_stats_of_text_and_empty_views(fs) -> None:
    empty = fs.stats("city_weather")
    assert empty["rows"] == 0 and empty["freshness_s"] is None
    assert empty["features"][0]["null_share"] is None
    fs.ingest(
        "city_weather",
        pl.DataFrame(
            {"city": ["a", "b", "a"], "ts": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 3,
             "rain_rate": [float("nan"), 1.0, None], "sky": ["blue", None, "grey"]}
        ),
    )  # fmt: skip
    sky = {f["name"]: f for f in fs.stats("city_weather")["features"]}["sky"]
    assert (sky["count"], sky["distinct"], sky["min"], sky["max"], sky["mean"]) == (
        2,
        2,
        "blue",
        "grey",
        None,
    )
    rain = {f["name"]: f for f in fs.stats("city_weather")["features"]}["rain_rate"]
    assert (rain["count"], rain["distinct"]) == (2, 2)
    assert rain["mean"] is None  # NaN propagates into the mean; JSON shows it as null
    with pytest.raises(NotFound, match="Did you mean 'city_weather'"):
        fs.stats("city_wether")


def test_describe_and_summary(store, fs) -> None:
    fs.ingest("driver_stats", batch([(1, 0, 0.5, 1)]))
    fs.apply([driver_stats(ttl="3h"), *_others()])
    info = fs.describe("driver_stats")
    assert info["version"] == 2 and [v["version"] for v in info["versions"]] == [1, 2]
    assert info["data"]["rows"] == 1 and info["online"] is None and info["used_by"] == []
    summary = {s["view"]: s for s in fs.summary()}
    assert set(summary) == {"driver_stats", "driver_rank", "city_weather"}
    assert summary["driver_stats"]["rows"] == 1 and summary["driver_rank"]["owner"] == "bo"


def test_models_using_features_come_from_the_registry_hook(store, fs) -> None:
    asked = []

    def using_features(refs):
        asked.append(list(refs))
        return {"driver_stats:rate": ["churn/3"]}

    hooked = FeatureStore(
        store.storage, store=SimpleNamespace(models=SimpleNamespace(using_features=using_features))
    )
    assert hooked.describe("driver_stats")["used_by"] == {"driver_stats:rate": ["churn/3"]}
    assert asked == [["driver_stats:rate", "driver_stats:trips"]]
    assert hooked.stats("driver_stats")["used_by"] == {"driver_stats:rate": ["churn/3"]}
    no_hook = FeatureStore(store.storage, store=SimpleNamespace(models=object()))
    assert no_hook.describe("driver_stats")["used_by"] is None
