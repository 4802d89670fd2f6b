"""Prepared tasks: labels and scores turned into weighted sums by Numba kernels.

A :class:`Task` holds one task's labels and scores in the form its kernel reads
(binary rows sorted by decreasing score once; multiclass arg-max predictions; regression
errors). :meth:`Task.statistics` accumulates, for every row-weight vector (a bootstrap
resample's counts, or all ones) and every group code, the few sums each metric is a
function of; :meth:`Task.values` turns those sums into metric values, NaN where a metric
is undefined. The metric catalogue and the public API live in
:mod:`mlcore.evaluation.metrics`; this module is the arithmetic.

Examples
--------
>>> import numpy as np
>>> task = BinaryTask(np.array([0, 1, 1, 0]), np.array([0.2, 0.8, 0.6, 0.7]))
>>> stats = task.statistics(ones(task.n_rows))[0]
>>> {k: round(float(v[0]), 4) for k, v in task.values(stats).items() if k in ("roc_auc", "f1")}
{'roc_auc': 0.75, 'f1': 0.8}
"""

from __future__ import annotations

import warnings
from typing import Literal

import numba as nb
import numpy as np

from mlcore.errors import InvalidInput

__all__ = [
    "PROBABILITY_METRICS",
    "BinaryTask",
    "MulticlassTask",
    "RegressionTask",
    "Task",
    "TaskName",
    "ones",
    "same_length",
]

TaskName = Literal["binary", "multiclass", "regression"]

#: Binary metrics that read the score as a probability (undefined for margins).
PROBABILITY_METRICS = frozenset({"log_loss", "brier", "ece"})
_EPS = float(np.finfo(np.float64).eps)
_ECE_BINS = 10


def same_length(**arrays: np.ndarray) -> int:
    """The common length of ``arrays``; InvalidInput naming each length if they differ."""
    lengths = {role: len(a) for role, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{role} has {n}" for role, n in lengths.items())
        raise InvalidInput(
            f"inputs differ in length: {listed} rows",
            hint="Pass labels and predictions of the same rows",
        )
    return next(iter(lengths.values()))


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

    def undefined_reason(self, name: str) -> str | None:
        """Why ``name`` is undefined on these inputs in particular, if the task knows.

        None defers to the catalogue's general reason
        (:attr:`mlcore.evaluation.metrics.Metric.undefined_when`).
        """
        return None

    def support(self, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows and, for binary tasks, positive labels counted in ``stats``."""
        return stats[..., 0], None


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def ones(n_rows: int) -> np.ndarray:
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
        self.n_rows = same_length(y_true=y_true, y_score=y_score)
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
            for name in PROBABILITY_METRICS:
                out[name] = np.full_like(w, np.nan)
        return out

    def undefined_reason(self, name: str) -> str | None:
        if name in PROBABILITY_METRICS and not self.is_probability:
            return "scores are not probabilities in [0, 1]"
        return None

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
        self.n_rows = same_length(y_true=y_true, y_score=y_proba)
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
        self.n_rows = same_length(y_true=y_true, y_score=y_pred)
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
