"""clean: dedupe, clip and impute a frame, with the fitted values kept for new data.

The steps run in that order: duplicates first, so that they do not weigh on the
statistics; clipping next, so that imputed means are not pulled by outliers;
imputation last. :class:`Cleaner` learns the clip bounds and fill values once
(``fit``) and applies the very same ones to later data (``transform``); its
``to_dict`` / ``from_dict`` carry them as JSON.

Column dtypes are kept: on integer columns a mean or median fill is rounded to the
nearest integer, and fractional clip bounds tighten to the integers inside them.
On float columns NaN counts as missing, as it does for ``null_share`` in validate.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({
...     "id": [1, 1, 2, 3, 4],
...     "income": [10.0, 10.0, None, 30.0, 1000.0],
...     "city": ["Oslo", "Oslo", "Rome", None, "Rome"],
... })
>>> cleaned, report = clean(
...     frame,
...     dedupe=["id"],
...     clip={"income": {"max": 100.0}},
...     impute={"income": "median", "city": "mode"},
... )
>>> cleaned.rows()
[(1, 10.0, 'Oslo'), (2, 30.0, 'Rome'), (3, 30.0, 'Rome'), (4, 100.0, 'Rome')]
>>> report.duplicates_removed, report.clipped, report.imputed
(1, {'income': {'low': 0, 'high': 1}}, {'income': 1, 'city': 1})
>>> report.cleaner.fill_values_
{'income': 30.0, 'city': 'Rome'}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mlcore.errors import InvalidInput
from mlcore.pipelines.components._frames import as_list, as_polars, choose, require_columns

if TYPE_CHECKING:
    import polars as pl

__all__ = ["CleanReport", "Cleaner", "clean"]

LEARNT_FILLS = ("mean", "median", "mode")
Keep = Literal["first", "last"]
KEEP: tuple[Keep, ...] = ("first", "last")


@dataclass
class CleanReport:
    """What cleaning changed, and the fitted :class:`Cleaner` that did it."""

    rows_in: int
    rows_out: int
    duplicates_removed: int
    clipped: dict[str, dict[str, int]] = field(default_factory=dict)
    imputed: dict[str, int] = field(default_factory=dict)
    cleaner: Cleaner | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "duplicates_removed": self.duplicates_removed,
            "clipped": self.clipped,
            "imputed": self.imputed,
            "cleaner": None if self.cleaner is None else self.cleaner.to_dict(),
        }


class Cleaner:
    """Dedupe, clip and impute, fitted on one frame and reusable on others.

    Parameters
    ----------
    impute
        ``{column: strategy}`` with strategy ``"mean"``, ``"median"``, ``"mode"``
        (most frequent value, the smallest on ties) or ``{"constant": value}``.
    clip
        ``{column: bounds}`` with bounds ``{"quantiles": [low, high]}`` (learnt at
        fit), ``{"min": a, "max": b}`` or ``[a, b]``; either side may be None.
    dedupe
        ``True`` (whole rows), a column or list of columns, or
        ``{"subset": [...], "keep": "first" | "last", "order_by": column(s)}``:
        among rows sharing the subset, keep the first or last by ``order_by``
        (by position without it). Kept rows stay in their original order.
    """

    def __init__(
        self,
        *,
        impute: dict[str, str | dict[str, Any]] | None = None,
        clip: dict[str, dict[str, Any] | list[Any]] | None = None,
        dedupe: bool | str | list[str] | dict[str, Any] | None = None,
    ) -> None:
        self.impute = dict(impute or {})
        self.clip = dict(clip or {})
        self.dedupe = dedupe
        self._strategies = {c: _strategy(c, s) for c, s in self.impute.items()}
        self._bounds_spec = {c: _bounds_spec(c, b) for c, b in self.clip.items()}
        self._dedupe = _dedupe_spec(dedupe)
        self.fill_values_: dict[str, Any] | None = None
        self.clip_bounds_: dict[str, list[Any]] | None = None

    def fit(self, frame: Any) -> Cleaner:
        """Learn clip bounds and fill values from ``frame``."""
        self._apply(as_polars(frame), fitting=True)
        return self

    def transform(self, frame: Any) -> tuple[pl.DataFrame, CleanReport]:
        """Apply the fitted cleaning to ``frame``."""
        if self.fill_values_ is None or self.clip_bounds_ is None:
            raise InvalidInput("the cleaner is not fitted", hint="Call fit(frame) first")
        return self._apply(as_polars(frame), fitting=False)

    def fit_transform(self, frame: Any) -> tuple[pl.DataFrame, CleanReport]:
        """Fit on ``frame`` and return it cleaned."""
        return self._apply(as_polars(frame), fitting=True)

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted values as JSON-ready data."""
        return {
            "impute": self.impute,
            "clip": self.clip,
            "dedupe": self.dedupe,
            "fill_values": self.fill_values_,
            "clip_bounds": self.clip_bounds_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cleaner:
        """Rebuild a (fitted) cleaner from :meth:`to_dict` output."""
        cleaner = cls(impute=data.get("impute"), clip=data.get("clip"), dedupe=data.get("dedupe"))
        cleaner.fill_values_ = data.get("fill_values")
        cleaner.clip_bounds_ = data.get("clip_bounds")
        return cleaner

    def _apply(self, data: pl.DataFrame, *, fitting: bool) -> tuple[pl.DataFrame, CleanReport]:
        import polars as pl

        require_columns(data, [*self.impute, *self.clip, *self._dedupe_columns()])
        rows_in = data.height
        data = self._drop_duplicates(data)
        if fitting:
            self.clip_bounds_ = self._fit_bounds(data)
        assert self.clip_bounds_ is not None
        low_high, clipping = [], []
        for column, (low, high) in self.clip_bounds_.items():
            col = pl.col(column)
            below = pl.lit(False) if low is None else col < low
            above = pl.lit(False) if high is None else col > high
            low_high += [below.sum().alias(f"{column}:low"), above.sum().alias(f"{column}:high")]
            clipping.append(col.clip(low, high))
        counts = data.select(low_high).row(0, named=True) if low_high else {}
        clipped = {
            c: {"low": counts[f"{c}:low"], "high": counts[f"{c}:high"]} for c in self.clip_bounds_
        }
        data = data.with_columns(clipping)

        if fitting:
            self.fill_values_ = self._fit_fills(data)
        assert self.fill_values_ is not None
        missing = {c: _missing(c, data.schema[c]) for c in self.fill_values_}
        imputed = (
            data.select(m.sum().alias(c) for c, m in missing.items()).row(0, named=True)
            if missing
            else {}
        )
        data = data.with_columns(
            pl.when(missing[c]).then(pl.lit(v, dtype=data.schema[c])).otherwise(pl.col(c)).alias(c)
            for c, v in self.fill_values_.items()
        )
        report = CleanReport(rows_in, data.height, rows_in - data.height, clipped, imputed, self)
        return data, report

    def _dedupe_columns(self) -> list[str]:
        if self._dedupe is None:
            return []
        subset, _, order_by = self._dedupe
        return [*(subset or []), *order_by]

    def _drop_duplicates(self, data: pl.DataFrame) -> pl.DataFrame:
        if self._dedupe is None:
            return data
        subset, keep, order_by = self._dedupe
        if not order_by:
            return data.unique(subset=subset, keep=keep, maintain_order=True)
        position = "__mlcore_position__"
        return (
            data.with_row_index(position)
            .sort([*order_by, position], maintain_order=True)
            .unique(subset=subset or data.columns, keep=keep, maintain_order=True)
            .sort(position)
            .drop(position)
        )

    def _fit_bounds(self, data: pl.DataFrame) -> dict[str, list[Any]]:
        for column in self._bounds_spec:
            if not data.schema[column].is_numeric():
                raise InvalidInput(
                    f"cannot clip '{column}': it is {data.schema[column]}",
                    hint="Clip numeric columns only",
                )
        quantiles = []
        for column, (kind, low, high) in self._bounds_spec.items():
            if kind == "quantiles":
                method: Literal["nearest", "linear"] = (
                    "nearest" if data.schema[column].is_integer() else "linear"
                )
                col = _valued(column, data.schema[column])
                quantiles += [
                    col.quantile(low, interpolation=method).alias(f"{column}:low"),
                    col.quantile(high, interpolation=method).alias(f"{column}:high"),
                ]
        learnt = data.select(quantiles).row(0, named=True) if quantiles else {}
        bounds = {}
        for column, (kind, low, high) in self._bounds_spec.items():
            if kind == "quantiles":
                low, high = learnt[f"{column}:low"], learnt[f"{column}:high"]
            if data.schema[column].is_integer():
                low = None if low is None else math.ceil(low)
                high = None if high is None else math.floor(high)
            bounds[column] = [low, high]
        return bounds

    def _fit_fills(self, data: pl.DataFrame) -> dict[str, Any]:
        import polars as pl

        stats = []
        for column, (strategy, _) in self._strategies.items():
            dtype = data.schema[column]
            if strategy in ("mean", "median") and not dtype.is_numeric():
                raise InvalidInput(
                    f"cannot impute the {strategy} of '{column}': it is {dtype}",
                    hint="Use mode or a constant for non-numeric columns",
                )
            col = _valued(column, dtype).drop_nulls()
            if strategy == "mean":
                stats.append(col.mean().alias(column))
            elif strategy == "median":
                stats.append(col.median().alias(column))
            elif strategy == "mode":
                stats.append(col.mode().sort().first().alias(column))
        learnt = data.select(stats).row(0, named=True) if stats else {}
        fills = {}
        for column, (strategy, constant) in self._strategies.items():
            dtype = data.schema[column]
            value = constant if strategy == "constant" else learnt[column]
            if value is None:
                raise InvalidInput(
                    f"cannot impute '{column}': it has no values to learn a {strategy} from",
                    hint="Use a constant fill for an all-missing column",
                )
            if dtype.is_integer() and isinstance(value, float) and strategy != "constant":
                value = round(value)
            try:
                pl.Series([value]).cast(dtype, strict=True)
            except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"cannot fill '{column}' ({dtype}) with {value!r}",
                    hint="Give a constant of the column's type",
                ) from exc
            fills[column] = value
        return fills


def clean(
    frame: Any,
    *,
    impute: dict[str, str | dict[str, Any]] | None = None,
    clip: dict[str, dict[str, Any] | list[Any]] | None = None,
    dedupe: bool | str | list[str] | dict[str, Any] | None = None,
) -> tuple[pl.DataFrame, CleanReport]:
    """Dedupe, clip and impute ``frame``; see :class:`Cleaner` for the parameters.

    Returns the cleaned frame and a :class:`CleanReport` whose ``cleaner`` applies
    the same fitted cleaning to new data.
    """
    return Cleaner(impute=impute, clip=clip, dedupe=dedupe).fit_transform(frame)


def _valued(column: str, dtype: pl.DataType) -> pl.Expr:
    """The column with NaN turned into null, so statistics skip both."""
    import polars as pl

    return pl.col(column).fill_nan(None) if dtype.is_float() else pl.col(column)


def _missing(column: str, dtype: pl.DataType) -> pl.Expr:
    import polars as pl

    col = pl.col(column)
    return (col.is_null() | col.is_nan()) if dtype.is_float() else col.is_null()


def _strategy(column: str, spec: str | dict[str, Any]) -> tuple[str, Any]:
    if isinstance(spec, dict):
        if set(spec) != {"constant"}:
            raise InvalidInput(
                f"impute spec for '{column}' is {spec!r}",
                hint="Write a strategy name or {'constant': value}",
            )
        return "constant", spec["constant"]
    return choose(spec, LEARNT_FILLS, what=f"impute strategy for '{column}'"), None


def _bounds_spec(column: str, spec: dict[str, Any] | list[Any]) -> tuple[str, Any, Any]:
    if isinstance(spec, list | tuple) and len(spec) == 2:
        low, high = spec
        kind = "bounds"
    elif isinstance(spec, dict) and set(spec) <= {"min", "max"} and spec:
        low, high, kind = spec.get("min"), spec.get("max"), "bounds"
    elif isinstance(spec, dict) and set(spec) == {"quantiles"} and len(spec["quantiles"]) == 2:
        (low, high), kind = spec["quantiles"], "quantiles"
        if not 0.0 <= low <= high <= 1.0:
            raise InvalidInput(
                f"clip quantiles for '{column}' are {spec['quantiles']}",
                hint="Give [low, high] with 0 <= low <= high <= 1",
            )
    else:
        raise InvalidInput(
            f"clip spec for '{column}' is {spec!r}",
            hint="Write [min, max], {'min': a, 'max': b} or {'quantiles': [0.01, 0.99]}",
        )
    if kind == "bounds" and low is not None and high is not None and low > high:
        raise InvalidInput(f"clip bounds for '{column}' are reversed: {low} > {high}")
    return kind, low, high


def _dedupe_spec(spec: Any) -> tuple[list[str] | None, Keep, list[str]] | None:
    if spec is None or spec is False:
        return None
    if spec is True:
        return None, "first", []
    if isinstance(spec, str | list | tuple):
        return as_list(spec), "first", []
    if isinstance(spec, dict):
        unknown = set(spec) - {"subset", "keep", "order_by"}
        if unknown:
            raise InvalidInput(
                f"dedupe has unknown keys {sorted(unknown)}", hint="Use subset, keep and order_by"
            )
        keep = choose(spec.get("keep", "first"), KEEP, what="dedupe keep")
        return as_list(spec.get("subset")) or None, keep, as_list(spec.get("order_by"))
    raise InvalidInput(
        f"dedupe is {spec!r}",
        hint="Write True, a column, a list of columns or {'subset': [...], 'keep': 'last', 'order_by': 'ts'}",
    )
