"""Running a pipeline: topological scheduling, cache hits, workers, retries, resume.

The parent process owns every decision and every record: it computes cache
keys, looks up earlier results, hands ready steps to workers and writes what
they return through the :class:`~mlcore.pipelines.cache.ArtifactStore` and
:class:`~mlcore.pipelines.runs.RunStore`. Workers only compute: they receive a
step reference and its input values, and send back encoded outputs or an error
(:mod:`mlcore.pipelines.workers`). So workers never touch the catalog, and
nothing in a worker can corrupt a record.

With ``workers=1`` steps run in the parent process itself (no serialisation of
inputs, well under a millisecond of overhead per step), except steps with a
``timeout``: only a process can be stopped from outside, so those run in a
worker process. With ``workers=N`` every step runs in one of N worker
processes, except steps declared ``uses_store=True``, which always run in the
parent, where the store is (see :mod:`mlcore.pipelines.context`).

A failed attempt (an exception, a timeout, a dead worker) is retried after
``retry_backoff * 2**(attempt-1)`` seconds while the step has retries left;
errors mlcore raises on purpose (InvalidInput, CheckFailed...) are not retried.
When a step finally fails, its dependents are recorded as skipped and every
independent branch still runs to completion. :func:`resume_run` starts a new
run that reuses the outputs of the steps that succeeded and runs the rest.

Two optional methods let a store batch its writes: ``runs.flush()`` is called
before the parent blocks waiting for workers or a retry (records may be held
back until then, or until the run finishes), and ``artifacts.local_file(sha)``
names the file holding a stored artifact (and whether it is a pack of several)
so that a worker reads it itself.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlcore import __version__
from mlcore.errors import InvalidInput, MlcoreError
from mlcore.pipelines.cache import (
    ArtifactRef,
    ArtifactStore,
    MemoryArtifactStore,
    cache_key,
    decode,
    key_material,
)
from mlcore.pipelines.config import read_config, record_params, resolve_params, restore_params
from mlcore.pipelines.context import RunContext, running
from mlcore.pipelines.hashing import code_fingerprint
from mlcore.pipelines.runs import (
    CachedOutputs,
    Event,
    EventHandler,
    MemoryRunStore,
    RunRecord,
    RunResult,
    RunStatus,
    RunStore,
    StepError,
    StepRecord,
    StepStatus,
    new_run_id,
)
from mlcore.pipelines.step import OutputRef, ParamRef, StepLocation
from mlcore.pipelines.workers import (
    Encoded,
    Outcome,
    StoredInput,
    Task,
    WorkerPool,
    failure,
    run_attempt,
)

if TYPE_CHECKING:
    import os

    from mlcore.pipelines.pipeline import Node, Pipeline

__all__ = ["resume_run", "run_pipeline"]


def run_pipeline(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    workers: int = 1,
    no_cache: bool = False,
    artifacts: ArtifactStore | None = None,
    runs: RunStore | None = None,
    on_event: EventHandler | None = None,
    store: Any = None,
) -> RunResult:
    """Run ``pipeline`` once and record it.

    Parameters
    ----------
    pipeline
        What to run.
    params
        Parameter values, typed or as text (``--param`` values); they override
        ``config``, which overrides the pipeline's defaults.
    config
        A TOML file of parameter values.
    workers
        Worker processes for independent steps; 1 runs steps in this process.
    no_cache
        Execute every step, except those whose cache policy is ``"always"``.
    artifacts, runs
        Where outputs and records go; in-memory stores (forgotten after the
        run) when not given.
    on_event
        Called in this process with an :class:`Event` at every change.
    store
        The :class:`mlcore.Store` that steps declared ``uses_store=True`` and
        inputs that need a store (a feature retrieval) work with; required
        when the pipeline has any. ``store.pipelines.run`` passes it.

    Returns
    -------
    RunResult
        The record (whose status says whether every step succeeded) and outputs.
        A failing step does not raise: it is recorded with its error.
    """
    values = resolve_params(
        pipeline.parameters,
        config=read_config(config) if config is not None else None,
        overrides=params,
        pipeline=pipeline.name,
    )
    execution = _Execution(
        pipeline,
        values,
        workers=workers,
        no_cache=no_cache,
        artifacts=artifacts if artifacts is not None else MemoryArtifactStore(),
        runs=runs if runs is not None else MemoryRunStore(),
        on_event=on_event,
        store=store,
    )
    return execution.run()


def resume_run(
    pipeline: Pipeline,
    run_id: str,
    *,
    artifacts: ArtifactStore,
    runs: RunStore,
    workers: int = 1,
    on_event: EventHandler | None = None,
    store: Any = None,
) -> RunResult:
    """Continue a failed or interrupted run as a new run.

    Steps that succeeded (or were cached) in ``run_id`` keep their recorded
    outputs, even if their code changed since; the others run, with the
    parameters of ``run_id``. The new record names ``run_id`` in ``resumed_from``.
    """
    previous = runs.get_run(run_id)
    if previous.pipeline != pipeline.name:
        raise InvalidInput(
            f"run {run_id} is of pipeline '{previous.pipeline}', not '{pipeline.name}'",
            hint=f"Resume it with pipeline '{previous.pipeline}'",
        )
    if previous.status is RunStatus.SUCCEEDED:
        raise InvalidInput(
            f"run {run_id} succeeded; there is nothing to resume", hint="Run the pipeline again"
        )
    values = resolve_params(
        pipeline.parameters,
        overrides=restore_params(previous.params, run_id=run_id),
        pipeline=pipeline.name,
    )
    execution = _Execution(
        pipeline,
        values,
        workers=workers,
        no_cache=False,
        artifacts=artifacts,
        runs=runs,
        on_event=on_event,
        previous=previous,
        store=store,
    )
    return execution.run()


def _steps(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def _sources(node: Node) -> dict[str, str]:
    return {arg: f"{v.node}.{v.name}" for arg, v in node.inputs.items() if isinstance(v, OutputRef)}


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# -------------------------------------------------------------------- the run


class _Execution:
    def __init__(
        self,
        pipeline: Pipeline,
        params: dict[str, Any],
        *,
        workers: int,
        no_cache: bool,
        artifacts: ArtifactStore,
        runs: RunStore,
        on_event: EventHandler | None,
        previous: RunRecord | None = None,
        store: Any = None,
    ) -> None:
        if StepLocation.loading:
            raise InvalidInput(
                "a pipeline run was started while a worker process imported the file "
                "defining its steps",
                hint='Put the run under an if __name__ == "__main__" block',
            )
        if not isinstance(workers, int) or workers < 1:
            raise InvalidInput(f"workers={workers!r} is not a count", hint="Use an integer >= 1")
        bound = [n for n, node in pipeline.nodes.items() if node.step.uses_store]
        if bound and store is None:
            raise InvalidInput(
                f"pipeline '{pipeline.name}': step '{bound[0]}' uses the store, "
                "and this run has none",
                hint="Run it with store.pipelines.run(...) (or mlcore pipeline run)",
            )
        self.store = store
        self.nodes = pipeline.nodes
        self.params = params
        self.workers = workers
        self.no_cache = no_cache
        self.artifacts = artifacts
        self.runs = runs
        self.on_event = on_event
        self.previous = previous
        self.record = RunRecord(
            id=new_run_id(),
            pipeline=pipeline.name,
            params=record_params(params),
            steps={
                n: StepRecord(n, node.step.name, sources=_sources(node))
                for n, node in self.nodes.items()
            },
            source=pipeline.source,
            resumed_from=previous.id if previous else None,
            mlcore_version=__version__,
        )
        self._consumers: dict[str, list[str]] = {n: [] for n in self.nodes}
        for node in self.nodes.values():
            for upstream in node.upstream:
                self._consumers[upstream].append(node.name)
        self._waiting = {n: len(node.upstream) for n, node in self.nodes.items()}
        self._unfinished_consumers = {n: len(c) for n, c in self._consumers.items()}
        # Ready steps start in definition order, so progress reads like the pipeline.
        self._position = {name: i for i, name in enumerate(self.nodes)}
        self._ready = [(self._position[n], n) for n, count in self._waiting.items() if count == 0]
        self._retries: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._attempts = dict.fromkeys(self.nodes, 0)
        self._prepared: set[str] = set()
        self._live: dict[str, dict[str, Any]] = {}
        self._code: dict[int, str] = {}
        self._bound: dict[str, dict[str, Any]] = {}
        self._pool: WorkerPool | None = None

    # The loop -----------------------------------------------------------

    def run(self) -> RunResult:
        self.runs.create_run(self.record.copy())
        self._emit(None, RunStatus.RUNNING, message=_steps(len(self.nodes)))
        try:
            self._loop()
        except BaseException as exc:
            self._abandon(exc)
            raise
        finally:
            if self._pool is not None:
                self._pool.close()
            self._live.clear()
            self._bound.clear()
        ok = all(s.status.done for s in self.record.steps.values())
        self._finish(RunStatus.SUCCEEDED if ok else RunStatus.FAILED)
        return RunResult(self.record, self.artifacts)

    def _loop(self) -> None:
        while True:
            now = time.monotonic()
            while self._retries and self._retries[0][0] <= now:
                self._make_ready(heapq.heappop(self._retries)[2])
            while self._ready and self._busy() < self.workers:
                self._start(heapq.heappop(self._ready)[1])
            busy = self._busy()
            if not busy and not self._ready and not self._retries:
                return
            next_retry = self._retries[0][0] if self._retries else None
            self._flush()  # the parent is about to wait: a good moment to write records
            if busy:
                assert self._pool is not None
                for name, outcome in self._pool.wait(until=next_retry):
                    self._handle(name, outcome)
            elif next_retry is not None:
                time.sleep(max(0.0, next_retry - time.monotonic()))

    def _make_ready(self, name: str) -> None:
        heapq.heappush(self._ready, (self._position[name], name))

    def _busy(self) -> int:
        return self._pool.busy if self._pool is not None else 0

    # One step -----------------------------------------------------------

    def _start(self, name: str) -> None:
        node = self.nodes[name]
        if name not in self._prepared:
            self._prepared.add(name)
            try:
                key, inputs = self._key(node)
            except MlcoreError as exc:
                self._fail(name, failure(exc, time.time()))
                return
            hit = self._reusable(node, key)
            if hit is not None:
                self._reuse(name, key, inputs, hit)
                return
            self._set(
                name,
                status=StepStatus.RUNNING,
                cache_key=key,
                cache_hit=False,
                inputs=inputs,
                started_at=datetime.now(UTC),
            )
        self._attempts[name] += 1
        self._emit(name, StepStatus.RUNNING, attempt=self._attempts[name])
        inline = node.step.uses_store or (self.workers == 1 and node.step.timeout is None)
        try:
            kwargs = {
                arg: self._value(name, arg, source, inline=inline)
                for arg, source in node.inputs.items()
            }
            if node.step.uses_store:
                context = RunContext(
                    self.store, self.record.id, self.record.pipeline, name, self.record.source
                )
                with running(context):
                    self._handle(name, run_attempt(node.step, name, kwargs, keep_live=True))
            elif inline:
                self._handle(name, run_attempt(node.step, name, kwargs, keep_live=True))
            else:
                if self._pool is None:
                    self._pool = WorkerPool()
                self._pool.submit(name, Task.of(node, kwargs), node.step.timeout)
        except MlcoreError as exc:
            self._handle(name, failure(exc, time.time()))

    def _key(self, node: Node) -> tuple[str, dict[str, str]]:
        params: dict[str, Any] = {}
        upstream: dict[str, str] = {}
        recorded: dict[str, str] = {}
        for arg, source in node.inputs.items():
            if isinstance(source, OutputRef):
                sha = self.record.steps[source.node].outputs[source.name].sha256
                upstream[arg] = recorded[arg] = sha
                continue
            value = self.params[source.name] if isinstance(source, ParamRef) else source
            if hasattr(type(value), "__mlcore_bind__"):
                value = self._bind(node.name, arg, value)
            try:
                material = key_material(value)
            except TypeError as exc:
                raise InvalidInput(
                    f"step '{node.name}' input '{arg}': {exc}",
                    hint="Pass plain data, a frame, or an InputFile",
                    field=arg,
                ) from None
            params[arg] = material
            if isinstance(material, dict) and material.keys() <= {"fingerprint", "artifact"}:
                recorded[arg] = next(iter(material.values()))
        step_id = id(node.step)
        if step_id not in self._code:
            self._code[step_id] = code_fingerprint(node.step.fn)
        key = cache_key(
            code=self._code[step_id],
            params=params,
            inputs=upstream,
            outputs=node.step.outputs,
            version=__version__,
        )
        return key, recorded

    def _reusable(self, node: Node, key: str) -> CachedOutputs | None:
        earlier = self.previous.steps.get(node.name) if self.previous else None
        if earlier is not None and earlier.status.done and self._stored(earlier.outputs):
            assert self.previous is not None
            return CachedOutputs(
                earlier.reused_from or self.previous.id, node.name, earlier.outputs
            )
        policy = node.step.cache
        if policy == "never" or (self.no_cache and policy != "always"):
            return None
        hit = self.runs.find_cached(key)
        if hit is None or set(hit.outputs) != set(node.step.outputs):
            return None
        return hit if self._stored(hit.outputs) else None

    def _stored(self, outputs: Mapping[str, ArtifactRef]) -> bool:
        return bool(outputs) and all(self.artifacts.exists(r.sha256) for r in outputs.values())

    def _reuse(self, name: str, key: str, inputs: dict[str, str], hit: CachedOutputs) -> None:
        earlier = self.previous.steps.get(name) if self.previous is not None else None
        # Outputs carried over from the resumed run, whichever run computed them.
        resumed = earlier is not None and earlier.status.done and earlier.outputs == hit.outputs
        note = (
            f"resumed: outputs of run {hit.run_id}"
            if resumed
            else f"cache hit: outputs of run {hit.run_id}"
        )
        now = datetime.now(UTC)
        self._set(
            name,
            status=StepStatus.CACHED,
            cache_key=key,
            cache_hit=True,
            inputs=inputs,
            outputs=dict(hit.outputs),
            reused_from=hit.run_id,
            started_at=now,
            finished_at=now,
            note=note,
        )
        self._emit(name, StepStatus.CACHED, message=note)
        self._release(name)

    def _bind(self, node: str, arg: str, value: Any) -> Any:
        """The input as this run's store pins it (a feature retrieval to a snapshot)."""
        if self.store is None:
            raise InvalidInput(
                f"step '{node}' input '{arg}' is a {type(value).__name__}, which needs a store",
                hint="Run the pipeline with store.pipelines.run(...) (or mlcore pipeline run)",
                field=arg,
            )
        bound = value.__mlcore_bind__(self.store)
        self._bound.setdefault(node, {})[arg] = bound
        return bound

    def _value(self, node: str, arg: str, source: Any, *, inline: bool) -> Any:
        if not isinstance(source, OutputRef):
            if arg in self._bound.get(node, {}):
                return self._bound[node][arg]
            return self.params[source.name] if isinstance(source, ParamRef) else source
        live = self._live.get(source.node, {})
        ref = self.record.steps[source.node].outputs[source.name]
        if source.name in live and (inline or ref.kind == "json"):
            return live[source.name]
        if not inline:
            local_file = getattr(self.artifacts, "local_file", None)
            found = local_file(ref.sha256) if local_file is not None else None
            if found is not None:
                return StoredInput(ref.kind, str(found[0]), ref.sha256, packed=found[1])
        data = self.artifacts.get(ref.sha256)
        return decode(ref.kind, data) if inline else Encoded(ref.kind, data)

    def _handle(self, name: str, outcome: Outcome) -> None:
        step = self.nodes[name].step
        attempt = self._attempts[name]
        if outcome.ok:
            outputs = {
                output: ArtifactRef(self.artifacts.put(data), kind)
                for output, (kind, data) in zip(step.outputs, outcome.encoded, strict=True)
            }
            # JSON outputs are handed on decoded from their bytes (a tuple becomes a
            # list, as when read back), so that no consumer reads them from the store.
            live = dict(outcome.live or {})
            for output, (kind, data) in zip(step.outputs, outcome.encoded, strict=True):
                if kind == "json":
                    live[output] = decode(kind, data)
            if live:
                self._live[name] = live
            self._set(
                name,
                status=StepStatus.SUCCEEDED,
                attempts=attempt,
                started_at=self._started_at(name, outcome),
                finished_at=_utc(outcome.finished),
                outputs=outputs,
                error=None,
                note="",
            )
            self._emit(name, StepStatus.SUCCEEDED, attempt=attempt)
            self._release(name)
            return
        assert outcome.error is not None
        if outcome.retryable and attempt <= step.retries:
            delay = step.retry_backoff * 2 ** (attempt - 1)
            note = f"attempt {attempt} failed ({outcome.error.type}); retrying in {delay:g} s"
            started = self._started_at(name, outcome)
            self._set(name, attempts=attempt, started_at=started, error=outcome.error, note=note)
            self._emit(
                name, "retrying", attempt=attempt, message=f"{note}: {outcome.error.message}"
            )
            heapq.heappush(self._retries, (time.monotonic() + delay, next(self._order), name))
            return
        self._fail(name, outcome)

    def _started_at(self, name: str, outcome: Outcome) -> datetime | None:
        """When the first attempt began, as measured where it ran."""
        if self._attempts[name] <= 1:
            return _utc(outcome.started)
        return self.record.steps[name].started_at

    def _fail(self, name: str, outcome: Outcome) -> None:
        attempt = self._attempts[name]
        self._set(
            name,
            status=StepStatus.FAILED,
            attempts=attempt,
            started_at=self._started_at(name, outcome),
            finished_at=_utc(outcome.finished),
            error=outcome.error,
            note="",
        )
        assert outcome.error is not None
        self._emit(
            name,
            StepStatus.FAILED,
            attempt=attempt,
            message=f"{outcome.error.type}: {outcome.error.message}",
        )
        blocked = deque(self._consumers[name])
        while blocked:
            dependent = blocked.popleft()
            if self.record.steps[dependent].status is StepStatus.PENDING:
                note = f"upstream step '{name}' failed"
                self._set(dependent, status=StepStatus.SKIPPED, note=note)
                self._emit(dependent, StepStatus.SKIPPED, message=note)
                blocked.extend(self._consumers[dependent])

    def _release(self, name: str) -> None:
        for consumer in self._consumers[name]:
            self._waiting[consumer] -= 1
            if self._waiting[consumer] == 0:
                self._make_ready(consumer)
        for upstream in self.nodes[name].upstream:
            self._unfinished_consumers[upstream] -= 1
            if self._unfinished_consumers[upstream] == 0:
                self._live.pop(upstream, None)  # nobody needs the in-memory value any more

    # Records ------------------------------------------------------------

    def _set(self, name: str, **changes: Any) -> None:
        record = replace(self.record.steps[name], **changes)
        self.record.steps[name] = record
        self.runs.update_step(self.record.id, record)

    def _flush(self) -> None:
        flush = getattr(self.runs, "flush", None)
        if flush is not None:
            flush()

    def _emit(self, step: str | None, status: str, *, attempt: int = 0, message: str = "") -> None:
        if self.on_event is not None:
            self.on_event(Event(self.record.id, step, str(status), attempt, message))

    def _finish(self, status: RunStatus) -> None:
        self.record.status = status
        self.record.finished_at = datetime.now(UTC)
        self.runs.finish_run(self.record.id, status, self.record.finished_at)
        self._emit(None, status)

    def _abandon(self, exc: BaseException) -> None:
        """Leave a consistent record when the run itself is interrupted."""
        error = StepError(type(exc).__name__, str(exc) or "the run was interrupted")
        try:
            for name, record in list(self.record.steps.items()):
                if record.status is StepStatus.RUNNING:
                    self._set(
                        name, status=StepStatus.FAILED, error=error, finished_at=datetime.now(UTC)
                    )
                elif record.status is StepStatus.PENDING:
                    self._set(name, status=StepStatus.SKIPPED, note="the run was interrupted")
            self._finish(RunStatus.FAILED)
        except Exception:  # the original exception matters more than a bookkeeping one
            pass
