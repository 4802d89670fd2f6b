from __future__ import annotations

import json
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.bootstrap import resample_counts
from mlcore.evaluation.metrics import METRICS, evaluate_metrics

from .conftest import binary_data

TOL = 1e-12


def ece_reference(y: np.ndarray, p: np.ndarray) -> float:
    """The documented ECE, written as the textbook loop over bins."""
    total = 0.0
    for b in range(10):
        upper = (b + 1) / 10
        in_bin = (p >= b / 10) & ((p < upper) if b < 9 else (p <= 1.0))
        if in_bin.any():
            total += in_bin.sum() / len(y) * abs(y[in_bin].mean() - p[in_bin].mean())
    return total


def sklearn_binary(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    pred = (p >= threshold).astype(int)
    return {
        "roc_auc": skm.roc_auc_score(y, p),
        "pr_auc": skm.average_precision_score(y, p),
        "log_loss": skm.log_loss(y, p, labels=[0, 1]),
        "brier": skm.brier_score_loss(y, p, labels=[0, 1]),
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "ece": ece_reference(y, p),
    }


def sklearn_regression(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    return {
        "mae": skm.mean_absolute_error(y, yhat),
        "rmse": skm.root_mean_squared_error(y, yhat),
        "r2": skm.r2_score(y, yhat),
        "mape": skm.mean_absolute_percentage_error(y, yhat),
    }


def sklearn_multiclass(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    pred = proba.argmax(axis=1)
    return {
        "accuracy": skm.accuracy_score(y, pred),
        "macro_f1": skm.f1_score(y, pred, average="macro"),
        "log_loss": skm.log_loss(y, proba, labels=range(proba.shape[1])),
    }


def values(report) -> dict[str, float | None]:
    return {name: e.value for name, e in report.estimates.items()}


def assert_close(got: dict, want: dict, tol: float = TOL) -> None:
    assert set(got) == set(want)
    for name in want:
        assert got[name] == pytest.approx(want[name], rel=tol, abs=tol), name


# -- values equal scikit-learn's -------------------------------------------------------


@pytest.mark.parametrize("decimals", [1, 2, 6])
@pytest.mark.parametrize("threshold", [0.3, 0.5])
def test_binary_metrics_equal_sklearn_with_and_without_ties(decimals: int, threshold: float):
    y, p = binary_data(800, seed=decimals, decimals=decimals)
    assert (len(np.unique(p)) < len(p)) == (decimals < 6)
    report = evaluate_metrics(y, p, threshold=threshold, n_resamples=0)
    assert_close(values(report), sklearn_binary(y, p, threshold))
    assert report.n_rows == 800 and report.n_positive == int(y.sum())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=40).filter(
        lambda rows: len({label for label, _ in rows}) == 2
    )
)
def test_ranking_metrics_equal_sklearn_on_any_small_tied_case(rows):
    y = np.array([int(label) for label, _ in rows])
    p = np.array([score / 6 for _, score in rows])
    got = values(evaluate_metrics(y, p, metrics=["roc_auc", "pr_auc"], n_resamples=0))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=TOL)
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=TOL)


def test_regression_metrics_equal_sklearn():
    rng = np.random.default_rng(4)
    y = rng.normal(50, 10, 700)
    yhat = y + rng.normal(0, 3, 700)
    report = evaluate_metrics(y, yhat, task="regression", n_resamples=0)
    assert_close(values(report), sklearn_regression(y, yhat))


def test_multiclass_metrics_equal_sklearn():
    rng = np.random.default_rng(5)
    proba = rng.dirichlet(np.ones(4), 500)
    y = rng.integers(0, 4, 500)
    report = evaluate_metrics(y, proba, task="multiclass", n_resamples=0)
    assert_close(values(report), sklearn_multiclass(y, proba))


def test_macro_f1_counts_a_class_that_is_only_predicted():
    # Class 2 never occurs in the labels but is predicted: scikit-learn includes it (F1 0).
    y = np.array([0, 0, 1, 1, 0])
    proba = np.array(
        [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.9, 0, 0.1]]
    )
    got = evaluate_metrics(y, proba, task="multiclass", n_resamples=0)["macro_f1"].value
    assert got == pytest.approx(skm.f1_score(y, proba.argmax(1), average="macro"), abs=TOL)


def test_log_loss_clips_like_sklearn():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.0, 1.0, 1.0, 0.0])  # two certain mistakes
    got = evaluate_metrics(y, p, metrics=["log_loss"], n_resamples=0)["log_loss"].value
    assert got == pytest.approx(skm.log_loss(y, p), rel=TOL)


# -- bootstrap: the same resamples as a scikit-learn loop ---------------------------------


def sklearn_replicates(y, p, reference, n_resamples, seed):
    counts = resample_counts(len(y), n_resamples, seed)
    rows = [np.repeat(np.arange(len(y)), c) for c in counts]
    return [reference(y[idx], p[idx]) for idx in rows]


@pytest.mark.parametrize(
    ("task", "make", "reference"),
    [
        ("binary", lambda rng: binary_data(300, seed=7), sklearn_binary),
        (
            "regression",
            lambda rng: (y := rng.normal(5, 2, 300), y + rng.normal(0, 1, 300)),
            sklearn_regression,
        ),
        (
            "multiclass",
            lambda rng: (rng.integers(0, 3, 300), rng.dirichlet(np.ones(3), 300)),
            sklearn_multiclass,
        ),
    ],
)
def test_bootstrap_replicates_equal_a_sklearn_loop_on_the_same_resamples(task, make, reference):
    y, p = make(np.random.default_rng(0))
    report = evaluate_metrics(y, p, task=task, n_resamples=40, seed=123, confidence=0.9)
    want = sklearn_replicates(y, p, reference, 40, seed=123)
    names = list(report.estimates)
    for b, expected in enumerate(want):
        got = dict(zip(names, report.replicates[b], strict=True))
        assert_close(got, expected, tol=1e-10)
    for j, name in enumerate(names):
        column = [w[name] for w in want]
        estimate = report[name]
        assert estimate.low == pytest.approx(np.percentile(column, 5), rel=1e-10)
        assert estimate.high == pytest.approx(np.percentile(column, 95), rel=1e-10)
        assert report.replicates[:, j].shape == (40,)


def test_interval_brackets_the_value_and_narrows_with_more_rows():
    small = evaluate_metrics(*binary_data(200, seed=1), n_resamples=100)
    large = evaluate_metrics(*binary_data(5000, seed=1), n_resamples=100)
    for name in ("roc_auc", "brier"):
        for report in (small, large):
            e = report[name]
            assert e.low <= e.value <= e.high
        assert large[name].high - large[name].low < small[name].high - small[name].low


def test_same_seed_same_interval():
    y, p = binary_data(300, seed=2)
    a = evaluate_metrics(y, p, n_resamples=30, seed=8)
    b = evaluate_metrics(y, p, n_resamples=30, seed=8)
    c = evaluate_metrics(y, p, n_resamples=30, seed=9)
    assert a.estimates == b.estimates
    assert a.estimates != c.estimates


# -- undefined metrics are documented outcomes -------------------------------------------


def test_single_class_labels_leave_auc_undefined_with_a_reason():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=50)
    report = evaluate_metrics(np.zeros(50, int), p, n_resamples=20)
    auc = report["roc_auc"]
    assert auc.value is None and auc.low is None and auc.reason == "only one class present"
    assert report["pr_auc"].reason == "no positive labels"
    assert report["recall"].value is None
    assert report["accuracy"].value == pytest.approx(np.mean(p < 0.5))
    assert report["log_loss"].value is not None


def test_no_predicted_positive_leaves_precision_undefined():
    y = np.array([0, 1, 1, 0])
    report = evaluate_metrics(y, np.array([0.1, 0.2, 0.3, 0.4]), n_resamples=0)
    assert report["precision"].value is None
    assert report["precision"].reason == "no predicted positives"
    assert report["recall"].value == 0.0
    assert report["f1"].value == 0.0


def test_constant_regression_labels_leave_r2_undefined():
    y = np.full(20, 3.0)
    report = evaluate_metrics(y, y + 0.5, task="regression", n_resamples=0)
    assert report["r2"].value is None and report["r2"].reason == "labels are constant"
    assert report["mae"].value == pytest.approx(0.5)


def test_margin_scores_skip_probability_metrics_by_default():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)
    margin = rng.normal(size=100) + y
    report = evaluate_metrics(y, margin, threshold=0.0, n_resamples=0)
    assert set(report.estimates) == {"roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1"}
    assert report["roc_auc"].value == pytest.approx(skm.roc_auc_score(y, margin), abs=TOL)
    with pytest.raises(InvalidInput, match="log_loss need probabilities"):
        evaluate_metrics(y, margin, metrics=["roc_auc", "log_loss"])


# -- inputs ------------------------------------------------------------------------------


def test_polars_columns_and_frame_names_give_the_same_report():
    y, p = binary_data(200, seed=3)
    frame = pl.DataFrame({"label": y, "score": p})
    by_array = evaluate_metrics(y, p, n_resamples=10)
    by_series = evaluate_metrics(frame["label"], frame["score"], n_resamples=10)
    by_name = evaluate_metrics("label", "score", data=frame, n_resamples=10)
    assert by_array.estimates == by_series.estimates == by_name.estimates


def test_boolean_and_named_positive_labels():
    y, p = binary_data(100, seed=4)
    want = evaluate_metrics(y, p, n_resamples=0).estimates
    assert evaluate_metrics(y.astype(bool), p, n_resamples=0).estimates == want
    words = np.where(y == 1, "churn", "stay")
    assert evaluate_metrics(words, p, pos_label="churn", n_resamples=0).estimates == want


def test_multiclass_probabilities_from_an_array_column():
    rng = np.random.default_rng(6)
    proba = rng.dirichlet(np.ones(3), 50)
    frame = pl.DataFrame({"y": rng.integers(0, 3, 50), "proba": proba})
    report = evaluate_metrics("y", "proba", task="multiclass", data=frame, n_resamples=0)
    assert report["accuracy"].value == pytest.approx(
        skm.accuracy_score(frame["y"], proba.argmax(1))
    )


def test_lengths_that_differ_are_rejected():
    with pytest.raises(InvalidInput, match="y_true has 3, y_score has 2 rows"):
        evaluate_metrics([0, 1, 0], [0.2, 0.4])


def test_nan_scores_are_rejected_naming_the_rows():
    with pytest.raises(InvalidInput, match=r"1 NaN or infinite value\(s\) in y_score") as err:
        evaluate_metrics([0, 1, 0], [0.2, np.nan, 0.3])
    assert err.value.rows == [{"row": 1}]


def test_null_labels_are_rejected():
    with pytest.raises(InvalidInput, match=r"null value\(s\) in y_true"):
        evaluate_metrics(pl.Series([0, None, 1]), [0.2, 0.4, 0.6])


def test_labels_that_are_not_binary_are_rejected_with_a_hint():
    with pytest.raises(InvalidInput, match=r"must be 0/1 or boolean.*pos_label"):
        evaluate_metrics([0, 1, 2], [0.2, 0.4, 0.6])


def test_unknown_names_suggest_the_closest():
    y, p = binary_data(20, seed=0)
    with pytest.raises(NotFound, match="Did you mean 'roc_auc'"):
        evaluate_metrics(y, p, metrics=["roc_acu"])
    frame = pl.DataFrame({"label": y, "score": p})
    with pytest.raises(NotFound, match=r"column 'scores' not found. Did you mean 'score'"):
        evaluate_metrics("label", "scores", data=frame)
    with pytest.raises(InvalidInput, match="no frame was given"):
        evaluate_metrics("label", "score")
    with pytest.raises(NotFound, match="task 'regresion'"):
        evaluate_metrics(y, p, task="regresion")  # type: ignore[arg-type]
    report = evaluate_metrics(y, p, n_resamples=0)
    with pytest.raises(NotFound, match="Did you mean 'brier'"):
        report["brie"]


def test_multiclass_input_errors():
    proba = np.full((4, 3), 1 / 3)
    with pytest.raises(InvalidInput, match=r"integers 0..2"):
        evaluate_metrics(np.array([0, 1, 3, 2]), proba, task="multiclass")
    with pytest.raises(InvalidInput, match="probability matrix"):
        evaluate_metrics(np.array([0, 1, 1, 0]), np.ones(4), task="multiclass")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"n_resamples": -1}, "n_resamples must be 0 or more"), ({"confidence": 1.0}, "confidence")],
)
def test_bad_resampling_options(options, message):
    with pytest.raises(InvalidInput, match=message):
        evaluate_metrics(*binary_data(20, seed=0), **options)


def test_no_rows_is_an_error():
    with pytest.raises(InvalidInput, match="no rows"):
        evaluate_metrics(np.array([], int), np.array([]))


# -- output ------------------------------------------------------------------------------


def test_report_serialises_to_json_and_a_frame():
    y = np.zeros(30, int)
    p = np.linspace(0, 1, 30)
    report = evaluate_metrics(y, p, n_resamples=5)
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["n_rows"] == 30 and doc["n_positive"] == 0
    assert {m["metric"] for m in doc["metrics"]} == {m.name for m in METRICS["binary"]}
    frame = report.to_frame()
    assert frame.columns == ["metric", "value", "low", "high", "reason"]
    row = frame.filter(pl.col("metric") == "roc_auc").row(0, named=True)
    assert row["value"] is None and row["reason"] == "only one class present"


def test_no_warnings_escape_on_undefined_metrics():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_metrics(np.ones(10, int), np.linspace(0, 0.4, 10), n_resamples=10)
