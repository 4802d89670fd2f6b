"""ADWIN: adaptive windowing change detection (Bifet & Gavaldà, 2007).

A Numba port of River's ``river.drift.ADWIN`` (0.26, whose core is written in
Rust), operation for operation, so that both flag changes at the same indices of
the same stream. Each update inserts the value into an exponential histogram of
buckets (ADWIN2's compression); every ``clock`` updates, once more than
``grace_period`` values are in the window, every cut of the window into an older
part W0 and a newer part W1 is tested, and while ``|mean(W0) - mean(W1)|``
exceeds the Hoeffding-style bound ``epsilon_cut`` the oldest bucket is dropped.
As in River, the update after a detection starts from an empty window.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

__all__ = ["ADWIN"]

_ROWS = 64  # bucket rows: row i holds buckets of 2**i values, so 64 rows never fill
# _state slots
_TOTAL, _VARIANCE, _WIDTH, _TOTAL_WIDTH = range(4)
# _counters slots
_N_ROWS, _N_BUCKETS, _MAX_N_BUCKETS, _TICK, _N_DETECTIONS, _RESET = range(6)


@numba.njit(cache=True, nogil=True)
def _insert(totals, variances, counts, state, counters, value, max_buckets):  # type: ignore[no-untyped-def]
    row0 = counts[0]
    totals[0, row0] = value
    variances[0, row0] = 0.0
    counts[0] = row0 + 1
    counters[_N_BUCKETS] += 1
    if counters[_N_BUCKETS] > counters[_MAX_N_BUCKETS]:
        counters[_MAX_N_BUCKETS] = counters[_N_BUCKETS]
    state[_WIDTH] += 1.0
    width = state[_WIDTH]
    increment = 0.0
    if width > 1.0:
        d = value - state[_TOTAL] / (width - 1.0)
        increment = (width - 1.0) * d * d / width
    state[_VARIANCE] += increment
    state[_TOTAL] += value
    # Compress: a row holding max_buckets + 1 buckets merges its two oldest
    # into one bucket of the next row.
    idx = 0
    while counts[idx] == max_buckets + 1:
        n1 = float(1 << idx)
        t0, t1 = totals[idx, 0], totals[idx, 1]
        v0, v1 = variances[idx, 0], variances[idx, 1]
        mu1 = t0 / n1
        mu2 = t1 / n1
        merged_variance = v0 + v1 + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
        if idx + 1 >= counters[_N_ROWS]:
            counters[_N_ROWS] += 1
        nxt = counts[idx + 1]
        totals[idx + 1, nxt] = t0 + t1
        variances[idx + 1, nxt] = merged_variance
        counts[idx + 1] = nxt + 1
        counters[_N_BUCKETS] += 1
        _drop_oldest(totals, variances, counts, idx, 2)
        if counts[idx + 1] <= max_buckets:
            break
        idx += 1


@numba.njit(cache=True, nogil=True)
def _drop_oldest(totals, variances, counts, row, k):  # type: ignore[no-untyped-def]
    n = counts[row]
    for i in range(k, n):
        totals[row, i - k] = totals[row, i]
        variances[row, i - k] = variances[row, i]
    for i in range(max(n - k, 0), n):
        totals[row, i] = 0.0
        variances[row, i] = 0.0
    counts[row] = n - k


@numba.njit(cache=True, nogil=True)
def _delete_oldest_bucket(totals, variances, counts, state, counters):  # type: ignore[no-untyped-def]
    last = counters[_N_ROWS] - 1
    n = float(1 << last)
    u = totals[last, 0]
    v = variances[last, 0]
    mu = u / n
    state[_WIDTH] -= n
    state[_TOTAL] -= u
    width = state[_WIDTH]
    mu_window = state[_TOTAL] / width
    state[_VARIANCE] -= v + n * width * (mu - mu_window) * (mu - mu_window) / (n + width)
    _drop_oldest(totals, variances, counts, last, 1)
    counters[_N_BUCKETS] -= 1
    if counts[last] == 0:
        counters[_N_ROWS] -= 1


@numba.njit(cache=True, nogil=True)
def _cut_exceeds(state, n0, n1, delta_mean, delta_prime, min_window_length):  # type: ignore[no-untyped-def]
    width = state[_WIDTH]
    m_recip = 1.0 / (n0 - min_window_length + 1.0) + 1.0 / (n1 - min_window_length + 1.0)
    epsilon = (
        math.sqrt(2.0 * m_recip * (state[_VARIANCE] / width) * delta_prime)
        + 2.0 / 3.0 * delta_prime * m_recip
    )
    return abs(delta_mean) > epsilon


@numba.njit(cache=True, nogil=True)
def _detect(
    totals, variances, counts, state, counters, delta, clock, min_window_length, grace_period
):  # type: ignore[no-untyped-def]
    detected = False
    counters[_TICK] += 1
    if counters[_TICK] % clock == 0 and state[_WIDTH] > grace_period:
        reduce_width = True
        while reduce_width:
            reduce_width = False
            exit_flag = False
            n0 = 0.0
            n1 = state[_WIDTH]
            u0 = 0.0
            u1 = state[_TOTAL]
            # River recomputes this for every cut; the window does not change
            # within a pass, so once per pass gives the same bits.
            delta_prime = math.log(2.0 * math.log(state[_WIDTH]) / delta)
            for idx in range(counters[_N_ROWS] - 1, -1, -1):
                if exit_flag:
                    break
                size = float(1 << idx)
                n_here = counts[idx]
                for k in range(n_here):
                    n0 += size
                    n1 -= size
                    t = totals[idx, k]
                    u0 += t
                    u1 -= t
                    if idx == 0 and k == n_here - 1:
                        exit_flag = True
                        break
                    delta_mean = (u0 / n0) - (u1 / n1)
                    if (
                        n1 >= min_window_length
                        and n0 >= min_window_length
                        and _cut_exceeds(state, n0, n1, delta_mean, delta_prime, min_window_length)
                    ):
                        reduce_width = True
                        detected = True
                        if state[_WIDTH] > 0.0:
                            _delete_oldest_bucket(totals, variances, counts, state, counters)
                            exit_flag = True
                            break
    state[_TOTAL_WIDTH] += state[_WIDTH]
    if detected:
        counters[_N_DETECTIONS] += 1
    return detected


@numba.njit(cache=True, nogil=True)
def _reset(totals, variances, counts, state, counters):  # type: ignore[no-untyped-def]
    totals[:] = 0.0
    variances[:] = 0.0
    counts[:] = 0
    state[:] = 0.0
    detections = counters[_N_DETECTIONS]
    counters[:] = 0
    counters[_N_ROWS] = 1
    counters[_N_DETECTIONS] = detections


@numba.njit(cache=True, nogil=True)
def _run(
    values,
    totals,
    variances,
    counts,
    state,
    counters,
    delta,
    clock,
    max_buckets,
    min_window_length,
    grace_period,
):  # type: ignore[no-untyped-def]
    hits = np.empty(values.shape[0], dtype=np.int64)
    n_hits = 0
    for i in range(values.shape[0]):
        if counters[_RESET]:
            _reset(totals, variances, counts, state, counters)
        _insert(totals, variances, counts, state, counters, values[i], max_buckets)
        if _detect(
            totals,
            variances,
            counts,
            state,
            counters,
            delta,
            clock,
            min_window_length,
            grace_period,
        ):
            hits[n_hits] = i
            n_hits += 1
            counters[_RESET] = 1
    return hits[:n_hits]


class ADWIN:
    """ADaptive WINdowing change detector (Bifet & Gavaldà, 2007), batch-updated.

    Parameters match ``river.drift.ADWIN``: ``delta`` is the significance, ``clock``
    how often (in updates) cuts are checked, ``max_buckets`` the buckets kept
    per size before two merge, ``min_window_length`` the smallest sub-window a
    cut may leave, ``grace_period`` the values needed before any check.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(2.0, 1.0, 1000)])
    >>> adwin = ADWIN()
    >>> adwin.update(stream[:1500]).tolist()
    [1023]
    >>> adwin.update(stream[1500:]).tolist()  # indices are within each batch; state carries over
    []
    >>> adwin.n_seen, adwin.n_detections, adwin.width
    (2000, 1, 976)

    References
    ----------
    Albert Bifet and Ricard Gavaldà. "Learning from time-changing data with
    adaptive windowing." Proceedings of the 2007 SIAM International Conference
    on Data Mining, pp. 443-448.
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        self.delta = float(delta)
        self.clock = int(clock)
        self.max_buckets = int(max_buckets)
        self.min_window_length = int(min_window_length)
        self.grace_period = int(grace_period)
        self.n_seen = 0
        self._totals = np.zeros((_ROWS, self.max_buckets + 1))
        self._variances = np.zeros((_ROWS, self.max_buckets + 1))
        self._counts = np.zeros(_ROWS, dtype=np.int64)
        self._state = np.zeros(4)
        self._counters = np.zeros(6, dtype=np.int64)
        self._counters[_N_ROWS] = 1

    def update(self, values: Any) -> np.ndarray:
        """Feed a batch of values in order; return the batch indices where change was detected."""
        batch = np.ascontiguousarray(np.atleast_1d(values), dtype=np.float64)
        hits = _run(
            batch, self._totals, self._variances, self._counts, self._state, self._counters,
            self.delta, self.clock, self.max_buckets, float(self.min_window_length),
            float(self.grace_period),
        )  # fmt: skip
        self.n_seen += len(batch)
        return hits

    @property
    def drift_detected(self) -> bool:
        """Whether the last value fed triggered a detection."""
        return bool(self._counters[_RESET])

    @property
    def width(self) -> int:
        """Values in the current window."""
        return int(self._state[_WIDTH])

    @property
    def estimation(self) -> float:
        """Mean of the current window."""
        width = self._state[_WIDTH]
        return float(self._state[_TOTAL] / width) if width else 0.0

    @property
    def n_detections(self) -> int:
        """Detections since the detector was created (River counts since its last reset)."""
        return int(self._counters[_N_DETECTIONS])

    def to_dict(self) -> dict[str, Any]:
        """Parameters and state, JSON-ready: :meth:`from_dict` resumes the stream exactly."""
        rows = int(self._counters[_N_ROWS])
        return {
            "detector": "ADWIN",
            "params": {
                "delta": self.delta,
                "clock": self.clock,
                "max_buckets": self.max_buckets,
                "min_window_length": self.min_window_length,
                "grace_period": self.grace_period,
            },
            "n_seen": self.n_seen,
            "totals": self._totals[:rows].tolist(),
            "variances": self._variances[:rows].tolist(),
            "counts": self._counts[:rows].tolist(),
            "state": self._state.tolist(),
            "counters": self._counters.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ADWIN:
        detector = cls(**data["params"])
        rows = len(data["counts"])
        detector.n_seen = int(data["n_seen"])
        detector._totals[:rows] = data["totals"]
        detector._variances[:rows] = data["variances"]
        detector._counts[:rows] = data["counts"]
        detector._state[:] = data["state"]
        detector._counters[:] = data["counters"]
        return detector
