"""Run records (what ran, with what, what came out) and where they are kept.

A :class:`RunRecord` holds the pipeline, its parameters and one
:class:`StepRecord` per step: status, timings, cache key and hit, input and
output artifact hashes, attempts and the error. The engine writes records
through the :class:`RunStore` protocol, from the parent process only and one
short call at a time; the store behind it decides how (a dict here, a
directory of JSON files here, the catalog in ``mlcore.open(...).pipelines``).

Examples
--------
>>> store = MemoryRunStore()
>>> run = RunRecord(id="run-1", pipeline="flow", params={"n": 3})
>>> store.create_run(run)
>>> store.update_step("run-1", StepRecord("load", "load", StepStatus.SUCCEEDED, cache_key="k1",
...     outputs={"load": ArtifactRef("ab" * 32, "json")}))
>>> store.find_cached("k1").outputs["load"].kind
'json'
>>> store.get_run("run-2")
Traceback (most recent call last):
...
mlcore.errors.NotFound: run 'run-2' not found. Did you mean 'run-1'?
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.cache import ArtifactRef, ArtifactStore, decode

__all__ = [
    "CachedOutputs",
    "DirectoryRunStore",
    "Event",
    "EventHandler",
    "MemoryRunStore",
    "RunRecord",
    "RunResult",
    "RunStatus",
    "RunStore",
    "StepError",
    "StepRecord",
    "StepStatus",
    "new_run_id",
]


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    CACHED = "cached"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def done(self) -> bool:
        """Whether the step has outputs downstream steps can use."""
        return self in (StepStatus.CACHED, StepStatus.SUCCEEDED)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class StepError:
    """Why a step failed: exception type, message and traceback text.

    ``details`` is the ``to_dict()`` of an error mlcore raised on purpose: a
    failed validation keeps its full report there.
    """

    type: str
    message: str
    traceback: str = ""
    details: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StepRecord:
    """One step of one run. Immutable: the engine records a new one per change."""

    name: str
    step: str
    status: StepStatus = StepStatus.PENDING
    cache_key: str | None = None
    cache_hit: bool | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, ArtifactRef] = field(default_factory=dict)
    error: StepError | None = None
    reused_from: str | None = None
    note: str = ""
    #: Where each input that is another step's output comes from: ``arg -> "step.output"``.
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "step": self.step,
            "status": str(self.status),
            "cache_key": self.cache_key,
            "cache_hit": self.cache_hit,
            "attempts": self.attempts,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "seconds": self.seconds,
            "inputs": dict(self.inputs),
            "outputs": {k: v.to_dict() for k, v in self.outputs.items()},
            "error": self.error.to_dict() if self.error else None,
            "reused_from": self.reused_from,
            "note": self.note,
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRecord:
        return cls(
            name=data["name"],
            step=data["step"],
            status=StepStatus(data["status"]),
            cache_key=data.get("cache_key"),
            cache_hit=data.get("cache_hit"),
            attempts=data.get("attempts", 0),
            started_at=_parse_time(data.get("started_at")),
            finished_at=_parse_time(data.get("finished_at")),
            inputs=dict(data.get("inputs") or {}),
            outputs={k: ArtifactRef.from_dict(v) for k, v in (data.get("outputs") or {}).items()},
            error=StepError(**data["error"]) if data.get("error") else None,
            reused_from=data.get("reused_from"),
            note=data.get("note", ""),
            sources=dict(data.get("sources") or {}),
        )


@dataclass
class RunRecord:
    """One run of a pipeline."""

    id: str
    pipeline: str
    params: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    source: str | None = None
    resumed_from: str | None = None
    mlcore_version: str = ""
    actor: str | None = None  # who started it, where the store knows

    def copy(self) -> RunRecord:
        return dataclasses.replace(self, params=dict(self.params), steps=dict(self.steps))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pipeline": self.pipeline,
            "params": self.params,
            "status": str(self.status),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "source": self.source,
            "resumed_from": self.resumed_from,
            "mlcore_version": self.mlcore_version,
            "actor": self.actor,
            "steps": [s.to_dict() for s in self.steps.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(
            id=data["id"],
            pipeline=data["pipeline"],
            params=dict(data.get("params") or {}),
            status=RunStatus(data["status"]),
            started_at=_parse_time(data["started_at"]) or datetime.now(UTC),
            finished_at=_parse_time(data.get("finished_at")),
            steps={s["name"]: StepRecord.from_dict(s) for s in data.get("steps", [])},
            source=data.get("source"),
            resumed_from=data.get("resumed_from"),
            mlcore_version=data.get("mlcore_version", ""),
            actor=data.get("actor"),
        )


@dataclass(frozen=True)
class Event:
    """Progress of a run, for a live display.

    ``step`` is None for the run itself. ``status`` is a StepStatus or RunStatus
    value, or ``"retrying"`` after a failed attempt that will be retried.
    """

    run_id: str
    step: str | None
    status: str
    attempt: int = 0
    message: str = ""


EventHandler = Callable[[Event], None]


@dataclass
class RunResult:
    """A finished run's record, and its outputs on demand."""

    record: RunRecord
    artifacts: ArtifactStore

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def status(self) -> RunStatus:
        return self.record.status

    @property
    def steps(self) -> dict[str, StepRecord]:
        return self.record.steps

    def to_dict(self) -> dict[str, Any]:
        return self.record.to_dict()

    def output(self, step: str, name: str | None = None) -> Any:
        """Load an output of ``step`` (``name`` may be left out for a single output)."""
        record = self.record.steps.get(step)
        if record is None:
            raise NotFound("step", step, candidates=self.record.steps)
        if not record.status.done:
            raise InvalidInput(f"step '{step}' has no outputs: it {record.status}")
        if name is None and len(record.outputs) == 1:
            name = next(iter(record.outputs))
        if name is None or name not in record.outputs:
            raise NotFound(f"step '{step}' output", str(name), candidates=record.outputs)
        ref = record.outputs[name]
        return decode(ref.kind, self.artifacts.get(ref.sha256))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def new_run_id() -> str:
    """A run id that sorts by start time: ``20250101T120000-3fa9c2``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class CachedOutputs:
    """Outputs an earlier run stored under a cache key."""

    run_id: str
    step: str
    outputs: Mapping[str, ArtifactRef]


class RunStore(Protocol):
    """Persistence of run records. Every call is one short transaction."""

    def create_run(self, run: RunRecord) -> None: ...

    def update_step(self, run_id: str, step: StepRecord) -> None:
        """Replace one step's record; a succeeded step with a key becomes findable."""
        ...

    def finish_run(self, run_id: str, status: RunStatus, finished_at: datetime) -> None: ...

    def get_run(self, run_id: str) -> RunRecord:
        """The run, or NotFound suggesting a close id."""
        ...

    def list_runs(self, pipeline: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        ...

    def find_cached(self, key: str) -> CachedOutputs | None:
        """The outputs of a succeeded step with this cache key, if any."""
        ...


class MemoryRunStore:
    """Run records in dicts: for tests, benches and throw-away runs."""

    def __init__(self) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._cache: dict[str, CachedOutputs] = {}

    def create_run(self, run: RunRecord) -> None:
        self._runs[run.id] = run.copy()

    def update_step(self, run_id: str, step: StepRecord) -> None:
        self._run(run_id).steps[step.name] = step
        if step.status is StepStatus.SUCCEEDED and step.cache_key:
            self._cache[step.cache_key] = CachedOutputs(run_id, step.name, step.outputs)

    def finish_run(self, run_id: str, status: RunStatus, finished_at: datetime) -> None:
        run = self._run(run_id)
        run.status, run.finished_at = status, finished_at

    def get_run(self, run_id: str) -> RunRecord:
        return self._run(run_id).copy()

    def list_runs(self, pipeline: str | None = None, limit: int | None = None) -> list[RunRecord]:
        runs = [r for r in self._runs.values() if pipeline is None or r.pipeline == pipeline]
        runs.sort(key=lambda r: r.started_at, reverse=True)
        return [r.copy() for r in runs[:limit]]

    def find_cached(self, key: str) -> CachedOutputs | None:
        return self._cache.get(key)

    def _run(self, run_id: str) -> RunRecord:
        try:
            return self._runs[run_id]
        except KeyError:
            raise NotFound("run", run_id, candidates=self._runs) from None


class DirectoryRunStore:
    """Run records as append-only JSON-lines files under ``root``.

    ``runs/<id>.jsonl`` holds a run's history (created, each step change,
    finished) and ``cache.jsonl`` one line per succeeded step with a cache key.
    Appending a line costs a fraction of rewriting a file, and a line cut short
    by a crash is ignored on reading, so a reader never sees half a record.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        (self.root / "runs").mkdir(parents=True, exist_ok=True)
        self._cache_file = self.root / "cache.jsonl"
        self._cache: dict[str, CachedOutputs] = {}
        self._cache_read = 0  # bytes of cache.jsonl already indexed

    def create_run(self, run: RunRecord) -> None:
        self._append(self._path(run.id), {"run": run.to_dict()})

    def update_step(self, run_id: str, step: StepRecord) -> None:
        self._append(self._path(run_id), {"step": step.to_dict()})
        if step.status is StepStatus.SUCCEEDED and step.cache_key:
            outputs = {k: v.to_dict() for k, v in step.outputs.items()}
            entry = {"key": step.cache_key, "run_id": run_id, "step": step.name}
            self._append(self._cache_file, entry | {"outputs": outputs})

    def finish_run(self, run_id: str, status: RunStatus, finished_at: datetime) -> None:
        self._append(self._path(run_id), {"finish": str(status), "at": _iso(finished_at)})

    def get_run(self, run_id: str) -> RunRecord:
        path = self._path(run_id)
        if not path.is_file():
            raise NotFound("run", run_id, candidates=[p.stem for p in self._run_files()])
        run: RunRecord | None = None
        for entry in _read_lines(path):
            if "run" in entry:
                run = RunRecord.from_dict(entry["run"])
            elif run is not None and "step" in entry:
                step = StepRecord.from_dict(entry["step"])
                run.steps[step.name] = step
            elif run is not None and "finish" in entry:
                run.status, run.finished_at = RunStatus(entry["finish"]), _parse_time(entry["at"])
        if run is None:
            raise NotFound("run", run_id, hint="Its record file is empty")
        return run

    def list_runs(self, pipeline: str | None = None, limit: int | None = None) -> list[RunRecord]:
        runs = [self.get_run(p.stem) for p in self._run_files()]
        runs = [r for r in runs if pipeline is None or r.pipeline == pipeline]
        runs.sort(key=lambda r: r.started_at, reverse=True)
        return runs[:limit]

    def find_cached(self, key: str) -> CachedOutputs | None:
        if key not in self._cache and self._cache_file.is_file():
            # Index only what other writers appended since the last look.
            with self._cache_file.open("rb") as f:
                f.seek(self._cache_read)
                tail = f.read()
            complete = tail[: tail.rfind(b"\n") + 1]
            self._cache_read += len(complete)
            for entry in _parse_lines(complete):
                outputs = {k: ArtifactRef.from_dict(v) for k, v in entry["outputs"].items()}
                self._cache[entry["key"]] = CachedOutputs(entry["run_id"], entry["step"], outputs)
        return self._cache.get(key)

    def _path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.jsonl"

    def _run_files(self) -> list[Path]:
        return sorted((self.root / "runs").glob("*.jsonl"))

    @staticmethod
    def _append(path: Path, entry: dict[str, Any]) -> None:
        # One write of one whole line: appends from several processes do not interleave.
        with path.open("ab") as f:
            f.write(json.dumps(entry, separators=(",", ":"), default=str).encode() + b"\n")


def _read_lines(path: Path) -> list[dict[str, Any]]:
    return _parse_lines(path.read_bytes())


def _parse_lines(data: bytes) -> list[dict[str, Any]]:
    entries = []
    for line in data.splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # cut short by a crash while writing
    return entries
