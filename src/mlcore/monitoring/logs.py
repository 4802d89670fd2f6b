"""Production logs: the rows a monitor observed, and the labels joined to them later.

Every observed batch becomes one immutable Parquet file (kind ``monitoring``,
owner ``monitor:<name>``) holding the profiled columns, the prediction, and
three columns of mlcore's own: ``_request_id`` (text, null when the batch had
none) and ``_timestamp`` (the row's event time, or the time it was logged),
rows sorted by ``_timestamp``. Columns the profile does not know are not
logged; they are counted in the window summary's ``unexpected_columns``.

Labels arrive later, keyed by request id. :func:`join_labels` reads the
monitor's logs (Polars over the visible files, never inside a catalog
transaction), keeps labels of requests not labelled before, and pairs each
with its logged prediction; the pairs are written as a label file (owner
``labels:<name>``: ``_request_id``, ``_label``, ``_window``, ``_labelled_at``)
so that which prediction got which label, and counted in which window, stays
on record. A request id logged twice is labelled twice: each logged
prediction counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcore.errors import InvalidInput, NotFound, did_you_mean
from mlcore.monitoring.performance import ClassificationWindow
from mlcore.monitoring.summary import WindowSummary, merge_all
from mlcore.monitoring.windows import Increment, WindowSpec

if TYPE_CHECKING:
    import polars as pl

    from mlcore.monitoring.definition import Monitor
    from mlcore.monitoring.profile import ReferenceProfile
    from mlcore.store.files import DataFile
    from mlcore.store.storage import Storage

__all__ = ["RESERVED", "LabelJoin", "PreparedBatch", "join_labels", "prepare_batch", "read"]

REQUEST_ID = "_request_id"
TIMESTAMP = "_timestamp"
LABEL = "_label"
WINDOW = "_window"
LABELLED_AT = "_labelled_at"
#: Column names mlcore adds to its log files; a monitored column may not use them.
RESERVED = (REQUEST_ID, TIMESTAMP, LABEL, WINDOW, LABELLED_AT)


@dataclass(eq=False)
class PreparedBatch:
    """A checked batch, ready to be logged: its log rows and what it adds to each window."""

    frame: pl.DataFrame
    increments: list[Increment]
    summary: WindowSummary
    null_predictions: int = 0

    @property
    def all_null_columns(self) -> list[str]:
        """Profiled columns whose every value in the batch is missing."""
        return [n for n, s in self.summary.columns.items() if s.rows and s.missing == s.rows]


def prepare_batch(
    monitor: Monitor,
    profile: ReferenceProfile,
    batch: Any,
    *,
    timestamp_column: str | None,
    request_id: str | None,
    now: datetime,
) -> PreparedBatch | None:
    """Check a batch and summarise it per window; None for an empty batch.

    Raises NotFound for a missing profiled, prediction, request-id or
    timestamp column and InvalidInput for wrong types, null or naive
    timestamps and, for classifiers, scores outside [0, 1]. Nothing is
    written here, so a rejected batch leaves the store as it was.
    """
    import polars as pl

    from mlcore.frames import ensure_utc, to_polars

    frame = to_polars(batch, what="batch")
    if frame.height == 0:
        return None
    unknown = profile.check(frame.head(0).to_arrow())
    rid = request_id or (monitor.request_id if monitor.request_id in frame.columns else None)
    when = timestamp_column or monitor.event_time
    unexpected = tuple(c for c in unknown if c not in (rid, when, monitor.prediction))
    for role, name in (
        ("request id", rid),
        ("timestamp", when),
        ("prediction", monitor.prediction),
    ):
        if name is not None and name not in frame.columns:
            raise NotFound(
                f"{role} column",
                name,
                hint=did_you_mean(
                    name, frame.columns, f"The batch has: {', '.join(frame.columns)}"
                ),
            )
    if when is not None:
        frame = ensure_utc(frame, when, what="batch")
        nulls = frame[when].null_count()
        if nulls:
            raise InvalidInput(
                f"timestamp column '{when}' has {nulls} null values",
                hint="Every logged row needs its event time",
                field=when,
            )
        stamps = pl.col(when)
    else:
        stamps = pl.lit(now).cast(pl.Datetime("us", "UTC"))
    logged = list(profile.columns)
    if monitor.prediction is not None and monitor.prediction not in logged:
        logged.append(monitor.prediction)
    log = frame.select(
        *logged,
        (pl.col(rid).cast(pl.String) if rid else pl.lit(None, pl.String)).alias(REQUEST_ID),
        stamps.alias(TIMESTAMP),
    )
    if when is not None:
        log = log.sort(TIMESTAMP, maintain_order=True)
    scores, null_scores = _scores(monitor, log)
    spec = monitor.window_spec
    micros = log[TIMESTAMP].dt.epoch("us").to_numpy()
    increments = []
    summaries = []
    table = log.select(profile.columns).to_arrow()
    for start, stop, window_id in _runs(spec, micros):
        starts_at, ends_at = (
            spec.bounds(window_id)
            if window_id is not None
            else (log[TIMESTAMP][start], log[TIMESTAMP][stop - 1])
        )
        summary = profile.summarise(table.slice(start, stop - start))
        summaries.append(summary)
        performance = None
        if monitor.task == "classification" and scores is not None:
            part = scores[start:stop]
            performance = ClassificationWindow(monitor.threshold, monitor.score_bins).update(
                part[~np.isnan(part)]
            )
        increments.append(Increment(window_id, starts_at, ends_at, summary, performance))
    whole = merge_all(profile.empty_summary(), summaries)
    whole.unexpected_columns = unexpected
    for summary in summaries:
        summary.unexpected_columns = unexpected
    return PreparedBatch(log, increments, whole, null_scores)


def _scores(monitor: Monitor, log: pl.DataFrame) -> tuple[np.ndarray | None, int]:
    """The prediction as floats (NaN where missing) and how many are missing; checked."""
    import polars as pl

    if monitor.prediction is None:
        return None, 0
    column = log[monitor.prediction]
    if not column.dtype.is_numeric() and column.dtype != pl.Boolean and column.dtype != pl.Null:
        raise InvalidInput(
            f"prediction column '{monitor.prediction}' has type {column.dtype}, not a number",
            hint="Log the model's score or numeric prediction",
            field=monitor.prediction,
        )
    values = column.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
    missing = int(np.isnan(values).sum())
    if monitor.task == "classification":
        finite = values[~np.isnan(values)]
        if finite.size and (finite.min() < 0 or finite.max() > 1 or np.isinf(finite).any()):
            raise InvalidInput(
                f"prediction column '{monitor.prediction}' holds values outside [0, 1]",
                hint="A classification monitor logs the probability of the positive class",
                field=monitor.prediction,
            )
    return values, missing


def _runs(spec: WindowSpec, micros: np.ndarray) -> list[tuple[int, int, int | None]]:
    """(start, stop, window id) of each run of rows in one window; rows sorted by time."""
    if spec.width is None:
        return [(0, len(micros), None)]
    ids = spec.bucket_ids(micros)
    cuts = [0, *(np.flatnonzero(np.diff(ids)) + 1).tolist(), len(ids)]
    return [(a, b, int(ids[a])) for a, b in itertools.pairwise(cuts)]


def write(storage: Storage, frame: pl.DataFrame) -> DataFile:
    """Write log rows as a new immutable Parquet file (not yet visible: register it).

    Tuned for throughput (see ``benches/suites/monitoring.py``): Polars' writer
    (columns encoded in parallel), zstd at level 1, and no min/max statistics,
    which mlcore's readers do not use (they join on request ids). A million
    rows of 20 float columns take 0.4 s instead of 1.7 s with pyarrow's
    defaults; the file's sha256 and fsync come on top.
    """
    return storage.files.write_with(
        "monitoring",
        lambda path: frame.write_parquet(
            path, compression="zstd", compression_level=1, statistics=False, row_group_size=1 << 20
        ),
    )


def read(storage: Storage, files: Sequence[DataFile], columns: Sequence[str] | None = None) -> Any:
    """The rows of log files as one Polars frame, with ``_file_seq`` naming each row's file."""
    import polars as pl

    if not files:
        return pl.DataFrame()
    seqs = {str(storage.files.absolute(f.path)): f.seq for f in files}
    scan = pl.scan_parquet(list(seqs), include_file_paths="_file", missing_columns="insert")
    if columns is not None:
        scan = scan.select(*columns, "_file")
    return (
        scan.with_columns(pl.col("_file").replace_strict(seqs, return_dtype=pl.Int64))
        .rename({"_file": "_file_seq"})
        .collect()
    )


@dataclass(eq=False)
class LabelJoin:
    """New labels paired with their logged predictions, oldest prediction first."""

    pairs: pl.DataFrame  # _request_id, prediction, _timestamp, _window, _label
    received: int = 0
    already_labelled: int = 0
    unmatched: int = 0
    unmatched_ids: list[str] = field(default_factory=list)


def prepare_labels(monitor: Monitor, labels: Any, *, request_id: str, label: str) -> pl.DataFrame:
    """Labels as ``_request_id`` (text) and ``_label`` (float), one per request; checked."""
    import polars as pl

    from mlcore.frames import to_polars

    frame = to_polars(labels, what="labels")
    for role, name in (("request id", request_id), ("label", label)):
        if name not in frame.columns:
            raise NotFound(f"{role} column", name, candidates=frame.columns)
    column = frame[label]
    if not (column.dtype.is_numeric() or column.dtype == pl.Boolean):
        raise InvalidInput(
            f"label column '{label}' has type {column.dtype}, not a number",
            hint="Classification labels are 0/1 or booleans; regression targets are numbers",
            field=label,
        )
    out = frame.select(
        pl.col(request_id).cast(pl.String).alias(REQUEST_ID),
        pl.col(label).cast(pl.Float64).fill_nan(None).alias(LABEL),
    )
    bad = out.filter(
        pl.col(REQUEST_ID).is_null() | pl.col(LABEL).is_null() | ~pl.col(LABEL).is_finite()
    )
    if bad.height:
        raise InvalidInput(
            f"{bad.height} label rows lack a request id or a finite label",
            hint="Drop them before logging labels",
            rows=bad.head(5).to_dicts(),
        )
    if monitor.task == "classification":
        wrong = out.filter(~pl.col(LABEL).is_in([0.0, 1.0]))
        if wrong.height:
            raise InvalidInput(
                "classification labels must be 0/1 or booleans",
                field=label,
                rows=wrong.head(5).to_dicts(),
            )
    out = out.unique(maintain_order=True)
    clash = out.filter(pl.col(REQUEST_ID).is_duplicated())
    if clash.height:
        raise InvalidInput(
            "some request ids have two different labels in this batch",
            hint="Send one label per request",
            rows=clash.head(5).to_dicts(),
        )
    return out


def join_labels(
    storage: Storage,
    monitor: Monitor,
    labels: pl.DataFrame,
    predictions: Sequence[DataFile],
    labelled: Sequence[DataFile],
) -> LabelJoin:
    """Pair new labels with logged predictions (see the module docstring)."""
    import polars as pl

    assert monitor.prediction is not None
    received = labels.height
    if labelled:
        seen = read(storage, labelled, [REQUEST_ID]).select(REQUEST_ID).unique()
        labels = labels.join(seen, on=REQUEST_ID, how="anti")
    already = received - labels.height
    logged = read(storage, predictions, [REQUEST_ID, monitor.prediction, TIMESTAMP])
    if logged.width:
        logged = logged.filter(pl.col(REQUEST_ID).is_in(labels[REQUEST_ID].implode()))
    else:
        logged = pl.DataFrame(
            schema={REQUEST_ID: pl.String, monitor.prediction: pl.Float64,
                    TIMESTAMP: pl.Datetime("us", "UTC"), "_file_seq": pl.Int64}
        )  # fmt: skip
    spec = monitor.window_spec
    window: pl.Expr | pl.Series
    if spec.width is None:
        window = pl.col("_file_seq")
    else:
        window = pl.Series(spec.bucket_ids(logged[TIMESTAMP].dt.epoch("us").to_numpy()))
    pairs = (
        logged.with_columns(window.alias(WINDOW))
        .join(labels, on=REQUEST_ID, how="inner")
        .select(
            REQUEST_ID,
            pl.col(monitor.prediction).cast(pl.Float64),
            TIMESTAMP,
            pl.col(WINDOW).cast(pl.Int64),
            LABEL,
        )
        .sort(TIMESTAMP, REQUEST_ID)
    )
    missing = labels.join(pairs.select(REQUEST_ID).unique(), on=REQUEST_ID, how="anti")
    return LabelJoin(
        pairs, received, already, missing.height, missing[REQUEST_ID].head(5).to_list()
    )
