from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.bootstrap import resample_counts
from mlcore.evaluation.comparison import compare_models

from .conftest import binary_data


def two_models(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    champion = np.round(np.clip(0.15 * y + rng.uniform(0, 0.85, n), 0, 1), 2)
    challenger = np.round(np.clip(0.30 * y + rng.uniform(0, 0.70, n), 0, 1), 2)
    return y, challenger, champion


def test_deltas_equal_differences_of_sklearn_values():
    y, a, b = two_models(700, seed=1)
    result = compare_models(y, a, b, n_resamples=0)
    for name, fn in {
        "roc_auc": skm.roc_auc_score,
        "pr_auc": skm.average_precision_score,
        "brier": skm.brier_score_loss,
        "log_loss": skm.log_loss,
    }.items():
        d = result[name]
        assert d.challenger.value == pytest.approx(fn(y, a), abs=1e-12)
        assert d.champion.value == pytest.approx(fn(y, b), abs=1e-12)
        assert d.delta == pytest.approx(fn(y, a) - fn(y, b), abs=1e-12)
        assert d.low is None and d.significant is None


def test_paired_intervals_equal_a_sklearn_loop_on_shared_resamples():
    y, a, b = two_models(300, seed=2)
    result = compare_models(y, a, b, metrics=["roc_auc", "f1"], n_resamples=40, seed=6)
    counts = resample_counts(len(y), 40, seed=6)
    deltas = {"roc_auc": [], "f1": []}
    for c in counts:
        idx = np.repeat(np.arange(len(y)), c)
        deltas["roc_auc"].append(
            skm.roc_auc_score(y[idx], a[idx]) - skm.roc_auc_score(y[idx], b[idx])
        )
        deltas["f1"].append(
            skm.f1_score(y[idx], a[idx] >= 0.5) - skm.f1_score(y[idx], b[idx] >= 0.5)
        )
    for name, column in deltas.items():
        d = result[name]
        assert d.low == pytest.approx(np.percentile(column, 2.5), abs=1e-10)
        assert d.high == pytest.approx(np.percentile(column, 97.5), abs=1e-10)
        j = list(result.deltas).index(name)
        assert result.replicates[:, 0, j] - result.replicates[:, 1, j] == pytest.approx(
            column, abs=1e-10
        )


def test_pairing_makes_the_delta_interval_narrower_than_unpaired():
    # Two nearly identical models: their shared noise cancels in the paired delta.
    y, a, _ = two_models(1000, seed=3)
    b = np.clip(a + np.random.default_rng(3).normal(0, 0.01, len(a)), 0, 1)
    result = compare_models(y, a, b, metrics=["roc_auc"], n_resamples=100)
    d = result["roc_auc"]
    paired = d.high - d.low
    unpaired = (d.challenger.high - d.challenger.low) + (d.champion.high - d.champion.low)
    assert paired < unpaired / 5


def test_a_clearly_better_challenger_is_significant_and_better():
    y, a, b = two_models(3000, seed=4)
    result = compare_models(y, a, b, metrics=["roc_auc", "log_loss", "brier"], n_resamples=100)
    for name in ("roc_auc", "log_loss", "brier"):
        d = result[name]
        assert d.significant is True and d.better is True, name
    assert result["roc_auc"].delta > 0 and result["log_loss"].delta < 0
    assert result["roc_auc"].relative == pytest.approx(
        result["roc_auc"].delta / result["roc_auc"].champion.value
    )


def test_the_same_model_twice_is_not_significant():
    y, a, _ = two_models(500, seed=5)
    result = compare_models(y, a, a, n_resamples=50)
    for d in result.deltas.values():
        assert d.delta == 0.0 and d.low == 0.0 and d.high == 0.0
        assert d.significant is False and d.better is False


def test_swapping_the_models_negates_every_delta():
    y, a, b = two_models(400, seed=6)
    ab = compare_models(y, a, b, n_resamples=30, seed=2)
    ba = compare_models(y, b, a, n_resamples=30, seed=2)
    for name in ab.deltas:
        assert ab[name].delta == pytest.approx(-ba[name].delta, abs=1e-12)
        assert ab[name].low == pytest.approx(-ba[name].high, abs=1e-12)
        assert ab[name].better != ba[name].better


def test_regression_comparison_from_a_frame():
    rng = np.random.default_rng(7)
    t = rng.normal(size=400)
    frame = pl.DataFrame(
        {"t": t, "new": t + rng.normal(0, 0.5, 400), "old": t + rng.normal(0, 1, 400)}
    )
    result = compare_models("t", "new", "old", task="regression", data=frame, n_resamples=50)
    assert result["rmse"].delta == pytest.approx(
        skm.root_mean_squared_error(frame["t"], frame["new"])
        - skm.root_mean_squared_error(frame["t"], frame["old"]),
        abs=1e-12,
    )
    assert result["rmse"].better and result["r2"].better


def test_undefined_metric_gives_no_delta():
    y = np.zeros(50, int)
    p = np.linspace(0, 1, 50)
    result = compare_models(y, p, p[::-1], metrics=["roc_auc", "brier"], n_resamples=10)
    d = result["roc_auc"]
    assert d.delta is None and d.better is None and d.significant is None
    assert d.challenger.reason == "only one class present"
    assert result["brier"].delta is not None


def test_a_margin_champion_limits_the_default_metrics():
    y, a, b = two_models(200, seed=10)
    result = compare_models(y, a, (b - 0.5) * 4, threshold=0.5, n_resamples=0)
    assert "log_loss" not in result.deltas and "roc_auc" in result.deltas
    assert result["roc_auc"].champion.value == pytest.approx(skm.roc_auc_score(y, b), abs=1e-12)


def test_bad_comparison_input():
    y, a = binary_data(100, seed=8)
    b = a[::-1].copy()
    with pytest.raises(InvalidInput, match="y_score has 99 rows"):
        compare_models(y, a, b[:99])
    with pytest.raises(InvalidInput, match="need probabilities"):
        compare_models(y, a, b * 3, metrics=["log_loss"])
    with pytest.raises(NotFound, match="Did you mean 'pr_auc'"):
        compare_models(y, a, b, n_resamples=0)["pr_uac"]


def test_outputs_serialise():
    y, a, b = two_models(200, seed=9)
    result = compare_models(y, a, b, n_resamples=20)
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["deltas"][0]["metric"] == "roc_auc"
    assert doc["deltas"][0]["challenger"]["value"] == result["roc_auc"].challenger.value
    frame = result.to_frame()
    assert frame.columns == [
        "metric",
        "challenger",
        "champion",
        "delta",
        "low",
        "high",
        "relative",
        "significant",
        "better",
    ]
    assert frame.height == 9
