"""Windows: which window a production row belongs to, and the window summaries kept per monitor.

A monitor's window is a duration (``"1h"``, ``"1d"``, ``"7d"``...) or
``"batch"``. Time windows are buckets of the rows' timestamps, aligned on a
Monday at midnight UTC (1970-01-05), so ``"1d"`` windows are calendar days and
``"7d"`` windows ISO weeks; their ``window_id`` is the bucket number. A
``"batch"`` window is one observed batch, numbered by the sequence number of
the log file that holds it, so windows are numbered in the order they were
logged.

Per window the catalog keeps a :class:`StoredWindow`: the drift summary of its
rows, the performance counts of its predictions (and of their labels once they
arrive), the number of labelled rows and of change-detector alarms. These are
updated by adding: :func:`merge_into` reads the stored counts, adds a batch's
and writes them back, inside the caller's transaction.

Examples
--------
>>> spec = WindowSpec.parse("1d")
>>> import numpy as np
>>> day = 86_400_000_000  # microseconds
>>> spec.bucket_ids(np.array([0, day - 1, day])).tolist()  # 1970-01-01 is 4 days before the origin
[-4, -4, -3]
>>> [t.isoformat() for t in spec.bounds(0)]
['1970-01-05T00:00:00+00:00', '1970-01-06T00:00:00+00:00']
>>> WindowSpec.parse("batch").width is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcore.durations import parse_duration
from mlcore.errors import InvalidInput
from mlcore.monitoring import codec
from mlcore.monitoring.performance import ClassificationWindow, RegressionWindow
from mlcore.monitoring.summary import WindowSummary

if TYPE_CHECKING:
    from mlcore.store.storage import Tx

__all__ = ["ORIGIN", "Increment", "StoredWindow", "WindowSpec", "merge_into", "read"]

#: Time windows are aligned on this Monday, so that 7-day windows are ISO weeks.
ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)
_ORIGIN_US = 4 * 86_400_000_000

Performance = ClassificationWindow | RegressionWindow


@dataclass(frozen=True)
class WindowSpec:
    """A monitor's window: a duration, or None for one window per observed batch."""

    text: str
    width: timedelta | None

    @classmethod
    def parse(cls, text: str) -> WindowSpec:
        value = "".join(str(text).split()).lower()
        if value == "batch":
            return cls("batch", None)
        try:
            width = parse_duration(value, field="window")
        except InvalidInput:
            raise InvalidInput(
                f"window {text!r} is not a duration or 'batch'",
                hint="Use e.g. 1h, 1d, 7d, 2w, or 'batch' for one window per observed batch",
                field="window",
            ) from None
        return cls(value, width)

    @property
    def width_us(self) -> int:
        assert self.width is not None
        return self.width // timedelta(microseconds=1)

    def bucket_ids(self, epoch_us: np.ndarray) -> np.ndarray:
        """The window of each timestamp, given in microseconds since the Unix epoch."""
        return (np.asarray(epoch_us, dtype=np.int64) - _ORIGIN_US) // self.width_us

    def bounds(self, window_id: int) -> tuple[datetime, datetime]:
        """Start (inclusive) and end (exclusive) of a time window."""
        assert self.width is not None
        start = ORIGIN + int(window_id) * self.width
        return start, start + self.width


@dataclass(eq=False)
class Increment:
    """What one batch adds to one window; ``window_id`` None means "the batch's own window"."""

    window_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    summary: WindowSummary | None = None
    performance: Performance | None = None
    labelled: int = 0
    changes: int = 0


@dataclass(eq=False)
class StoredWindow:
    """One window of a monitor, as the catalog holds it."""

    monitor: str
    window_id: int
    starts_at: datetime
    ends_at: datetime
    rows: int
    labelled: int
    changes: int
    summary: WindowSummary
    performance: Performance | None
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Counts and bounds (the summary itself is in ``summary.to_dict()``)."""
        return {
            "monitor": self.monitor,
            "window": self.window_id,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "rows": self.rows,
            "labelled": self.labelled,
            "changes": self.changes,
            "updated_at": self.updated_at,
        }


_COLUMNS = (
    "window_id, starts_at, ends_at, n_rows, n_labelled, n_changes, summary, performance, updated_at"
)


def read(
    tx: Tx,
    monitor: str,
    *,
    ids: Sequence[int] | None = None,
    last: int | None = None,
    since: datetime | None = None,
    upto: int | None = None,
) -> list[tuple[Any, ...]]:
    """Stored rows of a monitor's windows, oldest first; decode them with :func:`decode`.

    ``ids`` picks windows; ``since`` those ending after a time; ``upto`` those
    numbered at most ``upto``; ``last`` keeps the newest ``last`` of the rest.
    """
    sql = f"SELECT {_COLUMNS} FROM monitor_windows WHERE monitor = ?"
    params: list[Any] = [monitor]
    if ids is not None:
        sql += " AND list_contains(?, window_id)"
        params.append([int(i) for i in ids])
    if since is not None:
        sql += " AND ends_at > ?"
        params.append(since)
    if upto is not None:
        sql += " AND window_id <= ?"
        params.append(int(upto))
    sql += " ORDER BY window_id DESC"
    if last is not None:
        sql += " LIMIT ?"
        params.append(int(last))
    return tx.fetchall(sql, params)[::-1]


def decode(monitor: str, rows: Iterable[tuple[Any, ...]]) -> list[StoredWindow]:
    """Turn rows from :func:`read` into windows (outside the transaction: it is the slow part)."""
    out = []
    for wid, start, end, n, labelled, changes, summary, performance, updated in rows:
        out.append(
            StoredWindow(
                monitor, int(wid), start, end, int(n), int(labelled), int(changes),
                WindowSummary.from_dict(codec.unpack(summary)),
                None if performance is None else _performance(codec.unpack(performance)),
                updated,
            )
        )  # fmt: skip
    return out


def merge_into(tx: Tx, monitor: str, increments: Sequence[Increment], now: datetime) -> list[int]:
    """Add increments to the stored windows (creating them); return the window ids touched.

    Runs inside the caller's transaction: one read of the windows concerned,
    then one write each. Increments without a ``window_id`` get ``batch_id``
    set by the caller first.
    """
    ids = [inc.window_id for inc in increments]
    if any(i is None for i in ids):
        raise ValueError("every increment needs a window id before it is merged")
    stored = {row[0]: row for row in read(tx, monitor, ids=ids)}  # type: ignore[arg-type]
    for inc in increments:
        row = stored.get(inc.window_id)
        if row is None:
            starts_at, ends_at = inc.starts_at, inc.ends_at
            labelled, changes = 0, 0
            summary, performance = inc.summary, inc.performance
        else:
            _, starts_at, ends_at, _, labelled, changes, old_summary, old_perf, _ = row
            starts_at = min(starts_at, inc.starts_at or starts_at)
            ends_at = max(ends_at, inc.ends_at or ends_at)
            summary = _add(WindowSummary.from_dict(codec.unpack(old_summary)), inc.summary)
            before = None if old_perf is None else _performance(codec.unpack(old_perf))
            performance = _add(before, inc.performance)
        if summary is None or starts_at is None:
            raise ValueError(f"window {inc.window_id} was never observed: nothing to label")
        tx.execute(
            "INSERT OR REPLACE INTO monitor_windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                monitor,
                inc.window_id,
                starts_at,
                ends_at,
                summary.rows,
                labelled + inc.labelled,
                changes + inc.changes,
                codec.pack(summary.to_dict()),
                None if performance is None else codec.pack(_performance_dict(performance)),
                now,
            ],
        )
    return [int(i) for i in ids]  # type: ignore[arg-type]


def _add(stored: Any, extra: Any) -> Any:
    if stored is None:
        return extra
    return stored if extra is None else stored.merge(extra)


def _performance_dict(window: Performance) -> dict[str, Any]:
    kind = "classification" if isinstance(window, ClassificationWindow) else "regression"
    return {"task": kind, **window.to_dict()}


def _performance(data: dict[str, Any]) -> Performance:
    reader = ClassificationWindow if data.pop("task") == "classification" else RegressionWindow
    return reader.from_dict(data)
