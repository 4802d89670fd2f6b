"""Builders for the component tests: seeded frames with known defects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest


def make_people(n: int = 1_000, seed: int = 0) -> pl.DataFrame:
    """People with ids (some repeated), ages (some negative or null), cities, emails."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    ids[rng.choice(n, size=n // 50, replace=False)] = 0  # repeated ids
    age = rng.integers(-5, 110, size=n).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    cities = rng.choice(
        ["Oslo", "Rome", "Lima", "Pune", "Nowhere"], size=n, p=[0.3, 0.3, 0.2, 0.19, 0.01]
    )
    emails = [
        f"user{i}@example.com" if rng.random() > 0.02 else f"user{i}-at-example" for i in range(n)
    ]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "id": ids,
            "age": pl.Series(age).fill_nan(None).cast(pl.Int64),
            "city": cities,
            "email": emails,
            "joined": [start + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 400, size=n)],
            "score": rng.normal(50, 15, size=n),
        }
    )


@pytest.fixture
def people() -> pl.DataFrame:
    return make_people()
