"""Builders for the monitoring tests: small seeded frames and profiles."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mlcore.monitoring.profile import ReferenceProfile


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def numeric_profile(values: np.ndarray, **settings: int) -> ReferenceProfile:
    """A profile of one numeric column named ``x``."""
    return ReferenceProfile.fit(
        pl.DataFrame({"x": np.asarray(values, dtype=np.float64)}), **settings
    )


@pytest.fixture
def mixed_frame(rng: np.random.Generator) -> pl.DataFrame:
    n = 4_000
    return pl.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(10, 1, n),
            "visits": rng.poisson(3, n),
            "member": rng.random(n) < 0.3,
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
        }
    )
