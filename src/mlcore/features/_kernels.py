"""Numba kernels of the point-in-time engine: grouping, as-of search, window statistics.

Every kernel works on one *chunk* of feature rows (a few Parquet row groups of
one file) against the entity rows grouped by dense key id. The chunk arrives as
*runs*: for each join key present both in the chunk and in the entity frame, the
half-open row range ``[run_start, run_end)`` holding that key's rows, sorted by
event timestamp. Results are *reduced* into per-entity state arrays, so any
partition of the feature rows into chunks gives the same answer; that is what
lets retrieval stream files of any size and combine ingestion batches.

Timestamps are int64 microseconds since the epoch (UTC). A missing created
timestamp is :data:`NO_CREATED` (older than any real one).

The kernels are plain Python under ``kernel.py_func``; the tests run both.
"""

from __future__ import annotations

import numba as nb
import numpy as np

NO_CREATED = np.iinfo(np.int64).min
"""Created timestamp given to rows without one: it loses every tie."""


@nb.njit(cache=True, nogil=True)
def group_rows(key_id: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable counting sort of row positions by key id; rows with ``key_id < 0`` are left out.

    Returns ``(order, starts)``: the rows of key ``k`` are ``order[starts[k]:starts[k + 1]]``,
    in input order.
    """
    starts = np.zeros(n_keys + 1, np.int64)
    for k in key_id:
        if k >= 0:
            starts[k + 1] += 1
    for k in range(n_keys):
        starts[k + 1] += starts[k]
    order = np.empty(starts[n_keys], np.int64)
    fill = starts[:n_keys].copy()
    for i in range(key_id.size):
        k = key_id[i]
        if k >= 0:
            order[fill[k]] = i
            fill[k] += 1
    return order, starts


@nb.njit(cache=True, nogil=True)
def runs_are_sorted(
    run_key: np.ndarray,
    run_start: np.ndarray,
    run_end: np.ndarray,
    ts: np.ndarray,
    seen: np.ndarray,
    stamp: int,
) -> bool:
    """True when each key has one run in the chunk and its timestamps never decrease.

    ``seen`` (one slot per key id) remembers the last chunk ``stamp`` that saw each key,
    so it never needs clearing between chunks.
    """
    for r in range(run_key.size):
        k = run_key[r]
        if seen[k] == stamp:
            return False
        seen[k] = stamp
        for j in range(run_start[r] + 1, run_end[r]):
            if ts[j] < ts[j - 1]:
                return False
    return True


@nb.njit(cache=True, nogil=True, inline="always")
def _after(ts: np.ndarray, lo: int, hi: int, t: int) -> int:
    """First position in ``ts[lo:hi]`` (sorted) holding a value greater than ``t``."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if ts[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(cache=True, nogil=True)
def asof_winners(
    run_key: np.ndarray,
    run_start: np.ndarray,
    run_end: np.ndarray,
    ts: np.ndarray,
    created: np.ndarray,
    row_map: np.ndarray,
    key_starts: np.ndarray,
    entity_ts: np.ndarray,
    lookback: int,
    chunk: int,
    best_ts: np.ndarray,
    best_created: np.ndarray,
    best_chunk: np.ndarray,
    best_row: np.ndarray,
) -> None:
    """Fold one chunk into the as-of winners of every entity row (in grouped order).

    A row qualifies for entity time ``t`` when its event time ``e`` satisfies
    ``t - lookback <= e <= t`` (``lookback < 0``: no lower bound). The winner is the
    greatest ``(e, created, ingestion order)``; chunks arrive in ingestion order, so an
    equal pair from this chunk replaces the previous winner, and within a chunk the later
    row wins. ``best_chunk < 0`` marks "no winner yet". ``row_map`` (empty when the chunk
    was read sorted) maps positions back to rows of the file.
    """
    for r in range(run_key.size):
        k = run_key[r]
        lo = run_start[r]
        hi = run_end[r]
        first = ts[lo]
        last = ts[hi - 1]
        for i in range(key_starts[k], key_starts[k + 1]):
            t = entity_ts[i]
            if t < first:
                continue
            # Batches usually cover successive periods: most entity times fall after a run.
            j = hi - 1 if t >= last else _after(ts, lo, hi, t) - 1
            e = ts[j]
            if lookback >= 0 and e < t - lookback:
                continue
            win = j
            c = created[j]
            j -= 1
            while j >= lo and ts[j] == e:
                if created[j] > c:
                    c = created[j]
                    win = j
                j -= 1
            if best_chunk[i] < 0 or e > best_ts[i] or (e == best_ts[i] and c >= best_created[i]):
                best_ts[i] = e
                best_created[i] = c
                best_chunk[i] = chunk
                best_row[i] = row_map[win] if row_map.size else win


@nb.njit(cache=True, nogil=True)
def window_stats(
    run_key: np.ndarray,
    run_start: np.ndarray,
    run_end: np.ndarray,
    ts: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    key_starts: np.ndarray,
    entity_ts: np.ndarray,
    window: int,
    with_m2: bool,
    count: np.ndarray,
    total: np.ndarray,
    mean: np.ndarray,
    m2: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> None:
    """Fold one chunk into trailing-window statistics of every entity row (grouped order).

    The window of entity time ``t`` is ``(t - window, t]``. Null values (``valid`` false)
    are skipped; NaN propagates to every statistic. ``count``, ``total``, ``low`` and
    ``high`` combine by addition / min / max; ``mean`` and ``m2`` (sum of squared
    deviations, only when ``with_m2``) by Chan, Golub and LeVeque's pairwise update, so
    windows spanning several chunks stay exact up to rounding.
    """
    zero = np.zeros(1, values.dtype)[0]
    for r in range(run_key.size):
        k = run_key[r]
        lo = run_start[r]
        hi = run_end[r]
        for i in range(key_starts[k], key_starts[k + 1]):
            t = entity_ts[i]
            stop = _after(ts, lo, hi, t)
            start = _after(ts, lo, stop, t - window)
            n = 0
            s = zero
            vmin = zero
            vmax = zero
            for j in range(start, stop):
                if not valid[j]:
                    continue
                v = values[j]
                if n == 0 or v != v:
                    vmin = v
                    vmax = v
                else:
                    if v < vmin:
                        vmin = v
                    if v > vmax:
                        vmax = v
                s += v
                n += 1
            if n == 0:
                continue
            mu = s / n
            d2 = 0.0
            if with_m2:
                for j in range(start, stop):
                    if valid[j]:
                        d = values[j] - mu
                        d2 += d * d
            n0 = count[i]
            if n0 == 0:
                low[i] = vmin
                high[i] = vmax
                total[i] = s
                mean[i] = mu
                m2[i] = d2
            else:
                if vmin != vmin or vmin < low[i]:
                    low[i] = vmin
                if vmax != vmax or vmax > high[i]:
                    high[i] = vmax
                total[i] += s
                delta = mu - mean[i]
                both = n0 + n
                mean[i] += delta * n / both
                m2[i] += d2 + delta * delta * n0 * n / both
            count[i] = n0 + n
