"""Per-window performance against scikit-learn, merges, and CBPE on calibrated scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from sklearn import metrics as skm

from mlcore.errors import InvalidInput
from mlcore.monitoring.performance import ClassificationWindow, RegressionWindow

RNG = np.random.default_rng(8)


def labelled(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 3, n)
    return p, (rng.random(n) < p).astype(int)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.72])
def test_classification_metrics_equal_scikit_learn(threshold: float) -> None:
    p, y = labelled(20_000, 1)
    m = ClassificationWindow.observe(p, y, threshold=threshold).metrics()
    predicted = (p >= threshold).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=1e-12)
    assert m["precision"] == pytest.approx(skm.precision_score(y, predicted), abs=1e-12)
    assert m["recall"] == pytest.approx(skm.recall_score(y, predicted), abs=1e-12)
    assert m["f1"] == pytest.approx(skm.f1_score(y, predicted), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p), abs=1e-9)
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    assert abs(m["roc_auc"] - skm.roc_auc_score(y, p)) <= m["roc_auc_bound"] + 1e-12


def test_roc_auc_is_exact_when_scores_sit_on_bin_edges() -> None:
    p = RNG.integers(0, 10, 5_000) / 10
    y = (RNG.random(5_000) < p).astype(int)
    m = ClassificationWindow.observe(p, y, bins=10).metrics()
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    hs.lists(hs.tuples(hs.floats(0, 1), hs.booleans()), min_size=1, max_size=60), hs.integers(0, 60)
)
def test_merging_windows_equals_observing_everything(
    rows: list[tuple[float, bool]], cut: int
) -> None:
    p = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    whole = ClassificationWindow.observe(p, y, bins=20)
    parts = ClassificationWindow.observe(p[:cut], y[:cut], bins=20).merge(
        ClassificationWindow.observe(p[cut:], y[cut:], bins=20)
    )
    for name in ("counts", "positives", "negatives", "confusion"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name))
    assert parts.log_loss_sum == pytest.approx(whole.log_loss_sum, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(parts.predicted, whole.predicted, rtol=1e-12, atol=1e-12)


def test_cbpe_follows_realised_performance_on_calibrated_scores() -> None:
    estimates, realised = [], []
    for seed in range(20):
        p, y = labelled(5_000, 100 + seed)
        window = ClassificationWindow.observe(p, y)
        estimates.append(window.estimate())
        realised.append(window.metrics())
    for metric in ("accuracy", "roc_auc", "f1"):
        errors = np.array([e[metric] - r[metric] for e, r in zip(estimates, realised, strict=True)])
        assert abs(errors.mean()) < 0.005, metric  # unbiased
        assert errors.std() < 0.02, metric


def test_cbpe_expected_confusion_by_hand() -> None:
    window = ClassificationWindow.observe([0.9, 0.6, 0.2, 0.4])  # no labels
    e = window.estimate()
    tp, fp, fn, tn = 0.9 + 0.6, 0.1 + 0.4, 0.2 + 0.4, 0.8 + 0.6
    assert e["accuracy"] == pytest.approx((tp + tn) / 4)
    assert e["precision"] == pytest.approx(tp / (tp + fp))
    assert e["recall"] == pytest.approx(tp / (tp + fn))
    assert np.isnan(window.metrics()["accuracy"])  # no labels, no realised accuracy


def test_classification_window_json_round_trip() -> None:
    p, y = labelled(1_000, 5)
    window = ClassificationWindow.observe(p, y, bins=50)
    again = ClassificationWindow.from_dict(json.loads(json.dumps(window.to_dict())))
    assert again.metrics() == window.metrics() and again.estimate() == window.estimate()


@pytest.mark.parametrize(
    ("scores", "labels", "text"),
    [
        ([0.2, 1.5], None, "probabilities in"),
        ([0.2, np.nan], None, "NaN or infinite"),
        ([0.2, 0.3], [1, 2], "0/1"),
        ([0.2], [1, 0], "0/1"),
    ],
)
def test_bad_classification_input(scores: list, labels: list | None, text: str) -> None:
    with pytest.raises(InvalidInput, match=text):
        ClassificationWindow.observe(scores, labels)


def test_regression_metrics_equal_scikit_learn_and_merge() -> None:
    y = RNG.normal(10, 3, 10_000)
    pred = y + RNG.normal(0.3, 1, 10_000)
    whole = RegressionWindow.observe(y, pred)
    parts = RegressionWindow.observe(y[:3_000], pred[:3_000]).merge(
        RegressionWindow.observe(y[3_000:], pred[3_000:])
    )
    for window in (whole, parts):
        m = window.metrics()
        assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
        assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-12)
        assert m["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-10)
        assert m["mean_error"] == pytest.approx(np.mean(pred - y), rel=1e-10)
    again = RegressionWindow.from_dict(json.loads(json.dumps(whole.to_dict())))
    assert again.metrics() == whole.metrics()
    empty = RegressionWindow().metrics()
    assert empty["n"] == 0 and np.isnan(empty["mae"]) and np.isnan(empty["r2"])
    with pytest.raises(InvalidInput, match="differ in length"):
        RegressionWindow.observe([1.0, 2.0], [1.0])


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.tuples(hs.floats(0, 1), hs.booleans()), min_size=1, max_size=60))
def test_labels_added_later_equal_labels_given_at_once(rows: list[tuple[float, bool]]) -> None:
    """Production logs count predictions when scored and their labels when they arrive."""
    p = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    at_once = ClassificationWindow.observe(p, y, bins=20).to_dict()
    later = ClassificationWindow.observe(p, bins=20)
    assert later.metrics()["n"] == 0.0
    assert later.label(p, y).to_dict() == at_once


def test_bad_labels_change_nothing() -> None:
    window = ClassificationWindow.observe([0.2, 0.9])
    before = window.to_dict()
    with pytest.raises(InvalidInput, match="0/1"):
        window.update([0.4], [2])
    with pytest.raises(InvalidInput, match="0/1"):
        window.label([0.2, 0.9], [1])
    assert window.to_dict() == before
