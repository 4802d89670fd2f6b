"""A small real store for the TUI tests, built through the public API only.

``build(path)``: an admin (``admin``), a reviewer (``bob``), a data scientist
(``dana``); a feature view ``driver_stats`` with one ingested batch; a model
``churn`` with version 1 in production (approved by bob) and version 2 in
review; a model ``fraud`` with one draft.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

UTC = dt.UTC
BASE = dt.datetime(2024, 3, 1, tzinfo=UTC)


def driver_view() -> Any:
    from mlcore import Entity, FeatureView, Field

    driver = Entity("driver", join_keys=["driver_id"], description="A taxi driver")
    return FeatureView(
        "driver_stats",
        entities=driver,
        schema=[
            Field("rate", "float64", description="acceptance rate"),
            Field("trips", "int64"),
        ],
        event_timestamp="ts",
        ttl="2h",
        owner="dana",
        tags={"team": "mobility"},
        description="Hourly driver statistics",
    )


def driver_batch(n: int = 6, start: float = 0.0) -> Any:
    import polars as pl

    return pl.DataFrame(
        {
            "driver_id": [i % 3 for i in range(n)],
            "ts": [BASE + dt.timedelta(hours=start + i) for i in range(n)],
            "rate": [0.5 + i / 100 for i in range(n)],
            "trips": [10 + i for i in range(n)],
        },
        schema={
            "driver_id": pl.Int64,
            "ts": pl.Datetime("us", "UTC"),
            "rate": pl.Float64,
            "trips": pl.Int64,
        },
    )


def register(store: Any, name: str, *, seed: int = 0) -> Any:
    import polars as pl
    from sklearn.linear_model import LogisticRegression

    train = pl.DataFrame({"age": [20.0, 35.0, 50.0, 65.0 + seed], "churned": [0, 0, 1, 1]})
    model = LogisticRegression().fit(train.select("age"), train["churned"])
    return store.models.register(
        name,
        model,
        training_data=train,
        metrics={"auc": 0.91 - seed / 100},
        card={"description": f"{name} model", "risk_tier": "medium"},
    )


def build(path: Path) -> Any:
    """The store described in the module docs; returns it open as ``admin``."""
    import mlcore

    store = mlcore.open(path, create=True, actor="admin")
    store.grant("bob", "reviewer")
    store.grant("dana", "data-scientist")
    store.features.apply([driver_view()])
    store.features.ingest("driver_stats", driver_batch())
    dana = store.as_actor("dana")
    register(dana, "churn")
    dana.models.submit("churn", 1)
    store.as_actor("bob").models.approve("churn", 1, reason="looks sound")
    store.models.release("churn", 1, reason="first model")
    register(dana, "churn", seed=1)
    dana.models.submit("churn", 2, reason="retrained on March")
    register(dana, "fraud")
    return store


def counting_pipeline() -> Any:
    """A two-step pipeline: numbers(n) -> total."""
    from mlcore.pipelines import pipeline, step

    @step
    def numbers(n: int) -> list:
        return list(range(n))

    @step
    def total(values: list) -> int:
        return sum(values)

    @pipeline
    def count(n: int = 4):
        total(numbers(n))

    return count
