"""As-of windowed aggregations: statistics of a view's raw events over a trailing window.

An :class:`Aggregation` declares ``function(column)`` over the window
``(t - window, t]`` ending at each entity timestamp ``t``: events at exactly
``t`` are visible (as in the point-in-time join, whose ttl bound is
``[t - ttl, t]``), events at exactly ``t - window`` are not, so consecutive
windows tile time without overlap. Only events with the entity's join keys
count, and never one from after ``t``: the result is point-in-time correct, as
in Tecton's aggregation engine.

Semantics, per function:

- ``count``: the number of non-null values (SQL ``COUNT(column)``); 0 for an
  empty window, never null.
- ``sum``, ``mean``, ``min``, ``max``: nulls are skipped; an empty window
  gives null. ``sum`` of an integer column stays integer; ``min``/``max`` keep
  the column's type (numeric, boolean or temporal).
- ``stddev``: the *sample* standard deviation (``ddof=1``, like SQL
  ``STDDEV_SAMP`` and pandas); null with fewer than two values.
- ``last``: the value of the latest event in the window, ties broken exactly
  as the join breaks them (greater created timestamp, then later ingestion); a
  null value there is returned as null, not skipped.
- NaN is a value: it propagates into ``sum``, ``mean``, ``stddev``, ``min``
  and ``max``.
- Every stored row is an event: rows sharing an event timestamp all count,
  including rows a later created timestamp corrects.

Retrieval (:func:`mlcore.features.retrieval.point_in_time_join`) computes them
per entity row; :func:`mlcore.features.retrieval.latest` computes them as of
one instant per key, for the online table.

Examples
--------
>>> Aggregation("trips", "sum", "24h")
Aggregation(column='trips', function='sum', window=datetime.timedelta(days=1), name='trips_sum_24h')

The event at exactly ``t - window`` is out, the one at ``t`` is in:

>>> import polars as pl
>>> from mlcore.features.retrieval import ViewSource, point_in_time_join
>>> at = [dt.datetime(2024, 1, 1, 8, m, tzinfo=dt.UTC) for m in (0, 30, 59)]
>>> trips = pl.DataFrame({"driver": [1, 1, 1], "ts": at, "fare": [10.0, 20.0, 40.0]})
>>> view = ViewSource("trips", join_keys=("driver",), event_timestamp="ts", features=(),
...                   files=(trips,), aggregations=(Aggregation("fare", "sum", "30m"),
...                                                 Aggregation("fare", "count", "1h")))
>>> entities = pl.DataFrame({"driver": [1, 1], "at": at[1:]})
>>> point_in_time_join(entities, "at", [view]).select("fare_sum_30m", "fare_count_1h").rows()
[(20.0, 2), (60.0, 3)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from mlcore.durations import format_duration, parse_duration
from mlcore.errors import InvalidInput
from mlcore.features import _kernels

if TYPE_CHECKING:
    from mlcore.features._runs import Runs

__all__ = ["FUNCTIONS", "Aggregation"]

FUNCTIONS = ("count", "sum", "mean", "min", "max", "stddev", "last")
"""The aggregation functions, in the order the docs list them."""

_NEEDS_NUMBER = {"sum", "mean", "stddev"}
_NEEDS_ORDER = {"min", "max"}


def _label(window: dt.timedelta) -> str:
    if window % dt.timedelta(seconds=1):
        return f"{window // dt.timedelta(microseconds=1)}us"
    return format_duration(window)


@dataclass(frozen=True)
class Aggregation:
    """``function(column)`` over the trailing ``window`` before each entity timestamp.

    Parameters
    ----------
    column
        The aggregated column of the view's data.
    function
        One of :data:`FUNCTIONS`.
    window
        A timedelta or a duration such as ``"24h"`` (see :mod:`mlcore.durations`).
    name
        The result column; defaults to ``<column>_<function>_<window>``, e.g.
        ``trips_sum_24h``.
    """

    column: str
    function: str
    window: dt.timedelta
    name: str = ""

    def __init__(
        self, column: str, function: str, window: str | dt.timedelta, name: str = ""
    ) -> None:
        if function not in FUNCTIONS:
            raise InvalidInput(
                f"unknown aggregation function {function!r}",
                field="function",
                hint=f"Use one of {', '.join(FUNCTIONS)}",
            )
        parsed = parse_duration(window, field="window")
        label = "".join(window.split()).lower() if isinstance(window, str) else _label(parsed)
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "window", parsed)
        object.__setattr__(self, "name", name or f"{column}_{function}_{label}")

    @property
    def window_us(self) -> int:
        """The window in microseconds."""
        return self.window // dt.timedelta(microseconds=1)

    def check_type(self, dtype: pl.DataType, view: str) -> None:
        """Raise InvalidInput when ``function`` cannot aggregate a column of ``dtype``."""
        ok = True
        if self.function in _NEEDS_NUMBER:
            ok = dtype.is_numeric() or dtype == pl.Boolean
        elif self.function in _NEEDS_ORDER:
            ok = dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean
        if not ok:
            raise InvalidInput(
                f"view {view}: cannot take {self.function} of column {self.column} ({dtype})",
                field=self.column,
                hint="Aggregate a numeric column, or use count or last",
            )


class WindowStats:
    """Running statistics of one column over one window, for every grouped entity row.

    Folds chunk after chunk (:meth:`fold`) and then answers each function of the
    group (:meth:`result`), in the grouped order of the entity rows.
    """

    def __init__(self, dtype: pl.DataType, window_us: int, rows: int, with_m2: bool) -> None:
        self.dtype = dtype
        self.window_us = window_us
        self.with_m2 = with_m2
        kind = np.float64 if dtype.is_float() else np.int64
        self.count = np.zeros(rows, np.int64)
        self.total = np.zeros(rows, kind)
        self.low = np.zeros(rows, kind)
        self.high = np.zeros(rows, kind)
        self.mean = np.zeros(rows, np.float64)
        self.m2 = np.zeros(rows, np.float64)

    def _kernel_input(self, values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """Values in the state's type, int64 or float64 (nulls zeroed), and their validity."""
        valid = values.is_not_null().to_numpy()
        if self.dtype.is_float():
            data = values.cast(pl.Float64)
        elif self.dtype.is_numeric() or self.dtype == pl.Boolean:
            data = values.cast(pl.Int64)
        elif self.dtype.is_temporal():
            data = values.to_physical().cast(pl.Int64)
        else:  # count of a column with no order: only validity matters
            return np.zeros(values.len(), np.int64), valid
        return data.fill_null(0).to_numpy(), valid

    def fold(
        self,
        runs: Runs,
        ts: np.ndarray,
        values: pl.Series,
        key_starts: np.ndarray,
        entity_ts: np.ndarray,
    ) -> None:
        """Add one chunk's events (``runs`` as in :mod:`._kernels`)."""
        data, valid = self._kernel_input(values)
        _kernels.window_stats(
            *runs,
            ts,
            data,
            valid,
            key_starts,
            entity_ts,
            self.window_us,
            self.with_m2,
            self.count,
            self.total,
            self.mean,
            self.m2,
            self.low,
            self.high,
        )

    def result(self, function: str) -> pl.Series:
        """``function``'s values in grouped order (count 0 / null for an empty window)."""
        empty = self.count == 0
        if function == "count":
            return pl.Series(self.count)
        if function == "sum":
            kind = pl.Float64 if self.dtype.is_float() else pl.Int64
            out = pl.Series(self.total, dtype=kind)
        elif function == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                out = pl.Series(self.total / np.maximum(self.count, 1))
        elif function == "stddev":
            with np.errstate(invalid="ignore", divide="ignore"):
                out = pl.Series(np.sqrt(self.m2 / np.maximum(self.count - 1, 1)))
            empty = self.count < 2
        else:
            raw = pl.Series(self.low if function == "min" else self.high)
            out = raw.cast(self.dtype)
        return out.scatter(np.flatnonzero(empty), None) if empty.any() else out
