"""Builders for registry tests: a small fitted model, its training frame, a store with a team."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

# Who does what in the test store: the author registers, reviewers approve.
TEAM = {
    "dana": "data-scientist",
    "emil": "ml-engineer",
    "rita": "reviewer",
    "otto": "risk-officer",
}


def training_frame(rows: int = 60, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 80, rows)
    visits = rng.integers(0, 20, rows)
    churned = (age / 80 + visits / 20 + rng.normal(0, 0.2, rows) > 1).astype(np.int64)
    return pl.DataFrame(
        {"customer": np.arange(rows), "age": age, "visits": visits, "churned": churned}
    )


def fit(frame: pl.DataFrame, C: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=C).fit(frame.select("age", "visits"), frame["churned"])


@pytest.fixture
def train() -> pl.DataFrame:
    return training_frame()


@pytest.fixture
def model(train: pl.DataFrame) -> LogisticRegression:
    return fit(train)


@pytest.fixture
def team(store):
    """The store seen by each team member, by name (``team["admin"]`` is the creator)."""
    for actor, role in TEAM.items():
        store.grant(actor, role)
    members = {actor: store.as_actor(actor) for actor in TEAM}
    members["admin"] = store
    return members


def audit_length(store) -> int:
    return len(store.audit_log())


def snapshot(store) -> tuple:
    """The registry's catalog tables: what a failed operation must leave unchanged."""
    with store.storage.transaction() as tx:
        tables = tuple(
            tx.fetchall(f"SELECT * FROM {table} ORDER BY ALL")
            for table in (
                "models",
                "model_versions",
                "model_events",
                "model_pointers",
                "pointer_moves",
            )
        )
    return tables
