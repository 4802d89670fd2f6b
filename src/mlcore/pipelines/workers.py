"""Worker processes, and what one attempt of a step is wherever it runs.

:func:`run_attempt` calls a step's function and encodes its outputs; the parent
process calls it directly for steps it runs itself, and a worker calls it for
the :class:`Task` it receives. A :class:`WorkerPool` keeps worker processes
started with ``forkserver`` (``spawn`` where that is missing), never ``fork``:
a forked child would inherit the parent's open DuckDB connection and threads.

Inputs reach a worker as values, as :class:`Encoded` artifact bytes, or as a
:class:`StoredInput`: the path of a stored artifact that the worker reads (and
checks against its sha256) itself, so a large frame does not travel through
the pipe. Workers read artifact files; they never touch the catalog.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import pickle
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlcore.errors import CorruptArtifact, InvalidInput, MlcoreError
from mlcore.pipelines.cache import decode, encode
from mlcore.pipelines.runs import StepError
from mlcore.pipelines.step import Step, StepLocation

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from mlcore.pipelines.pipeline import Node

__all__ = ["Encoded", "Outcome", "StoredInput", "Task", "WorkerPool", "failure", "run_attempt"]


@dataclass(frozen=True)
class Encoded:
    """An input sent to a worker as artifact bytes; decoded there."""

    kind: str
    data: bytes

    def value(self) -> Any:
        return decode(self.kind, self.data)


@dataclass(frozen=True)
class StoredInput:
    """An input sent to a worker as the file holding its stored artifact: the
    artifact's own file, or a pack of small outputs (``packed``)."""

    kind: str
    path: str
    sha256: str
    packed: bool = False

    def value(self) -> Any:
        if self.packed:
            from mlcore.pipelines.packs import read_pack_file

            data = read_pack_file(self.path, self.sha256) or b""
        else:
            data = Path(self.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise CorruptArtifact(
                f"artifact {self.sha256[:12]} at {self.path} does not match its hash",
                hint="Rerun the step that produced it with no_cache",
            )
        return decode(self.kind, data)


@dataclass
class Outcome:
    """The result of one attempt, as a worker sends it back."""

    ok: bool
    started: float
    finished: float
    encoded: list[tuple[str, bytes]] = field(default_factory=list)
    live: dict[str, Any] | None = None
    error: StepError | None = None
    retryable: bool = True


def failure(exc: BaseException, started: float, *, retryable: bool | None = None) -> Outcome:
    """A failed attempt; errors mlcore raises on purpose are not retried by default."""
    details = exc.to_dict() if isinstance(exc, MlcoreError) else None
    error = StepError(
        type(exc).__name__, str(exc), "".join(traceback.format_exception(exc)), details
    )
    if retryable is None:
        retryable = not isinstance(exc, MlcoreError)
    return Outcome(False, started, time.time(), error=error, retryable=retryable)


def run_attempt(step: Step, node: str, kwargs: dict[str, Any], *, keep_live: bool) -> Outcome:
    """Call the step's function and encode its outputs; never raises an Exception."""
    started = time.time()
    try:
        values = step.split_outputs(step.fn(**kwargs))
        encoded = [encode(v, step=node) for v in values]
    except Exception as exc:
        return failure(exc, started)
    live = None
    if keep_live:
        # JSON outputs are left out: the executor hands them on decoded from their bytes.
        live = {
            name: value
            for name, value, (kind, _) in zip(step.outputs, values, encoded, strict=True)
            if kind != "json"
        }
    return Outcome(True, started, time.time(), encoded=encoded, live=live)


@dataclass
class Task:
    """What a worker needs to run one attempt: where the step lives, its inputs."""

    node: str
    step: str
    outputs: tuple[str, ...]
    location: StepLocation
    kwargs: dict[str, Any]

    @classmethod
    def of(cls, node: Node, kwargs: dict[str, Any]) -> Task:
        location = StepLocation.of(node.step, node=node.name)
        return cls(node.name, node.step.name, node.step.outputs, location, kwargs)

    def step_to_run(self) -> Step:
        return Step(self.location.load(), name=self.step, outputs=self.outputs)

    def arguments(self) -> dict[str, Any]:
        return {
            k: v.value() if isinstance(v, Encoded | StoredInput) else v
            for k, v in self.kwargs.items()
        }


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Keep multiprocessing from re-running the main script in a new worker.

    spawn and forkserver children normally execute ``__main__`` again, so a
    script without a ``__main__`` guard would start its run again in every
    worker (and crash it). Workers import what they need themselves (see
    :class:`~mlcore.pipelines.step.StepLocation`), so they are told the main
    module is not importable.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


def _worker_main(conn: Connection) -> None:
    """A worker's life: receive a task, run it, send ("started", t) then ("done", outcome)."""
    while True:
        try:
            task = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            step = task.step_to_run()
            kwargs = task.arguments()
        except Exception as exc:
            # Not importable or not readable: retrying would fail the same way.
            conn.send(("done", failure(exc, time.time(), retryable=False)))
            continue
        conn.send(("started", time.time()))
        conn.send(("done", run_attempt(step, task.node, kwargs, keep_live=False)))


@dataclass
class _Running:
    process: Any
    conn: Connection
    node: str
    timeout: float | None
    submitted: float
    deadline: float | None = None


class WorkerPool:
    """Worker processes started on demand, each running one task at a time.

    Timeouts count from the moment the worker starts the step's function, not
    from submission: starting a process and importing the step's module is not
    the step's time.
    """

    def __init__(self) -> None:
        import multiprocessing  # here: only runs with workers pay for the import

        self._context = (
            multiprocessing.get_context("forkserver")
            if "forkserver" in multiprocessing.get_all_start_methods()
            else multiprocessing.get_context("spawn")
        )
        self._idle: list[tuple[Any, Connection]] = []
        self._running: dict[Connection, _Running] = {}

    @property
    def busy(self) -> int:
        return len(self._running)

    def submit(self, node: str, task: Task, timeout: float | None) -> None:
        try:
            data = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise InvalidInput(
                f"step '{node}' inputs cannot be sent to a worker process: {exc}",
                hint="Pass plain data, frames or models",
            ) from exc
        process, conn = self._idle.pop() if self._idle else self._spawn()
        try:
            conn.send_bytes(data)
        except OSError:  # an idle worker died since its last task: start another
            self._discard(process, conn)
            process, conn = self._spawn()
            conn.send_bytes(data)
        self._running[conn] = _Running(process, conn, node, timeout, time.time())

    def _spawn(self) -> tuple[Any, Connection]:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child,), daemon=True)
        with _main_not_reimported():
            process.start()
        child.close()  # so that a dying worker shows up as EOF on ``parent``
        return process, parent

    def wait(self, until: float | None) -> list[tuple[str, Outcome]]:
        """Block until a task finishes, a deadline passes, or ``until`` (monotonic)."""
        from multiprocessing.connection import wait

        moments = [r.deadline for r in self._running.values() if r.deadline is not None]
        if until is not None:
            moments.append(until)
        timeout = max(0.0, min(moments) - time.monotonic()) if moments else None
        finished: list[tuple[str, Outcome]] = []
        # wait() hands back some of the objects it was given, all of them Connections
        # here; its stub cannot tie the result to the argument's type.
        for conn in cast("list[Connection]", wait(list(self._running), timeout)):
            running = self._running[conn]
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                finished.append((running.node, self._died(running)))
                continue
            if kind == "started":
                if running.timeout is not None:
                    running.deadline = time.monotonic() + running.timeout
                continue
            del self._running[running.conn]
            self._idle.append((running.process, running.conn))
            finished.append((running.node, payload))
        now = time.monotonic()
        for running in list(self._running.values()):
            if running.deadline is not None and now >= running.deadline:
                self._stop(running)
                error = StepError(
                    "TimeoutError",
                    f"step '{running.node}' ran past its timeout of {running.timeout:g} s "
                    "and its worker process was stopped",
                )
                finished.append(
                    (running.node, Outcome(False, running.submitted, time.time(), error=error))
                )
        return finished

    def _died(self, running: _Running) -> Outcome:
        self._stop(running)  # joins, so that the exit code is known
        error = StepError(
            "WorkerDied",
            f"the worker process running step '{running.node}' died "
            f"(exit code {running.process.exitcode})",
        )
        return Outcome(False, running.submitted, time.time(), error=error)

    def _stop(self, running: _Running) -> None:
        del self._running[running.conn]
        self._discard(running.process, running.conn)

    @staticmethod
    def _discard(process: Any, conn: Connection) -> None:
        process.kill()
        process.join(timeout=5)
        conn.close()

    def close(self) -> None:
        for running in list(self._running.values()):
            self._stop(running)
        for _, conn in self._idle:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process, conn in self._idle:
            process.join(timeout=2)
            self._discard(process, conn)  # kills only a worker that did not stop
        self._idle.clear()
