"""The reference profile: a model's training data, summarised once.

A :class:`ReferenceProfile` owns the layout of every monitored column (bin
edges, fine grid, categories; see :mod:`mlcore.monitoring.layout`) and the
reference's own summary on that layout. Production batches are summarised on
the same layout by :meth:`ReferenceProfile.summarise`, so reference and window
counts line up cell for cell, and every statistic can be recomputed later from
the stored profile and summaries alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mlcore.errors import InvalidInput, NotFound, did_you_mean
from mlcore.monitoring._frames import Kind, check_kind, kind_of, run_tasks, to_table
from mlcore.monitoring.layout import CategoricalLayout, ColumnLayout, NumericLayout, fingerprint
from mlcore.monitoring.moments import merge_moments, new_moments
from mlcore.monitoring.summary import ColumnSummary, WindowSummary, merge_all

__all__ = ["ReferenceProfile"]

FORMAT = 1


@dataclass(eq=False)
class ReferenceProfile:
    """Column layouts fitted on a reference frame, with the reference's summary.

    Build one with :meth:`fit`; store it with :meth:`to_dict`.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> train = pl.DataFrame({"age": rng.normal(40, 10, 5_000), "plan": rng.choice(["a", "b"], 5_000)})
    >>> profile = ReferenceProfile.fit(train, bins=10)
    >>> profile.columns
    ('age', 'plan')
    >>> profile.layouts["age"].n_bins, profile.layouts["plan"].categories
    (10, ('a', 'b'))
    >>> window = profile.summarise(pl.DataFrame({"age": [35.0, None, 200.0], "plan": ["a", "c", "b"]}))
    >>> window.columns["age"].missing, window.columns["age"].out_of_range, window.columns["plan"].unseen
    (1, 1, 1)
    >>> ReferenceProfile.from_dict(profile.to_dict()).id == profile.id
    True
    """

    layouts: dict[str, ColumnLayout]
    reference: WindowSummary
    settings: dict[str, Any]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.layouts)

    @property
    def kinds(self) -> dict[str, str]:
        """Each column's kind, ``"numeric"`` or ``"categorical"``."""
        return {name: layout.kind for name, layout in self.layouts.items()}

    @property
    def id(self) -> str:
        """Fingerprint of the layouts: summaries carry it and merge only within it."""
        return self.reference.profile_id

    @classmethod
    def fit(
        cls,
        frame: Any,
        columns: Sequence[str] | None = None,
        categorical: Iterable[str] | None = None,
        *,
        bins: int = 20,
        binning: Literal["quantile", "equal_width"] = "quantile",
        grid: int = 256,
        quantile_grid: int = 256,
        resolution: int = 16384,
        sample_size: int = 16384,
        max_categories: int = 1000,
        seed: int = 0,
    ) -> ReferenceProfile:
        """Fit a profile on ``frame`` (Polars, pandas, Arrow or Arrow C stream).

        Parameters
        ----------
        frame
            The reference rows, typically a model's training data.
        columns
            Columns to profile; by default every numeric, boolean and string
            column (other types, such as timestamps, are left out).
        categorical
            Columns to treat as categories even if numeric (codes, ids).
        bins, binning
            PSI bins per numeric column, at reference quantiles or of equal
            width over the robust range (the reference's 0.1-99.9 % quantiles).
        grid, quantile_grid
            Equal-width and equal-reference-mass cells stored per numeric
            column; KS and Wasserstein from summaries are exact to one cell.
        resolution
            Fine slots over the robust range; bins and cells are made of them.
        sample_size, seed
            Reference quantiles (for the robust range and scale) come from a
            seeded sample of this many values, or from all values if fewer.
        max_categories
            Most frequent categories kept per categorical column.
        """
        table = to_table(frame)
        chosen = _choose_columns(table, columns, set(categorical or ()))
        if binning not in ("quantile", "equal_width"):
            raise InvalidInput(
                f"binning {binning!r} is not 'quantile' or 'equal_width'", field="binning"
            )
        if not chosen:
            raise InvalidInput(
                "no column to profile",
                hint="Pass columns=[...] naming numeric, boolean or string columns",
            )
        for name, count in (("bins", bins), ("grid", grid), ("quantile_grid", quantile_grid)):
            if not 1 <= count <= resolution:
                raise InvalidInput(
                    f"{name}={count} is out of range", hint=f"Use 1 <= {name} <= resolution"
                )
        # Pass 1: the range and moments of every numeric column, all columns at once.
        numeric = [name for name, kind in chosen.items() if kind == "numeric"]
        ranges = _run_jobs(
            (name, task)
            for name in numeric
            for task in NumericLayout.range_tasks(table.column(name))
        )
        fine: dict[str, NumericLayout] = {}
        moments: dict[str, np.ndarray] = {}
        for name in numeric:
            moments[name] = new_moments()
            for part in ranges.get(name, []):
                merge_moments(moments[name], *part)
            fine[name] = NumericLayout.fine_grid(
                name, table.column(name), moments[name],
                resolution=resolution, sample_size=sample_size, seed=seed,
            )  # fmt: skip
        # Pass 2: count every column on its fine grid (categories: fit and count).
        jobs: list[tuple[str, Callable[[], Any]]] = []
        for name in chosen:
            column = table.column(name)
            if name in fine:
                tasks = fine[name].count_tasks(column, with_moments=False)  # known from pass 1
                jobs += [(name, task) for task in tasks]
            else:
                jobs.append(
                    (name, partial(CategoricalLayout.fit, column, max_categories=max_categories))
                )
        counted = _run_jobs(jobs)
        layouts: dict[str, ColumnLayout] = {}
        summaries: dict[str, ColumnSummary] = {}
        for name in chosen:
            if name in fine:
                layouts[name], summaries[name] = fine[name].refine(
                    merge_all(fine[name].empty(), counted[name]),
                    moments[name],
                    bins=bins, binning=binning, grid=grid, quantile_grid=quantile_grid,
                )  # fmt: skip
            else:
                layouts[name], summaries[name] = counted[name][0]
        settings = {
            "bins": bins,
            "binning": binning,
            "grid": grid,
            "quantile_grid": quantile_grid,
            "resolution": resolution,
            "sample_size": sample_size,
            "max_categories": max_categories,
            "seed": seed,
        }
        profile_id = fingerprint({n: layout.to_dict() for n, layout in layouts.items()})
        reference = WindowSummary(profile_id, summaries, table.num_rows)
        return cls(layouts, reference, settings)

    def empty_summary(self) -> WindowSummary:
        """A summary of no rows, to accumulate batches into."""
        columns = {name: layout.empty() for name, layout in self.layouts.items()}
        return WindowSummary(self.id, columns, 0)

    def check(self, table: pa.Table) -> tuple[str, ...]:
        """Raise unless ``table`` can be summarised; return the columns the profile does not know.

        Every profiled column must be present (else NotFound, naming the
        closest unknown column) with a type its layout accepts (else
        InvalidInput). All-null columns are accepted: every value is missing.
        """
        present = set(table.column_names)
        missing = [name for name in self.layouts if name not in present]
        if missing:
            raise NotFound(
                "column",
                ", ".join(missing),
                hint=did_you_mean(
                    missing[0],
                    sorted(present - set(self.layouts)),
                    "The batch must hold every profiled column",
                ),
            )
        for name, layout in self.layouts.items():
            check_kind(name, table.schema.field(name).type, layout.kind)
        return tuple(sorted(present - set(self.layouts)))

    def summarise(self, frame: Any) -> WindowSummary:
        """Summarise a batch of rows on this profile's layouts.

        The batch is checked first (see :meth:`check`), before anything is
        counted; columns the profile does not know are ignored and listed in
        ``unexpected_columns``. An empty batch gives an empty summary.
        """
        table = to_table(frame)
        unexpected = self.check(table)
        counted = _run_jobs(
            (name, task)
            for name, layout in self.layouts.items()
            for task in layout.count_tasks(table.column(name))
        )
        columns = {
            name: merge_all(layout.empty(), counted.get(name, []))
            for name, layout in self.layouts.items()
        }
        return WindowSummary(self.id, columns, table.num_rows, unexpected)

    def describe(self) -> list[dict[str, Any]]:
        """One row per column: kind, bins, the reference's missing share and range or categories."""
        rows = []
        for name, layout in self.layouts.items():
            ref = self.reference.columns[name]
            row: dict[str, Any] = {
                "column": name,
                "kind": layout.kind,
                "bins": layout.n_bins,
                "rows": ref.rows,
                "missing_rate": ref.missing / ref.rows if ref.rows else None,
            }
            if isinstance(layout, NumericLayout):
                count, mean, m2 = (float(v) for v in ref.moments[:3])  # type: ignore[union-attr]
                row.update(
                    min=layout.lo, max=layout.hi, mean=mean,
                    std=(m2 / count) ** 0.5 if count else None,
                    bin_edges=layout.bin_edges.tolist(),
                )  # fmt: skip
            else:
                row.update(categories=list(layout.categories))
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` restores the profile exactly."""
        return {
            "format": FORMAT,
            "settings": dict(self.settings),
            "layouts": {name: layout.to_dict() for name, layout in self.layouts.items()},
            "reference": self.reference.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        if data.get("format") != FORMAT:
            raise InvalidInput(
                f"profile format {data.get('format')!r} is not supported",
                hint=f"This mlcore reads profile format {FORMAT}",
            )
        readers: dict[str, Callable[[Mapping[str, Any]], ColumnLayout]] = {
            "numeric": NumericLayout.from_dict,
            "categorical": CategoricalLayout.from_dict,
        }
        layouts: dict[str, ColumnLayout] = {
            name: readers[spec["kind"]](spec) for name, spec in data["layouts"].items()
        }
        return cls(layouts, WindowSummary.from_dict(data["reference"]), dict(data["settings"]))


def _run_jobs(jobs: Iterable[tuple[str, Callable[[], Any]]]) -> dict[str, list[Any]]:
    """Run (column, job) pairs on all cores; each column's results, in job order."""
    pairs = list(jobs)
    results: dict[str, list[Any]] = {name: [] for name, _ in pairs}
    for (name, _), result in zip(pairs, run_tasks([job for _, job in pairs]), strict=True):
        results[name].append(result)
    return results


def _choose_columns(
    table: pa.Table, columns: Sequence[str] | None, categorical: set[str]
) -> dict[str, Kind]:
    names = table.column_names
    for name in [*(columns or ()), *sorted(categorical)]:
        if name not in names:
            raise NotFound("column", name, candidates=names)
    chosen: dict[str, Kind] = {}
    for name in columns if columns is not None else names:
        dtype = table.schema.field(name).type
        if name in categorical:
            kind: Kind | None = "categorical"
        elif pa.types.is_null(dtype):
            kind = "numeric"
        else:
            kind = kind_of(dtype)
        if kind is None:
            if columns is not None:
                check_kind(name, dtype, "categorical")  # raises with a clear message
            continue
        check_kind(name, dtype, kind)
        chosen[name] = kind
    return chosen
