"""Runs in the store's catalog; step outputs in pack data files and blobs.

:class:`CatalogRunStore` and :class:`StoreArtifacts` implement the engine's
``RunStore`` and ``ArtifactStore`` protocols on a store directory, sharing one
:class:`Journal`: the writes waiting for the next catalog transaction.

Why a journal: a catalog write transaction costs a few milliseconds, and the
engine updates a step's record twice (running, then succeeded) and stores each
output, which would be three or more transactions per step against a goal of
5 ms of overhead per step. So records and outputs are held back and written
together: small outputs into one pack data file per flush
(:mod:`mlcore.pipelines.packs`), large ones as blobs, all written before the
transaction; then one transaction registers them with the records and cache
entries that name them.
A journal flushes:

* when the engine is about to wait (for workers or a retry): it calls
  :meth:`CatalogRunStore.flush`;
* when a background timer finds anything held back for ``delay`` seconds
  (0.1 s), so that a long step in the running process does not hide the state
  of the steps before it;
* before a worker reads an output by path, when the held-back outputs exceed
  ``max_bytes``, and when the run finishes (its finish record is in the same
  transaction);
* before reads (``get_run``, ``list_runs``), so that they see everything.

A process that dies loses at most the last ``delay`` seconds of records; their
steps are then simply pending or running in the record, and a resume reruns
them. Outputs are registered before or with any record naming them, so a
record in the catalog never names an output the store lacks.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.errors import NotFound
from mlcore.pipelines.cache import ArtifactRef
from mlcore.pipelines.packs import KIND, PACK_MAX, read_packed, write_pack
from mlcore.pipelines.runs import (
    CachedOutputs,
    RunRecord,
    RunStatus,
    StepError,
    StepRecord,
    StepStatus,
)
from mlcore.store import blobs

if TYPE_CHECKING:
    from mlcore.store import Storage, Tx

__all__ = ["CatalogRunStore", "Journal", "StoreArtifacts"]

_STEP_COLUMNS = (
    "name, step, status, cache_key, cache_hit, attempts, started_at, finished_at, "
    "inputs, outputs, error, reused_from, note"
)
_LATEST = "QUALIFY row_number() OVER (PARTITION BY run_id, name ORDER BY seq DESC) = 1"
_RUN_COLUMNS = (
    "id, pipeline, status, params, steps, source, resumed_from, mlcore_version, actor, "
    "started_at, finished_at"
)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


@dataclass
class _Batch:
    """Step records, outputs (by sha256) and cache entries to write in one transaction."""

    records: dict[tuple[str, str], StepRecord] = field(default_factory=dict)
    outputs: dict[str, bytes] = field(default_factory=dict)
    cache: dict[str, CachedOutputs] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.records or self.outputs or self.cache)

    def absorb(self, newer: _Batch) -> None:
        """Put a failed batch back in front of what arrived since (newer entries win)."""
        for name in ("records", "outputs", "cache"):
            getattr(self, name).update(getattr(newer, name))


class Journal:
    """Catalog writes held back until the next flush (see the module doc), and the
    cache index read once per run.

    Thread-safe: the background timer flushes from its own thread. ``lock``
    guards the batches and the index and is only held for dictionary work;
    flushes are serialised by their own lock, so batches reach the catalog in
    the order they were taken, and no lock is held while waiting for another.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        delay: float = 0.1,
        max_bytes: int = 64 << 20,
        index_limit: int = 10_000,
    ) -> None:
        self.storage = storage
        self.delay = delay
        self.max_bytes = max_bytes
        self.index_limit = index_limit
        self.lock = threading.Lock()
        self.pending = _Batch()
        self.inflight = _Batch()  # taken by a flush that has not committed yet
        #: Where known stored outputs are: a pack's path, or None for a blob.
        #: Registration is never undone, so what is known stays true.
        self.located: dict[str, str | None] = {}
        #: Cache entries read at run start, and those written since.
        self.index: dict[str, CachedOutputs] = {}
        #: Whether ``index`` held the whole cache table when read: misses are then certain.
        self.index_complete = False
        self._flushing = threading.Lock()
        self._seq = itertools.count(1)
        self._timer: threading.Timer | None = None

    # -- holding back ----------------------------------------------------------------

    def add_record(self, run_id: str, record: StepRecord) -> None:
        with self.lock:
            self.pending.records[(run_id, record.name)] = record
            key = record.cache_key
            if record.status is StepStatus.SUCCEEDED and key:
                known = self.index.get(key)
                # A rerun (no_cache) that computed the same outputs adds no entry.
                if known is None or dict(known.outputs) != dict(record.outputs):
                    self.pending.cache[key] = CachedOutputs(
                        run_id, record.name, dict(record.outputs)
                    )
            self._arm()

    def add_output(self, sha: str, data: bytes) -> None:
        with self.lock:
            self.pending.outputs[sha] = data
            self._arm()
            full = sum(map(len, self.pending.outputs.values())) > self.max_bytes
        if full:
            self.flush()

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = threading.Timer(self.delay, self._flush_in_background)
            self._timer.daemon = True
            self._timer.start()

    def _flush_in_background(self) -> None:
        # A failed flush keeps its batch: the next one (at the latest at the run's
        # end, in the running thread) retries it and reports what still fails.
        with contextlib.suppress(Exception):
            self.flush()

    # -- looking up ----------------------------------------------------------------

    def held_output(self, sha: str) -> bytes | None:
        with self.lock:
            return self.pending.outputs.get(sha) or self.inflight.outputs.get(sha)

    def held_entry(self, key: str) -> CachedOutputs | None:
        with self.lock:
            return (
                self.pending.cache.get(key) or self.inflight.cache.get(key) or self.index.get(key)
            )

    def read_index(self, tx: Tx, steps: list[str]) -> None:
        """Read the cache index for a run: all of it while small, else its steps' entries."""
        select = "SELECT cache_key, run_id, step, outputs FROM pipeline_cache"
        newest = " ORDER BY created_at DESC LIMIT ?"
        rows = tx.fetchall(select + newest, [self.index_limit + 1])
        complete = len(rows) <= self.index_limit
        if not complete:
            rows = tx.fetchall(
                select + " WHERE list_contains(?, step)" + newest, [steps, self.index_limit]
            )
        index: dict[str, CachedOutputs] = {}
        for key, run_id, step, outputs in rows:
            if key not in index:  # newest first
                index[key] = CachedOutputs(run_id, step, _refs(outputs))
        located = self.locate(
            tx, [r.sha256 for hit in index.values() for r in hit.outputs.values()]
        )
        with self.lock:
            self.index = index
            self.index_complete = complete
            self.located.update(located)

    @staticmethod
    def locate(tx: Tx, shas: list[str]) -> dict[str, str | None]:
        """Where the outputs a cache entry names are: written with it, so packed or blobs."""
        packed = dict(
            tx.fetchall(
                "SELECT sha256, any_value(path) FROM pipeline_packed "
                "WHERE list_contains(?, sha256) GROUP BY sha256",
                [shas],
            )
            if shas
            else []
        )
        return {sha: packed.get(sha) for sha in shas}

    # -- writing -----------------------------------------------------------------

    def flush(self, then: Callable[[Tx], None] | None = None) -> None:
        """Write everything held back, and ``then(tx)``, in one transaction."""
        with self._flushing:
            with self.lock:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                batch, self.pending = self.pending, _Batch()
                self.inflight = batch
            if not batch and then is None:
                return
            try:
                new = {sha: data for sha, data in batch.outputs.items() if not self.stored(sha)}
                small = {sha: data for sha, data in new.items() if len(data) <= PACK_MAX}
                # Files first, then the catalog: nothing is written inside the transaction.
                pack = write_pack(self.storage, small) if small else None
                large = [self.storage.blobs.write(d) for sha, d in new.items() if sha not in small]
                with self.storage.transaction() as tx:
                    if pack is not None:
                        tx.register_file(pack, kind=KIND, owner="pipelines")
                        rows = [[sha, pack.path, len(data)] for sha, data in small.items()]
                        _insert_many(tx, "pipeline_packed", rows)
                    for sha, size in large:
                        tx.register_blob(sha, size)
                    self._insert_records(tx, batch)
                    self._insert_cache(tx, batch)
                    if then is not None:
                        then(tx)
            except BaseException:
                with self.lock:
                    batch.absorb(self.pending)
                    self.pending, self.inflight = batch, _Batch()
                raise
            with self.lock:
                for sha in new:
                    self.located[sha] = pack.path if pack is not None and sha in small else None
                self.index.update(batch.cache)
                self.inflight = _Batch()

    def stored(self, sha: str) -> bool:
        """Whether ``sha`` is known to be stored, and its file is there (no transaction)."""
        if sha not in self.located:
            return False
        return self.path(sha, self.located[sha]).exists()

    def path(self, sha: str, where: str | None) -> Path:
        """The file holding an output: its pack, or its blob."""
        return self.storage.files.absolute(where) if where else self.storage.blobs.path(sha)

    def _insert_records(self, tx: Tx, batch: _Batch) -> None:
        rows = []
        for (run_id, _), record in batch.records.items():
            rows.append(
                [
                    run_id,
                    record.name,
                    next(self._seq),
                    record.step,
                    str(record.status),
                    record.cache_key,
                    record.cache_hit,
                    record.attempts,
                    record.started_at,
                    record.finished_at,
                    _json(dict(record.inputs)),
                    _json({k: v.to_dict() for k, v in record.outputs.items()}),
                    _json(record.error.to_dict()) if record.error else None,
                    record.reused_from,
                    record.note,
                ]
            )
            if record.status is StepStatus.FAILED and record.error is not None:
                error = record.error
                tx.audit(
                    "pipelines.step_failed",
                    f"run:{run_id}",
                    {"step": record.name, "error": error.type, "message": error.message},
                )
        if rows:
            _insert_many(tx, "pipeline_step_records", rows)

    @staticmethod
    def _insert_cache(tx: Tx, batch: _Batch) -> None:
        rows = [
            [key, hit.run_id, hit.step, _json({k: v.to_dict() for k, v in hit.outputs.items()})]
            for key, hit in batch.cache.items()
        ]
        if rows:
            _insert_many(tx, "pipeline_cache", rows, suffix="now()")


def _refs(outputs: str) -> dict[str, ArtifactRef]:
    return {k: ArtifactRef.from_dict(v) for k, v in json.loads(outputs).items()}


def _insert_many(tx: Tx, table: str, rows: Sequence[Sequence[Any]], suffix: str = "") -> None:
    """One INSERT of many rows (``table`` is a constant of this module, never user text)."""
    marks = ", ".join(["?"] * len(rows[0]) + ([suffix] if suffix else []))
    values = ", ".join([f"({marks})"] * len(rows))
    tx.execute(f"INSERT INTO {table} VALUES {values}", [v for row in rows for v in row])


class StoreArtifacts:
    """Step outputs kept in the store: small ones in pack data files, large ones as blobs.

    Outputs are held in the journal until its next flush stores them; reads
    check the sha256 (CorruptArtifact when a file was altered).
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.storage = journal.storage

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.journal.stored(sha):
            self.journal.add_output(sha, bytes(data))
        return sha

    def get(self, sha256: str) -> bytes:
        held = self.journal.held_output(sha256)
        if held is not None:
            return held
        where = self._where(sha256)
        if where is not None:
            return read_packed(self.storage, where, sha256)
        return self.storage.blobs.read(sha256)

    def exists(self, sha256: str) -> bool:
        if self.journal.held_output(sha256) is not None:
            return True
        try:
            where = self._where(sha256)
        except NotFound:
            return False
        return self.journal.path(sha256, where).exists()

    def local_file(self, sha256: str) -> tuple[Path, bool] | None:
        """The file holding the output and whether it is a pack, for a worker to read
        (the output is written now if still held)."""
        if self.journal.held_output(sha256) is not None:
            self.journal.flush()
        if not self.exists(sha256):
            return None
        where = self._where(sha256)
        return self.journal.path(sha256, where), where is not None

    def _where(self, sha256: str) -> str | None:
        """The pack holding the output, or None for a blob; NotFound if not stored."""
        if sha256 in self.journal.located:
            return self.journal.located[sha256]
        with self.storage.transaction() as tx:
            row = tx.fetchone("SELECT path FROM pipeline_packed WHERE sha256 = ? LIMIT 1", [sha256])
            if row is None:
                blobs.require_registered(tx.con, sha256)
        where = row[0] if row else None
        self.journal.located[sha256] = where
        return where


class CatalogRunStore:
    """Run records in the catalog: ``store.pipelines`` keeps its runs here.

    Starting a run checks the ``pipelines.run`` permission and reads the cache
    index (so that lookups cost no transaction); the start, every failed step
    and the finish are audited (``run:<id>``).
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.storage = journal.storage
        # Each running run's step statuses, for the counts its finish audits.
        self._statuses: dict[str, dict[str, str]] = {}

    def create_run(self, run: RunRecord) -> None:
        steps = [[name, r.step, dict(r.sources)] for name, r in run.steps.items()]
        with self.storage.transaction() as tx:
            tx.require("pipelines.run")
            tx.execute(
                "INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run.id,
                    run.pipeline,
                    str(run.status),
                    _json(run.params),
                    _json(steps),
                    run.source,
                    run.resumed_from,
                    run.mlcore_version,
                    tx.actor,
                    run.started_at,
                    run.finished_at,
                ],
            )
            details = {"pipeline": run.pipeline, "params": run.params, "source": run.source}
            if run.resumed_from:
                details["resumed_from"] = run.resumed_from
            tx.audit("pipelines.run", f"run:{run.id}", details)
            self.journal.read_index(tx, list(run.steps))
        self._statuses[run.id] = {name: str(record.status) for name, record in run.steps.items()}

    def update_step(self, run_id: str, step: StepRecord) -> None:
        self.journal.add_record(run_id, step)
        self._statuses.setdefault(run_id, {})[step.name] = str(step.status)

    def flush(self) -> None:
        self.journal.flush()

    def finish_run(self, run_id: str, status: RunStatus, finished_at: datetime) -> None:
        counts: dict[str, int] = {}
        for step_status in sorted(self._statuses.pop(run_id, {}).values()):
            counts[step_status] = counts.get(step_status, 0) + 1

        def finish(tx: Tx) -> None:
            tx.execute(
                "UPDATE pipeline_runs SET status = ?, finished_at = ? WHERE id = ?",
                [str(status), finished_at, run_id],
            )
            tx.audit("pipelines.finish", f"run:{run_id}", {"status": str(status), "steps": counts})

        self.journal.flush(then=finish)

    def get_run(self, run_id: str) -> RunRecord:
        self.journal.flush()
        with self.storage.transaction() as tx:
            found = self._runs(tx, "WHERE id = ?", [self._resolve(tx, run_id)])
        return found[0]

    def list_runs(self, pipeline: str | None = None, limit: int | None = None) -> list[RunRecord]:
        self.journal.flush()
        where = ""
        params: list[Any] = []
        if pipeline is not None:
            where, params = "WHERE pipeline = ?", [pipeline]
        if limit is not None:
            where += " ORDER BY started_at DESC, id DESC LIMIT ?"
            params.append(int(limit))
        with self.storage.transaction() as tx:
            runs = self._runs(tx, where, params)
        return sorted(runs, key=lambda r: (r.started_at, r.id), reverse=True)

    def find_cached(self, key: str) -> CachedOutputs | None:
        hit = self.journal.held_entry(key)
        if hit is not None or self.journal.index_complete:
            return hit
        with self.storage.transaction() as tx:
            row = tx.fetchone(
                "SELECT run_id, step, outputs FROM pipeline_cache WHERE cache_key = ? "
                "ORDER BY created_at DESC LIMIT 1",
                [key],
            )
            if row is None:
                return None
            hit = CachedOutputs(row[0], row[1], _refs(row[2]))
            located = self.journal.locate(tx, [r.sha256 for r in hit.outputs.values()])
        self.journal.located.update(located)
        return hit

    # -- reading ------------------------------------------------------------------

    def _resolve(self, tx: Tx, run_id: str) -> str:
        """The run id, from itself or a unique prefix or suffix of it."""
        if tx.fetchone("SELECT 1 FROM pipeline_runs WHERE id = ?", [run_id]):
            return run_id
        matches = [
            r
            for (r,) in tx.fetchall(
                "SELECT id FROM pipeline_runs WHERE starts_with(id, ?) OR ends_with(id, ?)",
                [run_id, run_id],
            )
        ]
        if len(matches) == 1 and run_id:
            return matches[0]
        recent = [
            r for (r,) in tx.fetchall("SELECT id FROM pipeline_runs ORDER BY id DESC LIMIT 1000")
        ]
        hint = None
        if len(matches) > 1:
            hint = f"It matches {len(matches)} runs ({', '.join(sorted(matches)[:3])}...): give more of the id"
        raise NotFound("run", run_id, candidates=recent, hint=hint)

    def _runs(self, tx: Tx, where: str, params: list[Any]) -> list[RunRecord]:
        rows = tx.fetchall(f"SELECT {_RUN_COLUMNS} FROM pipeline_runs {where}", params)
        if not rows:
            return []
        ids = [row[0] for row in rows]
        steps: dict[str, dict[str, StepRecord]] = {i: {} for i in ids}
        for run_id, *row in tx.fetchall(
            f"SELECT run_id, {_STEP_COLUMNS} FROM pipeline_step_records "
            f"WHERE list_contains(?, run_id) {_LATEST}",
            [ids],
        ):
            steps[run_id][row[0]] = _step_record(row)
        return [_run_record(row, steps[row[0]]) for row in rows]


def _step_record(row: Sequence[Any]) -> StepRecord:
    (name, step, status, key, hit, attempts, started, finished, inputs, outputs, error,
     reused_from, note) = row  # fmt: skip
    return StepRecord(
        name=name,
        step=step,
        status=StepStatus(status),
        cache_key=key,
        cache_hit=hit,
        attempts=attempts,
        started_at=started,
        finished_at=finished,
        inputs=json.loads(inputs),
        outputs=_refs(outputs),
        error=StepError(**json.loads(error)) if error else None,
        reused_from=reused_from,
        note=note,
    )


def _run_record(row: Sequence[Any], recorded: Mapping[str, StepRecord]) -> RunRecord:
    (run_id, pipeline, status, params, steps, source, resumed_from, version, actor, started,
     finished) = row  # fmt: skip
    return RunRecord(
        id=run_id,
        pipeline=pipeline,
        params=json.loads(params),
        status=RunStatus(status),
        started_at=started,
        finished_at=finished,
        steps={
            name: replace(recorded[name], sources=_sources(rest))
            if name in recorded
            else StepRecord(name, step, sources=_sources(rest))
            for name, step, *rest in json.loads(steps)
        },
        source=source,
        resumed_from=resumed_from,
        mlcore_version=version,
        actor=actor,
    )


def _sources(rest: list[Any]) -> dict[str, str]:
    # Runs recorded before wiring was kept list only [name, step].
    return rest[0] if rest else {}
