from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mlcore.errors import NotFound
from mlcore.pipelines import (
    ArtifactRef,
    DirectoryRunStore,
    MemoryRunStore,
    RunRecord,
    RunStatus,
    StepError,
    StepRecord,
    StepStatus,
)
from mlcore.pipelines.runs import new_run_id

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def record(run_id: str = "run-1", *, pipeline: str = "flow", start: datetime = T0) -> RunRecord:
    return RunRecord(
        id=run_id,
        pipeline=pipeline,
        params={"n": 3, "path": "x.csv"},
        started_at=start,
        steps={"load": StepRecord("load", "load"), "fit": StepRecord("fit", "fit")},
        source="/p/flows.py:flow",
        mlcore_version="0.1.0",
    )


def succeeded(key: str = "k1") -> StepRecord:
    return StepRecord(
        "load",
        "load",
        StepStatus.SUCCEEDED,
        cache_key=key,
        cache_hit=False,
        attempts=2,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1.5),
        inputs={"path": "f" * 64},
        outputs={"load": ArtifactRef("a" * 64, "frame")},
        error=StepError("ConnectionError", "first try", "Traceback ..."),
        note="retried",
    )


def test_records_round_trip_through_json():
    run = record()
    run.steps["load"] = succeeded()
    run.status, run.finished_at = RunStatus.FAILED, T0 + timedelta(seconds=3)
    text = json.dumps(run.to_dict())
    again = RunRecord.from_dict(json.loads(text))
    assert again == run
    assert again.steps["load"].seconds == 1.5
    assert json.loads(text)["steps"][0]["status"] == "succeeded"


@pytest.fixture(params=["memory", "directory"])
def store(request, tmp_path):
    return MemoryRunStore() if request.param == "memory" else DirectoryRunStore(tmp_path)


def test_a_run_is_created_updated_and_finished(store):
    store.create_run(record())
    store.update_step("run-1", succeeded())
    finished = T0 + timedelta(seconds=5)
    store.finish_run("run-1", RunStatus.SUCCEEDED, finished)
    run = store.get_run("run-1")
    assert run.status is RunStatus.SUCCEEDED
    assert run.finished_at == finished
    assert run.steps["load"] == succeeded()
    assert run.steps["fit"].status is StepStatus.PENDING


def test_get_run_returns_a_copy(store):
    store.create_run(record())
    store.get_run("run-1").steps["load"] = succeeded()
    assert store.get_run("run-1").steps["load"].status is StepStatus.PENDING


def test_unknown_run_suggests_a_close_id(store):
    store.create_run(record("20250301T120000-abc123"))
    with pytest.raises(NotFound, match=r"run '20250301T120000-abc124' not found. Did you mean"):
        store.get_run("20250301T120000-abc124")


def test_list_runs_is_newest_first_and_filters(store):
    for i, name in enumerate(["a", "b", "a"]):
        run = record(f"run-{i}", pipeline=name, start=T0 + timedelta(minutes=i))
        store.create_run(run)
        store.finish_run(run.id, RunStatus.SUCCEEDED, run.started_at)
    assert [r.id for r in store.list_runs()] == ["run-2", "run-1", "run-0"]
    assert [r.id for r in store.list_runs(pipeline="a")] == ["run-2", "run-0"]
    assert [r.id for r in store.list_runs(limit=1)] == ["run-2"]


def test_only_succeeded_steps_are_found_by_key(store):
    store.create_run(record())
    assert store.find_cached("k1") is None
    store.update_step("run-1", StepRecord("load", "load", StepStatus.FAILED, cache_key="k1"))
    assert store.find_cached("k1") is None
    store.update_step("run-1", succeeded("k1"))
    hit = store.find_cached("k1")
    assert (hit.run_id, hit.step, dict(hit.outputs)) == (
        "run-1",
        "load",
        {"load": ArtifactRef("a" * 64, "frame")},
    )


def test_a_directory_store_is_read_by_another_instance(tmp_path):
    writer = DirectoryRunStore(tmp_path)
    writer.create_run(record())
    writer.update_step("run-1", succeeded())
    reader = DirectoryRunStore(tmp_path)
    assert reader.get_run("run-1").steps["load"] == succeeded()
    assert reader.find_cached("k1").run_id == "run-1"
    writer.finish_run("run-1", RunStatus.SUCCEEDED, T0)
    assert reader.get_run("run-1").status is RunStatus.SUCCEEDED


def test_run_ids_sort_by_time_and_are_unique():
    ids = {new_run_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and i[8] == "T" for i in ids)


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path):
    store = DirectoryRunStore(tmp_path)
    store.create_run(record())
    store.update_step("run-1", succeeded())
    with (tmp_path / "runs" / "run-1.jsonl").open("ab") as f:
        f.write(b'{"step": {"name": "fit", "st')
    with (tmp_path / "cache.jsonl").open("ab") as f:
        f.write(b'{"key": "k2", "run_')
    run = DirectoryRunStore(tmp_path).get_run("run-1")
    assert run.steps["load"] == succeeded()
    assert run.steps["fit"].status is StepStatus.PENDING
    assert DirectoryRunStore(tmp_path).find_cached("k2") is None
    assert DirectoryRunStore(tmp_path).find_cached("k1").run_id == "run-1"


def test_the_cache_index_sees_entries_other_writers_append(tmp_path):
    reader, writer = DirectoryRunStore(tmp_path), DirectoryRunStore(tmp_path)
    writer.create_run(record())
    assert reader.find_cached("k1") is None
    writer.update_step("run-1", succeeded("k1"))
    assert reader.find_cached("k1").run_id == "run-1"
