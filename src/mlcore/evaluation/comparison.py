"""A challenger against the production champion on the same rows: paired metric deltas.

Both models are scored on the same bootstrap resamples of rows, so the interval of the
difference ``challenger - champion`` reflects only how the two disagree, not the
row-to-row noise they share: a paired bootstrap. A delta is *significant* when its
percentile interval excludes 0, and *better* when it points the metric's good way
(up for ROC AUC, down for log loss), significant or not.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(5)
>>> y = rng.integers(0, 2, 2000)
>>> champion = np.clip(0.20 * y + rng.uniform(0, 0.8, 2000), 0, 1)
>>> challenger = np.clip(0.25 * y + rng.uniform(0, 0.75, 2000), 0, 1)
>>> result = compare_models(y, challenger, champion, metrics=["roc_auc", "log_loss"])
>>> print(result["roc_auc"])
roc_auc 0.7682 vs 0.7105: +0.0577 [+0.0281, +0.0829] significant, better
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from mlcore.errors import NotFound
from mlcore.evaluation.bootstrap import percentile_interval
from mlcore.evaluation.metrics import (
    ArrayLike,
    Estimate,
    TaskName,
    bootstrap_values,
    check_resampling,
    metric,
    metric_names,
    optional_float,
    point_values,
    prepare,
    summarise,
)

__all__ = ["Comparison", "MetricDelta", "compare_models"]


@dataclass(frozen=True)
class MetricDelta:
    """One metric for both models and their difference ``challenger - champion``."""

    metric: str
    challenger: Estimate
    champion: Estimate
    delta: float | None
    low: float | None
    high: float | None
    higher_is_better: bool

    @property
    def significant(self) -> bool | None:
        """Whether the interval of the delta excludes 0 (None without an interval)."""
        if self.low is None or self.high is None:
            return None
        return self.low > 0 or self.high < 0

    @property
    def better(self) -> bool | None:
        """Whether the challenger moved the metric its good way (None if no delta)."""
        if self.delta is None:
            return None
        return self.delta > 0 if self.higher_is_better else self.delta < 0

    @property
    def relative(self) -> float | None:
        """The delta as a fraction of the champion's value."""
        base = self.champion.value
        if self.delta is None or not base:
            return None
        return self.delta / abs(base)

    def __str__(self) -> str:
        if self.delta is None:
            return f"{self.metric} undefined"
        ci = "" if self.low is None else f" [{self.low:+.4f}, {self.high:+.4f}]"
        verdict = "significant" if self.significant else "not significant"
        direction = "better" if self.better else "worse" if self.delta else "unchanged"
        return (
            f"{self.metric} {self.challenger.value:.4f} vs {self.champion.value:.4f}:"
            f" {self.delta:+.4f}{ci} {verdict}, {direction}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "metric": self.metric,
            "challenger": self.challenger.to_dict(),
            "champion": self.champion.to_dict(),
            "delta": self.delta,
            "low": self.low,
            "high": self.high,
            "relative": self.relative,
            "significant": self.significant,
            "better": self.better,
        }


@dataclass(frozen=True)
class Comparison:
    """Deltas of every metric between a challenger and the champion.

    ``replicates`` holds the metrics on every resample, shape ``(n_resamples, 2,
    n_metrics)``, challenger first.
    """

    task: str
    n_rows: int
    n_resamples: int
    confidence: float
    seed: int
    deltas: dict[str, MetricDelta]
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __getitem__(self, name: str) -> MetricDelta:
        if name not in self.deltas:
            raise NotFound("metric", name, candidates=self.deltas)
        return self.deltas[name]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (without the replicates)."""
        return {
            "task": self.task,
            "n_rows": self.n_rows,
            "n_resamples": self.n_resamples,
            "confidence": self.confidence,
            "seed": self.seed,
            "deltas": [d.to_dict() for d in self.deltas.values()],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per metric: both values, delta, its interval, and the verdicts."""
        rows = [
            {
                "metric": d.metric,
                "challenger": d.challenger.value,
                "champion": d.champion.value,
                "delta": d.delta,
                "low": d.low,
                "high": d.high,
                "relative": d.relative,
                "significant": d.significant,
                "better": d.better,
            }
            for d in self.deltas.values()
        ]
        schema: dict[str, Any] = {"metric": pl.String}
        schema |= dict.fromkeys(("challenger", "champion", "delta", "low", "high"), pl.Float64)
        schema |= {"relative": pl.Float64, "significant": pl.Boolean, "better": pl.Boolean}
        return pl.DataFrame(rows, schema=schema)


def compare_models(
    y_true: ArrayLike | str,
    challenger: ArrayLike | str,
    champion: ArrayLike | str,
    *,
    task: TaskName = "binary",
    metrics: Sequence[str] | None = None,
    threshold: float = 0.5,
    pos_label: Any = None,
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    data: pl.DataFrame | None = None,
) -> Comparison:
    """Metric deltas of ``challenger`` over ``champion`` with paired bootstrap intervals.

    Parameters
    ----------
    y_true
        Labels, as for :func:`~mlcore.evaluation.metrics.evaluate_metrics`.
    challenger, champion
        The two models' scores (or predictions) on the same rows.
    task, metrics, threshold, pos_label
        As for :func:`~mlcore.evaluation.metrics.evaluate_metrics`; by default the
        metrics that both models' scores allow (margins rule out log loss, Brier, ECE).
    n_resamples
        Resamples shared by both models; 0 for deltas without intervals.
    confidence
        Coverage of the intervals.
    seed
        Seed of the resamples.
    data
        The frame the column names refer to.

    Returns
    -------
    Comparison
    """
    check_resampling(n_resamples, confidence)
    options: dict[str, Any] = {"threshold": threshold, "pos_label": pos_label, "data": data}
    models = [
        prepare(task, y_true, challenger, **options),
        prepare(task, y_true, champion, **options),
    ]
    names = metric_names(models[0], metrics)
    if metrics is None:  # by default, what both models' scores allow
        allowed = set(metric_names(models[1], None))
        names = [n for n in names if n in allowed]
    else:
        metric_names(models[1], names)  # the champion's scores must suit them too
    points = np.stack([point_values(m, names)[0][0] for m in models])
    reps = None
    lows = highs = np.full(len(names), np.nan)
    if n_resamples:
        reps = bootstrap_values(models, names, n_resamples, seed)[:, :, 0]
        lows, highs = percentile_interval(reps[:, 0] - reps[:, 1], confidence)
    estimates = [
        summarise(m, names, points[i], None if reps is None else reps[:, i], confidence)
        for i, m in enumerate(models)
    ]
    deltas = {}
    for j, name in enumerate(names):
        delta = points[0, j] - points[1, j]
        deltas[name] = MetricDelta(
            metric=name,
            challenger=estimates[0][name],
            champion=estimates[1][name],
            delta=optional_float(delta),
            low=optional_float(lows[j]),
            high=optional_float(highs[j]),
            higher_is_better=metric(models[0].name, name).higher_is_better,
        )
    return Comparison(
        task=models[0].name,
        n_rows=models[0].n_rows,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        deltas=deltas,
        replicates=reps,
    )
