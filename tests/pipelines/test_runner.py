"""Pipelines on the store (``store.pipelines``): records in the catalog, outputs as blobs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

import mlcore
from mlcore.errors import CorruptArtifact, InvalidInput, NotFound, PermissionDenied
from mlcore.pipelines import (
    Event,
    RunStatus,
    StepStatus,
    current_run,
    load_pipeline,
    pipeline,
    step,
)
from mlcore.pipelines.workers import StoredInput

from ._counting import HELPER_FLOW, calls, double, load, reset_calls, statuses, total

# The evaluation capability, where this mlcore has it (lineage then lists evaluations).
HAS_EVALS = importlib.util.find_spec("mlcore.evaluation.evaluations") is not None


@pipeline
def numbers(n: int = 3):
    total(double(load(n)))


@pytest.fixture(autouse=True)
def _counting_from_zero():
    reset_calls()


# ------------------------------------------------------------------ records and cache


def test_a_rerun_hits_the_cache_and_a_new_connection_sees_both_runs(store, store_path):
    first = store.pipelines.run(numbers)
    second = store.pipelines.run(numbers)
    assert statuses(first) == {"load": "succeeded", "double": "succeeded", "total": "succeeded"}
    assert set(statuses(second).values()) == {"cached"}
    assert (calls.load, calls.double, calls.total) == (1, 1, 1)
    assert all(s.reused_from == first.id for s in second.steps.values())

    with mlcore.open(store_path, actor="admin") as other:
        runs = other.pipelines.runs()
        assert [r.id for r in runs] == [second.id, first.id]
        stored = other.pipelines.get(first.id)
        assert stored.record.steps == first.record.steps
        assert stored.record.params == {"n": 3}
        assert stored.record.actor == "admin"
        assert stored.output("total") == 6
        # a third run in another process's view hits what the first stored
        third = other.pipelines.run(numbers)
        assert set(statuses(third).values()) == {"cached"}


def test_outputs_are_stored_in_one_pack_and_runs_are_audited(store, store_path):
    result = store.pipelines.run(numbers)
    sha = result.steps["double"].outputs["double"].sha256
    with store.storage.transaction() as tx:
        (pack,) = tx.visible_files("pipelines")  # three small outputs, one file
    assert pack.rows == 3
    with mlcore.open(store_path, actor="admin") as other:
        assert other.pipelines.artifacts.get(sha) == b"[0,2,4]"
    entries = store.audit_log(subject=f"run:{result.id}")
    assert [e.action for e in entries] == ["pipelines.run", "pipelines.finish"]
    assert entries[0].details["params"] == {"n": 3}
    assert entries[1].details == {"status": "succeeded", "steps": {"succeeded": 3}}
    assert store.verify_audit().ok


def test_a_parameter_change_misses_only_the_steps_it_reaches(store):
    store.pipelines.run(numbers)
    again = store.pipelines.run(numbers, {"n": "4"})
    assert set(statuses(again).values()) == {"succeeded"}
    assert again.output("total") == 12
    back = store.pipelines.run(numbers, {"n": 3})
    assert set(statuses(back).values()) == {"cached"}


def test_editing_a_called_helper_misses(store, write_module):
    path = write_module("helper_flow", textwrap.dedent(HELPER_FLOW))
    assert store.pipelines.run(str(path)).output("scaled") == [0, 10, 20]
    assert statuses(store.pipelines.run(f"{path}:flow")) == {"make": "cached", "scaled": "cached"}
    path.write_text(HELPER_FLOW.replace("v * 10", "v * 100"))
    edited = store.pipelines.run(str(path))
    assert statuses(edited) == {"make": "cached", "scaled": "succeeded"}
    assert edited.output("scaled") == [0, 100, 200]


def test_running_needs_a_building_role_and_a_denial_is_audited(store):
    store.grant("rita", "reviewer")
    with pytest.raises(PermissionDenied):
        store.as_actor("rita").pipelines.run(numbers)
    assert store.pipelines.runs() == []
    assert store.audit_log(action="access.denied")[-1].details["action"] == "run a pipeline"
    store.grant("dana", "data-scientist")
    assert store.as_actor("dana").pipelines.run(numbers).status is RunStatus.SUCCEEDED


def test_runs_are_found_by_unique_prefix_or_suffix(store):
    run = store.pipelines.run(numbers)
    suffix = run.id.rsplit("-", 1)[1]
    assert store.pipelines.get(suffix).id == run.id
    assert store.pipelines.get(run.id[:17]).id == run.id
    with pytest.raises(NotFound, match=r"run 'x' not found"):
        store.pipelines.get("x")
    other = store.pipelines.run(numbers)
    with pytest.raises(NotFound, match="It matches 2 runs"):
        store.pipelines.get(run.id[:9])
    assert store.pipelines.runs(limit=1)[0].id == other.id
    assert store.pipelines.runs(pipeline="nothing") == []


# ----------------------------------------------------------------- feature data


def _define_views(store) -> None:
    customer = mlcore.Entity("customer", join_keys=["customer_id"])
    schema = [mlcore.Field("spend", "float64")]
    store.features.apply(
        [
            mlcore.FeatureView("spending", entities=customer, schema=schema, event_timestamp="ts"),
            mlcore.FeatureView("visits", entities=customer, schema=schema, event_timestamp="ts"),
        ]
    )


def _batch(ids: list[int], spend: list[float], day: int) -> pl.DataFrame:
    from datetime import UTC, datetime

    return pl.DataFrame(
        {
            "customer_id": ids,
            "ts": [datetime(2024, 1, day, tzinfo=UTC)] * len(ids),
            "spend": spend,
        }
    )


ENTITIES = pl.DataFrame(
    {"customer_id": [1, 2], "event_timestamp": pl.Series([20240201, 20240201]).cast(pl.String)}
).with_columns(pl.col("event_timestamp").str.to_datetime("%Y%m%d", time_zone="UTC"))


@step
def total_spend(frame: pl.DataFrame) -> float:
    return float(frame["spend"].sum())


def test_new_feature_data_misses_and_unrelated_data_does_not(store):
    from mlcore.pipelines import FeatureSnapshot, steps

    _define_views(store)
    store.features.ingest("spending", _batch([1, 2], [10.0, 20.0], 1))

    @pipeline
    def spend():
        total_spend(steps.features(ENTITIES, FeatureSnapshot(["spending:spend"])))

    first = store.pipelines.run(spend)
    assert first.output("total_spend") == 30.0
    snapshot = store.features.snapshot()
    assert set(statuses(store.pipelines.run(spend)).values()) == {"cached"}

    store.features.ingest("visits", _batch([1], [1.0], 2))  # another view: same data for us
    assert store.features.snapshot() > snapshot
    assert set(statuses(store.pipelines.run(spend)).values()) == {"cached"}

    store.features.ingest("spending", _batch([1], [15.0], 3))  # newer value for customer 1
    moved = store.pipelines.run(spend)
    assert statuses(moved) == {"features": "succeeded", "total_spend": "succeeded"}
    assert moved.output("total_spend") == 35.0
    assert moved.steps["features"].inputs["features"] != first.steps["features"].inputs["features"]


def test_a_saved_dataset_enters_the_key_by_its_version_content(store):
    from mlcore.pipelines import SavedDataset, steps

    _define_views(store)
    store.features.ingest("spending", _batch([1, 2], [10.0, 20.0], 1))
    store.features.save_dataset("spend", ENTITIES, ["spending:spend"])

    @pipeline
    def from_dataset():
        total_spend(steps.dataset(SavedDataset("spend")))

    assert store.pipelines.run(from_dataset).output("total_spend") == 30.0
    assert set(statuses(store.pipelines.run(from_dataset)).values()) == {"cached"}
    store.features.ingest("spending", _batch([2], [5.0], 4))
    store.features.save_dataset("spend", ENTITIES, ["spending:spend"])
    moved = store.pipelines.run(from_dataset)
    assert statuses(moved) == {"dataset": "succeeded", "total_spend": "succeeded"}
    assert moved.output("total_spend") == 15.0


def test_feature_inputs_need_a_store():
    from mlcore.pipelines import FeatureSnapshot, steps

    @pipeline
    def spend():
        total_spend(steps.features(ENTITIES, FeatureSnapshot(["spending:spend"])))

    with pytest.raises(InvalidInput, match="step 'features' uses the store, and this run has none"):
        spend.run()
    with pytest.raises(InvalidInput, match="are not feature references"):
        FeatureSnapshot(["spending"])


# ---------------------------------------------------------------- workers, retries


def test_independent_steps_overlap_on_two_workers_through_the_store(store, flow, tmp_path):
    # The steps wait for each other before spinning: they can only finish if both ran at once.
    params = {"seconds": 0.2, "rendezvous": str(tmp_path)}
    result = store.pipelines.run(flow("parallel"), params, workers=2)
    assert result.status is RunStatus.SUCCEEDED
    left, right, combine = (result.steps[n] for n in ("left", "right", "combine"))
    assert left.started_at < right.finished_at and right.started_at < left.finished_at
    assert combine.started_at >= max(left.finished_at, right.finished_at)
    assert store.pipelines.get(result.id).output("combine") == 3


def test_a_worker_reads_a_stored_frame_from_its_pack(store, flow):
    result = store.pipelines.run(flow("summed"), workers=2)
    assert result.status is RunStatus.SUCCEEDED, result.record
    train = result.output("frames", "train")
    assert result.output("column_sum") == float(train["a"].sum())


def test_retry_then_success_is_recorded(store, flow, tmp_path):
    events: list[Event] = []
    counter = tmp_path / "calls.txt"
    result = store.pipelines.run(
        flow("retrying"), {"counter": str(counter), "failures": 2}, on_event=events.append
    )
    record = store.pipelines.get(result.id).record.steps["flaky"]
    assert (record.status, record.attempts, record.error) == (StepStatus.SUCCEEDED, 3, None)
    assert [e.attempt for e in events if e.status == "retrying"] == [1, 2]


def test_store_bound_steps_run_in_this_process_with_the_run_context(store, flow):
    result = store.pipelines.run(flow("bound"), workers=2)
    where = result.output("where_am_i")
    assert where == {"pid": os.getpid(), "run": result.id, "step": "where_am_i", "n": 1}
    assert result.output("pid_of_worker") != os.getpid()
    with pytest.raises(InvalidInput, match="no pipeline run is using a store here"):
        current_run()


def test_a_store_bound_step_cannot_have_a_timeout():
    with pytest.raises(InvalidInput, match="uses the store and has a timeout"):
        step(uses_store=True, timeout=1)(lambda: 1)


def test_workers_read_stored_inputs_themselves_and_refuse_altered_ones(store):
    sha = store.pipelines.artifacts.put(b"[1,2,3]")
    path, packed = store.pipelines.artifacts.local_file(sha)  # written on demand
    assert packed and path.parent == store.path / "data" / "pipelines"
    assert StoredInput("json", str(path), sha, packed=True).value() == [1, 2, 3]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"[1,2,3]", b"[1,2,4]"))
    with pytest.raises(CorruptArtifact, match="does not match its hash"):
        StoredInput("json", str(path), sha, packed=True).value()


# ------------------------------------------------------------- failure and resume


def test_a_failure_stops_its_dependents_and_resume_loads_the_recorded_file(store, flow, tmp_path):
    flag = tmp_path / "flag"
    flag.write_text("fail")
    failed = store.pipelines.run(flow("breakable"), {"flag": str(flag)})
    assert failed.status is RunStatus.FAILED
    assert statuses(failed) == {
        "source_rows": "succeeded",
        "fragile": "failed",
        "count_rows": "skipped",
        "sum_rows": "succeeded",
    }
    stored = store.pipelines.get(failed.id).record
    assert stored.status is RunStatus.FAILED
    assert stored.steps["fragile"].error.message == "the model server is down"
    audit = store.audit_log(subject=f"run:{failed.id}")
    assert [e.action for e in audit] == [
        "pipelines.run",
        "pipelines.step_failed",
        "pipelines.finish",
    ]
    assert audit[1].details["step"] == "fragile"

    flag.write_text("ok")
    resumed = store.pipelines.resume(failed.id.rsplit("-", 1)[1])
    assert resumed.status is RunStatus.SUCCEEDED
    assert resumed.record.resumed_from == failed.id
    assert statuses(resumed) == {
        "source_rows": "cached",
        "fragile": "succeeded",
        "count_rows": "succeeded",
        "sum_rows": "cached",
    }
    assert resumed.output("count_rows") == 3
    with pytest.raises(InvalidInput, match="succeeded; there is nothing to resume"):
        store.pipelines.resume(resumed.id)


CRASHING = """
import os, sys
from pathlib import Path
import mlcore
from mlcore.pipelines import pipeline, step

@step
def first() -> list:
    return [1, 2, 3]

@step
def crash(values: list, flag: str) -> int:
    if Path(flag).read_text() == "crash":
        os._exit(9)  # the whole process dies, mid-run
    return len(values)

@pipeline
def fragile_process(flag: str = "flag"):
    crash(first(), flag)

if __name__ == "__main__":
    with mlcore.open(sys.argv[1], actor="admin") as store:
        store.pipelines.run(fragile_process, {"flag": sys.argv[2]})
"""


def test_a_run_whose_process_died_can_be_resumed(store, store_path, write_module, tmp_path):
    script = write_module("crashing", CRASHING)
    flag = tmp_path / "flag"
    flag.write_text("crash")
    store.close()
    done = subprocess.run(
        [sys.executable, str(script), str(store_path), str(flag)], capture_output=True, timeout=120
    )
    assert done.returncode == 9
    (died,) = store.pipelines.runs()
    assert died.status is RunStatus.RUNNING  # nobody could record its end
    assert died.steps["crash"].status in (StepStatus.PENDING, StepStatus.RUNNING)
    flag.write_text("ok")
    resumed = store.pipelines.resume(died.id)
    assert resumed.status is RunStatus.SUCCEEDED
    assert resumed.output("crash") == 3


# ------------------------------------------------------------ reproducibility


@pytest.mark.slow  # trains and registers with scikit-learn
def test_identical_hashes_on_rerun_and_the_version_records_its_run(store, flow):
    first = store.pipelines.run(flow("registering"))
    assert first.status is RunStatus.SUCCEEDED, first.record
    again = store.pipelines.run(flow("registering"), no_cache=True)
    for name, record in first.steps.items():
        if name != "register":  # registering again makes version 2, as no_cache asks
            assert again.steps[name].outputs == record.outputs, name

    made = first.output("register")
    assert (made["model"], made["version"], made["pipeline_run"]) == ("churn", 1, first.id)
    version = store.models.get("churn", 1)
    assert version.lineage["pipeline_run"] == first.id
    assert version.metrics == first.output("accuracy")
    assert version.lineage["code"]["source"].endswith("_flows.py")
    model = store.models.load("churn", 1)
    assert model.predict(first.output("frames", "test")).tolist() == (
        first.output("train").predict(first.output("frames", "test")).tolist()
    )

    # The newest result for each key is reused: the no_cache run's version 2.
    cached = store.pipelines.run(flow("registering"))
    assert set(statuses(cached).values()) == {"cached"}
    chain = store.pipelines.lineage(cached.id)
    (entry,) = chain.models
    assert (entry["ref"], entry["pipeline_run"]) == ("churn/2", again.id)
    assert entry["evaluations"] == ([] if HAS_EVALS else None)
    steps = {s["name"]: s for s in chain.steps}
    assert steps["register"]["computed_by"] == again.id
    assert steps["train"]["inputs"]["frame"]["from"] == "frames.train"
    assert {i["input"] for i in chain.inputs} == set()  # every input came from a step


POLICY = """
name = "general"
[[rules]]
id = "accuracy"
kind = "metric"
description = "Right often enough"
citation = "Model standard 4.1"
severity = "block"
metric = "accuracy"
min = {minimum}
"""


@pytest.mark.slow  # trains, registers and evaluates with scikit-learn
@pytest.mark.skipif(not HAS_EVALS, reason="no evaluation capability in this mlcore")
def test_evaluate_records_an_evaluation_and_a_failing_one_stops_the_run(store, flow):
    store.evals.apply_policy(POLICY.format(minimum=0.5))
    passed = store.pipelines.run(flow("evaluated"))
    assert passed.status is RunStatus.SUCCEEDED, passed.record
    summary = passed.output("evaluate")
    assert (summary["model"], summary["version"], summary["verdict"]) == ("churn", 1, "pass")
    assert store.evals.get(summary["id"]).metrics["accuracy"] == summary["metrics"]["accuracy"]
    (entry,) = store.pipelines.lineage(passed.id).models
    assert [e["id"] for e in entry["evaluations"]] == [summary["id"]]

    store.evals.apply_policy(POLICY.format(minimum=0.999))
    failed = store.pipelines.run(flow("evaluated"))
    record = failed.steps["evaluate"]
    assert (failed.status, record.status, record.attempts) == ("failed", "failed", 1)
    assert record.error.type == "EvaluationFailed"
    details = record.error.details["evaluation"]
    assert details["verdict"] == "fail" and details["rules"][0]["blocking"] is True
    assert len(store.evals.evaluations("churn", 1)) == 2  # recorded before it failed the step
    assert failed.steps["register"].status is StepStatus.CACHED


def test_lineage_names_the_inputs_from_outside_the_run(store, tmp_path):
    from mlcore.pipelines import InputFile

    data = tmp_path / "values.json"
    data.write_text("[1, 2]")

    @step
    def read(path: InputFile) -> list:
        return [int(v) for v in Path(path).read_text().strip("[]").split(",")]

    @pipeline
    def flow():
        total(read(InputFile(data)))

    run = store.pipelines.run(flow)
    chain = store.pipelines.lineage(run.id)
    assert chain.inputs == [
        {"step": "read", "input": "path", "sha256": InputFile(data).__mlcore_fingerprint__()}
    ]
    assert chain.steps[1]["inputs"]["values"]["from"] == "read.read"
    assert chain.models == []
    assert chain.to_dict()["run"]["id"] == run.id


@step
def same(values: list) -> list:
    return values


def test_lineage_follows_the_wiring_when_outputs_are_equal(store):
    @pipeline
    def flow():
        total(same(same(load(2))))

    chain = store.pipelines.lineage(store.pipelines.run(flow).id)
    wiring = {s["name"]: {a: i["from"] for a, i in s["inputs"].items()} for s in chain.steps}
    assert wiring == {
        "load": {},
        "same": {"values": "load.load"},
        "same_2": {"values": "same.same"},
        "total": {"values": "same_2.same"},
    }
    shas = {s["name"]: s["outputs"] for s in chain.steps}
    assert shas["load"]["load"] == shas["same"]["same"] == shas["same_2"]["same"]


@step(uses_store=True)
def fit_and_register(name: str) -> str:
    from sklearn.linear_model import LinearRegression

    run = current_run()
    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    return run.store.models.register(name, model, pipeline_run=run.run_id).ref


def test_lineage_finds_versions_a_custom_step_registered(store):
    @pipeline
    def flow():
        fit_and_register("custom")

    run = store.pipelines.run(flow)
    assert run.output("fit_and_register") == "custom/1"
    store.models.register("custom", store.models.load("custom", 1))  # not by the run
    (entry,) = store.pipelines.lineage(run.id).models
    assert (entry["ref"], entry["pipeline_run"]) == ("custom/1", run.id)


def test_a_validation_failure_keeps_its_report(store):
    from mlcore.pipelines import steps

    frame = pl.DataFrame({"age": [30, -1, 50]})

    @pipeline
    def checked():
        steps.validate(frame, [{"kind": "range", "column": "age", "min": 0}])

    result = store.pipelines.run(checked)
    record = store.pipelines.get(result.id).record.steps["validate"]
    assert (record.status, record.attempts, record.error.type) == (
        StepStatus.FAILED,
        1,
        "ValidationFailed",
    )
    report = record.error.details["report"]
    assert report["passed"] is False
    assert report["results"][0]["examples"] == [{"row": 1, "values": {"age": -1}}]


def test_a_pipeline_loaded_by_name_records_its_file(store, flow):
    result = store.pipelines.run(f"{Path(__file__).with_name('_flows.py')}:timed_twice")
    assert result.record.source.endswith("_flows.py:timed_twice")
    assert load_pipeline(result.record.source).name == "timed_twice"
