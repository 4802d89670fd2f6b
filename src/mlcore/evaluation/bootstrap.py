"""Multinomial bootstrap of rows, as integer weights, with percentile intervals.

A bootstrap resample draws ``n`` row indices uniformly with replacement (Efron 1979,
"Bootstrap methods: another look at the jackknife"). Rather than materialising the
indices, each resample is held as the *count* of every row: a vector of ``n`` integers
summing to ``n``. A statistic that is a weighted sum over rows -- or a weighted pass over
rows already sorted by score, as ROC AUC is -- is then evaluated on a resample without
copying a single row, and many resamples run side by side.

The counts come from a splitmix64 stream per resample (Steele, Lea and Flood 2014),
seeded from :class:`numpy.random.SeedSequence`, and indices are drawn with Lemire's
unbiased bounded-integer method (Lemire 2019). A resample therefore depends only on the
seed, its position and ``n``: not on the thread that drew it nor on the chunk it was
drawn in, so results are identical whatever the number of threads.

Intervals are percentile intervals: the ``(1 - confidence) / 2`` and
``(1 + confidence) / 2`` quantiles of the replicated statistic (linear interpolation,
as :func:`numpy.quantile`), over the resamples where the statistic is defined.

Examples
--------
>>> import numpy as np
>>> counts = resample_counts(n_rows=5, n_resamples=2, seed=7)
>>> counts.sum(axis=1).tolist()
[5, 5]
>>> (resample_counts(5, 2, seed=7) == counts).all()
np.True_
>>> values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
>>> means = replicate(lambda c: c @ values / 5, n_rows=5, n_resamples=1000, seed=0)
>>> low, high = percentile_interval(means, confidence=0.9)
>>> bool(low < 3.0 < high)
True
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

__all__ = ["percentile_interval", "replicate", "resample_counts"]

# Counts are uint8: a row drawn 256 times in one resample has probability below
# 1/256! (Binomial(n, 1/n) tail), and the narrow type keeps the random increments of
# a million-row resample within a core's cache. A chunk of resamples holds at most
# CHUNK_CELLS counts: 2**24 is 16 MiB, e.g. 16 resamples of a million rows.
CHUNK_CELLS = 2**24

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(1 << 32)
_S27, _S30, _S31, _S32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)


@nb.njit(cache=True)
def _splitmix64(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    state = state + _GAMMA
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return state, z ^ (z >> _S31)


@nb.njit(cache=True, nogil=True)
def _draw_counts(n_rows: int, seeds: np.ndarray, out: np.ndarray) -> None:
    bound = np.uint64(n_rows)
    # Lemire: a 32-bit draw u maps to (u * bound) >> 32; rejecting the few draws whose
    # low half falls below 2**32 mod bound makes every row exactly equally likely.
    reject_below = (_TWO32 - bound) % bound
    for r in range(seeds.shape[0]):
        row = out[r]
        state = seeds[r]
        drawn = 0
        while drawn < n_rows:
            state, bits = _splitmix64(state)
            for half in range(2):
                u = (bits >> _S32) if half == 0 else (bits & _LOW32)
                m = u * bound
                if (m & _LOW32) < reject_below:
                    continue
                k = m >> _S32
                if row[k] == 255:
                    raise OverflowError("a row was drawn 256 times in one resample")
                row[k] += 1
                drawn += 1
                if drawn == n_rows:
                    break


def _seeds(seed: int, n_resamples: int) -> np.ndarray:
    return np.random.SeedSequence(seed).generate_state(n_resamples, dtype=np.uint64)


def _counts(n_rows: int, seeds: np.ndarray) -> np.ndarray:
    if n_rows >= 2**32:
        raise ValueError("the bootstrap draws 32-bit row indices: at most 2**32 - 1 rows")
    out = np.zeros((seeds.shape[0], n_rows), dtype=np.uint8)
    if n_rows:
        _draw_counts(n_rows, seeds, out)
    return out


def resample_counts(n_rows: int, n_resamples: int, seed: int = 0) -> np.ndarray:
    """How often each row is drawn in each resample, as an ``(n_resamples, n_rows)`` matrix.

    Row ``b`` is the resample :func:`replicate` passes to its statistic in position ``b``;
    ``np.repeat(np.arange(n_rows), counts[b])`` lists its row indices. Meant for
    references and small data: :func:`replicate` never holds more than a chunk.

    Parameters
    ----------
    n_rows
        Rows in the data being resampled.
    n_resamples
        Number of resamples.
    seed
        Seed of the whole sequence of resamples.

    Returns
    -------
    numpy.ndarray
        uint8 counts; each row sums to ``n_rows``.
    """
    return _counts(n_rows, _seeds(seed, n_resamples))


def replicate(
    statistic: Callable[[np.ndarray], np.ndarray],
    n_rows: int,
    n_resamples: int,
    seed: int = 0,
    workers: int | None = None,
) -> np.ndarray:
    """Evaluate ``statistic`` on every resample, chunks of resamples on parallel threads.

    Parameters
    ----------
    statistic
        Takes an ``(r, n_rows)`` uint8 count matrix (``r`` resamples) and returns an
        array whose first axis has length ``r``. It runs on several threads at once,
        so it should release the GIL (Numba ``nogil`` kernels) to gain from them.
    n_rows
        Rows in the data being resampled.
    n_resamples
        Number of resamples.
    seed
        Seed of the whole sequence of resamples; the same seed gives the same resamples,
        which is what makes a comparison of two models paired.
    workers
        Threads; default one per core.

    Returns
    -------
    numpy.ndarray
        The statistic's results stacked along the first axis, ``n_resamples`` long.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    seeds = _seeds(seed, n_resamples)
    workers = max(1, workers or os.cpu_count() or 1)
    # Chunks small enough to bound memory, and at least one per thread.
    step = max(1, min(CHUNK_CELLS // max(n_rows, 1), -(-n_resamples // workers)))
    chunks = [seeds[start : start + step] for start in range(0, n_resamples, step)]

    def run(chunk: np.ndarray) -> np.ndarray:
        return np.asarray(statistic(_counts(n_rows, chunk)))

    if len(chunks) < 2 or workers == 1:
        return np.concatenate([run(c) for c in chunks])
    with ThreadPoolExecutor(min(workers, len(chunks))) as pool:
        return np.concatenate(list(pool.map(run, chunks)))


def percentile_interval(
    replicates: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of replicated statistics along the first axis.

    NaN replicates (resamples where the statistic is undefined, such as ROC AUC on a
    resample holding one class) are left out; where every replicate is NaN the bounds
    are NaN.

    Parameters
    ----------
    replicates
        Array of shape ``(n_resamples, ...)``.
    confidence
        Coverage of the interval, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds, each of shape ``replicates.shape[1:]``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    tail = (1.0 - confidence) / 2.0
    replicates = np.asarray(replicates, dtype=np.float64)
    if replicates.shape[0] == 0:
        empty = np.full(replicates.shape[1:], np.nan)
        return empty, empty.copy()
    if not np.isnan(replicates).any():
        low, high = np.quantile(replicates, [tail, 1.0 - tail], axis=0)
        return low, high
    with warnings.catch_warnings():
        # An all-NaN column (a metric undefined on every resample) is expected here.
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(replicates, [tail, 1.0 - tail], axis=0)
    return low, high
