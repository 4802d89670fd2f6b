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
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from mlcore.errors import NotFound
from mlcore.pipelines.cache import ArtifactRef

__all__ = [
    "CachedOutputs",
    "DirectoryRunStore",
    "MemoryRunStore",
    "RunRecord",
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
    """Why a step failed: exception type, message and traceback text."""

    type: str
    message: str
    traceback: str = ""

    def to_dict(self) -> dict[str, str]:
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
        )


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
    """Run records as JSON files: ``runs/<id>.json`` and ``cache/<key>.json``.

    Each file is replaced atomically, so a reader never sees half a record. Runs
    this object is writing are kept in memory; others are read from disk.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        (self.root / "runs").mkdir(parents=True, exist_ok=True)
        (self.root / "cache").mkdir(exist_ok=True)
        self._open: dict[str, RunRecord] = {}

    def create_run(self, run: RunRecord) -> None:
        self._open[run.id] = run.copy()
        self._save(run.id)

    def update_step(self, run_id: str, step: StepRecord) -> None:
        self._writing(run_id).steps[step.name] = step
        self._save(run_id)
        if step.status is StepStatus.SUCCEEDED and step.cache_key:
            entry = {
                "run_id": run_id,
                "step": step.name,
                "outputs": {k: v.to_dict() for k, v in step.outputs.items()},
            }
            _write_json(self.root / "cache" / f"{step.cache_key}.json", entry)

    def finish_run(self, run_id: str, status: RunStatus, finished_at: datetime) -> None:
        run = self._writing(run_id)
        run.status, run.finished_at = status, finished_at
        self._save(run_id)
        del self._open[run_id]

    def get_run(self, run_id: str) -> RunRecord:
        if run_id in self._open:
            return self._open[run_id].copy()
        path = self.root / "runs" / f"{run_id}.json"
        if not path.is_file():
            raise NotFound(
                "run", run_id, candidates=[p.stem for p in (self.root / "runs").glob("*.json")]
            )
        return RunRecord.from_dict(json.loads(path.read_text()))

    def list_runs(self, pipeline: str | None = None, limit: int | None = None) -> list[RunRecord]:
        runs = [self.get_run(p.stem) for p in (self.root / "runs").glob("*.json")]
        runs = [r for r in runs if pipeline is None or r.pipeline == pipeline]
        runs.sort(key=lambda r: r.started_at, reverse=True)
        return runs[:limit]

    def find_cached(self, key: str) -> CachedOutputs | None:
        path = self.root / "cache" / f"{key}.json"
        if not path.is_file():
            return None
        entry = json.loads(path.read_text())
        outputs = {k: ArtifactRef.from_dict(v) for k, v in entry["outputs"].items()}
        return CachedOutputs(entry["run_id"], entry["step"], outputs)

    def _writing(self, run_id: str) -> RunRecord:
        if run_id not in self._open:
            self._open[run_id] = self.get_run(run_id)
        return self._open[run_id]

    def _save(self, run_id: str) -> None:
        _write_json(self.root / "runs" / f"{run_id}.json", self._open[run_id].to_dict())


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
