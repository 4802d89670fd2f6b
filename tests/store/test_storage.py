from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

import mlcore
from mlcore.errors import CorruptArtifact, InvalidInput, NotFound, StoreIncompatible
from mlcore.store import discover


def _frame(n: int = 1000) -> pl.DataFrame:
    return pl.DataFrame({"k": range(n), "v": [float(i) / 3 for i in range(n)]})


def test_data_file_visible_only_once_recorded(store) -> None:
    storage = store.storage
    written = storage.files.write(_frame(), "features")
    with storage.transaction() as tx:
        assert tx.visible_files("features") == []
        recorded = tx.register_file(written, kind="features", owner="v")
    assert recorded.seq == 1 and recorded.rows == 1000
    assert recorded.sha256 == hashlib.sha256((store.path / written.path).read_bytes()).hexdigest()
    assert recorded.schema == {"k": "int64", "v": "double"}
    with storage.transaction() as tx:
        assert [f.path for f in tx.visible_files("features", ["v"])] == [written.path]
        assert tx.visible_files("features", ["other"]) == []
    assert not list((store.path / "data" / "features").glob(".tmp-*"))


def test_a_file_written_by_the_caller_is_finalized_or_removed(store) -> None:
    files = store.storage.files
    written = files.write_with("datasets", lambda path: _frame(7).write_parquet(path))
    assert written.rows == 7 and (store.path / written.path).exists()
    assert written.sha256 == hashlib.sha256((store.path / written.path).read_bytes()).hexdigest()

    def fails(path: Path) -> None:
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.write_with("datasets", fails)
    assert [p.name for p in (store.path / "data" / "datasets").iterdir()] == [
        Path(written.path).name
    ]


def test_snapshots_and_retirement(store) -> None:
    storage = store.storage
    with storage.transaction() as tx:
        a = tx.register_file(
            storage.files.write(_frame(10), "features"), kind="features", owner="v"
        )
        b = tx.register_file(
            storage.files.write(_frame(20), "features"), kind="features", owner="v"
        )
    with storage.transaction() as tx:
        c = tx.register_file(
            storage.files.write(_frame(30), "features"), kind="features", owner="v"
        )
        from mlcore.store import files

        files.retire(tx.con, [a.seq, b.seq], replaced_by=c.seq)
    with storage.transaction() as tx:
        assert [f.seq for f in tx.visible_files("features", at=b.seq)] == [a.seq, b.seq]
        assert [f.seq for f in tx.visible_files("features")] == [c.seq]
        assert [f.seq for f in tx.visible_files("features", at=c.seq)] == [c.seq]


def test_blob_round_trip_and_tamper_detection(store) -> None:
    with store.storage.transaction() as tx:
        sha = tx.put_blob(b"model bytes")
    assert sha == hashlib.sha256(b"model bytes").hexdigest()
    assert store.storage.read_blob(sha) == b"model bytes"
    path = store.path / "artifacts" / sha[:2] / sha
    path.write_bytes(b"model bytez")
    with pytest.raises(CorruptArtifact, match="no longer match"):
        store.storage.read_blob(sha)


def test_blob_addresses_never_become_arbitrary_paths(store) -> None:
    with pytest.raises(InvalidInput):
        store.storage.read_blob("../../catalog.duckdb")
    with pytest.raises(NotFound):
        store.storage.read_blob("0" * 64)


def test_newer_schema_is_refused_and_left_untouched(store_path: Path) -> None:
    mlcore.open(store_path, create=True, actor="admin").close()
    con = duckdb.connect(str(store_path / "catalog.duckdb"))
    con.execute("UPDATE schema_versions SET version = 99 WHERE component = 'core'")
    con.close()
    before = (store_path / "catalog.duckdb").read_bytes()
    with pytest.raises(StoreIncompatible, match="newer mlcore"):
        mlcore.open(store_path)
    assert (store_path / "catalog.duckdb").read_bytes() == before


def test_bad_store_paths(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="mlcore init"):
        mlcore.open(tmp_path / "missing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(StoreIncompatible, match="not an mlcore store"):
        mlcore.open(tmp_path / "junk")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InvalidInput, match="not a folder"):
        mlcore.open(tmp_path / "afile", create=True)


def test_discovery_walks_up_like_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlcore.open(tmp_path / ".mlcore", create=True, actor="a").close()
    deep = tmp_path / "x" / "y"
    deep.mkdir(parents=True)
    assert discover(cwd=deep) == tmp_path / ".mlcore"
    monkeypatch.setenv("MLCORE_STORE", str(tmp_path / "elsewhere"))
    assert discover(cwd=deep) == tmp_path / "elsewhere"
    assert discover("explicit", cwd=deep).name == "explicit"


def test_actor_resolution(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCORE_ACTOR", "env-actor")
    s = mlcore.open(store_path, create=True)
    assert s.actor == "env-actor"
    assert mlcore.open(store_path, actor="explicit").actor == "explicit"
    with pytest.raises(InvalidInput, match="not a valid actor"):
        mlcore.open(store_path, actor="bad actor/")


def test_gc_keeps_referenced_files(store) -> None:
    storage = store.storage
    with storage.transaction() as tx:
        kept = tx.register_file(
            storage.files.write(_frame(), "features"), kind="features", owner="v"
        )
        blob = tx.put_blob(b"kept")
    orphan = storage.files.write(_frame(5), "features")  # written, never recorded
    stray_blob, _ = storage.blobs.write(b"never recorded")
    young = store.gc(grace=3600)
    assert young.files == []  # a writer may still be about to record them
    report = store.gc(grace=0)
    assert {f["path"] for f in report.files} == {
        orphan.path,
        f"artifacts/{stray_blob[:2]}/{stray_blob}",
    }
    store.gc(grace=0, remove=True)
    assert (store.path / kept.path).exists()
    assert storage.read_blob(blob) == b"kept"
    assert not (store.path / orphan.path).exists()
    assert store.gc(grace=0).files == []


_WRITER = textwrap.dedent(
    """
    import sys, numpy as np, polars as pl, mlcore
    store = mlcore.open(sys.argv[1], actor="admin")
    storage = store.storage
    big = pl.DataFrame({"a": np.arange(3_000_000), "b": np.random.default_rng(0).random(3_000_000)})
    for i in range(1000):
        print("writing", flush=True)
        f = storage.files.write(big, "features")
        with storage.transaction() as tx:
            tx.register_file(f, kind="features", owner="v")
            tx.audit("features.ingest", "view:v", {"file": f.path})
        print("committed", flush=True)
    """
)


def test_sigkill_mid_write_leaves_store_consistent(store) -> None:
    store.close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(store.path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    lines = iter(proc.stdout.readline, "")
    # Kill inside the second write: one file committed, the next one half-written.
    assert [next(lines).strip() for _ in range(3)] == ["writing", "committed", "writing"]
    tmp_dir = store.path / "data" / "features"
    deadline = time.monotonic() + 30
    while not list(tmp_dir.glob(".tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    reopened = mlcore.open(store.path, actor="admin")
    assert reopened.verify_audit().ok
    with reopened.storage.transaction() as tx:
        recorded = tx.visible_files("features")
    assert recorded, "at least one file was committed before the kill"
    for f in recorded:
        reopened.storage.files.verify(f)  # every recorded file is whole
        assert pl.read_parquet(reopened.path / f.path).height == 3_000_000
    leftovers = reopened.gc(grace=0)
    assert leftovers.files, "the killed writer left its unfinished file"
    assert all(f["path"] not in {r.path for r in recorded} for f in leftovers.files)
    reopened.gc(grace=0, remove=True)
    assert reopened.gc(grace=0).files == []
    with reopened.storage.transaction() as tx:
        assert len(tx.visible_files("features")) == len(recorded)
