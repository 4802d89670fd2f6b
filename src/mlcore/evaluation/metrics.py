"""Classification and regression metrics, equal to scikit-learn's, with bootstrap intervals.

Every metric is a function of a few sums accumulated in one pass over the rows, each row
counted with an integer weight (the kernels are in :mod:`mlcore.evaluation.tasks`). Weight 1 everywhere gives the metric itself; the counts
of a multinomial bootstrap resample (:mod:`mlcore.evaluation.bootstrap`) give its value
on that resample without copying rows; an integer group code per row gives it per slice.
Ranking metrics (ROC AUC, PR AUC) come from one pass over the rows sorted by score once,
ties handled in blocks of equal score exactly as scikit-learn does.

Metrics by task (names as used everywhere in mlcore):

- ``binary`` (labels 0/1 or boolean, scores in [0, 1]): ``roc_auc``, ``pr_auc``
  (average precision, :func:`sklearn.metrics.average_precision_score`), ``log_loss``,
  ``brier``, ``accuracy``, ``precision``, ``recall``, ``f1`` (predicted positive when
  ``score >= threshold``, default 0.5) and ``ece``, the expected calibration error:
  10 equal-width bins of the score, ``[0, 0.1), [0.1, 0.2), ..., [0.9, 1]``, and
  ``sum_b (n_b / n) |acc_b - conf_b|`` where ``acc_b`` is the fraction of positives and
  ``conf_b`` the mean score in bin ``b`` (the reliability-diagram form for binary
  problems, as torchmetrics' ``BinaryCalibrationError``). Scores that are not
  probabilities (margins) serve the ranking and threshold metrics only.
- ``multiclass`` (labels ``0..K-1``, an ``(n, K)`` probability matrix): ``accuracy``,
  ``macro_f1`` and ``log_loss``; the predicted class is the arg-max.
- ``regression``: ``mae``, ``rmse``, ``r2`` and ``mape`` (scikit-learn's definition:
  ``|y - yhat| / max(|y|, eps)``, a fraction, not a percentage).

A metric that is undefined on the data is reported as ``None`` with a reason instead of
an error: ROC AUC on a single class, precision with no predicted positive, R² on
constant labels, anything on no rows. scikit-learn differs here, returning 0.0, 1.0 or
NaN with a warning. Bad input -- lengths that differ, NaN or null values, labels that
are not 0/1, unknown metric or column names -- raises :class:`~mlcore.errors.InvalidInput`
or :class:`~mlcore.errors.NotFound`.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 500)
>>> p = np.clip(0.3 * y + rng.uniform(0, 0.7, 500), 0, 1)
>>> report = evaluate_metrics(y, p, metrics=["roc_auc", "f1"], n_resamples=200, seed=1)
>>> print(report["roc_auc"])
roc_auc 0.8578 [0.8266, 0.8843]
>>> round(report["f1"].value, 4)
0.7458
>>> print(evaluate_metrics([0, 1, 1], [0.2, 0.4, 0.3], n_resamples=0)["precision"])
precision undefined (no predicted positives)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.bootstrap import percentile_interval, replicate
from mlcore.evaluation.tasks import (
    PROBABILITY_METRICS,
    BinaryTask,
    MulticlassTask,
    RegressionTask,
    Task,
    TaskName,
    ones,
)

__all__ = [
    "METRICS",
    "BinaryTask",
    "Estimate",
    "Metric",
    "MetricReport",
    "MulticlassTask",
    "RegressionTask",
    "Task",
    "TaskName",
    "as_array",
    "as_series",
    "binary_labels",
    "bootstrap_values",
    "check_resampling",
    "evaluate_metrics",
    "metric",
    "metric_names",
    "optional_float",
    "point_values",
    "prepare",
    "summarise",
]

ArrayLike = np.ndarray | pl.Series | Sequence[Any]


@dataclass(frozen=True)
class Metric:
    """A metric's name, direction, why it can be undefined, and the range of its values.

    ``bounds`` is the (low, high) range a value can take, None where unbounded; policy
    validation refuses thresholds outside it.
    """

    name: str
    higher_is_better: bool
    description: str
    undefined_when: str = "no rows"
    bounds: tuple[float | None, float | None] = (0.0, 1.0)


METRICS: dict[str, tuple[Metric, ...]] = {
    "binary": (
        Metric("roc_auc", True, "area under the ROC curve", "only one class present"),
        Metric("pr_auc", True, "average precision", "no positive labels"),
        Metric("log_loss", False, "mean negative log-likelihood", bounds=(0.0, None)),
        Metric("brier", False, "mean squared error of the probability"),
        Metric("accuracy", True, "fraction of correct predictions"),
        Metric("precision", True, "TP / (TP + FP)", "no predicted positives"),
        Metric("recall", True, "TP / (TP + FN)", "no positive labels"),
        Metric("f1", True, "2TP / (2TP + FP + FN)", "no positive labels nor predictions"),
        Metric("ece", False, "expected calibration error, 10 equal-width bins"),
    ),
    "multiclass": (
        Metric("accuracy", True, "fraction of correct arg-max predictions"),
        Metric("macro_f1", True, "unweighted mean F1 over classes present"),
        Metric("log_loss", False, "mean negative log-likelihood", bounds=(0.0, None)),
    ),
    "regression": (
        Metric("mae", False, "mean absolute error", bounds=(0.0, None)),
        Metric("rmse", False, "root mean squared error", bounds=(0.0, None)),
        Metric("r2", True, "coefficient of determination", "labels are constant", (None, 1.0)),
        Metric("mape", False, "mean absolute percentage error, as a fraction", bounds=(0.0, None)),
    ),
}


def metric(task: TaskName, name: str) -> Metric:
    """The catalogue entry of ``name`` for ``task``; NotFound with a suggestion."""
    if task not in METRICS:
        raise NotFound("task", task, candidates=METRICS)
    for m in METRICS[task]:
        if m.name == name:
            return m
    raise NotFound(f"{task} metric", name, candidates=[m.name for m in METRICS[task]])


# --------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Estimate:
    """A metric value with its percentile bootstrap interval.

    ``value`` is None when the metric is undefined on the data, ``reason`` says why;
    ``low`` and ``high`` are None without resampling or when no resample defines it.
    """

    metric: str
    value: float | None
    low: float | None = None
    high: float | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric} undefined ({self.reason})"
        ci = "" if self.low is None else f" [{self.low:.4f}, {self.high:.4f}]"
        return f"{self.metric} {self.value:.4f}{ci}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "metric": self.metric,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class MetricReport:
    """Overall metrics of one model on one dataset.

    ``replicates`` holds the metric on every resample, shape ``(n_resamples,
    len(estimates))`` in the order of ``estimates`` (NaN where undefined).
    """

    task: str
    n_rows: int
    n_positive: int | None
    threshold: float | None
    estimates: dict[str, Estimate]
    n_resamples: int
    confidence: float
    seed: int
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __getitem__(self, name: str) -> Estimate:
        if name not in self.estimates:
            raise NotFound("metric", name, candidates=self.estimates)
        return self.estimates[name]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (without the replicates)."""
        return {
            "task": self.task,
            "n_rows": self.n_rows,
            "n_positive": self.n_positive,
            "threshold": self.threshold,
            "n_resamples": self.n_resamples,
            "confidence": self.confidence,
            "seed": self.seed,
            "metrics": [e.to_dict() for e in self.estimates.values()],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per metric: metric, value, low, high, reason."""
        schema = {"metric": pl.String, "value": pl.Float64, "low": pl.Float64}
        schema |= {"high": pl.Float64, "reason": pl.String}
        return pl.DataFrame([e.to_dict() for e in self.estimates.values()], schema=schema)


def optional_float(x: float) -> float | None:
    """``x`` as a Python float, or None if it is NaN (an undefined value)."""
    return None if math.isnan(x) else float(x)


def summarise(
    task: Task,
    names: Sequence[str],
    point: np.ndarray,
    replicates: np.ndarray | None,
    confidence: float,
    *,
    empty: bool = False,
) -> dict[str, Estimate]:
    """Estimates from point values ``(len(names),)`` and replicates ``(B, len(names))``.

    ``empty`` marks a group without rows, whose metrics are undefined for that reason.
    """
    if replicates is None or replicates.shape[0] == 0:
        lows = highs = np.full(len(names), np.nan)
    else:
        lows, highs = percentile_interval(replicates, confidence)
    out = {}
    for name, value, low, high in zip(names, point, lows, highs, strict=True):
        undefined = math.isnan(value)
        out[name] = Estimate(
            name,
            optional_float(value),
            optional_float(low),
            optional_float(high),
            None if not undefined else _reason(task, name, empty),
        )
    return out


def _reason(task: Task, name: str, empty: bool) -> str:
    if empty:
        return "no rows"
    return task.undefined_reason(name) or metric(task.name, name).undefined_when


# --------------------------------------------------------------------------------------
# Input


def _lookup(name: str, data: pl.DataFrame | None, role: str) -> pl.Series:
    if data is None:
        raise InvalidInput(
            f"{role} is the column name {name!r} but no frame was given",
            hint="Pass the frame as data=, or pass the values themselves",
            field=role,
        )
    if name not in data.columns:
        raise NotFound("column", name, candidates=data.columns)
    return data.get_column(name)


def as_series(value: ArrayLike | str, data: pl.DataFrame | None, role: str) -> pl.Series:
    """A column given by name (looked up in ``data``) or by value, as a Polars Series."""
    if isinstance(value, str):
        return _lookup(value, data, role)
    if isinstance(value, pl.Series):
        return value
    array = np.asarray(value)
    # Object arrays (dates, mixed) as Python values, so that Polars infers a real type.
    return pl.Series(role, array.tolist() if array.dtype == object else array)


def as_array(value: ArrayLike | str, data: pl.DataFrame | None, role: str) -> np.ndarray:
    """A column given by name or by value, as NumPy; nulls and NaN raise InvalidInput."""
    if isinstance(value, str | pl.Series):
        series = as_series(value, data, role)
        if series.null_count():
            rows = series.is_null().arg_true().head(5).to_list()
            raise InvalidInput(
                f"{series.null_count()} null value(s) in {role}",
                hint="Drop or fill the rows before evaluating",
                field=role,
                rows=[{"row": r} for r in rows],
            )
        array = series.to_numpy()
    else:
        array = np.asarray(value)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array).reshape(len(array), -1).all(axis=1))
        raise InvalidInput(
            f"{bad.size} NaN or infinite value(s) in {role}",
            hint="Drop or fill the rows before evaluating",
            field=role,
            rows=[{"row": int(r)} for r in bad[:5]],
        )
    return array


def binary_labels(y: np.ndarray, pos_label: Any = None, role: str = "y_true") -> np.ndarray:
    """Labels as float 0.0/1.0: booleans, 0/1, or ``y == pos_label``."""
    if pos_label is not None:
        return (y == pos_label).astype(np.float64)
    if y.dtype.kind == "b":
        return y.astype(np.float64)
    if y.dtype.kind in "iuf":
        values = np.unique(y)
        if np.isin(values, (0, 1)).all():
            return y.astype(np.float64)
    shown = ", ".join(repr(v) for v in np.unique(y)[:5].tolist())
    raise InvalidInput(
        f"binary labels in {role} must be 0/1 or boolean, found {shown}",
        hint="Pass pos_label= to name the positive class",
        field=role,
    )


def prepare(
    task: TaskName,
    y_true: ArrayLike | str,
    y_score: ArrayLike | str,
    *,
    threshold: float = 0.5,
    pos_label: Any = None,
    data: pl.DataFrame | None = None,
) -> Task:
    """Validate labels and scores and prepare them for :meth:`Task.statistics`.

    ``y_true`` and ``y_score`` are arrays, Polars Series, or column names of ``data``;
    no rows is an error.
    """
    if task not in METRICS:
        raise NotFound("task", str(task), candidates=METRICS)
    y = as_array(y_true, data, "y_true")
    s = as_array(y_score, data, "y_score")
    if len(y) == 0:
        raise InvalidInput("no rows to evaluate", hint="Pass a non-empty dataset")
    if task == "binary":
        return BinaryTask(binary_labels(y, pos_label), s, threshold)
    if task == "multiclass":
        return MulticlassTask(y, s)
    return RegressionTask(y, s)


def metric_names(task: Task, metrics: Sequence[str] | None) -> list[str]:
    """The requested metrics, checked against the task's catalogue (default: all)."""
    if metrics is None:
        names = [m.name for m in METRICS[task.name]]
        if isinstance(task, BinaryTask) and not task.is_probability:
            names = [n for n in names if n not in PROBABILITY_METRICS]
        return names
    names = [metric(task.name, name).name for name in metrics]
    if isinstance(task, BinaryTask) and not task.is_probability:
        wrong = sorted(PROBABILITY_METRICS.intersection(names))
        if wrong:
            raise InvalidInput(
                f"{', '.join(wrong)} need probabilities but the scores leave [0, 1]",
                hint="Pass predict_proba(X)[:, 1], or ask only for ranking and threshold metrics",
                field="y_score",
            )
    return names


def check_resampling(n_resamples: int, confidence: float) -> None:
    """Reject a negative resample count or a confidence outside (0, 1)."""
    if n_resamples < 0:
        raise InvalidInput(
            f"n_resamples must be 0 or more, got {n_resamples}",
            hint="Pass 0 for point values without intervals",
            field="n_resamples",
        )
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(
            f"confidence must lie strictly between 0 and 1, got {confidence}",
            hint="Pass e.g. 0.95 for a 95% interval",
            field="confidence",
        )


def point_values(
    task: Task, names: Sequence[str], codes: np.ndarray | None = None, n_groups: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Metric values per group ``(n_groups, len(names))``, rows and positives per group."""
    stats = task.statistics(ones(task.n_rows), codes, n_groups)[0]
    values = task.values(stats)
    return np.stack([values[n] for n in names], axis=-1), *task.support(stats)


def bootstrap_values(
    tasks: Sequence[Task],
    names: Sequence[str],
    n_resamples: int,
    seed: int,
    codes: np.ndarray | None = None,
    n_groups: int = 1,
) -> np.ndarray:
    """Metric values on resamples, shape ``(B, len(tasks), n_groups, len(names))``.

    Every task sees the same resamples of rows, which pairs them.
    """

    def on_chunk(counts: np.ndarray) -> np.ndarray:
        per_task = []
        for task in tasks:
            values = task.values(task.statistics(counts, codes, n_groups))
            per_task.append(np.stack([values[n] for n in names], axis=-1))
        return np.stack(per_task, axis=1)

    return replicate(on_chunk, tasks[0].n_rows, n_resamples, seed)


def evaluate_metrics(
    y_true: ArrayLike | str,
    y_score: ArrayLike | str,
    *,
    task: TaskName = "binary",
    metrics: Sequence[str] | None = None,
    threshold: float = 0.5,
    pos_label: Any = None,
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    data: pl.DataFrame | None = None,
) -> MetricReport:
    """Metrics of one model on one dataset, each with a percentile bootstrap interval.

    Parameters
    ----------
    y_true
        Labels: an array, a Polars Series, or a column name of ``data``.
    y_score
        Binary: the positive-class score (probability, or a margin for the ranking and
        threshold metrics only); multiclass: an ``(n, K)`` probability matrix (or an
        Array column); regression: the prediction.
    task
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    metrics
        Names from :data:`METRICS` for the task; default all that apply.
    threshold
        Binary threshold metrics predict positive when ``score >= threshold``.
    pos_label
        The positive class when binary labels are not 0/1 or boolean.
    n_resamples
        Bootstrap resamples (multinomial resampling of rows); 0 for no interval.
    confidence
        Coverage of the percentile interval.
    seed
        Seed of the resamples.
    data
        The frame the column names refer to.

    Returns
    -------
    MetricReport
    """
    check_resampling(n_resamples, confidence)
    prepared = prepare(task, y_true, y_score, threshold=threshold, pos_label=pos_label, data=data)
    names = metric_names(prepared, metrics)
    point = point_values(prepared, names)[0][0]
    reps = bootstrap_values([prepared], names, n_resamples, seed)[:, 0, 0] if n_resamples else None
    return MetricReport(
        task=prepared.name,
        n_rows=prepared.n_rows,
        n_positive=getattr(prepared, "n_positive", None),
        threshold=threshold if prepared.name == "binary" else None,
        estimates=summarise(prepared, names, point, reps, confidence),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        replicates=reps,
    )
