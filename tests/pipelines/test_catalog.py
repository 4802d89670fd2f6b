"""The journal behind store.pipelines: held-back writes, their flushes, the cache index."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from mlcore.pipelines import ArtifactRef, RunRecord, StepRecord, StepStatus
from mlcore.pipelines.catalog import CatalogRunStore, Journal, StoreArtifacts
from mlcore.pipelines.workers import StoredInput


def _stores(store, **options):
    journal = Journal(store.storage, **options)
    return journal, StoreArtifacts(journal), CatalogRunStore(journal)


def _run(runs: CatalogRunStore, run_id: str = "run-1") -> RunRecord:
    record = RunRecord(id=run_id, pipeline="flow", steps={"a": StepRecord("a", "a")})
    runs.create_run(record)
    return record


def _committed(store, run_id: str) -> list[str]:
    with store.storage.transaction() as tx:
        rows = tx.fetchall(
            "SELECT status FROM pipeline_step_records WHERE run_id = ? ORDER BY seq", [run_id]
        )
    return [status for (status,) in rows]


def test_records_wait_for_a_flush_and_the_latest_wins(store):
    _, _, runs = _stores(store, delay=3600)
    _run(runs)
    runs.update_step("run-1", StepRecord("a", "a", StepStatus.RUNNING))
    runs.update_step("run-1", StepRecord("a", "a", StepStatus.FAILED))
    assert _committed(store, "run-1") == []
    runs.flush()
    assert _committed(store, "run-1") == ["failed"]  # the running record was superseded
    runs.update_step("run-1", StepRecord("a", "a", StepStatus.SUCCEEDED, attempts=2))
    assert runs.get_run("run-1").steps["a"].attempts == 2  # reads flush first
    assert _committed(store, "run-1") == ["failed", "succeeded"]


def test_the_timer_writes_held_records_while_the_process_is_busy(store):
    _, _, runs = _stores(store, delay=0.01)
    _run(runs)
    runs.update_step("run-1", StepRecord("a", "a", StepStatus.RUNNING))
    deadline = time.monotonic() + 30
    while not _committed(store, "run-1") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _committed(store, "run-1") == ["running"]


def test_a_failed_flush_keeps_its_writes_for_the_next(store):
    journal, artifacts, runs = _stores(store, delay=3600)
    _run(runs)
    sha = artifacts.put(b'{"a":1}')
    runs.update_step(
        "run-1",
        StepRecord(
            "a", "a", StepStatus.SUCCEEDED, cache_key="k", outputs={"a": ArtifactRef(sha, "json")}
        ),
    )

    def boom(tx):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        journal.flush(then=boom)
    assert _committed(store, "run-1") == []
    assert artifacts.get(sha) == b'{"a":1}'  # still held
    runs.flush()
    assert _committed(store, "run-1") == ["succeeded"]
    _, fresh, _ = _stores(store)  # knows nothing yet: looks the output up in the catalog
    assert fresh.get(sha) == b'{"a":1}'
    assert runs.find_cached("k").outputs["a"].sha256 == sha


def test_many_held_outputs_are_written_at_once(store):
    journal, artifacts, _ = _stores(store, delay=3600, max_bytes=10)
    small = artifacts.put(b"12345")
    assert journal.held_output(small) is not None
    other = artifacts.put(b"x" * 20)
    assert journal.held_output(other) is None and journal.held_output(small) is None
    _, fresh, _ = _stores(store)
    assert fresh.get(other) == b"x" * 20
    assert fresh.exists(small) and not fresh.exists("0" * 64)


def test_small_outputs_share_a_pack_and_large_ones_are_blobs(store, monkeypatch):
    from mlcore.pipelines import catalog

    monkeypatch.setattr(catalog, "PACK_MAX", 100)
    journal, artifacts, _ = _stores(store, delay=3600)
    small = [artifacts.put(b"[%d]" % i) for i in range(3)]
    large = artifacts.put(b"y" * 101)
    journal.flush()
    (pack,) = _packs(store)
    assert pack.rows == 3 and pack.kind == "pipelines"
    assert store.storage.read_blob(large) == b"y" * 101
    _, fresh, _ = _stores(store)
    assert [fresh.get(sha) for sha in small] == [b"[0]", b"[1]", b"[2]"]
    pack_file = store.storage.files.absolute(pack.path)
    assert fresh.local_file(small[0]) == (pack_file, True)
    assert StoredInput("json", str(pack_file), small[1], packed=True).value() == [1]
    assert fresh.local_file(large) == (store.storage.blobs.path(large), False)
    before = len(_packs(store))
    artifacts.put(b"[0]")  # already stored: not written again
    journal.flush()
    assert len(_packs(store)) == before


def _packs(store):
    with store.storage.transaction() as tx:
        return tx.visible_files("pipelines")


def test_cache_lookups_use_the_index_read_at_run_start(store):
    _, artifacts, runs = _stores(store, delay=3600)
    _run(runs)
    sha = artifacts.put(b"[1]")
    runs.update_step(
        "run-1",
        StepRecord(
            "a", "a", StepStatus.SUCCEEDED, cache_key="k", outputs={"a": ArtifactRef(sha, "json")}
        ),
    )
    runs.finish_run("run-1", "succeeded", datetime.now(UTC))

    _, _, fresh = _stores(store)
    _run(fresh, "run-2")
    before = store.storage.catalog.stats["transactions"]
    assert fresh.find_cached("k").run_id == "run-1"
    assert fresh.find_cached("other") is None
    assert store.storage.catalog.stats["transactions"] == before  # answered from the index

    _, _, partial = _stores(store, index_limit=0)  # a cache too large to read whole
    _run(partial, "run-3")
    assert partial.find_cached("k").run_id == "run-1"
    assert store.storage.catalog.stats["transactions"] > before


SCRIPT = """
import sys
import mlcore
from mlcore.pipelines import pipeline, step

@step
def make(n: int, who: str, i: int) -> list:
    return [who] * (n + i)

@step
def count(values: list) -> int:
    return len(values)

@pipeline
def flow(n: int = 50, who: str = "x"):
    for i in range(8):
        count(make(n, who, i))

with mlcore.open(sys.argv[1], actor="admin") as store:
    for _ in range(3):
        result = store.pipelines.run(flow, {"who": sys.argv[2]}, no_cache=True)
        assert str(result.status) == "succeeded", result.record
print("ok")
"""


def test_two_processes_run_pipelines_on_one_store_at_once(store, store_path, tmp_path):
    script = tmp_path / "two_writers.py"  # not concurrent.py: that would shadow the stdlib
    script.write_text(SCRIPT)
    store.close()
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(store_path), who],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("ana", "bob")
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert (process.returncode, out.strip()) == (0, "ok"), err
    runs = store.pipelines.runs()
    assert len(runs) == 6 and {str(r.status) for r in runs} == {"succeeded"}
    assert store.verify_audit().ok
