"""Model performance per window: mergeable metrics, and estimates before labels arrive.

Each window keeps sufficient statistics, not predictions, so windows merge by
addition like drift summaries do:

* :class:`ClassificationWindow` (binary): the confusion counts at a decision
  threshold, log-loss and Brier sums, and a histogram of predicted
  probabilities split by label. Accuracy, precision, recall, F1, log loss and
  Brier are exact. ROC AUC comes from the histogram: pairs in different bins
  are ordered exactly, pairs sharing a bin count one half, so the value is off
  by at most half the share of positive-negative pairs that share a bin
  (``roc_auc_bound``). Before labels arrive, the same histogram gives NannyML's
  confidence-based performance estimation (CBPE): if the probabilities are
  calibrated, a prediction of ``p`` is a positive with chance ``p``, so the
  expected confusion matrix, accuracy and ROC AUC follow from the scores alone.
* :class:`RegressionWindow`: error sums and the moments of the target, giving
  MAE, RMSE, mean error (bias) and R².

Labels join predictions later (by request id, in the store); a window can be
updated with scores first and with labelled pairs afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlcore.errors import InvalidInput
from mlcore.monitoring.moments import merge_moments, new_moments

__all__ = ["ClassificationWindow", "RegressionWindow"]

_EPS = float(np.finfo(np.float64).eps)  # log-loss clipping, as scikit-learn


def _vector(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(array).all():
        raise InvalidInput(
            f"{name} holds NaN or infinite values", hint="Drop or impute them first", field=name
        )
    return array


@dataclass(eq=False)
class ClassificationWindow:
    """Sufficient statistics of a binary classifier over one window.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(10_000)
    >>> y = rng.random(10_000) < p  # calibrated by construction
    >>> window = ClassificationWindow.observe(p[:5_000], y[:5_000])
    >>> window = window.merge(ClassificationWindow.observe(p[5_000:], y[5_000:]))
    >>> m = window.metrics()
    >>> round(m["accuracy"], 4), round(m["roc_auc"], 4), round(m["roc_auc_bound"], 5)
    (0.7494, 0.8306, 0.00034)
    >>> e = ClassificationWindow.observe(p).estimate()  # no labels: CBPE
    >>> round(e["accuracy"], 4), round(e["roc_auc"], 4)
    (0.7506, 0.8338)
    """

    threshold: float = 0.5
    bins: int = 1000
    # Left out, these start as None and __post_init__ sizes them from ``bins``.
    counts: np.ndarray = field(default=None)  # type: ignore[arg-type]
    score_sums: np.ndarray = field(default=None)  # type: ignore[arg-type]
    positives: np.ndarray = field(default=None)  # type: ignore[arg-type]
    negatives: np.ndarray = field(default=None)  # type: ignore[arg-type]
    confusion: np.ndarray = field(default=None)  # type: ignore[arg-type]
    predicted: np.ndarray = field(default=None)  # type: ignore[arg-type]
    log_loss_sum: float = 0.0
    brier_sum: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0 or self.bins < 1:
            raise InvalidInput(
                f"threshold {self.threshold} and bins {self.bins} are invalid",
                hint="Use 0 < threshold < 1 and bins >= 1",
            )
        for name in ("counts", "positives", "negatives"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(self.bins, dtype=np.int64))
        if self.score_sums is None:
            self.score_sums = np.zeros(self.bins)
        if self.confusion is None:
            self.confusion = np.zeros(4, dtype=np.int64)  # tp, fp, tn, fn
        if self.predicted is None:
            # sum of p and count, over predicted positives then predicted negatives
            self.predicted = np.zeros(4)

    @classmethod
    def observe(
        cls, scores: Any, labels: Any = None, *, threshold: float = 0.5, bins: int = 1000
    ) -> ClassificationWindow:
        """A window of predicted probabilities of the positive class, with labels if known."""
        return cls(threshold, bins).update(scores, labels)

    def update(self, scores: Any, labels: Any = None) -> ClassificationWindow:
        """Add predictions (and their labels, if known) in place; return self."""
        p = self._probabilities(scores)
        y = None if labels is None else self._labels(labels, p)  # checked before anything changes
        slot = self._slots(p)
        self.counts += np.bincount(slot, minlength=self.bins)
        self.score_sums += np.bincount(slot, weights=p, minlength=self.bins)
        flagged = p >= self.threshold
        self.predicted += [p[flagged].sum(), flagged.sum(), p[~flagged].sum(), (~flagged).sum()]
        if y is not None:
            self._add_labels(p, slot, y)
        return self

    def label(self, scores: Any, labels: Any) -> ClassificationWindow:
        """Add the labels of predictions counted earlier (``update`` without labels); return self.

        Production logs count a window's predictions when they are scored and
        its labels when ground truth arrives; the two parts merge into the
        same window, so ``update(p)`` then ``label(p, y)`` equals ``update(p, y)``.
        """
        p = self._probabilities(scores)
        self._add_labels(p, self._slots(p), self._labels(labels, p))
        return self

    def _probabilities(self, scores: Any) -> np.ndarray:
        p = _vector(scores, "scores")
        if p.size and (p.min() < 0 or p.max() > 1):
            raise InvalidInput(
                "scores must be probabilities in [0, 1]",
                hint="Pass predict_proba(...)[:, 1], not a decision function",
                field="scores",
            )
        return p

    def _slots(self, p: np.ndarray) -> np.ndarray:
        return np.minimum((p * self.bins).astype(np.int64), self.bins - 1)

    @staticmethod
    def _labels(labels: Any, p: np.ndarray) -> np.ndarray:
        y = _vector(labels, "labels")
        if y.shape != p.shape or not np.isin(y, (0.0, 1.0)).all():
            raise InvalidInput("labels must be 0/1 (or booleans), one per score", field="labels")
        return y

    def _add_labels(self, p: np.ndarray, slot: np.ndarray, y: np.ndarray) -> None:
        positive = y == 1.0
        flagged = p >= self.threshold
        self.positives += np.bincount(slot[positive], minlength=self.bins)
        self.negatives += np.bincount(slot[~positive], minlength=self.bins)
        self.confusion += [
            np.sum(flagged & positive),
            np.sum(flagged & ~positive),
            np.sum(~flagged & ~positive),
            np.sum(~flagged & positive),
        ]
        clipped = np.clip(p, _EPS, 1 - _EPS)
        self.log_loss_sum += float(-np.sum(np.where(positive, np.log(clipped), np.log1p(-clipped))))
        self.brier_sum += float(np.sum((p - y) ** 2))

    def merge(self, other: ClassificationWindow) -> ClassificationWindow:
        if (other.threshold, other.bins) != (self.threshold, self.bins):
            raise InvalidInput("cannot merge windows with different thresholds or bins")
        return ClassificationWindow(
            self.threshold,
            self.bins,
            self.counts + other.counts,
            self.score_sums + other.score_sums,
            self.positives + other.positives,
            self.negatives + other.negatives,
            self.confusion + other.confusion,
            self.predicted + other.predicted,
            self.log_loss_sum + other.log_loss_sum,
            self.brier_sum + other.brier_sum,
        )

    def metrics(self) -> dict[str, float]:
        """Realised metrics over the labelled predictions (NaN where undefined)."""
        tp, fp, tn, fn = (float(v) for v in self.confusion)
        n = tp + fp + tn + fn
        auc, bound = _roc_auc(self.positives.astype(np.float64), self.negatives.astype(np.float64))
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        return {
            "n": n,
            "accuracy": _ratio(tp + tn, n),
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "roc_auc": auc,
            "roc_auc_bound": bound,
            "log_loss": _ratio(self.log_loss_sum, n),
            "brier": _ratio(self.brier_sum, n),
            "positive_rate": _ratio(tp + fn, n),
        }

    def estimate(self) -> dict[str, float]:
        """CBPE: expected metrics of all predictions, labelled or not, from calibrated scores.

        With ``p`` the score of a prediction, the expected confusion matrix is
        ``TP = sum p`` and ``FP = sum (1 - p)`` over predicted positives, ``FN =
        sum p`` and ``TN = sum (1 - p)`` over predicted negatives.
        """
        p_pos, n_pos, p_neg, n_neg = (float(v) for v in self.predicted)
        tp, fp, fn, tn = p_pos, n_pos - p_pos, p_neg, n_neg - p_neg
        n = n_pos + n_neg
        auc, bound = _roc_auc(self.score_sums, self.counts - self.score_sums)
        return {
            "n": n,
            "accuracy": _ratio(tp + tn, n),
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "roc_auc": auc,
            "roc_auc_bound": bound,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "bins": self.bins,
            "counts": self.counts.tolist(),
            "score_sums": self.score_sums.tolist(),
            "positives": self.positives.tolist(),
            "negatives": self.negatives.tolist(),
            "confusion": self.confusion.tolist(),
            "predicted": self.predicted.tolist(),
            "log_loss_sum": self.log_loss_sum,
            "brier_sum": self.brier_sum,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassificationWindow:
        return cls(
            float(data["threshold"]),
            int(data["bins"]),
            np.asarray(data["counts"], dtype=np.int64),
            np.asarray(data["score_sums"], dtype=np.float64),
            np.asarray(data["positives"], dtype=np.int64),
            np.asarray(data["negatives"], dtype=np.int64),
            np.asarray(data["confusion"], dtype=np.int64),
            np.asarray(data["predicted"], dtype=np.float64),
            float(data["log_loss_sum"]),
            float(data["brier_sum"]),
        )


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _roc_auc(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """ROC AUC of binned scores (ties within a bin count 1/2), and its error bound."""
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return math.nan, math.nan
    neg_below = np.cumsum(neg) - neg
    pairs = total_pos * total_neg
    tied = float(np.sum(pos * neg))
    auc = (float(np.sum(pos * neg_below)) + 0.5 * tied) / pairs
    return float(auc), float(0.5 * tied / pairs)


@dataclass(eq=False)
class RegressionWindow:
    """Sufficient statistics of a regressor over one window: errors and target moments.

    Examples
    --------
    >>> w = RegressionWindow.observe([3.0, 5.0, 2.5], [2.5, 5.0, 4.0])
    >>> {k: round(v, 4) for k, v in w.metrics().items()}
    {'n': 3.0, 'mae': 0.6667, 'rmse': 0.9129, 'mean_error': 0.3333, 'r2': 0.2857}
    """

    abs_error_sum: float = 0.0
    sq_error_sum: float = 0.0
    error_sum: float = 0.0
    target: np.ndarray = field(default_factory=new_moments)

    @classmethod
    def observe(cls, y_true: Any, y_pred: Any) -> RegressionWindow:
        return cls().update(y_true, y_pred)

    def update(self, y_true: Any, y_pred: Any) -> RegressionWindow:
        """Add labelled predictions in place; return self."""
        y = _vector(y_true, "y_true")
        predicted = _vector(y_pred, "y_pred")
        if predicted.shape != y.shape:
            raise InvalidInput("y_true and y_pred differ in length")
        error = predicted - y
        self.abs_error_sum += float(np.abs(error).sum())
        self.sq_error_sum += float(np.square(error).sum())
        self.error_sum += float(error.sum())
        if len(y):
            merge_moments(
                self.target,
                len(y),
                y.mean(),
                float(np.square(y - y.mean()).sum()),
                y.min(),
                y.max(),
            )
        return self

    def merge(self, other: RegressionWindow) -> RegressionWindow:
        target = self.target.copy()
        merge_moments(target, *other.target)
        return RegressionWindow(
            self.abs_error_sum + other.abs_error_sum,
            self.sq_error_sum + other.sq_error_sum,
            self.error_sum + other.error_sum,
            target,
        )

    def metrics(self) -> dict[str, float]:
        n = float(self.target[0])
        ss_total = float(self.target[2])
        return {
            "n": n,
            "mae": _ratio(self.abs_error_sum, n),
            "rmse": math.sqrt(self.sq_error_sum / n) if n else math.nan,
            "mean_error": _ratio(self.error_sum, n),
            "r2": 1.0 - self.sq_error_sum / ss_total if ss_total > 0 else math.nan,
        }

    def to_dict(self) -> dict[str, Any]:
        count, mean, m2, lo, hi = (float(v) for v in self.target)
        return {
            "abs_error_sum": self.abs_error_sum,
            "sq_error_sum": self.sq_error_sum,
            "error_sum": self.error_sum,
            "target": [count, mean, m2, lo if count else None, hi if count else None],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegressionWindow:
        count, mean, m2, lo, hi = data["target"]
        target = np.array(
            [count, mean, m2, math.inf if lo is None else lo, -math.inf if hi is None else hi]
        )
        return cls(
            float(data["abs_error_sum"]),
            float(data["sq_error_sum"]),
            float(data["error_sum"]),
            target,
        )
