"""Moments of finite values: count, mean, sum of squared deviations, min, max.

Plain Python on purpose: merging two summaries folds five floats, which Python
does in a microsecond, while calling a Numba function first initialises
Numba's type system (over a second in a fresh process). The kernels compile
this same :func:`merge_moments` (see :mod:`mlcore.monitoring.kernels`), so
moments merge identically in both worlds, and a process that only reads and
reports stored summaries (``mlcore monitor report``) never loads Numba.

Examples
--------
>>> m = new_moments()
>>> merge_moments(m, 2, 1.0, 2.0, 0.0, 2.0)  # the values 0 and 2
>>> merge_moments(m, 1, 4.0, 0.0, 4.0, 4.0)  # and 4
>>> m.tolist()
[3.0, 2.0, 8.0, 0.0, 4.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["MOMENTS", "merge_moments", "new_moments"]

#: Slots of a moments array: finite count, mean, sum of squared deviations, min, max.
MOMENTS = ("count", "mean", "m2", "min", "max")


def new_moments() -> np.ndarray:
    """Moments of an empty column: zero count, min = +inf, max = -inf."""
    return np.array([0.0, 0.0, 0.0, np.inf, -np.inf])


def merge_moments(moments, n, mean, m2, lo, hi):  # type: ignore[no-untyped-def]
    """Fold ``(n, mean, m2, lo, hi)`` into ``moments`` in place (Chan et al., 1979)."""
    if n == 0:
        return
    na = moments[0]
    total = na + n
    delta = mean - moments[1]
    moments[1] += delta * (n / total)
    moments[2] += m2 + delta * delta * (na * n / total)
    moments[0] = total
    moments[3] = min(moments[3], lo)
    moments[4] = max(moments[4], hi)
