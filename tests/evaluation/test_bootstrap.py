from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlcore.evaluation import bootstrap
from mlcore.evaluation.bootstrap import percentile_interval, replicate, resample_counts


def test_each_resample_draws_exactly_n_rows():
    counts = resample_counts(n_rows=37, n_resamples=50, seed=3)
    assert counts.shape == (50, 37)
    assert counts.dtype == np.uint8
    assert (counts.sum(axis=1) == 37).all()
    assert (counts >= 0).all()


def test_same_seed_same_resamples_other_seed_others():
    a = resample_counts(100, 10, seed=1)
    assert (a == resample_counts(100, 10, seed=1)).all()
    assert (a != resample_counts(100, 10, seed=2)).any()
    # Resample b does not depend on how many follow it.
    assert (resample_counts(100, 3, seed=1) == a[:3]).all()


def test_resamples_do_not_depend_on_threads_or_chunking(monkeypatch: pytest.MonkeyPatch):
    whole = resample_counts(500, 12, seed=4)
    single = replicate(lambda counts: counts, 500, 12, seed=4, workers=1)
    assert (single == whole).all()
    # Chunks of 1000 cells hold two resamples of 500 rows: six chunks on three threads.
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 1000)
    seen: list[int] = []

    def statistic(counts: np.ndarray) -> np.ndarray:
        seen.append(counts.shape[0])
        return counts

    assert (replicate(statistic, 500, 12, seed=4, workers=3) == whole).all()
    assert seen == [2] * 6
    # Without a memory bound, a chunk per thread.
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 2**24)
    seen.clear()
    assert (replicate(statistic, 500, 12, seed=4, workers=4) == whole).all()
    assert seen == [3] * 4


def test_counts_follow_the_multinomial_law():
    # Each row's count is Binomial(n, 1/n); pooled over rows and resamples the
    # frequencies of 0, 1, 2, 3+ must fit it (chi-square, 3 dof; fails at 1e-6).
    n, b = 50, 4000
    counts = resample_counts(n, b, seed=9).ravel()
    law = stats.binom(n, 1 / n)
    expected = np.array([law.pmf(0), law.pmf(1), law.pmf(2), law.sf(2)]) * counts.size
    observed = np.array([(counts == 0).sum(), (counts == 1).sum(), (counts == 2).sum(), 0])
    observed[3] = counts.size - observed[:3].sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-6
    # Every row equally likely: total draws per row fit a uniform multinomial.
    per_row = counts.reshape(b, n).sum(axis=0)
    assert stats.chisquare(per_row).pvalue > 1e-6


def test_replicate_stacks_the_statistic_in_resample_order():
    values = np.arange(10.0)
    means = replicate(lambda c: c @ values / 10, n_rows=10, n_resamples=7, seed=5)
    counts = resample_counts(10, 7, seed=5)
    assert np.allclose(means, counts @ values / 10)


def test_percentile_interval_is_numpy_percentile():
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(200, 3))
    low, high = percentile_interval(reps, 0.9)
    assert np.allclose(low, np.percentile(reps, 5, axis=0))
    assert np.allclose(high, np.percentile(reps, 95, axis=0))


def test_percentile_interval_skips_undefined_replicates():
    reps = np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, np.nan], [3.0, np.nan]])
    low, high = percentile_interval(reps, 0.5)
    assert low[0] == pytest.approx(np.percentile([1, 2, 3], 25))
    assert high[0] == pytest.approx(np.percentile([1, 2, 3], 75))
    assert np.isnan(low[1]) and np.isnan(high[1])


def test_replicate_needs_a_resample():
    with pytest.raises(ValueError, match="n_resamples must be at least 1"):
        replicate(lambda counts: counts, 10, 0)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5])
def test_percentile_interval_rejects_a_confidence_outside_0_1(confidence: float):
    with pytest.raises(ValueError, match="confidence"):
        percentile_interval(np.zeros((3, 1)), confidence)
