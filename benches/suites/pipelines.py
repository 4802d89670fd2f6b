"""Pipeline engine overhead on the store against calling the same step functions directly.

Issue 7's goal is at most 5 ms of engine overhead per step: cache-key
computation (code fingerprint, parameters, input hashes), output encoding and
hashing, blob writes and run records in the catalog. The mlcore case is
``store.pipelines.run`` on a store directory (catalog + blobs), each case with
the direct calls of the same functions as reference:

* ``cached_step``: a 50-step chain of trivial steps, rerun when every step is a
  cache hit (key + lookup + existence check + records per step);
* ``executed_step``: the same chain with ``no_cache``: every step executes,
  encodes and hashes its output (equal outputs are stored once, so after the
  first repeat no blob is written: the next case pays for files);
* ``pipeline_50_steps``: a fan-out/fan-in DAG of 50 steps passing Polars frames
  (one source, six branches of eight steps, one join), run on empty stores; its
  frames grow with the size.

The overhead per step is reported in ``extras`` (with, for the 50-step DAG, the
same run on in-memory stores: how much of it is the store); the ratio against
microsecond direct calls is large by nature and carries no goal.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import mlcore
from benches.harness import Case, Measurement, best_of
from mlcore.pipelines import (
    MemoryArtifactStore,
    MemoryRunStore,
    Pipeline,
    RunStatus,
    pipeline,
    run_pipeline,
    step,
)
from mlcore.pipelines.cache import encode

CHAIN = 50
BRANCHES, DEPTH = 6, 8  # 1 + 6 * 8 + 1 = 50 steps
ROWS = {"small": 1_000, "medium": 100_000, "large": 1_000_000}
REPEAT = {"small": 3, "medium": 5, "large": 3}
GOAL_MS = 5.0


# -- a chain of trivial steps -----------------------------------------------------


def increment(x: int) -> int:
    return x + 1


increment_step = step(increment, name="increment")


@pipeline
def chain(start: int = 0):
    value = start
    for _ in range(CHAIN):
        value = increment_step(value)


def chain_direct() -> int:
    value = 0
    for _ in range(CHAIN):
        value = increment(value)
    return value


# -- a fan-out / fan-in DAG of frame steps ----------------------------------------


def source(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame({"id": np.arange(rows), "x": rng.normal(size=rows)})


def transform(frame: pl.DataFrame, k: int) -> pl.DataFrame:
    return frame.with_columns(x=pl.col("x") * 0.9 + k)


def join(a: pl.DataFrame, b: pl.DataFrame, c: pl.DataFrame, d: pl.DataFrame,
         e: pl.DataFrame, f: pl.DataFrame) -> pl.DataFrame:  # fmt: skip
    total = a["x"] + b["x"] + c["x"] + d["x"] + e["x"] + f["x"]
    return a.select("id").with_columns(x=total)


source_step = step(source, name="source")
transform_step = step(transform, name="transform")
join_step = step(join, name="join")


@pipeline
def fan(rows: int = 1_000):
    frame = source_step(rows)
    tips = []
    for branch in range(BRANCHES):
        tip = frame
        for depth in range(DEPTH):
            tip = transform_step(tip, k=branch * DEPTH + depth)
        tips.append(tip)
    join_step(*tips)


def fan_direct(rows: int) -> pl.DataFrame:
    frame = source(rows)
    tips = []
    for branch in range(BRANCHES):
        tip = frame
        for depth in range(DEPTH):
            tip = transform(tip, k=branch * DEPTH + depth)
        tips.append(tip)
    return join(*tips)


# -- cases --------------------------------------------------------------------------


class _Stores:
    """Fresh store directories in a temporary folder, opened before any timing."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mlcore-bench-pipelines-"))
        self.opened: list[Any] = []

    def fresh(self) -> Any:
        store = mlcore.open(self.root / str(len(self.opened)), create=True, actor="bench")
        self.opened.append(store)
        return store

    def remove(self) -> None:
        for store in self.opened:
            store.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _overhead(
    run: Callable[[], Any], reference: Callable[[], Any], steps: int, repeat: int
) -> Measurement:
    seconds = best_of(run, repeat)
    reference_seconds = best_of(reference, repeat)
    per_step_ms = (seconds - reference_seconds) / steps * 1e3
    return Measurement(
        seconds,
        reference_seconds,
        extras={
            "steps": steps,
            "overhead_ms_per_step": per_step_ms,
            "goal_ms_per_step": GOAL_MS,
            "goal_met": per_step_ms <= GOAL_MS,
        },
    )


def _checked(run: Callable[..., Any], flow: Pipeline, **options: Any) -> Callable[[], Any]:
    def go() -> None:
        result = run(flow, **options)
        assert result.status is RunStatus.SUCCEEDED, result.record

    return go


def cases(size: str) -> list[Case]:
    stores = _Stores()
    repeat = REPEAT[size]
    rows = ROWS[size]

    def cached() -> Measurement:
        store = stores.fresh()
        store.pipelines.run(chain)
        return _overhead(_checked(store.pipelines.run, chain), chain_direct, CHAIN, repeat)

    def executed() -> Measurement:
        store = stores.fresh()
        run = _checked(store.pipelines.run, chain, no_cache=True)
        return _overhead(run, chain_direct, CHAIN, repeat)

    def fan_cold() -> Measurement:
        empty = [stores.fresh() for _ in range(repeat)]

        def run() -> None:
            _checked(empty.pop().pipelines.run, fan, params={"rows": rows})()

        def in_memory() -> None:
            memory = {"artifacts": MemoryArtifactStore(), "runs": MemoryRunStore()}
            _checked(run_pipeline, fan, **memory, params={"rows": rows})()

        measurement = _overhead(run, lambda: fan_direct(rows), CHAIN, repeat)
        # The same run without the store: how much of the overhead is the store.
        memory_seconds = best_of(in_memory, repeat)
        assert measurement.reference_seconds is not None
        measurement.extras["overhead_ms_per_step_in_memory"] = (
            (memory_seconds - measurement.reference_seconds) / CHAIN * 1e3
        )
        measurement.extras["output_mb_per_step"] = len(encode(fan_direct(rows), step="-")[1]) / 1e6
        return measurement

    return [
        Case(
            "cached_step",
            measure=cached,
            reference_name="direct calls",
            note=f"{CHAIN}-step chain on a store, every step a cache hit",
        ),
        Case(
            "executed_step",
            measure=executed,
            reference_name="direct calls",
            note=f"{CHAIN}-step chain of trivial steps on a store, no_cache",
        ),
        Case(
            "pipeline_50_steps",
            measure=fan_cold,
            reference_name="direct calls",
            teardown=stores.remove,
            note=f"fan-out/fan-in DAG of Polars frames, {rows} rows, empty stores",
        ),
    ]
