"""The executor with worker processes: parallelism, timeouts, crashes, retries."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading

import pytest

from mlcore.pipelines import Event, RunStatus, StepStatus, pipeline, step


@pytest.fixture(autouse=True)
def no_worker_left_behind():
    before = set(multiprocessing.active_children())  # other tests' pools are not ours
    yield
    assert set(multiprocessing.active_children()) <= before


def test_independent_cpu_bound_steps_overlap_on_two_workers(flow, tmp_path):
    result = flow("parallel").run({"seconds": 0.4, "rendezvous": str(tmp_path)}, workers=2)
    assert result.status is RunStatus.SUCCEEDED
    left, right, combine = (result.steps[n] for n in ("left", "right", "combine"))
    # Each step's interval is measured inside its worker: they ran at the same time.
    assert left.started_at < right.finished_at
    assert right.started_at < left.finished_at
    # and the step that needs both started after both finished.
    assert combine.started_at >= max(left.finished_at, right.finished_at)
    assert result.output("combine") == 3


def test_one_worker_runs_them_one_after_the_other(flow):
    result = flow("parallel").run({"seconds": 0.05})
    left, right = result.steps["left"], result.steps["right"]
    assert left.finished_at <= right.started_at


def test_a_step_past_its_timeout_is_stopped_and_retried(flow):
    events: list[Event] = []
    result = flow("timing_out").run(on_event=events.append)
    record = result.steps["sleepy"]
    assert (record.status, record.attempts) == (StepStatus.FAILED, 2)
    assert record.error.type == "TimeoutError"
    assert "ran past its timeout of 0.3 s" in record.error.message
    assert [e.status for e in events if e.step == "sleepy"] == [
        "running",
        "retrying",
        "running",
        "failed",
    ]


def test_a_step_within_its_timeout_succeeds(flow):
    result = flow("timing_out").run({"seconds": 0.01})
    assert result.steps["sleepy"].status is StepStatus.SUCCEEDED
    assert result.output("sleepy") == 0.01


def test_retry_then_success_in_a_worker(flow, tmp_path):
    counter = tmp_path / "calls.txt"
    result = flow("retrying").run({"counter": str(counter), "failures": 1}, workers=2)
    record = result.steps["flaky"]
    assert (record.status, record.attempts) == (StepStatus.SUCCEEDED, 2)
    assert record.error is None
    assert counter.read_text() == "2"


def test_a_worker_that_dies_fails_its_step(flow):
    result = flow("crashing").run({"code": 3}, workers=2)
    record = result.steps["crash"]
    assert record.status is StepStatus.FAILED
    assert record.error.type == "WorkerDied"
    assert "exit code 3" in record.error.message


@pytest.mark.slow  # imports scikit-learn in a fresh worker: seconds on a busy machine
def test_hashes_do_not_depend_on_the_process(flow):
    inline = flow("training").run()
    parallel = flow("training").run(workers=2)
    assert parallel.status is RunStatus.SUCCEEDED
    for name, record in inline.steps.items():
        assert parallel.steps[name].outputs == record.outputs, name


def test_a_step_defined_in_a_function_cannot_go_to_a_worker():
    @step
    def local(n: int) -> int:
        return n

    @pipeline
    def flow():
        local(1)

    result = flow.run(workers=2)
    error = result.steps["local"].error
    assert error.type == "InvalidInput"
    assert "step 'local' is defined inside a function" in error.message
    assert flow.run().output("local") == 1  # in-process it is fine


class LockedSnapshot:
    """Fingerprinted, so it can enter a key, but holding a lock, so it cannot be pickled."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __mlcore_fingerprint__(self) -> str:
        return "locked"


def test_inputs_that_cannot_reach_a_worker_fail_the_step(flow):
    result = flow("echoing").run({"value": LockedSnapshot()}, workers=2)
    record = result.steps["echo"]
    assert (record.status, record.attempts) == (StepStatus.FAILED, 1)
    assert record.error.type == "InvalidInput"
    assert "step 'echo' inputs cannot be sent to a worker process" in record.error.message


def test_an_idle_worker_that_died_is_replaced(flow):
    others = set(multiprocessing.active_children())

    def kill_idle_workers(event: Event) -> None:
        if (event.step, event.status) == ("sleepy", "succeeded"):
            for process in set(multiprocessing.active_children()) - others:
                process.kill()
                process.join()

    result = flow("timed_twice").run(on_event=kill_idle_workers)
    assert result.status is RunStatus.SUCCEEDED
    assert result.steps["sleepy_2"].attempts == 1


SCRIPT = """
from mlcore.pipelines import pipeline, step

@step
def one() -> int:
    return 1

@step
def two(x: int) -> int:
    return x + 1

@pipeline
def flow():
    two(one())

{run}
"""
RUN = "result = flow.run(workers=2)\nprint(result.status, result.steps['one'].error)"


@pytest.mark.parametrize("guarded", [True, False])
def test_steps_defined_in_a_script_run_in_workers(tmp_path, guarded):
    run = 'if __name__ == "__main__":\n' + textwrap.indent(RUN, "    ") if guarded else RUN
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(run=run))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    if guarded:
        assert done.stdout.strip() == "succeeded None"
    else:
        # The worker imports the script for its steps, which starts the run again:
        # refused with a clear error instead of crashing the worker.
        assert done.stdout.startswith("failed StepError(type='InvalidInput'")
        assert "a pipeline run was started while a worker process imported" in done.stdout
