from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines import (
    DirectoryRunStore,
    Event,
    InputFile,
    MemoryArtifactStore,
    MemoryRunStore,
    RunStatus,
    StepStatus,
    load_pipeline,
    pipeline,
    step,
)

from ._counting import HELPER_FLOW, calls, double, label, load, reset_calls, statuses, total


@pipeline
def numbers(n: int = 3, name: str = "x"):
    total(double(load(n)))
    label(name)


@pytest.fixture(autouse=True)
def _counting_from_zero():
    reset_calls()


def test_a_rerun_hits_the_cache_and_says_so(stores):
    first = numbers.run(**stores)
    assert first.status is RunStatus.SUCCEEDED
    assert set(statuses(first).values()) == {"succeeded"}
    events: list[Event] = []
    second = numbers.run(**stores, on_event=events.append)
    assert set(statuses(second).values()) == {"cached"}
    assert (calls.load, calls.double, calls.total, calls.label) == (1, 1, 1, 1)
    for name, record in second.steps.items():
        assert record.cache_hit is True
        assert record.reused_from == first.id
        assert record.outputs == first.steps[name].outputs
        assert record.cache_key == first.steps[name].cache_key
    cached = [e for e in events if e.status == "cached"]
    assert len(cached) == 4
    assert all(e.message == f"cache hit: outputs of run {first.id}" for e in cached)
    assert second.output("total") == 6


def test_a_parameter_change_misses_only_the_steps_it_reaches(stores):
    numbers.run(**stores)
    again = numbers.run({"n": "4"}, **stores)
    assert statuses(again) == {
        "load": "succeeded",
        "double": "succeeded",
        "total": "succeeded",
        "label": "cached",
    }
    assert again.output("total") == 12


def test_an_unchanged_output_lets_downstream_steps_hit(stores):
    @step(cache=False)
    def fresh(n: int) -> list:
        return list(range(n))

    @pipeline
    def flow(n: int = 3):
        total(fresh(n))

    flow.run(**stores)
    again = flow.run(**stores)
    assert statuses(again) == {"fresh": "succeeded", "total": "cached"}


def test_new_input_data_misses(stores, tmp_path):
    @step
    def count_lines(data: InputFile) -> int:
        return len(Path(data).read_text().splitlines())

    path = tmp_path / "d.csv"
    default = InputFile(path)

    @pipeline
    def flow(data: InputFile = default):
        count_lines(data)

    path.write_text("a\n1\n")
    first = flow.run(**stores)
    assert first.steps["count_lines"].inputs == {"data": InputFile(path).__mlcore_fingerprint__()}
    path.write_text("a\n1\n")  # rewritten, same content
    assert statuses(flow.run(**stores)) == {"count_lines": "cached"}
    path.write_text("a\n1\n2\n")
    changed = flow.run(**stores)
    assert statuses(changed) == {"count_lines": "succeeded"}
    assert changed.output("count_lines") == 3


class Snapshot:
    """Stands in for a feature-store manifest snapshot: named by its content hash."""

    def __init__(self, version: int) -> None:
        self.version = version

    def __mlcore_fingerprint__(self) -> str:
        return f"manifest-{self.version}"


FIRST_SNAPSHOT = Snapshot(1)


def test_a_new_feature_snapshot_misses(stores):
    @step
    def features(snapshot: Snapshot) -> int:
        return snapshot.version

    @pipeline
    def flow(snapshot: Snapshot = FIRST_SNAPSHOT):
        total(double(load(features(snapshot))))

    flow.run(**stores)
    assert set(statuses(flow.run({"snapshot": Snapshot(1)}, **stores)).values()) == {"cached"}
    moved = flow.run({"snapshot": Snapshot(2)}, **stores)
    assert set(statuses(moved).values()) == {"succeeded"}
    assert moved.steps["features"].inputs == {"snapshot": "manifest-2"}


def test_editing_a_called_helper_misses(stores, write_module):
    path = write_module("helper_flow", textwrap.dedent(HELPER_FLOW))
    first = load_pipeline(path).run(**stores)
    assert first.output("scaled") == [0, 10, 20]
    assert statuses(load_pipeline(path).run(**stores)) == {"make": "cached", "scaled": "cached"}

    path.write_text(HELPER_FLOW.replace("v * 10", "v * 100"))
    edited = load_pipeline(path).run(**stores)
    assert statuses(edited) == {"make": "cached", "scaled": "succeeded"}
    assert edited.output("scaled") == [0, 100, 200]


def test_no_cache_runs_everything_but_always_steps(stores):
    @step(cache="always")
    def download(n: int) -> list:
        return list(range(n))

    @pipeline
    def flow(n: int = 3):
        total(download(n))

    flow.run(**stores)
    forced = flow.run(**stores, no_cache=True)
    assert statuses(forced) == {"download": "cached", "total": "succeeded"}
    assert forced.steps["total"].cache_hit is False


def test_a_missing_artifact_is_a_miss(stores):
    first = numbers.run(**stores)
    sha = first.steps["double"].outputs["double"].sha256
    stores["artifacts"].path(sha).unlink()
    again = numbers.run(**stores)
    assert statuses(again)["double"] == "succeeded"
    assert again.steps["double"].outputs == first.steps["double"].outputs


def test_records_chain_outputs_to_inputs(stores):
    result = numbers.run(**stores)
    load_out = result.steps["load"].outputs["load"]
    assert load_out.kind == "json"
    assert result.steps["double"].inputs == {"values": load_out.sha256}
    assert result.steps["total"].inputs == {
        "values": result.steps["double"].outputs["double"].sha256
    }
    for record in result.steps.values():
        assert record.attempts == 1
        assert record.started_at <= record.finished_at
        assert len(record.cache_key) == 64
    stored = stores["runs"].get_run(result.id)
    assert stored == result.record
    assert stored.params == {"n": 3, "name": "x"}
    assert stored.source.endswith("test_executor.py:numbers")


# ---------------------------------------------------------- failure and resume


def test_a_failure_stops_only_its_dependents_and_resume_finishes(tmp_path, stores, flow):
    flag = tmp_path / "flag"
    flag.write_text("fail")
    breakable = flow("breakable")
    failed = breakable.run({"flag": str(flag)}, **stores)
    assert failed.status is RunStatus.FAILED
    assert statuses(failed) == {
        "source_rows": "succeeded",
        "fragile": "failed",
        "count_rows": "skipped",
        "sum_rows": "succeeded",
    }
    error = failed.steps["fragile"].error
    assert (error.type, error.message) == ("RuntimeError", "the model server is down")
    assert 'raise RuntimeError("the model server is down")' in error.traceback
    assert failed.steps["count_rows"].note == "upstream step 'fragile' failed"
    assert stores["runs"].get_run(failed.id) == failed.record

    flag.write_text("ok")
    runs = DirectoryRunStore(stores["runs"].root)  # as a new process would see it
    resumed = breakable.resume(failed.id, artifacts=stores["artifacts"], runs=runs)
    assert resumed.status is RunStatus.SUCCEEDED
    assert resumed.record.resumed_from == failed.id
    assert statuses(resumed) == {
        "source_rows": "cached",
        "fragile": "succeeded",
        "count_rows": "succeeded",
        "sum_rows": "cached",
    }
    assert resumed.steps["source_rows"].note == f"resumed: outputs of run {failed.id}"
    assert resumed.steps["source_rows"].outputs == failed.steps["source_rows"].outputs
    assert resumed.output("count_rows") == 3

    with pytest.raises(InvalidInput, match="succeeded; there is nothing to resume"):
        breakable.resume(resumed.id, artifacts=stores["artifacts"], runs=runs)
    with pytest.raises(InvalidInput, match="is of pipeline 'breakable', not 'numbers'"):
        numbers.resume(failed.id, artifacts=stores["artifacts"], runs=runs)
    with pytest.raises(NotFound, match="run 'nope' not found"):
        breakable.resume("nope", artifacts=stores["artifacts"], runs=runs)


def test_resume_reuses_outputs_even_after_their_code_changed(tmp_path, stores, flow):
    flag = tmp_path / "flag"
    flag.write_text("fail")
    failed = flow("breakable").run({"flag": str(flag)}, **stores)

    @step
    def source_rows(n: int) -> list:  # now different code: would be a cache miss
        return [9, 9]

    flag.write_text("ok")
    breakable = flow("breakable")
    node = breakable.nodes["source_rows"]
    breakable.nodes["source_rows"] = node.__class__("source_rows", source_rows, node.inputs)
    resumed = breakable.resume(failed.id, **stores)
    assert resumed.output("count_rows") == 3


def test_an_interrupted_run_leaves_a_consistent_record():
    runs = MemoryRunStore()

    @step
    def interrupted(values: list) -> list:
        raise KeyboardInterrupt

    @pipeline
    def flow():
        v = load(2)
        total(interrupted(v))
        label("y")

    with pytest.raises(KeyboardInterrupt):
        flow.run(runs=runs)
    (record,) = runs.list_runs()
    assert record.status is RunStatus.FAILED
    assert {n: str(s.status) for n, s in record.steps.items()} == {
        "load": "succeeded",
        "interrupted": "failed",
        "total": "skipped",
        "label": "skipped",
    }
    assert record.steps["interrupted"].error.type == "KeyboardInterrupt"


# ------------------------------------------------------------------- retries


def test_retry_then_success_in_process(flow, tmp_path):
    events: list[Event] = []
    counter = tmp_path / "calls.txt"
    result = flow("retrying").run({"counter": str(counter), "failures": 2}, on_event=events.append)
    record = result.steps["flaky"]
    assert (record.status, record.attempts) == (StepStatus.SUCCEEDED, 3)
    assert result.output("flaky") == 3
    retries = [e for e in events if e.status == "retrying"]
    assert [e.attempt for e in retries] == [1, 2]
    assert "ConnectionError" in retries[0].message and "call 1 failed" in retries[0].message


def test_retries_run_out(flow, tmp_path):
    result = flow("retrying").run({"counter": str(tmp_path / "c"), "failures": 10})
    record = result.steps["flaky"]
    assert (record.status, record.attempts) == (StepStatus.FAILED, 4)
    assert record.error.message == "call 4 failed"


def test_deliberate_errors_are_not_retried():
    @step(retries=3, retry_backoff=0)
    def check(values: list) -> list:
        raise InvalidInput("column 'x' has 3 nulls")

    @step(retries=3, retry_backoff=0)
    def returns_a_set(values: list) -> set:
        return set(values)

    @pipeline
    def flow():
        v = load(2)
        check(v)
        returns_a_set(v)

    result = flow.run()
    assert result.steps["check"].attempts == 1
    assert result.steps["check"].error.type == "InvalidInput"
    bad = result.steps["returns_a_set"]
    assert (bad.status, bad.attempts, bad.error.type) == (StepStatus.FAILED, 1, "InvalidInput")
    assert "step 'returns_a_set' returned a builtins.set" in bad.error.message


# -------------------------------------------------------------- the interface


def test_events_tell_the_story_of_a_run():
    events: list[Event] = []
    result = numbers.run(on_event=events.append)
    assert [(e.step, e.status, e.attempt) for e in events] == [
        (None, "running", 0),
        ("load", "running", 1),
        ("load", "succeeded", 1),
        ("double", "running", 1),
        ("double", "succeeded", 1),
        ("total", "running", 1),
        ("total", "succeeded", 1),
        ("label", "running", 1),
        ("label", "succeeded", 1),
        (None, "succeeded", 0),
    ]
    assert {e.run_id for e in events} == {result.id}


def test_outputs_are_loaded_by_step_and_name(stores):
    @step(outputs=("low", "high"))
    def halves(values: list):
        return values[:1], values[1:]

    @pipeline
    def flow():
        halves(load(3))

    result = flow.run(**stores)
    assert result.output("halves", "high") == [1, 2]
    with pytest.raises(
        NotFound, match=r"step 'halves' output 'hgh' not found. Did you mean 'high'"
    ):
        result.output("halves", "hgh")
    with pytest.raises(NotFound, match="step 'halvs' not found"):
        result.output("halvs")


def test_bad_run_arguments_are_invalid_input():
    with pytest.raises(InvalidInput, match="pipeline 'numbers' has no parameter 'm'"):
        numbers.run({"m": 1})
    with pytest.raises(InvalidInput, match="workers=0 is not a count"):
        numbers.run(workers=0)


def test_identical_hashes_on_rerun_including_the_model(flow):
    first = flow("training").run(artifacts=MemoryArtifactStore(), runs=MemoryRunStore())
    second = flow("training").run(artifacts=MemoryArtifactStore(), runs=MemoryRunStore())
    assert first.status is second.status is RunStatus.SUCCEEDED
    assert first.steps["fit"].outputs["fit"].kind == "model"
    for name in first.steps:
        assert first.steps[name].outputs == second.steps[name].outputs, name
        assert first.steps[name].cache_key == second.steps[name].cache_key, name
    reseeded = flow("training").run({"seed": 8})
    assert reseeded.steps["fit"].outputs != first.steps["fit"].outputs
