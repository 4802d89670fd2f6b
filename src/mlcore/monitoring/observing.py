"""The writes of production monitoring: a batch observed, labels logged.

Both follow the store's rule — heavy work outside, a short transaction to
record it: the batch is checked and summarised (or the labels joined to the
logs) first, the Parquet file is written and fsynced, and only then one catalog
transaction registers the file and adds the counts into the stored windows. A
failure anywhere before the commit leaves the windows as they were; the file
is removed (or, if the process died, left unreferenced for ``mlcore gc``).

Labels read the logs before their transaction, so another job may log labels
meanwhile: the transaction checks that the label files it joined against are
still all there are, and otherwise the join is made again (:class:`Retry`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcore.monitoring import logs
from mlcore.monitoring.definition import Monitor, new_detector
from mlcore.monitoring.performance import ClassificationWindow, RegressionWindow
from mlcore.monitoring.windows import Increment, merge_into

if TYPE_CHECKING:
    import polars as pl

    from mlcore.monitoring.alerts import Alert
    from mlcore.monitoring.calibration import Calibration
    from mlcore.monitoring.profile import ReferenceProfile
    from mlcore.monitoring.report import DriftReport
    from mlcore.store.files import DataFile
    from mlcore.store.storage import Storage

__all__ = ["Labelling", "Observation", "Retry", "log_labels", "observe"]


@dataclass
class Observation:
    """What ``observe`` did with one batch; ``report`` is the batch's own drift report."""

    monitor: str
    rows: int
    windows: list[int] = field(default_factory=list)
    file: str | None = None
    unexpected_columns: tuple[str, ...] = ()
    all_null_columns: list[str] = field(default_factory=list)
    null_predictions: int = 0
    report: DriftReport | None = None
    alerts: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        """True when the batch itself drifted from the reference (dataset-level decision)."""
        return self.report is not None and self.report.drift

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "rows": self.rows,
            "windows": self.windows,
            "file": self.file,
            "drift": self.drift,
            "drifted_columns": [] if self.report is None else self.report.drifted_columns,
            "unexpected_columns": list(self.unexpected_columns),
            "all_null_columns": self.all_null_columns,
            "null_predictions": self.null_predictions,
            "report": None if self.report is None else self.report.to_dict(),
            "alerts": [a.to_dict() for a in self.alerts],
            "resolved": [a.to_dict() for a in self.resolved],
        }


@dataclass
class Labelling:
    """What ``log_labels`` did: how many labels joined a logged prediction, and where."""

    monitor: str
    received: int
    labelled: int = 0
    already_labelled: int = 0
    unmatched: int = 0
    unmatched_ids: list[str] = field(default_factory=list)
    windows: list[int] = field(default_factory=list)
    changes: dict[int, int] = field(default_factory=dict)
    file: str | None = None
    alerts: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "received": self.received,
            "labelled": self.labelled,
            "already_labelled": self.already_labelled,
            "unmatched": self.unmatched,
            "unmatched_ids": self.unmatched_ids,
            "windows": self.windows,
            "changes": {str(k): v for k, v in self.changes.items()},
            "file": self.file,
            "alerts": [a.to_dict() for a in self.alerts],
            "resolved": [a.to_dict() for a in self.resolved],
        }


class Retry(Exception):
    """Labels were logged by someone else meanwhile: join again."""


def observe(
    storage: Storage,
    monitor: Monitor,
    profile: ReferenceProfile,
    calibration: Calibration | None,
    batch: Any,
    *,
    timestamp_column: str | None,
    request_id: str | None,
) -> Observation:
    """Log ``batch`` and add it into its windows (alert rules are the caller's next step)."""
    from mlcore.monitoring.report import drift_report

    now = datetime.now(UTC)
    prepared = logs.prepare_batch(
        monitor, profile, batch, timestamp_column=timestamp_column, request_id=request_id, now=now
    )
    if prepared is None:
        return Observation(monitor.name, 0)
    datafile = logs.write(storage, prepared.frame)
    with _removed_on_failure(storage, datafile), storage.transaction() as tx:
        tx.require("monitors.observe")
        datafile = tx.register_file(datafile, kind="monitoring", owner=monitor.log_owner)
        for inc in prepared.increments:
            inc.window_id = datafile.seq if inc.window_id is None else inc.window_id
        ids = merge_into(tx, monitor.name, prepared.increments, now)
        tx.audit(
            "monitor.observe",
            monitor.subject,
            {"rows": prepared.frame.height, "windows": ids, "file": datafile.path,
             "sha256": datafile.sha256},
        )  # fmt: skip
    report = drift_report(
        profile, prepared.summary, calibration=calibration,
        method=monitor.settings["method"], alpha=monitor.settings["alpha"],
    )  # fmt: skip
    return Observation(
        monitor.name, prepared.frame.height, ids, datafile.path,
        prepared.summary.unexpected_columns, prepared.all_null_columns,
        prepared.null_predictions, report,
    )  # fmt: skip


def log_labels(storage: Storage, monitor: Monitor, labels: pl.DataFrame) -> Labelling:
    """Join checked ``labels`` to the logs and add them into their windows; Retry on a race."""
    with storage.transaction() as tx:
        predictions = tx.visible_files("monitoring", [monitor.log_owner])
        labelled = tx.visible_files("monitoring", [monitor.label_owner])
        row = tx.fetchone("SELECT detector_state FROM monitors WHERE name = ?", [monitor.name])
    state = None if row is None or row[0] is None else json.loads(row[0])
    join = logs.join_labels(storage, monitor, labels, predictions, labelled)
    result = Labelling(
        monitor.name, join.received, join.pairs.height, join.already_labelled, join.unmatched,
        join.unmatched_ids,
    )  # fmt: skip
    if not join.pairs.height:
        return result
    increments, changes, state = _label_increments(monitor, join.pairs, state)
    now = datetime.now(UTC)
    stored = join.pairs.select(logs.REQUEST_ID, logs.LABEL, logs.WINDOW).with_columns(
        _labelled_at(now)
    )
    datafile = logs.write(storage, stored)
    with _removed_on_failure(storage, datafile), storage.transaction() as tx:
        tx.require("monitors.observe")
        now_seen = tx.visible_files("monitoring", [monitor.label_owner])
        if [f.seq for f in now_seen] != [f.seq for f in labelled]:
            raise Retry
        datafile = tx.register_file(datafile, kind="monitoring", owner=monitor.label_owner)
        ids = merge_into(tx, monitor.name, increments, now)
        tx.execute(
            "UPDATE monitors SET detector_state = ? WHERE name = ?",
            [None if state is None else json.dumps(state), monitor.name],
        )
        tx.audit(
            "monitor.labels",
            monitor.subject,
            {"labelled": join.pairs.height, "windows": ids, "file": datafile.path,
             "changes": {str(k): v for k, v in changes.items()}},
        )  # fmt: skip
    result.windows, result.changes, result.file = ids, changes, datafile.path
    return result


@contextlib.contextmanager
def _removed_on_failure(storage: Storage, datafile: DataFile) -> Iterator[None]:
    """Delete a written but unregistered file when the transaction recording it fails."""
    try:
        yield
    except BaseException:
        storage.files.absolute(datafile.path).unlink(missing_ok=True)
        raise


def _labelled_at(now: datetime) -> Any:
    import polars as pl

    return pl.lit(now).cast(pl.Datetime("us", "UTC")).alias(logs.LABELLED_AT)


def _label_increments(
    monitor: Monitor, pairs: pl.DataFrame, state: dict[str, Any] | None
) -> tuple[list[Increment], dict[int, int], dict[str, Any] | None]:
    """Per-window performance of labelled pairs, change alarms, and the detector's new state."""
    assert monitor.prediction is not None
    p = pairs[monitor.prediction].to_numpy().astype(np.float64)
    y = pairs[logs.LABEL].to_numpy().astype(np.float64)
    window = pairs[logs.WINDOW].to_numpy()
    if monitor.task == "classification":
        errors = ((p >= monitor.threshold) != (y == 1.0)).astype(np.float64)
    else:
        errors = np.abs(p - y)
    spec = monitor.settings.get("detector")
    changes: dict[int, int] = {}
    if spec is not None:
        detector = new_detector(spec, state)
        for index in detector.update(errors):
            changes[int(window[index])] = changes.get(int(window[index]), 0) + 1
        state = detector.to_dict()
    increments = []
    for wid in dict.fromkeys(window.tolist()):
        mask = window == wid
        perf: ClassificationWindow | RegressionWindow
        if monitor.task == "classification":
            perf = ClassificationWindow(monitor.threshold, monitor.score_bins)
            perf.label(p[mask], y[mask])
        else:
            perf = RegressionWindow.observe(y[mask], p[mask])
        changed = changes.get(int(wid), 0)
        increments.append(Increment(int(wid), None, None, None, perf, int(mask.sum()), changed))
    return increments, changes, state
