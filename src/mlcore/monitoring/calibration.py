"""Alert thresholds calibrated on the reference itself.

At a million rows every p-value is 0: any difference, however small, is
"significant". Alerting therefore defaults to effect sizes (PSI, distances,
rate changes), and the question becomes how large an effect the data shows
when nothing has changed. The reference answers it:

1. cut the reference into ``blocks`` contiguous blocks and summarise each (the
   same kernels, so this costs one pass over the reference);
2. draw ``replicates`` pseudo-windows, each a random set of ``window_blocks``
   blocks, and score every statistic of every column between the pseudo-window
   and the remaining blocks, exactly as a production window is scored against
   the reference (counts add, so every replicate is a sum of block summaries);
3. keep the scores: they are each statistic's null distribution. A threshold is
   their ``quantile`` (0.99 by default) and an observed score's p-value is
   ``(1 + #{null >= score}) / (1 + replicates)``, which stays meaningful at any
   window size and feeds the Benjamini-Hochberg or Bonferroni decision across
   columns in :mod:`mlcore.monitoring.report`.

Contiguous blocks keep whatever slow variation the reference has (seasonality
in a time-ordered training set), so the null includes it: a reference sorted by
one of its own columns would inflate that column's thresholds. Choose
``window_rows`` near the production window size: the null of a smaller window
is wider (conservative), of a larger one narrower (more alerts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring import statistics as st
from mlcore.monitoring._frames import to_table
from mlcore.monitoring.layout import CategoricalLayout, NumericLayout
from mlcore.monitoring.profile import ReferenceProfile
from mlcore.monitoring.summary import CategoricalSummary, NumericSummary, WindowSummary

__all__ = ["CALIBRATED", "Calibration", "calibrate"]

#: Statistics with a calibrated null distribution, per column kind.
CALIBRATED = {
    "numeric": (
        "psi",
        "ks",
        "jensen_shannon",
        "wasserstein",
        "wasserstein_normalised",
        "hellinger",
        "missing_rate",
    ),
    "categorical": (
        "psi",
        "jensen_shannon",
        "hellinger",
        "linf",
        "missing_rate",
        "new_category_rate",
    ),
}


@dataclass(eq=False)
class Calibration:
    """Null distributions of each statistic per column, from reference blocks.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from mlcore.monitoring import ReferenceProfile
    >>> rng = np.random.default_rng(7)
    >>> train = pl.DataFrame({"x": rng.normal(size=20_000)})
    >>> profile = ReferenceProfile.fit(train)
    >>> cal = calibrate(profile, train, window_rows=2_000, replicates=200)
    >>> cal.window_blocks, round(cal.threshold("x", "psi"), 4)
    (2, 0.017)
    >>> cal.pvalue("x", "psi", 0.0), cal.pvalue("x", "psi", 1.0)
    (1.0, 0.004975124378109453)
    """

    profile_id: str
    blocks: int
    window_blocks: int
    window_rows: int
    quantile: float
    seed: int
    null: dict[str, dict[str, np.ndarray]]
    # Thresholds are asked for on every window of every report: compute each once.
    _thresholds: dict[tuple[str, str], float] = field(default_factory=dict, init=False, repr=False)

    @property
    def replicates(self) -> int:
        first = next(iter(self.null.values()), {})
        return len(next(iter(first.values()), ()))

    def _scores(self, column: str, statistic: str) -> np.ndarray:
        try:
            return self.null[column][statistic]
        except KeyError:
            raise NotFound(
                "calibrated statistic", f"{column}/{statistic}",
                candidates=[f"{c}/{s}" for c, by in self.null.items() for s in by],
            ) from None  # fmt: skip

    def threshold(self, column: str, statistic: str) -> float:
        """The ``quantile`` of the statistic's null distribution."""
        key = (column, statistic)
        if key not in self._thresholds:
            scores = self._scores(column, statistic)
            found = float(np.quantile(scores, self.quantile)) if len(scores) else float("nan")
            self._thresholds[key] = found
        return self._thresholds[key]

    def pvalue(self, column: str, statistic: str, value: float) -> float:
        """Share of null scores at least as large as ``value`` (with the +1 rule)."""
        scores = self._scores(column, statistic)
        if np.isnan(value):
            return float("nan")
        exceed = len(scores) - np.searchsorted(scores, value, side="left")
        return float((1 + exceed) / (1 + len(scores)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "blocks": self.blocks,
            "window_blocks": self.window_blocks,
            "window_rows": self.window_rows,
            "quantile": self.quantile,
            "seed": self.seed,
            "null": {c: {s: v.tolist() for s, v in by.items()} for c, by in self.null.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(
            str(data["profile_id"]),
            int(data["blocks"]),
            int(data["window_blocks"]),
            int(data["window_rows"]),
            float(data["quantile"]),
            int(data["seed"]),
            {
                c: {s: np.asarray(v, dtype=np.float64) for s, v in by.items()}
                for c, by in data["null"].items()
            },
        )


def calibrate(
    profile: ReferenceProfile,
    reference: Any,
    *,
    blocks: int = 20,
    window_rows: int | None = None,
    replicates: int = 1000,
    quantile: float = 0.99,
    seed: int = 0,
) -> Calibration:
    """Calibrate thresholds for ``profile`` on ``reference`` rows; see the module docstring.

    ``window_rows`` defaults to a quarter of the reference. Raises InvalidInput
    when the reference is too small to cut into ``blocks`` blocks.
    """
    table = to_table(reference)
    n = table.num_rows
    if blocks < 2 or n < 2 * blocks:
        raise InvalidInput(
            f"cannot cut {n} reference rows into {blocks} blocks",
            hint="Use blocks >= 2 and at least two rows per block",
        )
    if not 0 < quantile < 1:
        raise InvalidInput(f"quantile {quantile} is not between 0 and 1", field="quantile")
    edges = np.linspace(0, n, blocks + 1).round().astype(np.int64)
    parts = [profile.summarise(table.slice(s, e - s)) for s, e in pairwise(edges.tolist())]
    rows_per_block = n / blocks
    want = window_rows if window_rows is not None else n // 4
    window_blocks = int(np.clip(round(want / rows_per_block), 1, blocks - 1))
    rng = np.random.default_rng(seed)
    picks = np.argsort(rng.random((replicates, blocks)), axis=1)[:, :window_blocks]
    chosen = np.zeros((replicates, blocks))
    np.put_along_axis(chosen, picks, 1.0, axis=1)
    null = {
        name: _null_scores(layout, parts, name, chosen) for name, layout in profile.layouts.items()
    }
    return Calibration(
        profile.id,
        blocks,
        window_blocks,
        round(window_blocks * rows_per_block),
        quantile,
        seed,
        null,
    )


def _split(chosen: np.ndarray, per_block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window, rest) sums of per-block arrays for every replicate."""
    window = chosen @ per_block
    return window, per_block.sum(axis=0) - window


def _rate_change(chosen: np.ndarray, numerators: np.ndarray, totals: np.ndarray) -> np.ndarray:
    (win_num, rest_num), (win_tot, rest_tot) = _split(chosen, numerators), _split(chosen, totals)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(win_num / win_tot - rest_num / rest_tot)


def _null_scores(
    layout: NumericLayout | CategoricalLayout,
    parts: list[WindowSummary],
    name: str,
    chosen: np.ndarray,
) -> dict[str, np.ndarray]:
    summaries = [part.columns[name] for part in parts]
    rows = np.array([float(s.rows) for s in summaries])
    missing = np.array([float(s.missing) for s in summaries])
    scores: dict[str, float | np.ndarray] = {"missing_rate": _rate_change(chosen, missing, rows)}
    if isinstance(layout, NumericLayout):
        numeric = [s for s in summaries if isinstance(s, NumericSummary)]
        bins = np.array([layout.bin_counts(s) for s in numeric], dtype=np.float64)
        cells = np.array([s.finite_cells for s in numeric], dtype=np.float64)
        tails = np.array([s.tails for s in numeric])
        win_cells, rest_cells = _split(chosen, cells)
        win_tails, rest_tails = _split(chosen, tails)
        scores["ks"] = st.ks_cells(rest_cells, win_cells)[0]
        distance = st.wasserstein_cells(layout, rest_cells, win_cells, rest_tails, win_tails)[0]
        scores["wasserstein"] = distance
        scores["wasserstein_normalised"] = st.normalised_wasserstein(distance, layout)
    else:
        categorical = [s for s in summaries if isinstance(s, CategoricalSummary)]
        bins = np.array([s.counts for s in categorical], dtype=np.float64)
        win, rest = _split(chosen, bins)
        # A value is new to the rest if its category never occurs there; the
        # "unseen" bucket is new by definition, as it is in production.
        new = np.where(rest[:, :-1] == 0, win[:, :-1], 0.0).sum(axis=1) + win[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            scores["new_category_rate"] = np.abs(
                new / win.sum(axis=1) - rest[:, -1] / rest.sum(axis=1)
            )
        scores["linf"] = st.linf(rest, win)
    win_bins, rest_bins = _split(chosen, bins)
    scores["psi"] = st.psi(rest_bins, win_bins)
    scores["jensen_shannon"] = st.jensen_shannon(rest_bins, win_bins)
    scores["hellinger"] = st.hellinger(rest_bins, win_bins)
    return {
        stat: np.sort(np.asarray(scores[stat], dtype=np.float64))
        for stat in CALIBRATED[layout.kind]
    }
