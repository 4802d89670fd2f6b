"""The catalog: one DuckDB file of metadata, held only while a process works.

DuckDB lets one process hold a database file read-write and locks every other
process out, readers included. So a process keeps its connection across
closely following transactions (opening costs ~10 ms, closing ~5 ms, a small
transaction ~1 ms) and lets go:

* when idle for ``idle_release`` seconds (a reaper thread closes it),
* when another process is queued and this one has held the file for
  ``max_hold`` seconds (checked between transactions),
* at exit.

Waiting processes queue in ``<store>/.queue/`` — one empty file per waiter,
named by its arrival time — and only the oldest live waiter tries to open the
file. That makes the hand-over first come, first served: with several busy
writers nobody waits more than a few holds. A failed attempt is retried with
jittered backoff until ``lock_timeout``, then :class:`StoreBusy` names the store
and the pid DuckDB reports as the holder.

DuckDB's own file lock is not enough to hand over safely: a process closing
the file checkpoints it (rewrites and may truncate it) and another process
could open the file before that work had finished, reading a header that
pointed past the end of the truncated file. So mlcore processes also hold an
exclusive ``flock`` on ``<store>/catalog.lock`` from before they connect until
after ``close()`` has returned; the file holds the holder's pid for error
messages. One :class:`Catalog` is shared by every store object of a process
opened on the same path (:meth:`Catalog.shared`), so a process never queues
behind itself.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.errors import StoreBusy, StoreIncompatible

if TYPE_CHECKING:
    import duckdb

_HOLDER_PID = re.compile(r"PID (\d+)")
_QUEUE_DIR = ".queue"


def _is_lock_conflict(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Queue:
    """First-come-first-served hand-over of the catalog between processes."""

    def __init__(self, root: Path) -> None:
        self.dir = root / _QUEUE_DIR
        self.ticket: Path | None = None

    def join(self) -> None:
        self.dir.mkdir(exist_ok=True)
        self.ticket = self.dir / f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}"
        self.ticket.touch()

    def leave(self) -> None:
        if self.ticket is not None:
            with contextlib.suppress(FileNotFoundError):
                self.ticket.unlink()
            self.ticket = None

    def others_waiting(self) -> bool:
        return self.waiting() > 0

    def waiting(self) -> int:
        """How many processes are queued (stale tickets included until swept)."""
        try:
            with os.scandir(self.dir) as it:
                return sum(1 for _ in it)
        except FileNotFoundError:
            return 0

    def my_turn(self) -> bool:
        """True when this waiter is the oldest live one (stale tickets are swept)."""
        assert self.ticket is not None
        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return True
        for name in names:
            if name == self.ticket.name:
                return True
            try:
                pid = int(name.split("-")[1])
            except (IndexError, ValueError):
                pid = -1
            if pid > 0 and _pid_alive(pid):
                return False
            with contextlib.suppress(FileNotFoundError):
                (self.dir / name).unlink()  # a waiter that died in line
        return True


_MIN_HOLD = 0.02


def hold_budget(max_hold: float, waiting: int) -> float:
    """How long to keep the catalog while ``waiting`` processes queue.

    The full ``max_hold`` with one waiter, less with more, so that a whole
    rotation through the queue (each hold plus a ~50 ms hand-over) stays about a
    second however many processes write at once.

    >>> [round(hold_budget(0.25, n), 3) for n in (1, 3, 7, 30)]
    [0.25, 0.125, 0.062, 0.02]
    """
    return min(max_hold, max(_MIN_HOLD, 2 * max_hold / (waiting + 1)))


class Catalog:
    """Short transactions on the store's catalog file.

    >>> import tempfile, pathlib
    >>> cat = Catalog(pathlib.Path(tempfile.mkdtemp()) / "catalog.duckdb")
    >>> with cat.transaction() as tx:
    ...     _ = tx.execute("CREATE TABLE t (x INTEGER)")
    ...     _ = tx.execute("INSERT INTO t VALUES (1), (2)")
    >>> with cat.transaction() as tx:
    ...     tx.execute("SELECT sum(x) FROM t").fetchone()
    (3,)
    >>> cat.close()
    """

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout: float = 30.0,
        idle_release: float = 0.05,
        max_hold: float = 0.25,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.idle_release = idle_release
        self.max_hold = max_hold
        self._queue = _Queue(self.path.parent)
        self._lock_path = self.path.with_suffix(".lock")
        self._lock_fd: int | None = None
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._opened_at = 0.0
        self._last_used = 0.0
        self.cache: dict[str, Any] = {}
        self.stats = {"opens": 0, "transactions": 0, "waited_s": 0.0, "max_wait_s": 0.0}
        _live_catalogs.add(self)

    def __del__(self) -> None:
        # A catalog dropped while connected must still close before unlocking.
        with contextlib.suppress(Exception):
            if self._con is not None:
                self._con.close()
            self._unlock()

    @classmethod
    def shared(cls, path: Path, **options: Any) -> Catalog:
        """The process's catalog for ``path`` (created on first use; options update it)."""
        key = os.path.realpath(path)
        with _shared_lock:
            cat = _shared.get(key)
            if cat is None:
                cat = _shared[key] = cls(path, **options)
            else:
                for name, value in options.items():
                    setattr(cat, name, value)
            return cat

    # -- connection lifetime -------------------------------------------------

    def _try_lock(self) -> str | None:
        """Take the hand-over lock; return None on success, else who holds it."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            finally:
                os.close(fd)
            return f"pid {holder}" if holder.isdigit() else "another process"
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd
        return None

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _open(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        start = time.monotonic()
        delay = 0.001
        holder: str | None = None
        # Queue behind processes already waiting, so that letting go after
        # max_hold really hands the catalog over instead of grabbing it back.
        queued = self._queue.others_waiting()
        if queued:
            self._queue.join()
        try:
            while True:
                first = not queued or self._queue.my_turn()
                if first and (holder := self._try_lock()) is None:
                    try:
                        con = duckdb.connect(str(self.path))
                        break
                    except duckdb.Error as exc:
                        self._unlock()
                        if not _is_lock_conflict(exc):
                            raise StoreIncompatible(
                                f"cannot open catalog {self.path}: {exc}",
                                hint="Check the path; `mlcore init` creates a store",
                            ) from exc
                        # held by a process outside mlcore's protocol (a DuckDB shell)
                        m = _HOLDER_PID.search(str(exc))
                        holder = f"pid {m.group(1)}" if m else None
                if not queued:
                    self._queue.join()
                    queued = True
                waited = time.monotonic() - start
                if waited > self.lock_timeout:
                    raise StoreBusy(str(self.path.parent), waited=waited, holder=holder)
                # The head of the queue polls the lock closely (a cheap syscall) so a
                # hand-over costs little; the rest back off with jitter.
                time.sleep(0.001 if first else delay * random.uniform(0.5, 1.0))
                delay = min(delay * 1.6, 0.02)
        finally:
            self._queue.leave()
        waited = time.monotonic() - start
        self.stats["opens"] += 1
        self.stats["waited_s"] += waited
        self.stats["max_wait_s"] = max(self.stats["max_wait_s"], waited)
        con.execute("SET TimeZone = 'UTC'")
        # Catalog statements are tiny; one thread halves their fixed cost.
        con.execute("SET threads = 1")
        # Facts cached while the file is held (audit head, roles): nobody else
        # can write meanwhile. A new connection or a rollback forgets them.
        self.cache.clear()
        self._opened_at = time.monotonic()
        _Reaper.wake()
        return con

    def _release_locked(self) -> None:
        if self._con is not None and self._depth == 0:
            con, self._con = self._con, None
            try:
                con.close()  # checkpoints: must finish before anyone else may open
            finally:
                self._unlock()

    def release(self) -> None:
        """Let go of the catalog now if no transaction is running."""
        with self._lock:
            self._release_locked()

    def close(self) -> None:
        """Release the catalog now; the object stays usable (it reopens on demand)."""
        self.release()

    def release_if_idle(self, now: float) -> float | None:
        """Let go if idle long enough; else return when to look again (None: nothing held)."""
        if not self._lock.acquire(blocking=False):
            return now + self.idle_release  # busy right now
        try:
            if self._con is None:
                return None
            if self._depth == 0 and now - self._last_used >= self.idle_release:
                self._release_locked()
                return None
            return max(self._last_used + self.idle_release, now + 0.001)
        finally:
            self._lock.release()

    # -- transactions -----------------------------------------------------------

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The process's connection, held for the duration of the block."""
        with self._lock:
            if self._depth == 0:
                self._maybe_yield_turn()
                if self._con is None:
                    self._con = self._open()
            self._depth += 1
            try:
                yield self._con  # type: ignore[misc]
            finally:
                self._depth -= 1
                self._last_used = time.monotonic()

    def _maybe_yield_turn(self) -> None:
        held = time.monotonic() - self._opened_at
        if self._con is None or held < _MIN_HOLD:
            return
        waiting = self._queue.waiting()
        if waiting and held > hold_budget(self.max_hold, waiting):
            self._release_locked()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A catalog transaction: commits on success, rolls back on any error.

        Nested calls on the same thread join the outer transaction.
        """
        with self.connection() as con:
            if self._depth > 1:
                yield con
                return
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                self.cache.clear()
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            self.stats["transactions"] += 1

    def in_transaction(self) -> bool:
        return self._depth > 0 and self._lock._is_owned()  # type: ignore[attr-defined]

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one read statement in its own short transaction."""
        with self.transaction() as con:
            return con.execute(sql, params or []).fetchall()

    def _after_fork_in_child(self) -> None:
        # The child shares the parent's file descriptor but not its lock; drop the
        # connection without closing it (closing could disturb the parent's file).
        _orphans.append(self._con)
        self._con = None
        self._depth = 0
        if self._lock_fd is not None:
            # Closing our copy keeps the parent's flock; unlocking would release it.
            os.close(self._lock_fd)
            self._lock_fd = None
        self._lock = threading.RLock()


class _Reaper:
    """One daemon thread for the process that closes idle catalog connections."""

    cond = threading.Condition()
    thread: threading.Thread | None = None
    stopping = False

    @classmethod
    def wake(cls) -> None:
        with cls.cond:
            if cls.thread is None or not cls.thread.is_alive():
                cls.thread = threading.Thread(
                    target=cls.run, name="mlcore-catalog-reaper", daemon=True
                )
                cls.thread.start()
            cls.cond.notify_all()

    @classmethod
    def run(cls) -> None:
        while True:
            next_look: float | None = None
            for cat in list(_live_catalogs):
                when = cat.release_if_idle(time.monotonic())
                if when is not None:
                    next_look = when if next_look is None else min(next_look, when)
            with cls.cond:
                if cls.stopping:
                    return
                timeout = None if next_look is None else max(next_look - time.monotonic(), 0.001)
                cls.cond.wait(timeout)
                if cls.stopping:
                    return

    @classmethod
    def stop(cls) -> None:
        with cls.cond:
            cls.stopping = True
            cls.cond.notify_all()
        if cls.thread is not None:
            cls.thread.join(timeout=5)


_live_catalogs: weakref.WeakSet[Catalog] = weakref.WeakSet()
_shared: dict[str, Catalog] = {}
_shared_lock = threading.Lock()
_orphans: list[Any] = []


@atexit.register
def _release_all() -> None:
    # Stop the reaper before the interpreter finalises: a daemon thread caught
    # inside DuckDB's C++ close() at shutdown aborts the whole process.
    _Reaper.stop()
    for cat in list(_live_catalogs):
        with contextlib.suppress(Exception):
            cat.close()


def _reset_after_fork() -> None:
    _Reaper.cond = threading.Condition()
    _Reaper.thread = None
    for cat in list(_live_catalogs):
        cat._after_fork_in_child()


os.register_at_fork(after_in_child=_reset_after_fork)
