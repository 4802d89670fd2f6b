"""One call for a whole evaluation of scored rows: metrics, slices, fairness, champion deltas.

:func:`evaluate` takes a frame holding the label, the model's score (or prediction) and
the slice and sensitive columns, and runs the numeric core on it:
:func:`~mlcore.evaluation.metrics.evaluate_metrics` (overall metrics with bootstrap
intervals), :func:`~mlcore.evaluation.slices.slice_metrics` (every slice column and
their crosses, worst slice named), :func:`~mlcore.evaluation.fairness.fairness_metrics`
(sensitive attributes and their intersections, binary tasks only) and, given the
champion's scores on the same rows,
:func:`~mlcore.evaluation.comparison.compare_models` (paired deltas). It knows nothing
of the store; ``store.evals.run`` scores a registered version and calls it.

Outcomes that are not errors, listed in :attr:`EvaluationResult.warnings`:

- a metric undefined on the data (ROC AUC when the label column holds one class only,
  precision with no predicted positive, R² on constant labels) is None with its reason;
- a slice with no rows (an ``Enum`` category absent from the data) has every metric
  None with reason ``"no rows"``.

Errors: a label, score, slice or sensitive column the frame lacks (NotFound, with the
closest name); labels and scores of different lengths, NaN or null labels or scores,
fairness asked of a task that is not binary, a task that cannot be inferred
(InvalidInput).

Examples
--------
>>> import numpy as np, polars as pl
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 2_000)
>>> frame = pl.DataFrame({
...     "y": y,
...     "p": np.clip(0.3 * y + rng.uniform(0, 0.7, 2_000), 0, 1),
...     "region": rng.choice(["north", "south"], 2_000),
...     "sex": rng.choice(["F", "M"], 2_000),
... })
>>> result = evaluate(frame, label="y", score="p", slices=["region"], sensitive=["sex"],
...                   n_resamples=50)
>>> result.task, result.n_rows
('binary', 2000)
>>> print(result.metrics["roc_auc"])
roc_auc 0.8373 [0.8215, 0.8510]
>>> result.slices.worst.name
'region=north'
>>> round(result.fairness.get("sex").demographic_parity_ratio, 3)
0.98
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.comparison import Comparison, compare_models
from mlcore.evaluation.fairness import FairnessReport, fairness_metrics
from mlcore.evaluation.metrics import ArrayLike, MetricReport, TaskName, evaluate_metrics
from mlcore.evaluation.slices import SliceReport, slice_metrics

__all__ = ["EvaluationResult", "evaluate", "infer_task"]

Scores = str | Sequence[str] | ArrayLike


@dataclass(frozen=True)
class EvaluationResult:
    """Everything :func:`evaluate` computed; parts not asked for are None."""

    task: TaskName
    n_rows: int
    metrics: MetricReport
    slices: SliceReport | None
    fairness: FairnessReport | None
    comparison: Comparison | None
    warnings: tuple[str, ...] = ()

    @property
    def n_positive(self) -> int | None:
        return self.metrics.n_positive

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every part."""
        return {
            "task": self.task,
            "n_rows": self.n_rows,
            "n_positive": self.n_positive,
            "metrics": self.metrics.to_dict(),
            "slices": None if self.slices is None else self.slices.to_dict(),
            "fairness": None if self.fairness is None else self.fairness.to_dict(),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "warnings": list(self.warnings),
        }


def infer_task(labels: pl.Series, scores: Scores, pos_label: Any = None) -> TaskName:
    """``multiclass`` for a probability matrix, ``binary`` for 0/1 or boolean labels (or
    any labels with ``pos_label``), ``regression`` for other numeric labels.

    >>> infer_task(pl.Series([0, 1, 1]), "p"), infer_task(pl.Series([1.5, 2.0]), "p")
    ('binary', 'regression')
    """
    if (not isinstance(scores, str) and isinstance(scores, Sequence) and _all_names(scores)) or (
        isinstance(scores, np.ndarray) and scores.ndim == 2
    ):
        return "multiclass"
    if pos_label is not None or labels.dtype == pl.Boolean:
        return "binary"
    if labels.dtype.is_numeric():
        if labels.drop_nulls().cast(pl.Float64).is_in([0.0, 1.0]).all():
            return "binary"
        return "regression"
    raise InvalidInput(
        f"cannot tell the task from labels of type {labels.dtype}",
        hint="Pass task='binary' with pos_label=..., or task='multiclass' / 'regression'",
        field="task",
    )


def _all_names(values: Sequence[Any]) -> bool:
    return len(values) > 0 and all(isinstance(v, str) for v in values)


def _column(frame: pl.DataFrame, name: str, kind: str) -> pl.Series:
    if name not in frame.columns:
        raise NotFound(kind, name, candidates=frame.columns)
    return frame.get_column(name)


def _scores(frame: pl.DataFrame, scores: Scores, kind: str) -> ArrayLike:
    """A score column by name, a probability matrix from several columns, or the values."""
    if isinstance(scores, str):
        return _column(frame, scores, kind)
    if isinstance(scores, Sequence) and _all_names(scores):
        return np.column_stack([_column(frame, n, kind).to_numpy() for n in scores])
    return scores


def _undefined(report: MetricReport) -> list[str]:
    return [
        f"{e.metric} undefined: {e.reason}" for e in report.estimates.values() if e.value is None
    ]


def evaluate(
    data: Any,
    *,
    label: str,
    score: Scores,
    task: TaskName | None = None,
    slices: Sequence[str] = (),
    sensitive: Sequence[str] = (),
    champion: Scores | None = None,
    cross: int = 2,
    metrics: Sequence[str] | None = None,
    threshold: float = 0.5,
    pos_label: Any = None,
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    min_support: int = 30,
    slice_intervals: bool = False,
) -> EvaluationResult:
    """Metrics with intervals, per-slice metrics, fairness and champion deltas of one frame.

    Parameters
    ----------
    data
        Polars, pandas or Arrow frame, or a Parquet/CSV path.
    label
        The label column.
    score
        The model's output: a column name (binary: the positive-class probability or
        a margin; regression: the prediction), several column names (multiclass: one
        probability column per class, in label-code order), or the values themselves.
    task
        ``binary``, ``multiclass`` or ``regression``; inferred by :func:`infer_task`.
    slices
        Slice columns; each alone and their crosses up to ``cross`` columns.
    sensitive
        Sensitive attributes for fairness (binary tasks), each alone and intersected.
    champion
        The production model's scores on the same rows, as ``score``: adds paired deltas.
    metrics, threshold, pos_label, n_resamples, confidence, seed
        As for :func:`~mlcore.evaluation.metrics.evaluate_metrics`.
    min_support
        Slices with fewer rows are never named the worst.
    slice_intervals
        Bootstrap intervals per slice too (the same resamples as overall).

    Returns
    -------
    EvaluationResult
    """
    from mlcore.frames import to_polars

    frame = to_polars(data, what="evaluation data")
    labels = _column(frame, label, "label column")
    values = _scores(frame, score, "score column")
    for name in slices:
        _column(frame, name, "slice column")
    for name in sensitive:
        _column(frame, name, "sensitive attribute")
    task = task or infer_task(labels, score, pos_label)
    if sensitive and task != "binary":
        raise InvalidInput(
            f"fairness is measured on binary decisions, and this is a {task} task",
            hint="Leave out the sensitive attributes, or evaluate a binary classifier",
            field="sensitive",
        )
    options: dict[str, Any] = {"task": task, "metrics": metrics, "threshold": threshold}
    options |= {"pos_label": pos_label, "confidence": confidence, "seed": seed}
    overall = evaluate_metrics(labels, values, n_resamples=n_resamples, **options)
    warnings = _undefined(overall)
    by_slice = None
    if slices:
        by_slice = slice_metrics(
            labels,
            values,
            {name: frame.get_column(name) for name in slices},
            cross=cross,
            min_support=min_support,
            n_resamples=n_resamples if slice_intervals else 0,
            **options,
        )
        empty = [s.name for s in by_slice.slices if s.n_rows == 0]
        if empty:
            warnings.append(f"slices with no rows: {', '.join(empty)}")
    fairness = None
    if sensitive:
        fairness = fairness_metrics(
            labels,
            values,
            {name: frame.get_column(name) for name in sensitive},
            threshold=threshold,
            pos_label=pos_label,
            seed=seed,
        )
    comparison = None
    if champion is not None:
        comparison = compare_models(
            labels,
            values,
            _scores(frame, champion, "champion score column"),
            n_resamples=n_resamples,
            **options,
        )
    return EvaluationResult(
        task=task,
        n_rows=overall.n_rows,
        metrics=overall,
        slices=by_slice,
        fairness=fairness,
        comparison=comparison,
        warnings=tuple(warnings),
    )
