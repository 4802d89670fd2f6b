"""Classification and regression metrics, equal to scikit-learn's, with bootstrap intervals.

Every metric is a function of a few sums accumulated in one pass over the rows, each row
counted with an integer weight. Weight 1 everywhere gives the metric itself; the counts
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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numba as nb
import numpy as np
import polars as pl

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.bootstrap import percentile_interval, replicate

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

TaskName = Literal["binary", "multiclass", "regression"]
ArrayLike = np.ndarray | pl.Series | Sequence[Any]


@dataclass(frozen=True)
class Metric:
    """A metric's name, direction, and why it can be undefined."""

    name: str
    higher_is_better: bool
    description: str
    undefined_when: str = "no rows"


METRICS: dict[str, tuple[Metric, ...]] = {
    "binary": (
        Metric("roc_auc", True, "area under the ROC curve", "only one class present"),
        Metric("pr_auc", True, "average precision", "no positive labels"),
        Metric("log_loss", False, "mean negative log-likelihood"),
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
        Metric("log_loss", False, "mean negative log-likelihood"),
    ),
    "regression": (
        Metric("mae", False, "mean absolute error"),
        Metric("rmse", False, "root mean squared error"),
        Metric("r2", True, "coefficient of determination", "labels are constant"),
        Metric("mape", False, "mean absolute percentage error, as a fraction"),
    ),
}

_PROBABILITY_METRICS = frozenset({"log_loss", "brier", "ece"})
_EPS = float(np.finfo(np.float64).eps)
_ECE_BINS = 10


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
            None if not undefined else "no rows" if empty else task.undefined_reason(name),
        )
    return out


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


def _same_length(**arrays: np.ndarray) -> int:
    lengths = {role: len(a) for role, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{role} has {n}" for role, n in lengths.items())
        raise InvalidInput(
            f"inputs differ in length: {listed} rows",
            hint="Pass labels and predictions of the same rows",
        )
    return next(iter(lengths.values()))


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


# --------------------------------------------------------------------------------------
# Tasks: prepared inputs that turn row weights into metric values


class Task:
    """Labels and scores prepared for repeated weighted evaluation.

    Subclasses hold one task's inputs in the form their Numba kernel reads.
    """

    name: TaskName
    n_rows: int

    def statistics(
        self, weights: np.ndarray, codes: np.ndarray | None = None, n_groups: int = 1
    ) -> np.ndarray:
        """Sums per resample (row of ``weights``) and group: ``(R, n_groups, width)``.

        ``weights`` is an ``(R, n_rows)`` uint8 matrix of row counts, ``codes`` the
        group (``0 .. n_groups - 1``) of every row.
        """
        raise NotImplementedError

    def values(self, stats: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric of the task from statistics ``(..., width)``; NaN if undefined."""
        raise NotImplementedError

    def undefined_reason(self, name: str) -> str:
        """Why ``name`` can be undefined (reported with a None value)."""
        return metric(self.name, name).undefined_when

    def support(self, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows and, for binary tasks, positive labels counted in ``stats``."""
        return stats[..., 0], None


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _ones(n_rows: int) -> np.ndarray:
    # The dtype of bootstrap counts, so that one compiled kernel serves both.
    return np.ones((1, n_rows), dtype=np.uint8)


def _kernel_input(array: np.ndarray, dtype: type) -> np.ndarray:
    # Numba compiles a separate kernel for read-only arrays (Polars hands those out).
    return np.require(array, dtype=dtype, requirements=["C_CONTIGUOUS", "WRITEABLE"])


def _codes(codes: np.ndarray | None, n_rows: int) -> np.ndarray:
    if codes is None:
        return np.zeros(n_rows, dtype=np.int32)
    return _kernel_input(codes, np.int32)


# Binary statistics, one column each: weight, positives, discordant weight (AUC),
# precision-weighted positives (AP), log loss, squared error, TP, FP, FN, then per
# calibration bin the weighted sum of (label - score).
_W, _POS, _DISC, _AP, _LL, _SQ, _TP, _FP, _FN, _ECE = range(10)
_BINARY_WIDTH = _ECE + _ECE_BINS


@nb.njit(cache=True)
def _binary_pass(w, y, s, ll, bins, codes, threshold, acc):
    # Rows arrive sorted by decreasing score; a block of equal scores is a single
    # threshold, so within it positives meet negatives as half-concordant (AUC) and
    # precision is taken after the whole block (AP), as scikit-learn's curves do.
    # Branch-free on labels and weights: both are random, so branches mispredict.
    n, n_groups = y.shape[0], acc.shape[0]
    block_pos = np.zeros(n_groups)
    block_neg = np.zeros(n_groups)
    seen_pos = np.zeros(n_groups)
    seen_neg = np.zeros(n_groups)
    block_of = np.full(n_groups, -1, dtype=np.int64)
    touched = np.empty(n_groups, dtype=np.int64)
    start = 0
    while start < n:
        score = s[start]
        predicted = 1.0 if score >= threshold else 0.0
        n_touched = 0
        stop = start
        while stop < n and s[stop] == score:
            g = codes[stop]
            if block_of[g] != start:
                block_of[g] = start
                touched[n_touched] = g
                n_touched += 1
            wf = float(w[stop])
            label = float(y[stop])
            block_pos[g] += wf * label
            block_neg[g] += wf * (1.0 - label)
            gap = label - score
            acc[g, _LL] += wf * ll[stop]
            acc[g, _SQ] += wf * gap * gap
            acc[g, _ECE + bins[stop]] += wf * gap
            stop += 1
        for t in range(n_touched):
            g = touched[t]
            pos, neg = block_pos[g], block_neg[g]
            acc[g, _W] += pos + neg
            acc[g, _TP] += predicted * pos
            acc[g, _FP] += predicted * neg
            acc[g, _FN] += (1.0 - predicted) * pos
            acc[g, _DISC] += pos * (seen_neg[g] + 0.5 * neg)
            seen_pos[g] += pos
            seen_neg[g] += neg
            # Weights are counts: a nonzero total is at least 1, and a zero one has pos 0.
            acc[g, _AP] += pos * seen_pos[g] / max(seen_pos[g] + seen_neg[g], 1.0)
            block_pos[g] = 0.0
            block_neg[g] = 0.0
        start = stop
    acc[:, _POS] += seen_pos


@nb.njit(cache=True, nogil=True)
def _binary_kernel(weights, order, y, s, ll, bins, codes, n_groups, threshold):
    n = order.shape[0]
    out = np.zeros((weights.shape[0], n_groups, _BINARY_WIDTH))
    w_sorted = np.empty(n, dtype=weights.dtype)
    for r in range(weights.shape[0]):
        row = weights[r]
        for j in range(n):
            w_sorted[j] = row[order[j]]
        _binary_pass(w_sorted, y, s, ll, bins, codes, threshold, out[r])
    return out


class BinaryTask(Task):
    """Binary labels and scores, sorted by score once for every later evaluation."""

    name: TaskName = "binary"

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray, threshold: float = 0.5) -> None:
        if y_score.ndim != 1 or y_score.dtype.kind not in "biuf":
            raise InvalidInput(
                "binary scores must be one number per row",
                hint="Pass the positive-class probability, e.g. predict_proba(X)[:, 1]",
                field="y_score",
            )
        self.n_rows = _same_length(y_true=y_true, y_score=y_score)
        self.threshold = float(threshold)
        score = y_score.astype(np.float64)
        self.is_probability = bool(score.min() >= 0 and score.max() <= 1)
        self.order = np.argsort(-score, kind="stable")
        # Narrow dtypes: the pass over sorted rows is bound by memory traffic.
        self.y = np.ascontiguousarray(y_true[self.order], dtype=np.int8)
        self.s = np.ascontiguousarray(score[self.order])
        if self.is_probability:
            # scikit-learn clips both class probabilities to [eps, 1 - eps].
            p_label = np.where(self.y == 1, self.s, 1.0 - self.s)
            self.ll = -np.log(np.clip(p_label, _EPS, 1.0 - _EPS))
            self.bins = np.minimum((self.s * _ECE_BINS).astype(np.int8), _ECE_BINS - 1)
        else:
            self.ll = np.zeros(self.n_rows)
            self.bins = np.zeros(self.n_rows, dtype=np.int8)
        self.n_positive = int(np.count_nonzero(self.y))

    def statistics(
        self, weights: np.ndarray, codes: np.ndarray | None = None, n_groups: int = 1
    ) -> np.ndarray:
        if codes is None:
            codes = np.zeros(self.n_rows, dtype=np.int32)  # all 0 in any order: no gather
        else:
            codes = _kernel_input(codes[self.order], np.int32)
        return _binary_kernel(
            weights, self.order, self.y, self.s, self.ll, self.bins, codes, n_groups, self.threshold
        )

    def values(self, stats: np.ndarray) -> dict[str, np.ndarray]:
        w, pos = stats[..., _W], stats[..., _POS]
        tp, fp, fn = stats[..., _TP], stats[..., _FP], stats[..., _FN]
        out = {
            "roc_auc": 1.0 - _ratio(stats[..., _DISC], pos * (w - pos)),
            "pr_auc": _ratio(stats[..., _AP], pos),
            "log_loss": _ratio(stats[..., _LL], w),
            "brier": _ratio(stats[..., _SQ], w),
            "accuracy": _ratio(w - fp - fn, w),
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, pos),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "ece": _ratio(np.abs(stats[..., _ECE:]).sum(axis=-1), w),
        }
        if not self.is_probability:
            for name in _PROBABILITY_METRICS:
                out[name] = np.full_like(w, np.nan)
        return out

    def undefined_reason(self, name: str) -> str:
        if name in _PROBABILITY_METRICS and not self.is_probability:
            return "scores are not probabilities in [0, 1]"
        return metric(self.name, name).undefined_when

    def support(self, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return stats[..., _W], stats[..., _POS]


@nb.njit(cache=True)
def _multiclass_pass(w, y, pred, ll, codes, acc):
    # Columns: weight, correct, log loss, then TP, FP and FN per class.
    n_classes = (acc.shape[1] - 3) // 3
    for i in range(y.shape[0]):
        if w[i] == 0:
            continue
        g = codes[i]
        wf = float(w[i])
        acc[g, 0] += wf
        acc[g, 2] += wf * ll[i]
        if y[i] == pred[i]:
            acc[g, 1] += wf
            acc[g, 3 + y[i]] += wf
        else:
            acc[g, 3 + n_classes + pred[i]] += wf
            acc[g, 3 + 2 * n_classes + y[i]] += wf


@nb.njit(cache=True, nogil=True)
def _multiclass_kernel(weights, y, pred, ll, codes, n_groups, n_classes):
    out = np.zeros((weights.shape[0], n_groups, 3 + 3 * n_classes))
    for r in range(weights.shape[0]):
        _multiclass_pass(weights[r], y, pred, ll, codes, out[r])
    return out


class MulticlassTask(Task):
    """Integer labels ``0..K-1`` and an ``(n, K)`` matrix of class probabilities."""

    name: TaskName = "multiclass"

    def __init__(self, y_true: np.ndarray, y_proba: np.ndarray) -> None:
        if y_proba.ndim != 2 or y_proba.shape[1] < 2:
            raise InvalidInput(
                "multiclass scores must be an (n_rows, n_classes) probability matrix",
                hint="Pass predict_proba(X), or an Array column of class probabilities",
                field="y_score",
            )
        self.n_rows = _same_length(y_true=y_true, y_score=y_proba)
        self.n_classes = y_proba.shape[1]
        if y_true.dtype.kind not in "iu" or y_true.min() < 0 or y_true.max() >= self.n_classes:
            raise InvalidInput(
                f"multiclass labels must be integers 0..{self.n_classes - 1}"
                " (one per probability column)",
                hint="Encode labels in the order of the probability columns",
                field="y_true",
            )
        if y_proba.min() < 0 or y_proba.max() > 1:
            raise InvalidInput("class probabilities must lie in [0, 1]", field="y_score")
        self.y = _kernel_input(y_true, np.int64)
        self.pred = _kernel_input(np.argmax(y_proba, axis=1), np.int64)
        p_true = np.take_along_axis(y_proba, self.y[:, None], axis=1)[:, 0]
        self.ll = -np.log(np.clip(p_true.astype(np.float64), _EPS, 1.0 - _EPS))

    def statistics(
        self, weights: np.ndarray, codes: np.ndarray | None = None, n_groups: int = 1
    ) -> np.ndarray:
        codes = _codes(codes, self.n_rows)
        return _multiclass_kernel(
            weights, self.y, self.pred, self.ll, codes, n_groups, self.n_classes
        )

    def values(self, stats: np.ndarray) -> dict[str, np.ndarray]:
        k = self.n_classes
        tp, fp, fn = stats[..., 3 : 3 + k], stats[..., 3 + k : 3 + 2 * k], stats[..., 3 + 2 * k :]
        # Classes absent from both labels and predictions drop out, as in scikit-learn.
        per_class = _ratio(2 * tp, 2 * tp + fp + fn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            macro = np.nanmean(per_class, axis=-1)
        w = stats[..., 0]
        return {
            "accuracy": _ratio(stats[..., 1], w),
            "macro_f1": macro,
            "log_loss": _ratio(stats[..., 2], w),
        }


@nb.njit(cache=True)
def _regression_pass(w, y, err, ape, codes, acc):
    # Columns: weight, |error|, error², y, y², |error| / |y|, min y, max y.
    acc[:, 6] = np.inf
    acc[:, 7] = -np.inf
    for i in range(y.shape[0]):
        if w[i] == 0:
            continue
        g = codes[i]
        wf = float(w[i])
        e = err[i]
        acc[g, 0] += wf
        acc[g, 1] += wf * abs(e)
        acc[g, 2] += wf * e * e
        acc[g, 3] += wf * y[i]
        acc[g, 4] += wf * y[i] * y[i]
        acc[g, 5] += wf * ape[i]
        acc[g, 6] = min(acc[g, 6], y[i])
        acc[g, 7] = max(acc[g, 7], y[i])


@nb.njit(cache=True, nogil=True)
def _regression_kernel(weights, y, err, ape, codes, n_groups):
    out = np.zeros((weights.shape[0], n_groups, 8))
    for r in range(weights.shape[0]):
        _regression_pass(weights[r], y, err, ape, codes, out[r])
    return out


class RegressionTask(Task):
    """Real labels and predictions."""

    name: TaskName = "regression"

    def __init__(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        for role, a in (("y_true", y_true), ("y_score", y_pred)):
            if a.ndim != 1 or a.dtype.kind not in "biuf":
                raise InvalidInput(f"regression {role} must be one number per row", field=role)
        self.n_rows = _same_length(y_true=y_true, y_score=y_pred)
        y = y_true.astype(np.float64)
        self.err = _kernel_input(y_pred - y, np.float64)
        self.ape = np.abs(self.err) / np.maximum(np.abs(y), _EPS)
        # Centring keeps sum(y²) - sum(y)²/n from cancelling catastrophically.
        self.y = y - y.mean()

    def statistics(
        self, weights: np.ndarray, codes: np.ndarray | None = None, n_groups: int = 1
    ) -> np.ndarray:
        codes = _codes(codes, self.n_rows)
        return _regression_kernel(weights, self.y, self.err, self.ape, codes, n_groups)

    def values(self, stats: np.ndarray) -> dict[str, np.ndarray]:
        w, sum_y = stats[..., 0], stats[..., 3]
        total = stats[..., 4] - _ratio(sum_y * sum_y, w)
        total = np.where(stats[..., 7] > stats[..., 6], total, np.nan)
        return {
            "mae": _ratio(stats[..., 1], w),
            "rmse": np.sqrt(_ratio(stats[..., 2], w)),
            "r2": 1.0 - _ratio(stats[..., 2], total),
            "mape": _ratio(stats[..., 5], w),
        }


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
            names = [n for n in names if n not in _PROBABILITY_METRICS]
        return names
    names = [metric(task.name, name).name for name in metrics]
    if isinstance(task, BinaryTask) and not task.is_probability:
        wrong = sorted(_PROBABILITY_METRICS.intersection(names))
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
    stats = task.statistics(_ones(task.n_rows), codes, n_groups)[0]
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
