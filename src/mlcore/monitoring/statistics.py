"""Drift statistics, from summaries or exactly from raw values.

Binned statistics (PSI, Jensen-Shannon, Hellinger, chi-square, L-inf) take two
count vectors over the same bins. Their bins are the profile's, and a summary's
bin counts are exact, so these are the same number whether computed from
summaries or from raw values. They broadcast over leading axes: ``cur`` may be a
``(replicates, bins)`` array, which is how calibration scores thousands of
resampled windows at once.

KS and Wasserstein need the distribution within bins. :func:`ks` and
:func:`wasserstein` compute them from the fine cells of two numeric summaries
and return a guaranteed error bound with the estimate; :func:`ks_exact` and
:func:`wasserstein_exact` compute them from raw values and agree with
:func:`scipy.stats.ks_2samp` and :func:`scipy.stats.wasserstein_distance`.
KS and Wasserstein cover finite values only: nulls and NaN are missing, and
infinities are out of range (each has its own rate signal).

Examples
--------
>>> round(psi([50, 30, 20], [30, 30, 40]), 4)
0.2335
>>> round(jensen_shannon([50, 30, 20], [30, 30, 40]), 6)
0.206731
>>> chi = chi_square([50, 30, 20], [30, 30, 40])
>>> round(chi.statistic, 4), round(chi.pvalue, 6), chi.dof
(11.6667, 0.002928, 2)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from mlcore.monitoring.layout import NumericLayout
from mlcore.monitoring.summary import NumericSummary

__all__ = [
    "KS",
    "ChiSquare",
    "Wasserstein",
    "chi_square",
    "hellinger",
    "jensen_shannon",
    "ks",
    "ks_cells",
    "ks_exact",
    "ks_pvalue",
    "linf",
    "normalised_wasserstein",
    "psi",
    "wasserstein",
    "wasserstein_cells",
    "wasserstein_exact",
]

#: Pseudo-count added to every bin before PSI takes logarithms.
PSI_SMOOTHING = 0.5


class ChiSquare(NamedTuple):
    statistic: float
    pvalue: float
    dof: int


class KS(NamedTuple):
    """KS statistic, asymptotic p-value, and ``bound``: exact D lies in [statistic, statistic + bound]."""

    statistic: float
    pvalue: float
    bound: float = 0.0


class Wasserstein(NamedTuple):
    """Wasserstein-1 estimate; the exact distance is within ``bound`` of it."""

    distance: float
    bound: float = 0.0


def _proportions(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / total  # NaN rows for empty windows: no data, no score


def psi(ref: np.ndarray, cur: np.ndarray, smoothing: float = PSI_SMOOTHING) -> float | np.ndarray:
    """Population stability index, ``sum((q - p) * ln(q / p))``.

    Empty bins would make the logarithm infinite, so ``smoothing`` pseudo-counts
    are added to every bin of both sides and the proportions renormalised:
    ``p_i = (c_i + s) / (n + s * k)``. With the default 0.5 (the Jeffreys
    prior) a bin empty in a window of a million rows moves PSI by a negligible
    amount, while small windows are not dominated by empty bins. NaN when a side
    has no values.
    """
    ref = np.asarray(ref, dtype=np.float64)
    cur = np.asarray(cur, dtype=np.float64)
    empty = (ref.sum(axis=-1) == 0) | (cur.sum(axis=-1) == 0)
    p, q = _proportions(ref + smoothing), _proportions(cur + smoothing)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.sum((q - p) * np.log(q / p), axis=-1)
    return _scalar(np.where(empty, np.nan, value))


def jensen_shannon(ref: np.ndarray, cur: np.ndarray) -> float | np.ndarray:
    """Jensen-Shannon distance in base 2 (0 = same, 1 = disjoint); NaN if a side is empty.

    Equals ``scipy.spatial.distance.jensenshannon(ref, cur, base=2)``.
    """
    p, q = _proportions(ref), _proportions(cur)
    m = (p + q) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0)
    divergence = (np.sum(kl_p, axis=-1) + np.sum(kl_q, axis=-1)) / 2
    return _scalar(np.sqrt(np.maximum(divergence, 0.0)))


def hellinger(ref: np.ndarray, cur: np.ndarray) -> float | np.ndarray:
    """Hellinger distance ``sqrt(sum((sqrt(p) - sqrt(q))**2) / 2)``, in [0, 1]."""
    p, q = _proportions(ref), _proportions(cur)
    return _scalar(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=-1) / 2))


def linf(ref: np.ndarray, cur: np.ndarray) -> float | np.ndarray:
    """Largest change of any bin's (category's) share, ``max |p - q|``."""
    p, q = _proportions(ref), _proportions(cur)
    return _scalar(np.max(np.abs(p - q), axis=-1))


def chi_square(ref: np.ndarray, cur: np.ndarray) -> ChiSquare:
    """Pearson chi-square test of the 2 x k contingency table ``[ref, cur]``.

    Bins empty on both sides are dropped (they carry no information and would
    divide by zero); there is no continuity correction. Matches
    ``scipy.stats.chi2_contingency(table, correction=False)`` on the kept bins.
    With fewer than two kept bins the statistic is 0 and the p-value 1; with an
    empty side both are NaN.
    """
    ref = np.asarray(ref, dtype=np.float64)
    cur = np.asarray(cur, dtype=np.float64)
    kept = (ref + cur) > 0
    n_ref, n_cur = ref.sum(), cur.sum()
    if n_ref == 0 or n_cur == 0:
        return ChiSquare(math.nan, math.nan, 0)
    dof = int(kept.sum()) - 1
    if dof < 1:
        return ChiSquare(0.0, 1.0, 0)
    column = ref[kept] + cur[kept]
    total = n_ref + n_cur
    expected_ref = column * n_ref / total
    expected_cur = column * n_cur / total
    statistic = float(
        np.sum((ref[kept] - expected_ref) ** 2 / expected_ref)
        + np.sum((cur[kept] - expected_cur) ** 2 / expected_cur)
    )
    # chdtrc is chi2.sf without the distribution machinery (a hundred times faster).
    return ChiSquare(statistic, float(special.chdtrc(dof, statistic)), dof)


def ks_pvalue(statistic: float, n_ref: float, n_cur: float, *, method: str = "stephens") -> float:
    """Two-sided KS p-value for samples of ``n_ref`` and ``n_cur`` values.

    The default uses Kolmogorov's limiting distribution at Stephens' (1970)
    corrected argument ``(sqrt(en) + 0.12 + 0.11 / sqrt(en)) * D``, with
    ``en = n_ref n_cur / (n_ref + n_cur)``: within a few per cent of the exact
    finite-sample value and instant. ``method="scipy"`` reproduces
    ``ks_2samp(..., method="asymp")``, whose finite-``n`` distribution takes
    seconds per call at million-row windows.
    """
    if n_ref == 0 or n_cur == 0 or math.isnan(statistic):
        return math.nan
    en = n_ref * n_cur / (n_ref + n_cur)
    if method == "scipy":
        from scipy import stats  # a second to import; only this path needs it

        return float(np.clip(stats.kstwo.sf(statistic, np.round(en)), 0.0, 1.0))
    root = math.sqrt(en)
    # kolmogorov is kstwobign.sf without the distribution machinery.
    return float(np.clip(special.kolmogorov((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0))


def _shares(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell shares of the finite values, and their count, along the last axis."""
    cells = np.asarray(cells, dtype=np.float64)
    n = cells.sum(axis=-1)
    return cells / np.maximum(n, 1.0)[..., None], n


def ks_cells(ref_cells: np.ndarray, cur_cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KS statistic and error bound from finite-value cell counts (broadcasts)."""
    p, _ = _shares(ref_cells)
    q, _ = _shares(cur_cells)
    gap = np.abs(np.cumsum(p, axis=-1) - np.cumsum(q, axis=-1))[..., :-1]
    return gap.max(axis=-1), np.minimum(p, q).max(axis=-1)


def wasserstein_cells(
    layout: NumericLayout,
    ref_cells: np.ndarray,
    cur_cells: np.ndarray,
    ref_tails: np.ndarray,
    cur_tails: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Wasserstein-1 estimate and error bound from finite-value cells and tail sums (broadcasts)."""
    p, n_ref = _shares(ref_cells)
    q, n_cur = _shares(cur_cells)
    # Inner cells 2 .. k-3 lie in [a, b], between cell_bounds[1] = a and cell_bounds[-2] = b.
    widths = np.diff(layout.cell_bounds[1:-1])
    gap = np.cumsum(p, axis=-1) - np.cumsum(q, axis=-1)
    d0, d1 = gap[..., 1:-3], gap[..., 2:-2]  # CDF gap at the left and right edge of each inner cell
    size = np.abs(d0) + np.abs(d1)
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = np.where(size > 0, (d0**2 + d1**2) / (2 * size), 0.0)
    area = np.where(d0 * d1 >= 0, size / 2, crossing)
    distance = np.sum(widths * area, axis=-1)
    bound = np.sum(widths * (p[..., 2:-2] + q[..., 2:-2]), axis=-1)
    s_ref = np.asarray(ref_tails) / np.maximum(n_ref, 1.0)[..., None]
    s_cur = np.asarray(cur_tails) / np.maximum(n_cur, 1.0)[..., None]
    distance = distance + np.abs(s_ref - s_cur).sum(axis=-1)
    bound = bound + 2 * np.minimum(s_ref, s_cur).sum(axis=-1)
    return distance, bound


def ks(ref: NumericSummary, cur: NumericSummary) -> KS:
    """Two-sample KS statistic of the finite values, from two summaries.

    The empirical CDFs are known exactly at every cell edge, so the estimate
    never exceeds the exact statistic; inside a cell where the sides have
    shares ``p`` and ``q`` it can be larger by at most ``min(p, q)``, hence
    ``bound = max over cells of min(p, q)``.
    """
    ref_cells, cur_cells = ref.finite_cells, cur.finite_cells
    n_ref, n_cur = ref_cells.sum(), cur_cells.sum()
    if n_ref == 0 or n_cur == 0:
        return KS(math.nan, math.nan, math.nan)
    statistic, bound = ks_cells(ref_cells, cur_cells)
    return KS(float(statistic), ks_pvalue(float(statistic), n_ref, n_cur), float(bound))


def wasserstein(layout: NumericLayout, ref: NumericSummary, cur: NumericSummary) -> Wasserstein:
    """Wasserstein-1 distance of the finite values, from two summaries.

    Inside the robust range ``[a, b]`` each cell's CDFs are taken as linear
    (values spread evenly), which is off by at most ``width * (p + q)`` per
    cell. Beyond it the summaries hold ``E[(a - X)+]`` and ``E[(X - b)+]``
    exactly; their difference is the estimate and twice the smaller one the
    bound, so a tail where one side has no mass is exact.
    """
    if ref.finite_cells.sum() == 0 or cur.finite_cells.sum() == 0:
        return Wasserstein(math.nan, math.nan)
    distance, bound = wasserstein_cells(
        layout, ref.finite_cells, cur.finite_cells, ref.tails, cur.tails
    )
    return Wasserstein(float(distance), float(bound))


def normalised_wasserstein(
    distance: float | np.ndarray, layout: NumericLayout
) -> float | np.ndarray:
    """Wasserstein-1 in units of the reference's robust scale.

    The scale is the reference IQR / 1.349 (the standard deviation, were the
    data normal, and robust to heavy tails). When at least half of the
    reference sits on one value the IQR is 0; the standard deviation then takes
    its place. A constant reference has no scale at all: the result is 0 for an
    unchanged window and +inf for any movement.
    """
    scale = layout.scale if layout.scale > 0 else layout.std
    distance = np.asarray(distance, dtype=np.float64)
    if scale > 0:
        return _scalar(distance / scale)
    return _scalar(np.where(distance == 0, 0.0, np.where(np.isnan(distance), np.nan, np.inf)))


def ks_exact(ref: np.ndarray, cur: np.ndarray) -> KS:
    """Exact two-sample KS statistic of the finite values, with :func:`ks_pvalue`."""
    a = np.sort(_finite(ref))
    b = np.sort(_finite(cur))
    if len(a) == 0 or len(b) == 0:
        return KS(math.nan, math.nan)
    both = np.concatenate([a, b])
    gap = np.searchsorted(a, both, side="right") / len(a) - np.searchsorted(
        b, both, side="right"
    ) / len(b)
    statistic = float(np.abs(gap).max())
    return KS(statistic, ks_pvalue(statistic, len(a), len(b)))


def wasserstein_exact(ref: np.ndarray, cur: np.ndarray) -> float:
    """Exact Wasserstein-1 distance of the finite values: the area between the two ECDFs."""
    a = np.sort(_finite(ref))
    b = np.sort(_finite(cur))
    if len(a) == 0 or len(b) == 0:
        return math.nan
    both = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(a, both[:-1], side="right") / len(a)
    fb = np.searchsorted(b, both[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * np.diff(both)))


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def _scalar(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else value
