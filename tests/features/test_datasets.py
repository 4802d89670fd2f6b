"""Training datasets: stored with their snapshot and versions, rebuilt byte for byte."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from mlcore import CheckFailed, CorruptArtifact, InvalidInput, NotFound, PermissionDenied

from ._store_helpers import batch, driver_stats, hours


def _entities() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "driver_id": [1, 2, 1, 3],
            "event_timestamp": [hours(h) for h in (1, 1, 0.5, 1)],
            "y": [0, 1, 1, 0],
        }
    )


@pytest.fixture
def fs(store):
    store.features.apply([driver_stats()])
    store.features.ingest("driver_stats", batch([(1, 0, 0.1, 1), (2, 0.5, 0.2, 2)]))
    return store.features


def test_save_records_spec_snapshot_versions_and_hashes(store, fs) -> None:
    snapshot = fs.snapshot()
    dataset = fs.save_dataset("train", _entities(), ["driver_stats:*"], description="first try")
    assert dataset.id == "train/1" and dataset.snapshot == snapshot
    assert dataset.versions == {"driver_stats": 1}
    assert dataset.rows == 4 and dataset.features == ["driver_stats:*"]
    stored = store.path / dataset.path
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == dataset.sha256
    loaded = fs.load_dataset("train")
    assert loaded.equals(fs.historical(_entities(), ["driver_stats:*"], as_of=snapshot))
    assert store.audit_log(action="features.save_dataset")[-1].subject == "dataset:train/1"
    assert [d.id for d in fs.datasets()] == ["train/1"]
    assert "train/1" in fs.describe("driver_stats")["datasets"]


def test_rebuild_is_byte_identical_after_later_changes(store, fs) -> None:
    dataset = fs.save_dataset("train", _entities(), ["driver_stats:rate", "driver_stats:trips"])
    fs.ingest("driver_stats", batch([(1, 0.75, 0.9, 9), (3, 0.5, 0.3, 3)]))
    fs.apply([driver_stats(ttl="10m", schema={"rate": float, "trips": int, "tips": float})])
    fs.apply([driver_stats(ttl="10m", schema={"rate": "float32", "trips": int})], force=True)
    rebuilt = fs.rebuild("train")
    assert rebuilt.equals(fs.load_dataset("train"))
    assert (
        fs.historical(_entities(), ["driver_stats:rate"])["rate"].to_list()
        != rebuilt["rate"].to_list()
    )
    assert dataset.sha256 == fs.dataset("train").sha256


def test_versions_accumulate_and_unknown_names_suggest(fs) -> None:
    fs.save_dataset("train", _entities(), "driver_stats:rate")
    fs.ingest("driver_stats", batch([(3, 0.5, 0.3, 3)]))
    second = fs.save_dataset("train", _entities(), "driver_stats:rate")
    assert second.version == 2 and fs.dataset("train").version == 2
    assert fs.load_dataset("train", 1)["rate"].to_list() == [0.1, 0.2, 0.1, None]
    assert fs.load_dataset("train", 2)["rate"].to_list() == [0.1, 0.2, 0.1, 0.3]
    with pytest.raises(NotFound, match="Did you mean 'train'"):
        fs.dataset("trian")
    with pytest.raises(NotFound, match="train/7"):
        fs.dataset("train", 7)
    with pytest.raises(InvalidInput, match="dataset name"):
        fs.save_dataset("bad/name", _entities(), "driver_stats:rate")


def test_tampering_is_detected(store, fs) -> None:
    dataset = fs.save_dataset("train", _entities(), ["driver_stats:rate"])
    path = store.path / dataset.path
    path.write_bytes(path.read_bytes()[:-9] + b"tampered!")
    with pytest.raises(CorruptArtifact):
        fs.load_dataset("train")
    entities = store.path / dataset.entities_path
    entities.write_bytes(b"PAR1")
    with pytest.raises(CorruptArtifact):
        fs.rebuild("train")


def test_a_different_rebuild_fails_the_check(store, fs, monkeypatch) -> None:
    fs.save_dataset("train", _entities(), ["driver_stats:rate"])
    from mlcore.features import datasets

    real = datasets.parquet_bytes
    monkeypatch.setattr(datasets, "parquet_bytes", lambda frame: real(frame.reverse()))
    with pytest.raises(CheckFailed, match="rebuilt differently"):
        fs.rebuild("train")


def test_saving_needs_the_permission(store, fs) -> None:
    store.grant("rita", "reviewer")
    with pytest.raises(PermissionDenied):
        store.as_actor("rita").features.save_dataset("train", _entities(), "driver_stats:rate")
    assert fs.datasets() == []
