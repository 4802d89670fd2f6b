"""Column layouts: the bin specification a reference profile owns.

A :class:`NumericLayout` says where every value of a column goes. It is fitted
once from the reference and stored with the profile, so that any later score is
reproducible from stored summaries alone:

* ``lo``, ``hi``: the reference minimum and maximum (values outside are *out of
  range*);
* ``a``, ``b``: a robust range, the reference 0.1 % and 99.9 % quantiles, over
  which a uniform fine grid of ``resolution`` slots is laid (see
  :mod:`mlcore.monitoring.kernels`); trimming the extremes keeps the grid fine
  where the data is, even for heavy-tailed columns;
* ``cell_starts``: the fine slots where stored cells begin, the union of an
  equal-width grid (``grid`` cells, for Wasserstein), reference-quantile cells
  (``quantile_grid`` cells of about equal reference mass, for KS) and the bins;
* ``bin_starts``: the fine slots where PSI bins begin: by default, for each
  level k/bins, the first slot boundary at which the reference CDF reaches it
  (duplicates collapse, so a discrete column gets fewer, exact bins); with
  ``binning="equal_width"``, equal parts of the robust range. Bins are
  open-ended: the first takes everything below, the last everything above. A
  constant column gets three bins: below, at and above its value.

Because membership is the slot formula and not a comparison with an edge, bin
counts are exact and a raw value's bin is computed the same way by the kernels
and by :meth:`NumericLayout.fine_index` (the NumPy twin used in exact mode).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcore.errors import InvalidInput
from mlcore.monitoring._frames import float_chunks, run_tasks, sample_finite, string_values
from mlcore.monitoring.moments import new_moments
from mlcore.monitoring.summary import CategoricalSummary, NumericSummary, merge_all

__all__ = ["CategoricalLayout", "NumericLayout", "fingerprint"]

ROBUST_LEVELS = (0.001, 0.999)


def fingerprint(data: Mapping[str, Any]) -> str:
    """A short, stable id of a JSON-ready dict (sha256 of its canonical JSON)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _level_starts(fine: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """First inner slot boundaries at which the reference CDF reaches ``levels``.

    ``fine`` are reference counts per fine index; the result are slot numbers in
    ``1..L`` (boundary ``s`` separates slot ``s - 1`` from slot ``s``).
    """
    cdf = np.cumsum(fine)[1:-3] / max(fine.sum(), 1)  # mass below each slot boundary 0..L+1
    starts = np.searchsorted(cdf, levels, side="left")
    return starts[(starts > 0) & (starts <= len(fine) - 5)]


def _range_piece(piece: tuple[np.ndarray, np.ndarray, int]) -> np.ndarray:
    from mlcore.monitoring import kernels  # Numba only where values are counted

    moments = new_moments()
    kernels.finite_range(*piece, moments)
    return moments


_local = threading.local()


def _scratch(size: int) -> np.ndarray:
    """This thread's zeroed work array of ``size`` counts (the kernel re-zeroes it on exit)."""
    cache = _local.__dict__.setdefault("scratch", {})
    if size not in cache:
        cache[size] = np.zeros(size, dtype=np.int32)
    return cache[size]


def _equal_starts(resolution: int, parts: int) -> np.ndarray:
    """Inner slot boundaries cutting the fine grid into ``parts`` equal widths."""
    return np.unique(np.linspace(0, resolution + 1, parts + 1).round().astype(np.int64))[1:-1]


@dataclass(eq=False)
class NumericLayout:
    """Where the values of one numeric column go; see the module docstring."""

    lo: float
    hi: float
    a: float
    b: float
    resolution: int
    cell_starts: np.ndarray
    bin_starts: np.ndarray
    scale: float
    std: float
    bounds: np.ndarray = field(init=False, repr=False)
    slot_to_cell: np.ndarray = field(init=False, repr=False)
    bin_of_cell: np.ndarray = field(init=False, repr=False)

    kind: ClassVar[Literal["numeric"]] = "numeric"

    def __post_init__(self) -> None:
        inv = self.resolution / (self.b - self.a) if self.b > self.a else 0.0
        # A range so narrow that the slot width underflows: one slot holds it all.
        inv = inv if math.isfinite(inv) else 0.0
        self.bounds = np.array([self.lo, self.hi, self.a, self.b, inv])
        n_fine = self.resolution + 5
        starts = np.asarray(self.cell_starts, dtype=np.int64)
        # Fine index -> stored cell: below, lower tail, inner cells, upper tail, above.
        slot_to_cell = np.empty(n_fine, dtype=np.int64)
        slot_to_cell[:2] = [0, 1]
        opens_cell = np.zeros(self.resolution + 1, dtype=np.int64)
        opens_cell[starts] = 1
        slot_to_cell[2:-2] = 2 + np.cumsum(opens_cell)
        slot_to_cell[-2:] = [len(starts) + 3, len(starts) + 4]
        self.slot_to_cell = slot_to_cell
        first_fine_of_cell = np.concatenate([[0, 1, 2], starts + 2, [n_fine - 2, n_fine - 1]])
        self.bin_of_cell = np.searchsorted(
            np.asarray(self.bin_starts) + 2, first_fine_of_cell, side="right"
        )

    @property
    def n_cells(self) -> int:
        return len(self.cell_starts) + 5

    @property
    def n_bins(self) -> int:
        return len(self.bin_starts) + 1

    def empty(self) -> NumericSummary:
        return NumericSummary.empty(self.n_cells)

    def slot_value(self, slots: np.ndarray) -> np.ndarray:
        """Nominal value where fine slot boundary ``slots`` lies (clipped to ``[a, b]``)."""
        inv = self.bounds[4]
        if inv == 0.0:
            return np.full(np.shape(slots), self.a)
        return np.minimum(self.a + np.asarray(slots) / inv, self.b)

    @property
    def bin_edges(self) -> np.ndarray:
        """Nominal lower edge of each bin but the first (display only)."""
        return self.slot_value(self.bin_starts)

    @property
    def cell_bounds(self) -> np.ndarray:
        """Nominal edges of the stored cells between ``lo`` and ``hi``: n_cells - 1 values."""
        inner = self.slot_value(self.cell_starts)
        return np.concatenate([[self.lo, self.a], inner, [self.b, self.hi]])

    # -- counting -----------------------------------------------------------------

    def fine_index(self, values: np.ndarray) -> np.ndarray:
        """Fine index of each value (NumPy twin of the kernel); -1 for NaN."""
        lo, hi, a, b, inv = self.bounds
        x = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            inner = (x >= a) & (x <= b)
            out = np.full(x.shape, -1, dtype=np.int64)
            out[inner] = ((x[inner] - a) * inv).astype(np.int64) + 2
        last = self.resolution + 4
        out[x < lo] = 0
        out[(x >= lo) & (x < a)] = 1
        out[(x > b) & (x <= hi)] = last - 1
        out[x > hi] = last
        return out

    def exact_cells(self, values: np.ndarray) -> np.ndarray:
        """Cell counts of raw values, computed in NumPy (the kernel's twin)."""
        index = self.fine_index(values)
        return np.bincount(self.slot_to_cell[index[index >= 0]], minlength=self.n_cells)

    def count_tasks(
        self, column: pa.ChunkedArray, *, with_moments: bool = True
    ) -> list[Callable[[], NumericSummary]]:
        """Independent jobs, one per piece of the column; their results merge into its summary.

        The kernels release the GIL, so a caller runs the jobs of every column
        on a thread pool at once (see :meth:`ReferenceProfile.summarise`).
        """
        return [partial(self._count_piece, piece, with_moments) for piece in float_chunks(column)]

    def count(self, column: pa.ChunkedArray) -> NumericSummary:
        """Summarise a numeric column (any numeric Arrow type) on this layout."""
        return merge_all(self.empty(), run_tasks(self.count_tasks(column)))

    def _count_piece(
        self, piece: tuple[np.ndarray, np.ndarray, int], with_moments: bool = True
    ) -> NumericSummary:
        from mlcore.monitoring import kernels

        values, validity, offset = piece
        out = self.empty()
        kernels.count_column(
            values, validity, offset, self.bounds, self.slot_to_cell, _scratch(len(self.slot_to_cell)),
            out.cells, out.specials, out.moments, out.tails, with_moments,
        )  # fmt: skip
        return out

    def bin_counts(self, summary: NumericSummary) -> np.ndarray:
        """Counts per PSI bin of the non-missing values (infinities in the outer bins)."""
        counts = np.bincount(self.bin_of_cell, weights=summary.cells, minlength=self.n_bins)
        return counts.astype(np.int64)

    # -- fitting: range -> fine grid -> cells and bins --------------------------------

    @staticmethod
    def range_tasks(column: pa.ChunkedArray) -> list[Callable[[], np.ndarray]]:
        """Jobs whose merged results are the moments (count, mean, M2, min, max) of a column."""
        return [partial(_range_piece, piece) for piece in float_chunks(column)]

    @classmethod
    def fine_grid(
        cls,
        name: str,
        column: pa.ChunkedArray,
        moments: np.ndarray,
        *,
        resolution: int,
        sample_size: int,
        seed: int,
    ) -> NumericLayout:
        """A provisional layout whose cells are the fine slots, from the column's moments."""
        count, _, m2, lo, hi = (float(v) for v in moments)
        if count == 0:
            raise InvalidInput(
                f"column '{name}' has no finite value in the reference",
                hint="Drop it from the profiled columns, or declare it categorical",
                field=name,
            )
        if not math.isfinite(hi - lo):
            raise InvalidInput(
                f"column '{name}' spans [{lo:g}, {hi:g}], too wide for float64 arithmetic",
                hint="Rescale the column before profiling it",
                field=name,
            )
        sample = np.sort(sample_finite(column, sample_size, seed, int(count)))
        levels = [ROBUST_LEVELS[0], 0.25, 0.75, ROBUST_LEVELS[1]]
        q_lo, q25, q75, q_hi = np.quantile(sample, levels, method="linear")
        a, b = (max(lo, q_lo), min(hi, q_hi)) if q_hi > q_lo else (lo, hi)
        every_slot = np.arange(1, resolution + 1)
        scale = float(q75 - q25) / 1.349
        return cls(
            lo,
            hi,
            a,
            b,
            resolution,
            every_slot,
            np.zeros(0, np.int64),
            scale,
            math.sqrt(m2 / count),
        )

    def refine(
        self,
        fine: NumericSummary,
        moments: np.ndarray,
        *,
        bins: int,
        binning: str,
        grid: int,
        quantile_grid: int,
    ) -> tuple[NumericLayout, NumericSummary]:
        """The final layout and reference summary, from the reference's fine counts and moments."""
        counts = fine.cells
        if self.lo == self.hi:
            # A constant column: bins for below, at and above the constant.
            bin_starts = np.array([0, 1])
        elif binning == "equal_width":
            bin_starts = _equal_starts(self.resolution, bins)
        else:
            bin_starts = np.unique(_level_starts(counts, np.arange(1, bins) / bins))
        parts = [
            _equal_starts(self.resolution, grid),
            _level_starts(counts, np.arange(1, quantile_grid) / quantile_grid),
            bin_starts[bin_starts > 0],
        ]
        layout = NumericLayout(
            self.lo, self.hi, self.a, self.b, self.resolution,
            np.unique(np.concatenate(parts)), bin_starts, self.scale, self.std,
        )  # fmt: skip
        cells = np.bincount(layout.slot_to_cell, weights=counts, minlength=layout.n_cells)
        reference = NumericSummary(cells.astype(np.int64), fine.specials, moments, fine.tails)
        return layout, reference

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lo": self.lo,
            "hi": self.hi,
            "a": self.a,
            "b": self.b,
            "resolution": self.resolution,
            "cell_starts": np.asarray(self.cell_starts).tolist(),
            "bin_starts": np.asarray(self.bin_starts).tolist(),
            "scale": self.scale,
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericLayout:
        return cls(
            float(data["lo"]),
            float(data["hi"]),
            float(data["a"]),
            float(data["b"]),
            int(data["resolution"]),
            np.asarray(data["cell_starts"], dtype=np.int64),
            np.asarray(data["bin_starts"], dtype=np.int64),
            float(data["scale"]),
            float(data["std"]),
        )


@dataclass(eq=False)
class CategoricalLayout:
    """The reference categories of a column; anything else is "unseen".

    At most ``max_categories`` of the most frequent reference values are kept
    (ties broken by value); the rarer rest is counted as unseen in the
    reference summary too, so that both sides of a comparison agree.
    """

    categories: tuple[str, ...]
    _values: pa.Array | None = field(default=None, init=False, repr=False)

    kind: ClassVar[Literal["categorical"]] = "categorical"

    @property
    def _value_set(self) -> pa.Array:
        # Built on first count: pa.array() makes pyarrow import pandas (a quarter
        # second), which reading and reporting stored summaries never needs.
        if self._values is None:
            self._values = pa.array(self.categories, type=pa.large_string())
        return self._values

    @property
    def n_bins(self) -> int:
        return len(self.categories) + 1

    def empty(self) -> CategoricalSummary:
        return CategoricalSummary.empty(len(self.categories))

    def count_tasks(self, column: pa.ChunkedArray) -> list[Callable[[], CategoricalSummary]]:
        """One job: Arrow's kernels release the GIL, so it runs beside numeric columns."""
        return [partial(self.count, column)]

    def count(self, column: pa.ChunkedArray) -> CategoricalSummary:
        """Summarise a column (strings, dictionary, integers, booleans) on this layout."""
        counts = np.zeros(self.n_bins, dtype=np.int64)
        if pa.types.is_null(column.type):
            return CategoricalSummary(counts, len(column))
        strings = string_values(column)
        tally = pc.value_counts(strings)
        values, freq = tally.field("values"), tally.field("counts").to_numpy()
        index = pc.index_in(values, value_set=self._value_set)
        missing = values.is_null().to_numpy(zero_copy_only=False)
        slot = index.fill_null(len(self.categories)).to_numpy()
        counts += np.bincount(slot[~missing], weights=freq[~missing], minlength=self.n_bins).astype(
            np.int64
        )
        return CategoricalSummary(counts, int(freq[missing].sum()))

    @classmethod
    def fit(
        cls, column: pa.ChunkedArray, *, max_categories: int
    ) -> tuple[CategoricalLayout, CategoricalSummary]:
        if pa.types.is_null(column.type):
            layout = cls(())
            return layout, layout.count(column)
        tally = pc.value_counts(string_values(column))
        values = tally.field("values").to_pylist()
        freq = tally.field("counts").to_pylist()
        seen = sorted((-f, v) for v, f in zip(values, freq, strict=True) if v is not None)
        layout = cls(tuple(v for _, v in seen[:max_categories]))
        return layout, layout.count(column)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "categories": list(self.categories)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalLayout:
        return cls(tuple(data["categories"]))


ColumnLayout = NumericLayout | CategoricalLayout
