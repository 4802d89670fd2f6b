"""Drift statistics against SciPy (exact mode) and against their stated bounds (summary mode)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlcore.monitoring import statistics as st
from mlcore.monitoring.profile import ReferenceProfile

from .conftest import numeric_profile

RNG = np.random.default_rng(99)
N = 3_000
DATASETS = {
    "normal": (RNG.normal(size=N), RNG.normal(size=N)),
    "shifted": (RNG.normal(size=N), RNG.normal(0.5, 1.3, N)),
    "heavy_tailed": (RNG.standard_t(1.5, N), RNG.standard_t(1.5, N) * 1.5),
    "integer": (RNG.poisson(4, N).astype(float), RNG.poisson(5, N).astype(float)),
    "constant": (np.full(N, 2.5), np.full(N, 2.5)),
    "constant_moved": (np.full(N, 2.5), RNG.normal(2.5, 1, N)),
    "with_nan_inf": (
        np.concatenate([RNG.normal(size=N), [np.nan] * 30, [np.inf] * 5]),
        np.concatenate([RNG.normal(0.2, 1, N), [np.nan] * 90, [-np.inf] * 9, [np.inf] * 3]),
    ),
}


def brute_psi(p_counts: np.ndarray, q_counts: np.ndarray, s: float = 0.5) -> float:
    k = len(p_counts)
    total = 0.0
    for c_p, c_q in zip(p_counts, q_counts, strict=True):
        p = (c_p + s) / (sum(p_counts) + s * k)
        q = (c_q + s) / (sum(q_counts) + s * k)
        total += (q - p) * math.log(q / p)
    return total


@pytest.mark.parametrize("name", list(DATASETS))
def test_exact_mode_equals_scipy(name: str) -> None:
    ref, cur = DATASETS[name]
    finite_ref, finite_cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    ks = st.ks_exact(ref, cur)
    want = stats.ks_2samp(finite_ref, finite_cur)
    assert ks.statistic == pytest.approx(want.statistic, abs=1e-12)
    asymp = stats.ks_2samp(finite_ref, finite_cur, method="asymp").pvalue
    scipy_like = st.ks_pvalue(ks.statistic, len(finite_ref), len(finite_cur), method="scipy")
    assert scipy_like == pytest.approx(asymp, abs=1e-9)
    assert ks.pvalue == pytest.approx(asymp, rel=0.05, abs=1e-9)  # Stephens' approximation
    assert st.wasserstein_exact(ref, cur) == pytest.approx(
        stats.wasserstein_distance(finite_ref, finite_cur), abs=1e-9
    )

    # Binned statistics on the profile's bins, counted the obvious way from raw values.
    layout = numeric_profile(ref).layouts["x"]
    p = np.bincount(layout.bin_of_cell, weights=layout.exact_cells(ref), minlength=layout.n_bins)
    q = np.bincount(layout.bin_of_cell, weights=layout.exact_cells(cur), minlength=layout.n_bins)
    assert st.jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9)
    assert st.psi(p, q) == pytest.approx(brute_psi(p, q), abs=1e-9)
    kept = (p + q) > 0
    chi = st.chi_square(p, q)
    if kept.sum() >= 2:
        want_chi = stats.chi2_contingency(np.vstack([p[kept], q[kept]]), correction=False)
        assert chi.statistic == pytest.approx(want_chi.statistic, abs=1e-9)
        assert chi.pvalue == pytest.approx(want_chi.pvalue, abs=1e-9)
        assert chi.dof == want_chi.dof
    else:
        assert chi == (0.0, 1.0, 0)
    pp, qq = p / p.sum(), q / q.sum()
    assert st.hellinger(p, q) == pytest.approx(
        np.sqrt(0.5 * np.sum((np.sqrt(pp) - np.sqrt(qq)) ** 2)), abs=1e-12
    )


@pytest.mark.parametrize("name", list(DATASETS))
def test_summary_mode_stays_within_its_bounds(name: str) -> None:
    ref, cur = DATASETS[name]
    profile = numeric_profile(ref)
    layout = profile.layouts["x"]
    r, c = profile.reference.columns["x"], profile.summarise(pl.DataFrame({"x": cur})).columns["x"]
    exact_ks = st.ks_exact(ref, cur).statistic
    ks = st.ks(r, c)
    assert ks.statistic <= exact_ks + 1e-12 <= ks.statistic + ks.bound + 2e-12
    w = st.wasserstein(layout, r, c)
    assert abs(w.distance - st.wasserstein_exact(ref, cur)) <= w.bound + 1e-9
    # bins are exact, so binned statistics are too
    assert st.psi(layout.bin_counts(r), layout.bin_counts(c)) == pytest.approx(
        st.psi(
            np.bincount(
                layout.bin_of_cell, weights=layout.exact_cells(ref), minlength=layout.n_bins
            ),
            np.bincount(
                layout.bin_of_cell, weights=layout.exact_cells(cur), minlength=layout.n_bins
            ),
        ),
        abs=1e-12,
    )


def test_summary_bounds_are_tight_on_smooth_data() -> None:
    ref, cur = RNG.normal(size=100_000), RNG.normal(0.05, 1, 100_000)
    profile = numeric_profile(ref)
    r, c = profile.reference.columns["x"], profile.summarise(pl.DataFrame({"x": cur})).columns["x"]
    assert st.ks(r, c).bound < 0.01
    w = st.wasserstein(profile.layouts["x"], r, c)
    assert abs(w.distance - st.wasserstein_exact(ref, cur)) < 1e-3


@settings(max_examples=40, deadline=None)
@given(
    ref=hs.lists(hs.floats(-100, 100), min_size=2, max_size=200),
    cur=hs.lists(
        hs.one_of(hs.floats(-300, 300), hs.integers(-3, 3).map(float)), min_size=1, max_size=200
    ),
)
def test_summary_bounds_hold_for_any_data(ref: list[float], cur: list[float]) -> None:
    profile = numeric_profile(np.array(ref), resolution=64, grid=8, quantile_grid=8, bins=4)
    r, c = profile.reference.columns["x"], profile.summarise(pl.DataFrame({"x": cur})).columns["x"]
    exact = st.ks_exact(np.array(ref), np.array(cur)).statistic
    ks = st.ks(r, c)
    assert ks.statistic - 1e-12 <= exact <= ks.statistic + ks.bound + 1e-12
    w = st.wasserstein(profile.layouts["x"], r, c)
    assert (
        abs(w.distance - st.wasserstein_exact(np.array(ref), np.array(cur)))
        <= w.bound * (1 + 1e-9) + 1e-9
    )


def test_categorical_statistics_with_unseen_categories_match_scipy() -> None:
    ref = RNG.choice(["a", "b", "c", "d"], 5_000, p=[0.4, 0.3, 0.2, 0.1])
    cur = RNG.choice(["a", "b", "c", "e", "f"], 4_000, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    profile = ReferenceProfile.fit(pl.DataFrame({"c": ref}))
    p = profile.reference.columns["c"].counts
    q = profile.summarise(pl.DataFrame({"c": cur})).columns["c"].counts
    categories = profile.layouts["c"].categories
    seen, now = Counter(ref), Counter(cur)
    want_q = [now[k] for k in categories] + [sum(v for k, v in now.items() if k not in categories)]
    assert q.tolist() == want_q and q[-1] > 0
    assert p.tolist() == [seen[k] for k in categories] + [0]
    assert st.jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9)
    kept = (p + q) > 0
    want = stats.chi2_contingency(np.vstack([p[kept], q[kept]]), correction=False)
    assert st.chi_square(p, q).statistic == pytest.approx(want.statistic, abs=1e-9)
    assert st.chi_square(p, q).pvalue == pytest.approx(want.pvalue, abs=1e-12)
    assert st.linf(p, q) == pytest.approx(np.max(np.abs(p / p.sum() - q / q.sum())), abs=1e-12)


def test_identical_distributions_score_zero_and_empty_sides_score_nan() -> None:
    counts = np.array([5, 0, 7, 3])
    for fn in (st.psi, st.jensen_shannon, st.hellinger, st.linf):
        assert fn(counts, counts) == pytest.approx(0.0, abs=1e-12)
        assert math.isnan(fn(counts, np.zeros(4)))
    for fn in (st.jensen_shannon, st.hellinger, st.linf):  # shares, not counts, matter...
        assert fn(counts, counts * 3) == pytest.approx(0.0, abs=1e-12)
    assert st.psi(counts, counts * 3) > 0  # ...except through PSI's pseudo-counts
    assert math.isnan(st.chi_square(counts, np.zeros(4)).statistic)
    assert math.isnan(st.ks_exact([1.0, 2.0], [np.nan]).statistic)
    assert math.isnan(st.wasserstein_exact([], [1.0]))


def test_psi_smoothing_keeps_empty_bins_finite() -> None:
    value = st.psi([100, 0], [50, 50])
    assert math.isfinite(value) and value == pytest.approx(
        brute_psi(np.array([100, 0]), np.array([50, 50]))
    )


def test_statistics_broadcast_over_replicates() -> None:
    ref = np.array([10, 20, 30])
    cur = np.array([[10, 20, 30], [30, 20, 10]])
    np.testing.assert_allclose(st.psi(ref, cur), [st.psi(ref, cur[0]), st.psi(ref, cur[1])])
    np.testing.assert_allclose(
        st.jensen_shannon(ref, cur), [0.0, jensenshannon(ref, cur[1], base=2)], atol=1e-12
    )


def test_normalised_wasserstein_scale_and_its_fallbacks(rng: np.random.Generator) -> None:
    normal = numeric_profile(rng.normal(0, 2, 50_000)).layouts["x"]
    assert normal.scale == pytest.approx(2.0, rel=0.03)  # IQR / 1.349 is sigma for normal data
    assert st.normalised_wasserstein(1.0, normal) == pytest.approx(0.5, rel=0.03)
    zero_inflated = numeric_profile(
        np.concatenate([np.zeros(900), rng.exponential(size=100)])
    ).layouts["x"]
    assert zero_inflated.scale == 0 and st.normalised_wasserstein(
        0.3, zero_inflated
    ) == pytest.approx(0.3 / zero_inflated.std)
    constant = numeric_profile(np.ones(100)).layouts["x"]
    assert st.normalised_wasserstein(0.0, constant) == 0.0
    assert st.normalised_wasserstein(0.1, constant) == math.inf
