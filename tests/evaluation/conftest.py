"""Builders of random evaluation data: seeded, with tied scores on purpose."""

from __future__ import annotations

import numpy as np


def binary_data(n: int, seed: int, *, decimals: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities that carry signal; rounding makes many tied scores."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.25 * y + rng.uniform(0, 0.75, n), 0, 1)
    return y, np.round(p, decimals)
