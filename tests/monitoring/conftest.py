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


def batch(
    rng: np.random.Generator, n: int, *, shift: float = 0.0, start: int = 0, **extra
) -> pl.DataFrame:
    """Rows like ``reference_frame``'s, ``age`` shifted by ``shift``, request ids ``r<start>...``."""
    return pl.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(start, start + n)],
            "age": rng.normal(40 + shift, 10, n),
            "plan": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            **extra,
        }
    )


@pytest.fixture
def reference(rng: np.random.Generator) -> pl.DataFrame:
    return batch(rng, 3_000).drop("request_id")
