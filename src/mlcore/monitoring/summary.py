"""Window summaries: bounded, mergeable counts of what a batch of rows held.

A summary has the same shape for the reference and for every production window:
per numeric column, counts per cell of the profile's layout plus special-value
counts, moments and tail sums; per categorical column, counts per reference
category plus an "unseen" bucket and a missing count. Its size depends on the
profile only, never on the number of rows, and merging two summaries is adding
their counts (moments combine with Chan's formula), so hour -> day -> week
roll-ups are exact for every count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

import numpy as np

from mlcore.errors import InvalidInput
from mlcore.monitoring.moments import merge_moments, new_moments

__all__ = ["CategoricalSummary", "NumericSummary", "WindowSummary", "merge_all"]


@dataclass(eq=False)
class NumericSummary:
    """Counts of one numeric column on its layout's cells.

    ``cells`` holds ``[below range, lower tail, inner cells..., upper tail,
    above range]``; ``specials`` the null / NaN / -inf / +inf counts; ``moments``
    count, mean, M2, min and max of the finite values; ``tails`` the summed
    distances of finite values beyond the robust range (see
    :mod:`mlcore.monitoring.kernels`).
    """

    cells: np.ndarray
    specials: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    moments: np.ndarray = field(default_factory=new_moments)
    tails: np.ndarray = field(default_factory=lambda: np.zeros(2))

    kind = "numeric"

    @classmethod
    def empty(cls, n_cells: int) -> NumericSummary:
        return cls(np.zeros(n_cells, dtype=np.int64))

    @property
    def rows(self) -> int:
        """Values seen, missing ones included."""
        return int(self.cells.sum() + self.specials[0] + self.specials[1])

    @property
    def missing(self) -> int:
        """Nulls and NaNs."""
        return int(self.specials[0] + self.specials[1])

    @property
    def out_of_range(self) -> int:
        """Values outside the reference [min, max], infinities included."""
        return int(self.cells[0] + self.cells[-1])

    @property
    def finite_cells(self) -> np.ndarray:
        """Cell counts of the finite values only (infinities taken out)."""
        cells = self.cells.copy()
        cells[0] -= self.specials[2]
        cells[-1] -= self.specials[3]
        return cells

    def merge(self, other: NumericSummary) -> NumericSummary:
        moments = self.moments.copy()
        count, mean, m2, lo, hi = other.moments
        merge_moments(moments, count, mean, m2, lo, hi)
        return NumericSummary(
            self.cells + other.cells,
            self.specials + other.specials,
            moments,
            self.tails + other.tails,
        )

    def to_dict(self) -> dict[str, Any]:
        count, mean, m2, lo, hi = (float(v) for v in self.moments)
        return {
            "kind": self.kind,
            "cells": self.cells.tolist(),
            "specials": self.specials.tolist(),
            # JSON has no infinity: an empty column has no min or max.
            "moments": [count, mean, m2, lo if count else None, hi if count else None],
            "tails": self.tails.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericSummary:
        count, mean, m2, lo, hi = data["moments"]
        return cls(
            np.asarray(data["cells"], dtype=np.int64),
            np.asarray(data["specials"], dtype=np.int64),
            np.array(
                [count, mean, m2, math.inf if lo is None else lo, -math.inf if hi is None else hi]
            ),
            np.asarray(data["tails"], dtype=np.float64),
        )

    def same_as(self, other: NumericSummary) -> bool:
        return (
            np.array_equal(self.cells, other.cells)
            and np.array_equal(self.specials, other.specials)
            and np.array_equal(self.moments, other.moments)
            and np.array_equal(self.tails, other.tails)
        )

    @property
    def nbytes(self) -> int:
        return self.cells.nbytes + self.specials.nbytes + self.moments.nbytes + self.tails.nbytes


@dataclass(eq=False)
class CategoricalSummary:
    """Counts of one categorical column: one per reference category, then "unseen"."""

    counts: np.ndarray
    missing_count: int = 0

    kind = "categorical"

    @classmethod
    def empty(cls, n_categories: int) -> CategoricalSummary:
        return cls(np.zeros(n_categories + 1, dtype=np.int64))

    @property
    def rows(self) -> int:
        return int(self.counts.sum()) + self.missing_count

    @property
    def missing(self) -> int:
        return self.missing_count

    @property
    def unseen(self) -> int:
        """Values of categories the reference did not keep."""
        return int(self.counts[-1])

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        return CategoricalSummary(
            self.counts + other.counts, self.missing_count + other.missing_count
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "counts": self.counts.tolist(), "missing": self.missing_count}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalSummary:
        return cls(np.asarray(data["counts"], dtype=np.int64), int(data["missing"]))

    def same_as(self, other: CategoricalSummary) -> bool:
        return (
            np.array_equal(self.counts, other.counts) and self.missing_count == other.missing_count
        )

    @property
    def nbytes(self) -> int:
        return self.counts.nbytes + 8


ColumnSummary = NumericSummary | CategoricalSummary


class _Mergeable(Protocol):
    def merge(self, other: Self, /) -> Self: ...


_S = TypeVar("_S", bound=_Mergeable)


def merge_all(empty: _S, parts: list[_S]) -> _S:
    """``empty`` merged with every part, in order."""
    for part in parts:
        empty = empty.merge(part)
    return empty


@dataclass(eq=False)
class WindowSummary:
    """Summaries of every profiled column over one window of rows.

    ``profile_id`` names the :class:`~mlcore.monitoring.profile.ReferenceProfile`
    whose layout the counts refer to; only summaries of the same profile merge.
    ``unexpected_columns`` lists batch columns the profile does not know: they
    are ignored, and reported.

    Examples
    --------
    >>> import polars as pl
    >>> from mlcore.monitoring import ReferenceProfile
    >>> profile = ReferenceProfile.fit(pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}))
    >>> a = profile.summarise(pl.DataFrame({"x": [1.0, None]}))
    >>> b = profile.summarise(pl.DataFrame({"x": [9.0, 2.0], "y": ["new", "col"]}))
    >>> ab = a.merge(b)
    >>> ab.rows, ab.columns["x"].missing, ab.columns["x"].out_of_range, ab.unexpected_columns
    (4, 1, 1, ('y',))
    >>> ab.same_as(profile.summarise(pl.DataFrame({"x": [1.0, None, 9.0, 2.0], "y": ["a"] * 4})))
    True
    """

    profile_id: str
    columns: dict[str, ColumnSummary]
    rows: int = 0
    unexpected_columns: tuple[str, ...] = ()

    def merge(self, other: WindowSummary) -> WindowSummary:
        """The summary of both windows' rows together."""
        if other.profile_id != self.profile_id:
            raise InvalidInput(
                f"cannot merge summaries of different profiles ({self.profile_id} and {other.profile_id})",
                hint="Summarise both windows with the same ReferenceProfile",
            )
        return WindowSummary(
            self.profile_id,
            {name: summary.merge(other.columns[name]) for name, summary in self.columns.items()},  # type: ignore[arg-type]
            self.rows + other.rows,
            tuple(sorted(set(self.unexpected_columns) | set(other.unexpected_columns))),
        )

    def same_as(self, other: WindowSummary) -> bool:
        """True when both hold exactly the same counts, moments and sums."""
        return (
            self.profile_id == other.profile_id
            and self.rows == other.rows
            and self.unexpected_columns == other.unexpected_columns
            and self.columns.keys() == other.columns.keys()
            and all(s.same_as(other.columns[n]) for n, s in self.columns.items())  # type: ignore[arg-type]
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the counts: fixed by the profile, whatever the rows."""
        return sum(s.nbytes for s in self.columns.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` restores it exactly."""
        return {
            "profile_id": self.profile_id,
            "rows": self.rows,
            "unexpected_columns": list(self.unexpected_columns),
            "columns": {name: s.to_dict() for name, s in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowSummary:
        readers: dict[str, Callable[[Mapping[str, Any]], ColumnSummary]] = {
            "numeric": NumericSummary.from_dict,
            "categorical": CategoricalSummary.from_dict,
        }
        return cls(
            str(data["profile_id"]),
            {name: readers[c["kind"]](c) for name, c in data["columns"].items()},
            int(data["rows"]),
            tuple(data["unexpected_columns"]),
        )
