"""Ingestion: every bad batch is one clear error and leaves the store unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from mlcore import Conflict, Entity, FeatureView, InvalidInput, NotFound, PermissionDenied
from mlcore.features import ingest as ingest_module

from ._store_helpers import BASE, batch, driver_stats, hours, state


@pytest.fixture
def fs(store):
    store.features.apply([driver_stats()])
    return store.features


def _stored(store, view: str = "driver_stats") -> list[pl.DataFrame]:
    with store.storage.transaction() as tx:
        files = tx.visible_files("features", [view])
    return [pl.read_parquet(store.storage.files.absolute(f.path)) for f in files]


def test_a_batch_is_stored_sorted_with_statistics_and_audited(store, fs) -> None:
    rows = [(2, 1, 0.1, 1), (1, 3, 0.2, 2), (1, 1, 0.3, 3), (2, 0, 0.4, 4), (1, 1, 0.5, 5)]
    report = fs.ingest("driver_stats", batch(rows))
    assert report.rows == 5 and report.version == 1 and len(report.files) == 1
    (frame,) = _stored(store)
    assert frame.columns == ["driver_id", "ts", "rate", "trips"]
    assert frame.schema["ts"] == pl.Datetime("us", "UTC")
    # sorted by key then time; the two rows tied on (1, 1h) keep their input order
    assert frame["trips"].to_list() == [3, 5, 2, 4, 1]
    meta = pq.read_metadata(store.storage.files.absolute(report.files[0]))
    stats = meta.row_group(0).column(1).statistics
    assert stats.has_min_max and stats.min == hours(0)
    entry = store.audit_log(action="features.ingest")[-1]
    assert entry.subject == "view:driver_stats" and entry.details["rows"] == 5
    assert report.snapshot == store.features.snapshot()


def test_lossless_casts_are_made_and_unknown_columns_ignored(store, fs) -> None:
    data = pl.DataFrame(
        {
            "driver_id": pl.Series([1.0, 2.0]),
            "ts": [BASE, BASE],
            "rate": pl.Series([1, 2], dtype=pl.Int32),
            "trips": pl.Series([3.0, None]),
            "comment": ["a", "b"],
        }
    )
    report = fs.ingest("driver_stats", data)
    assert report.ignored_columns == ("comment",)
    (frame,) = _stored(store)
    assert frame.schema == pl.Schema(
        {
            "driver_id": pl.Int64,
            "ts": pl.Datetime("us", "UTC"),
            "rate": pl.Float64,
            "trips": pl.Int64,
        }
    )
    assert frame.rows() == [(1, BASE, 1.0, 3), (2, BASE, 2.0, None)]


def test_timezones_are_converted_and_naive_ones_need_a_zone(store, fs) -> None:
    paris = pl.DataFrame(
        {"driver_id": [1], "ts": [dt.datetime(2024, 3, 1, 12)], "rate": [0.5], "trips": [1]}
    )
    with pytest.raises(InvalidInput, match="naive timestamps"):
        fs.ingest("driver_stats", paris)
    fs.ingest("driver_stats", paris, assume_tz="Europe/Paris")
    aware = paris.with_columns(pl.col("ts").dt.replace_time_zone("America/New_York"))
    fs.ingest("driver_stats", aware)
    times = [f["ts"][0] for f in _stored(store)]
    assert times == [
        dt.datetime(2024, 3, 1, 11, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 17, tzinfo=dt.UTC),
    ]


def _bad_batches() -> list[tuple[str, pl.DataFrame, str, str]]:
    good = batch([(1, 0, 0.5, 1), (2, 1, 0.6, 2), (3, 2, 0.7, 3)])
    return [
        ("missing column", good.drop("rate").with_columns(rat=pl.lit(1.0)), "rate", "no column 'rate'.*Did you mean 'rat'"),
        ("wrong type", good.with_columns(rate=pl.lit("high")), "rate", "is String, expected float64"),
        ("lossy cast", good.with_columns(trips=pl.Series([1.0, 2.5, 3.0])), "trips", "cannot hold exactly.*'row': 1"),
        ("naive", good.with_columns(pl.col("ts").dt.replace_time_zone(None)), "ts", "naive timestamps"),
        ("nan key", good.with_columns(driver_id=pl.Series([1.0, float("nan"), 3.0])), "driver_id", "NaN values.*'row': 1"),
        ("null key", good.with_columns(driver_id=pl.Series([1, None, None])), "driver_id", "null values.*'row': 1.*'row': 2"),
        ("null time", good.with_columns(ts=pl.Series([BASE, None, BASE])), "ts", "event timestamp 'ts' has null"),
        ("key type", good.with_columns(driver_id=pl.lit("x")), "driver_id", "is String, expected int64"),
        ("bad text time", good.with_columns(ts=pl.Series(["2024-01-01T00:00:00Z", "yesterday", "x"])), "ts", "not ISO-8601.*'row': 1"),
        ("overflow", good.with_columns(driver_id=pl.Series([1, 2, 2**63], dtype=pl.UInt64)), "driver_id", "cannot hold exactly"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "data", "field", "message"),
    _bad_batches(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_batches_are_rejected_whole(store, fs, case, data, field, message) -> None:
    fs.ingest("driver_stats", batch([(9, 0, 0.1, 1)]))
    before = state(store)
    with pytest.raises(InvalidInput, match=message) as caught:
        fs.ingest("driver_stats", data)
    assert caught.value.field == field
    assert state(store) == before


def test_empty_batches_and_unknown_views(store, fs) -> None:
    before = state(store)
    with pytest.raises(InvalidInput, match="has no rows"):
        fs.ingest("driver_stats", batch([]))
    with pytest.raises(NotFound, match="Did you mean 'driver_stats'"):
        fs.ingest("driver_stat", batch([(1, 0, 0.5, 1)]))
    with pytest.raises(InvalidInput, match="no source to ingest from"):
        fs.ingest("driver_stats")
    assert state(store) == before


def test_files_that_are_not_parquet_or_csv(store, fs, tmp_path: Path) -> None:
    before = state(store)
    (tmp_path / "data.txt").write_text("driver_id,ts\n")
    (tmp_path / "data.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "torn.parquet").write_bytes(b"PAR1" + b"\0" * 20)
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InvalidInput, match="neither Parquet nor CSV"):
        fs.ingest("driver_stats", tmp_path / "data.txt")
    with pytest.raises(InvalidInput, match="wrong magic bytes"):
        fs.ingest("driver_stats", tmp_path / "data.parquet")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        fs.ingest("driver_stats", tmp_path / "torn.parquet")
    with pytest.raises(InvalidInput, match="cannot read"):
        fs.ingest("driver_stats", tmp_path / "binary.csv")
    with pytest.raises(NotFound, match="file"):
        fs.ingest("driver_stats", tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="is a folder"):
        fs.ingest("driver_stats", tmp_path)
    assert state(store) == before


def test_parquet_csv_pandas_and_arrow_inputs(store, fs, tmp_path: Path) -> None:
    data = batch([(1, 0, 0.5, 1), (2, 1, 0.6, 2)])
    data.write_parquet(tmp_path / "b.parquet")
    data.write_csv(tmp_path / "b.csv")
    fs.ingest("driver_stats", tmp_path / "b.parquet")
    fs.ingest("driver_stats", str(tmp_path / "b.csv"))
    fs.ingest("driver_stats", data.to_pandas())
    fs.ingest("driver_stats", data.to_arrow())
    for frame in _stored(store):
        assert frame.equals(data)


def test_large_batches_stream_in_chunks_and_fail_whole(
    store, fs, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 4)
    data = batch([(i % 3, i, float(i), i) for i in range(10)])
    data.write_parquet(tmp_path / "big.parquet", row_group_size=3)
    seen: list[tuple[int, int | None]] = []
    report = fs.ingest(
        "driver_stats", tmp_path / "big.parquet", progress=lambda n, t: seen.append((n, t))
    )
    assert len(report.files) == 3 and report.rows == 10
    assert sum(n for n, _ in seen) == 10 and {t for _, t in seen} == {10}
    chunks = _stored(store)
    assert [c.height for c in chunks] == [4, 4, 2]
    assert pl.concat(chunks).sort("trips").equals(data)

    before = state(store)
    broken = data.with_columns(driver_id=pl.Series([1.0] * 9 + [np.nan]))
    with pytest.raises(InvalidInput, match="'row': 9"):
        fs.ingest("driver_stats", broken)
    assert state(store) == before


def test_ingest_reads_the_view_source(store, tmp_path: Path) -> None:
    path = tmp_path / "src.csv"
    batch([(1, 0, 0.5, 1)]).write_csv(path)
    store.features.apply([driver_stats(source=str(path))])
    assert store.features.ingest("driver_stats").rows == 1
    in_memory = driver_stats(source=batch([(2, 0, 0.5, 1), (3, 0, 0.5, 1)]))
    assert store.features.ingest(in_memory).rows == 2


def test_datetime_and_string_features(store) -> None:
    view = FeatureView(
        "trips",
        Entity("city", {"city": "string"}),
        {"last_trip": "datetime", "name": "string", "busy": "bool"},
        event_timestamp="ts",
    )
    store.features.apply([view])
    data = pl.DataFrame(
        {
            "city": pl.Series(["b", "a"], dtype=pl.Categorical),
            "ts": [BASE, BASE],
            "last_trip": [dt.datetime(2024, 1, 1), None],
            "name": ["x", None],
            "busy": [True, False],
        }
    )
    with pytest.raises(InvalidInput, match="'last_trip' holds naive"):
        store.features.ingest("trips", data)
    store.features.ingest("trips", data, assume_tz="UTC")
    (frame,) = _stored(store, "trips")
    assert frame["city"].to_list() == ["a", "b"]
    assert frame.schema["last_trip"] == pl.Datetime("us", "UTC")


def test_only_allowed_roles_ingest(store, fs) -> None:
    store.grant("rita", "reviewer")
    with pytest.raises(PermissionDenied):
        store.as_actor("rita").features.ingest("driver_stats", batch([(1, 0, 0.5, 1)]))
    assert store.features.stats("driver_stats")["rows"] == 0


def test_a_definition_change_during_ingestion_is_a_conflict(store, fs) -> None:
    old = fs.view("driver_stats")
    fs.apply([driver_stats(ttl="5h")])
    before = state(store)
    with pytest.raises(Conflict, match="changed while its batch was written"):
        ingest_module.ingest(store.storage, old, batch([(1, 0, 0.5, 1)]))
    assert state(store) == before
