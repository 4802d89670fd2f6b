"""Metrics per slice of the data and per cross of slices, with the worst slice named.

A *slice* is the set of rows sharing a value of a declared slice column (``origin=JFK``),
a *cross* the rows sharing values of several columns (``origin=JFK & carrier=UA``). All
slices of one column (or one cross) are evaluated together in one pass over the rows
sorted by score, an integer group code per row, so a million rows with five slice columns
and all their pairs cost fifteen passes, not one pass per slice.

Outcomes that are not errors:

- a slice with one class only has ``roc_auc`` (and other metrics needing both classes)
  ``None`` with the reason, never a crash;
- a slice with no rows -- a category of an ``Enum`` column absent from the data, or any
  value asked of :meth:`SliceReport.get` that the data lacks -- has ``n_rows == 0`` and
  every metric ``None`` with reason ``"no rows"``;
- null is a slice value of its own (named ``column=null``).

The worst slice is the one with the lowest value of the chosen metric (highest for
losses) among slices with at least ``min_support`` rows where the metric is defined;
ties go to the larger slice.

Examples
--------
>>> import numpy as np, polars as pl
>>> rng = np.random.default_rng(3)
>>> frame = pl.DataFrame({
...     "y": rng.integers(0, 2, 400),
...     "origin": rng.choice(["EWR", "JFK", "LGA"], 400),
...     "carrier": rng.choice(["AA", "UA"], 400),
... }).with_columns(p=(pl.col("y") * 0.3 + pl.lit(rng.uniform(0, 0.7, 400))))
>>> report = slice_metrics("y", "p", ["origin", "carrier"], data=frame, metrics=["roc_auc"])
>>> len(report.slices)
11
>>> print(report.worst.name, report.worst.n_rows)
origin=EWR & carrier=UA 59
>>> report.get(origin="SFO").metrics["roc_auc"].reason
'no rows'
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.metrics import (
    ArrayLike,
    Estimate,
    TaskName,
    as_series,
    bootstrap_values,
    check_resampling,
    metric,
    metric_names,
    point_values,
    prepare,
    summarise,
)

__all__ = [
    "Grouping",
    "Slice",
    "SliceReport",
    "groupings",
    "slice_columns",
    "slice_metrics",
    "slice_name",
]

# Above this many distinct values a column is an identifier or a measurement, not a slice.
MAX_GROUPS = 1000


@dataclass(frozen=True)
class Grouping:
    """Rows grouped by the values of one or more columns.

    ``codes[i]`` is the position in ``keys`` of row ``i``'s values.
    """

    columns: tuple[str, ...]
    keys: list[tuple[Any, ...]]
    codes: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.keys)


def _column_grouping(series: pl.Series, max_groups: int) -> Grouping:
    name = series.name
    if isinstance(series.dtype, pl.Enum):
        # Declared categories are slices even when no row has them (zero support).
        values = series.dtype.categories.to_list()
        codes = series.to_physical().fill_null(len(values)).to_numpy().astype(np.int32)
    else:
        if isinstance(series.dtype, pl.Categorical):
            series = series.cast(pl.String)
        present = series.drop_nulls().unique().sort()
        values = present.to_list()
        if len(values) > max_groups:
            raise InvalidInput(
                f"slice column {name!r} has {len(values)} distinct values,"
                f" more than the {max_groups} allowed",
                hint="Slice on a categorical column, or bin this one first",
                field=name,
            )
        codes = np.full(len(series), len(values), dtype=np.int32)  # nulls come last
        valid = series.is_not_null()
        codes[valid.to_numpy()] = present.search_sorted(series.filter(valid)).to_numpy()
    if series.null_count():
        values.append(None)
    return Grouping((name,), [(v,) for v in values], np.ascontiguousarray(codes))


def _cross(a: Grouping, b: Grouping) -> Grouping:
    combined = a.codes.astype(np.int64) * b.n_groups + b.codes
    cells = a.n_groups * b.n_groups
    if cells <= 1 << 22:
        present = np.flatnonzero(np.bincount(combined, minlength=cells))
        remap = np.zeros(cells, dtype=np.int32)
        remap[present] = np.arange(present.size, dtype=np.int32)
        codes = remap[combined]
    else:
        present, codes = np.unique(combined, return_inverse=True)
    keys = [a.keys[c // b.n_groups] + b.keys[c % b.n_groups] for c in present.tolist()]
    return Grouping(a.columns + b.columns, keys, np.ascontiguousarray(codes, dtype=np.int32))


def groupings(
    columns: Mapping[str, pl.Series], max_order: int, max_groups: int = MAX_GROUPS
) -> list[Grouping]:
    """Each column alone, then every cross of 2 .. ``max_order`` columns.

    Crosses list the combinations present in the data only.
    """
    singles = [_column_grouping(s.alias(name), max_groups) for name, s in columns.items()]
    out = list(singles)
    for order in range(2, max_order + 1):
        for combo in itertools.combinations(singles, order):
            grouping = combo[0]
            for other in combo[1:]:
                grouping = _cross(grouping, other)
            out.append(grouping)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def slice_name(key: Sequence[tuple[str, Any]]) -> str:
    """``col=value`` pairs joined by ``" & "``; null shows as ``null``."""
    return " & ".join(f"{c}={'null' if v is None else _jsonable(v)}" for c, v in key)


@dataclass(frozen=True)
class Slice:
    """One slice: its column values, support, and metric estimates."""

    key: tuple[tuple[str, Any], ...]
    n_rows: int
    n_positive: int | None
    metrics: dict[str, Estimate]

    @property
    def name(self) -> str:
        """``col=value`` pairs joined by ``" & "``, e.g. ``origin=JFK & carrier=UA``."""
        return slice_name(self.key)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.key)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "slice": self.name,
            "columns": list(self.columns),
            "values": [_jsonable(v) for _, v in self.key],
            "n_rows": self.n_rows,
            "n_positive": self.n_positive,
            "metrics": [e.to_dict() for e in self.metrics.values()],
        }


def _lookup_key(key: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(key.items(), key=lambda kv: kv[0]))


@dataclass(frozen=True)
class SliceReport:
    """Metrics of every slice and cross; :attr:`worst` by ``worst_by``."""

    task: TaskName
    columns: tuple[str, ...]
    max_order: int
    metric_names: tuple[str, ...]
    slices: list[Slice]
    worst_by: str
    min_support: int
    worst: Slice | None = field(init=False)
    _index: dict[tuple[tuple[str, Any], ...], Slice] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index = {_lookup_key(dict(s.key)): s for s in self.slices}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "worst", self.worst_slice())

    def worst_slice(
        self,
        metric_name: str | None = None,
        min_support: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> Slice | None:
        """The worst slice by ``metric_name`` among those with enough rows, or None.

        ``columns`` restricts the search to the slices of exactly those columns.
        """
        name = metric_name or self.worst_by
        if name not in self.metric_names:
            raise NotFound("metric", name, candidates=self.metric_names)
        support = self.min_support if min_support is None else min_support
        sign = 1.0 if metric(self.task, name).higher_is_better else -1.0
        wanted = None if columns is None else set(columns)
        scored = [
            (sign * value, -s.n_rows, i)
            for i, s in enumerate(self.slices)
            if (value := s.metrics[name].value) is not None
            and s.n_rows >= support
            and (wanted is None or set(s.columns) == wanted)
        ]
        return self.slices[min(scored)[2]] if scored else None

    def get(self, key: Mapping[str, Any] | None = None, /, **values: Any) -> Slice:
        """The slice with these column values; a zero-support slice if no row has them.

        Values go as keywords, ``report.get(origin="JFK")``, or as a mapping when a
        column name is not an identifier, ``report.get({"dep hour": 6, "origin": "JFK"})``.
        """
        wanted = dict(key or {}) | values
        for column in wanted:
            if column not in self.columns:
                raise NotFound("slice column", column, candidates=self.columns)
        if not 1 <= len(wanted) <= self.max_order:
            raise InvalidInput(
                f"asked for a slice of {len(wanted)} columns; crosses were computed"
                f" up to {self.max_order}",
                hint="Raise cross= when computing the slices",
            )
        found = self._index.get(_lookup_key(wanted))
        if found is not None:
            return found
        ordered = tuple((c, wanted[c]) for c in self.columns if c in wanted)
        empty = {n: Estimate(n, None, reason="no rows") for n in self.metric_names}
        return Slice(ordered, 0, 0 if self.task == "binary" else None, empty)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "task": self.task,
            "columns": list(self.columns),
            "worst_by": self.worst_by,
            "min_support": self.min_support,
            "worst": None if self.worst is None else self.worst.name,
            "slices": [s.to_dict() for s in self.slices],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per slice and metric: slice, n_rows, n_positive, metric, value, low,
        high, reason."""
        # Whole columns, and each slice's name once: a million-row evaluation with five
        # slice columns has thousands of slices, and per-row dicts cost more than the pass.
        named = [(s.name, s) for s in self.slices]
        cells = [(n, s.n_rows, s.n_positive, e) for n, s in named for e in s.metrics.values()]
        columns = {
            "slice": [c[0] for c in cells],
            "n_rows": [c[1] for c in cells],
            "n_positive": [c[2] for c in cells],
            "metric": [c[3].metric for c in cells],
            "value": [c[3].value for c in cells],
            "low": [c[3].low for c in cells],
            "high": [c[3].high for c in cells],
            "reason": [c[3].reason for c in cells],
        }
        schema = {"slice": pl.String, "n_rows": pl.Int64, "n_positive": pl.Int64}
        schema |= {"metric": pl.String, "value": pl.Float64, "low": pl.Float64}
        schema |= {"high": pl.Float64, "reason": pl.String}
        return pl.DataFrame(columns, schema=schema)


def slice_columns(
    by: Sequence[str] | Mapping[str, ArrayLike] | pl.DataFrame,
    data: pl.DataFrame | None,
    n_rows: int,
    role: str,
) -> dict[str, pl.Series]:
    """Resolve slice (or sensitive) columns given by name, as a mapping, or as a frame."""
    if isinstance(by, pl.DataFrame):
        columns = {name: by.get_column(name) for name in by.columns}
    elif isinstance(by, Mapping):
        columns = {name: as_series(v, None, name) for name, v in by.items()}
    else:
        if isinstance(by, str):
            by = [by]
        columns = {name: as_series(name, data, role) for name in by}
    if not columns:
        raise InvalidInput(f"no {role} given", hint=f"Name at least one {role}", field=role)
    for name, series in columns.items():
        if len(series) != n_rows:
            raise InvalidInput(
                f"{role} {name!r} has {len(series)} rows, the labels {n_rows}",
                hint="Pass columns of the same rows",
                field=name,
            )
    return columns


def slice_metrics(
    y_true: ArrayLike | str,
    y_score: ArrayLike | str,
    by: Sequence[str] | Mapping[str, ArrayLike] | pl.DataFrame,
    *,
    cross: int = 2,
    task: TaskName = "binary",
    metrics: Sequence[str] | None = None,
    threshold: float = 0.5,
    pos_label: Any = None,
    worst_by: str | None = None,
    min_support: int = 30,
    n_resamples: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    max_groups: int = MAX_GROUPS,
    data: pl.DataFrame | None = None,
) -> SliceReport:
    """Metrics for every slice of the ``by`` columns and their crosses.

    Parameters
    ----------
    y_true, y_score
        Labels and scores, as for :func:`~mlcore.evaluation.metrics.evaluate_metrics`.
    by
        Slice columns: names of ``data`` columns, a mapping of name to values, or a frame.
    cross
        Largest number of columns crossed (1: each column alone; 2: also every pair).
    task, metrics, threshold, pos_label
        As for :func:`~mlcore.evaluation.metrics.evaluate_metrics`.
    worst_by
        Metric that names the worst slice; default the first metric.
    min_support
        Slices with fewer rows are never named worst.
    n_resamples, confidence, seed
        Bootstrap intervals per slice (the same resamples of all rows for every slice);
        0, the default, computes point values only.
    max_groups
        Most distinct values a slice column may have.
    data
        The frame the column names refer to.

    Returns
    -------
    SliceReport
    """
    if cross < 1:
        raise InvalidInput(f"cross must be at least 1, got {cross}", field="cross")
    check_resampling(n_resamples, confidence)
    prepared = prepare(task, y_true, y_score, threshold=threshold, pos_label=pos_label, data=data)
    names = metric_names(prepared, metrics)
    if worst_by is not None and worst_by not in names:
        raise NotFound("metric", worst_by, candidates=names)
    columns = slice_columns(by, data, prepared.n_rows, "slice column")
    found: list[Slice] = []
    for grouping in groupings(columns, min(cross, len(columns)), max_groups):
        point, n_rows, n_positive = point_values(prepared, names, grouping.codes, grouping.n_groups)
        reps = None
        if n_resamples:
            reps = bootstrap_values(
                [prepared], names, n_resamples, seed, grouping.codes, grouping.n_groups
            )[:, 0]
        for g, values in enumerate(grouping.keys):
            found.append(
                Slice(
                    key=tuple(zip(grouping.columns, values, strict=True)),
                    n_rows=int(n_rows[g]),
                    n_positive=None if n_positive is None else int(n_positive[g]),
                    metrics=summarise(
                        prepared,
                        names,
                        point[g],
                        None if reps is None else reps[:, g],
                        confidence,
                        empty=n_rows[g] == 0,
                    ),
                )
            )
    return SliceReport(
        task=prepared.name,
        columns=tuple(columns),
        max_order=min(cross, len(columns)),
        metric_names=tuple(names),
        slices=found,
        worst_by=worst_by or names[0],
        min_support=min_support,
    )
