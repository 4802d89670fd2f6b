"""A small real store for the TUI tests, built through the public API only.

``build(path)`` makes, deterministically (seeded data, fixed event times):

- actors: ``admin``; ``bob`` (reviewer); ``dana`` (data scientist); ``rita``
  (risk officer);
- a feature view ``driver_stats`` with one ingested batch;
- a model ``churn``: version 1 in production (approved by bob, released before
  any policy), version 2 in review, evaluated under the policy ``general``
  (``auc`` passes, ``recall`` fails and rita waived it, ``brier`` fails as a
  warning); a model ``fraud`` with one draft reading ``driver_stats:rate``,
  never evaluated;
- two runs of a counting pipeline (the second all from cache), and a run of
  ``lapse`` that splits a frame, trains, registers ``lapse/1`` and evaluates it;
- a monitor ``churn`` on the production model with daily windows from
  2024-03-04 to 2024-03-07: two like the reference (labelled), then ``age``
  and ``plan`` shift. Its alerts: ``dataset_drift`` (warning, acknowledged
  by bob) and ``age_shift`` (critical, open, a retrain requested).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

UTC = dt.UTC
BASE = dt.datetime(2024, 3, 1, tzinfo=UTC)
#: The first day the monitor's windows cover.
MONITORED = dt.datetime(2024, 3, 4, tzinfo=UTC)

POLICY = """
name = "general"
description = "Baseline for every model"

[[rules]]
id = "auc"
kind = "metric"
description = "Ranks customers well enough"
citation = "Model standard 4.1"
severity = "block"
metric = "roc_auc"
min = 0.7

[[rules]]
id = "recall"
kind = "metric"
description = "Finds nearly every churner"
citation = "Retention policy 2.3"
severity = "block"
metric = "recall"
min = 0.95

[[rules]]
id = "brier"
kind = "metric"
description = "Calibrated scores"
citation = "Model standard 4.4"
severity = "warn"
metric = "brier"
max = 0.05
"""

RETRAIN = """
from mlcore.pipelines import pipeline, step


@step
def retrain_marker(reason: str) -> str:
    return reason


@pipeline
def retrain(reason: str = "drift"):
    retrain_marker(reason)
"""


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


def register(store: Any, name: str, *, seed: int = 0, features: list[str] | None = None) -> Any:
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
        features=features,
    )


def customers(n: int, *, seed: int, shift: float = 0.0, plans: tuple[float, ...] = (0.6, 0.4)):
    """Customers with ``age``, ``plan``, a churn ``score`` and the ``churned`` outcome."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    age = rng.normal(45 + shift, 10, n)
    score = 1 / (1 + np.exp(-(age - 45) / 6))
    return pl.DataFrame(
        {
            "age": age,
            "plan": rng.choice(["basic", "plus"], n, p=list(plans)),
            "score": score,
            "churned": (rng.random(n) < score).astype(np.int64),
        }
    )


def monitor_batch(day: int, *, seed: int, shift: float = 0.0, plans=(0.6, 0.4)) -> Any:
    """150 scored requests on day ``day`` (0: 2024-03-04), with ids and event times."""
    import polars as pl

    frame = customers(150, seed=seed, shift=shift, plans=plans)
    start = MONITORED + dt.timedelta(days=day)
    return frame.with_columns(
        pl.Series("request_id", [f"d{day}-{i}" for i in range(150)]),
        pl.Series("ts", [start + dt.timedelta(minutes=5 * i) for i in range(150)]),
    )


def build(path: Path) -> Any:
    """The store described in the module docs; returns it open as ``admin``."""
    import mlcore

    store = mlcore.open(path, create=True, actor="admin")
    store.grant("bob", "reviewer")
    store.grant("dana", "data-scientist")
    store.grant("rita", "risk-officer")
    store.features.apply([driver_view()])
    store.features.ingest("driver_stats", driver_batch())
    dana = store.as_actor("dana")
    register(dana, "churn")
    dana.models.submit("churn", 1)
    store.as_actor("bob").models.approve("churn", 1, reason="looks sound")
    store.models.release("churn", 1, reason="first model")
    register(dana, "churn", seed=1)
    dana.models.submit("churn", 2, reason="retrained on March")
    register(dana, "fraud", features=["driver_stats:rate"])

    store.evals.apply_policy(POLICY)
    holdout = customers(300, seed=7).select("age", "churned")
    dana.evals.run("churn", holdout, label="churned", version=2, n_resamples=20, seed=0)
    store.as_actor("rita").evals.waive(
        "churn", 2, "recall", "churners are called anyway", dt.timedelta(days=3650)
    )

    flow = counting_pipeline()
    store.pipelines.run(flow)
    store.pipelines.run(flow)
    dana.pipelines.run(lapse_training(customers(200, seed=3)))

    retrain = path.parent / "retrain.py"
    retrain.write_text(textwrap.dedent(RETRAIN))
    reference = customers(600, seed=1)
    dana.monitors.create(
        "churn",
        model="churn",
        reference=reference,
        columns=["age", "plan"],
        prediction="score",
        label="churned",
        timestamp="ts",
        window="1d",
        rules=[
            {"name": "dataset_drift", "statistic": "drift", "columns": "dataset"},
            {
                "name": "age_shift",
                "statistic": "psi",
                "columns": ["age"],
                "severity": "critical",
                "action": {"pipeline": f"{retrain}:retrain", "trigger": "record"},
            },
        ],
    )
    days = [
        monitor_batch(0, seed=10),
        monitor_batch(1, seed=11),
        monitor_batch(2, seed=12, shift=6.0),
        monitor_batch(3, seed=13, shift=14.0, plans=(0.2, 0.8)),
    ]
    for batch in days:
        dana.monitors.observe("churn", batch)
    labels = [b.select("request_id", "churned") for b in days[:2]]
    import polars as pl

    dana.monitors.log_labels("churn", pl.concat(labels))
    drift = next(a for a in store.monitors.alerts("churn") if a.rule == "dataset_drift")
    store.as_actor("bob").monitors.ack(drift.id, "known campaign")
    return store


def lapse_training(rows: Any) -> Any:
    """Split ``rows``, train, register ``lapse`` and evaluate it: a run with full lineage."""
    from mlcore.pipelines import pipeline, steps

    @pipeline
    def lapse(seed: int = 0):
        train, test = steps.split(rows, test_size=0.25, seed=seed)
        model = steps.train(train, "churned", "sklearn.linear_model.LogisticRegression", ["age"])
        version = steps.register(model, "lapse", training_data=train)
        steps.evaluate(version, test, "churned", n_resamples=20, require_pass=False)

    return lapse


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
