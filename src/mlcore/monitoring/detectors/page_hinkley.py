"""Page-Hinkley change detection (Page, 1954), as River's ``PageHinkley``.

The test accumulates the deviations of each value from the running mean,
``m_t = alpha * m_{t-1} + (x_t - mean_t) - delta``, and flags a change when
``m_t`` rises more than ``threshold`` above its running minimum (an increase),
or, mirrored, falls below its running maximum (a decrease). ``alpha`` < 1
slowly forgets old deviations. The arithmetic follows ``river.drift.PageHinkley``
(0.26) step for step, so both detect at the same indices; as in River, the
update after a detection starts afresh.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from mlcore.errors import InvalidInput

__all__ = ["PageHinkley"]

MODES = {"up": 1, "down": 2, "both": 3}
_RESET = 6  # slot of the state array that says a detection is pending


@numba.njit(cache=True, nogil=True)
def _run(values, state, min_instances, delta, threshold, alpha, mode):  # type: ignore[no-untyped-def]
    # State lives in locals for the loop (an array would be re-read every step).
    n, mean, sum_up, sum_down, min_up, max_down, reset = state
    hits = np.empty(values.shape[0], dtype=np.int64)
    n_hits = 0
    for i in range(values.shape[0]):
        if reset:
            n, mean, sum_up, sum_down, min_up, max_down, reset = (
                0.0,
                0.0,
                0.0,
                0.0,
                math.inf,
                -1.0,
                0.0,
            )
        x = values[i]
        n += 1.0
        mean += (1.0 / n) * (x - mean)
        deviation = x - mean
        sum_up = alpha * sum_up + deviation - delta
        sum_down = alpha * sum_down + deviation + delta
        if sum_up < min_up:
            min_up = sum_up
        if sum_down > max_down:
            max_down = sum_down
        if n >= min_instances:
            up = (mode & 1) != 0 and sum_up - min_up > threshold
            down = (mode & 2) != 0 and max_down - sum_down > threshold
            if up or down:
                hits[n_hits] = i
                n_hits += 1
                reset = 1.0
    state[0], state[1], state[2], state[3], state[4], state[5], state[6] = (
        n,
        mean,
        sum_up,
        sum_down,
        min_up,
        max_down,
        reset,
    )
    return hits[:n_hits]


class PageHinkley:
    """Page-Hinkley change detector (Page, 1954), batch-updated.

    Parameters match ``river.drift.PageHinkley``: ``min_instances`` values before
    any detection, ``delta`` the tolerated drift per value, ``threshold`` the
    detection level (lambda), ``alpha`` the forgetting factor, ``mode`` "up",
    "down" or "both".

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(2.0, 1.0, 1000)])
    >>> ph = PageHinkley()
    >>> ph.update(stream).tolist()
    [1019, 1896]

    References
    ----------
    E. S. Page. "Continuous inspection schemes." Biometrika 41(1/2), 1954, pp. 100-115.
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        if mode not in MODES:
            raise InvalidInput(f"mode {mode!r} is not one of {sorted(MODES)}", field="mode")
        self.min_instances = int(min_instances)
        self.delta = float(delta)
        self.threshold = float(threshold)
        self.alpha = float(alpha)
        self.mode = mode
        self.n_seen = 0
        self._state = np.array([0.0, 0.0, 0.0, 0.0, math.inf, -1.0, 0.0])

    def update(self, values: Any) -> np.ndarray:
        """Feed a batch of values in order; return the batch indices where change was detected."""
        batch = np.ascontiguousarray(np.atleast_1d(values), dtype=np.float64)
        hits = _run(
            batch, self._state, float(self.min_instances), self.delta, self.threshold,
            self.alpha, MODES[self.mode],
        )  # fmt: skip
        self.n_seen += len(batch)
        return hits

    @property
    def drift_detected(self) -> bool:
        """Whether the last value fed triggered a detection."""
        return bool(self._state[_RESET])

    def to_dict(self) -> dict[str, Any]:
        """Parameters and state, JSON-ready: :meth:`from_dict` resumes the stream exactly."""
        return {
            "detector": "PageHinkley",
            "params": {
                "min_instances": self.min_instances,
                "delta": self.delta,
                "threshold": self.threshold,
                "alpha": self.alpha,
                "mode": self.mode,
            },
            "n_seen": self.n_seen,
            # JSON has no infinity: the running minimum starts at +inf.
            "state": [None if math.isinf(v) else v for v in self._state.tolist()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageHinkley:
        detector = cls(**data["params"])
        detector.n_seen = int(data["n_seen"])
        detector._state[:] = [math.inf if v is None else v for v in data["state"]]
        return detector
