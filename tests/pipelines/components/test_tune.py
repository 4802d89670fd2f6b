from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.components import split, train, tune

SPACE = {"max_depth": [1, 2, 3, 5, None], "min_samples_leaf": {"randint": [1, 30]}}


@pytest.fixture(scope="module")
def cancer() -> pl.DataFrame:
    data = load_breast_cancer()
    frame = pl.DataFrame(data.data[:, :10], schema=[f"f{i}" for i in range(10)])
    return frame.with_columns(pl.Series("malignant", data.target == 0))


@pytest.mark.parametrize("method", ["halving", "random"])
def test_tuned_model_beats_the_dummy_baseline(cancer: pl.DataFrame, method: str) -> None:
    fit, held_out = split(cancer, test_size=0.3, stratify="malignant", seed=0)
    result = tune(fit, "malignant", DecisionTreeClassifier(), SPACE, method=method, n_iter=9, cv=3)
    y = held_out["malignant"].to_numpy()
    baseline = train(fit, "malignant", DummyClassifier()).score(held_out, y)
    assert result.best_estimator.score(held_out, y) > baseline + 0.2
    assert result.best_score > baseline


@pytest.mark.parametrize("method", ["halving", "random"])
def test_same_seed_same_search_in_parallel_too(cancer: pl.DataFrame, method: str) -> None:
    # Worker processes cost seconds to start on a busy machine: one method runs them.
    jobs = 2 if method == "random" else None

    def run(n_jobs: int | None, seed: int = 4):
        return tune(
            cancer,
            "malignant",
            "sklearn.tree.DecisionTreeClassifier",
            SPACE,
            method=method,
            n_iter=6,
            cv=3,
            n_jobs=n_jobs,
            random_state=seed,
        )

    one, two = run(None), run(jobs)
    assert one.best_params == two.best_params
    assert one.best_score == two.best_score
    scores = ["mean_test_score", "param_max_depth", "param_min_samples_leaf"]
    assert one.cv_results.select(scores).equals(two.cv_results.select(scores))
    np.testing.assert_array_equal(
        one.best_estimator.predict_proba(cancer), two.best_estimator.predict_proba(cancer)
    )
    other = run(None, seed=5)
    assert (
        other.cv_results["param_min_samples_leaf"].to_list()
        != one.cv_results["param_min_samples_leaf"].to_list()
    )


def test_results_are_consistent_and_json_ready(cancer: pl.DataFrame) -> None:
    result = tune(
        cancer, "malignant", DecisionTreeClassifier(), SPACE, method="random", n_iter=7, cv=4
    )
    results = result.cv_results
    assert results.height == 7
    best = results.filter(pl.col("rank_test_score") == 1).row(0, named=True)
    assert best["mean_test_score"] == pytest.approx(result.best_score)
    assert {
        "max_depth": best["param_max_depth"],
        "min_samples_leaf": best["param_min_samples_leaf"],
    } == result.best_params
    folds = results.select(f"split{i}_test_score" for i in range(4)).to_numpy()
    np.testing.assert_allclose(folds.mean(axis=1), results["mean_test_score"].to_numpy())
    assert results["param_min_samples_leaf"].is_between(1, 30).all()
    assert results["param_max_depth"].null_count() == sum(
        v is None for v in results["param_max_depth"]
    )
    dumped = json.loads(json.dumps(result.to_dict()))
    assert dumped["best_params"] == result.best_params and dumped["method"] == "random"


def test_best_score_is_the_cross_validated_score_of_the_best_params(cancer: pl.DataFrame) -> None:
    """Time-series CV: checked against a direct cross_val_score on the rows in time order."""
    rng = np.random.default_rng(0)
    frame = cancer.with_columns(pl.Series("day", rng.permutation(cancer.height)))
    result = tune(
        frame,
        "malignant",
        DecisionTreeClassifier(),
        {"max_depth": [1, 2, 3, 4]},
        method="random",
        n_iter=4,
        cv=4,
        time_column="day",
        scoring="balanced_accuracy",
    )
    assert "day" not in result.best_estimator.named_steps["features"].columns
    ordered = frame.sort("day")
    X = ordered.drop("malignant", "day").to_numpy()
    direct = cross_val_score(
        DecisionTreeClassifier(random_state=0, **result.best_params),
        X,
        ordered["malignant"].to_numpy(),
        cv=TimeSeriesSplit(n_splits=4),
        scoring="balanced_accuracy",
    )
    assert result.best_score == pytest.approx(direct.mean())


def test_scipy_distributions_and_step_prefixed_names(cancer: pl.DataFrame) -> None:
    result = tune(
        cancer,
        "malignant",
        "sklearn.linear_model.RidgeClassifier",
        {"model__alpha": stats.loguniform(1e-3, 1e2), "tol": {"uniform": [1e-5, 1e-3]}},
        params={"fit_intercept": True},
        method="random",
        n_iter=3,
        cv=3,
    )
    assert set(result.best_params) == {"alpha", "tol"}
    assert 1e-3 <= result.best_params["alpha"] <= 1e2
    assert 1e-5 <= result.best_params["tol"] <= 1e-3
    alphas = result.cv_results["param_alpha"]
    assert alphas.n_unique() == 3 and alphas.dtype == pl.Float64


def test_halving_grows_the_rows_per_round(cancer: pl.DataFrame) -> None:
    result = tune(
        cancer, "malignant", DecisionTreeClassifier(), SPACE, method="halving", n_iter=9, cv=3
    )
    rounds = (
        result.cv_results.group_by("iter").agg(pl.len(), pl.col("n_resources").first()).sort("iter")
    )
    assert rounds["len"].to_list() == [9, 3, 1]
    resources = rounds["n_resources"].to_list()
    assert resources[1] == 3 * resources[0] and resources[-1] <= cancer.height


def test_regressors_get_plain_folds() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, size=200)
    frame = pl.DataFrame({"x": x, "y": np.sin(x) + rng.normal(0, 0.05, size=200)})
    result = tune(frame, "y", DecisionTreeRegressor(), {"max_depth": [1, 6]}, method="random", cv=3)
    assert result.best_params == {"max_depth": 6}


@pytest.mark.parametrize(
    ("space", "kwargs", "error", "match"),
    [
        ({"max_dept": [1]}, {}, NotFound, "Did you mean 'max_depth'"),
        ({}, {}, InvalidInput, "nothing to tune"),
        ({"max_depth": []}, {}, InvalidInput, "no values"),
        ({"max_depth": 3}, {}, InvalidInput, "a int"),
        ({"max_depth": {"normal": [0, 1]}}, {}, InvalidInput, "uniform, loguniform, randint"),
        ({"ccp_alpha": {"loguniform": [0, 1]}}, {}, InvalidInput, "0 < low <= high"),
        ({"max_depth": [1, 2]}, {"method": "grid"}, InvalidInput, "one of: halving, random"),
        ({"max_depth": [1, 2]}, {"scoring": "acuracy"}, InvalidInput, "Did you mean 'accuracy'"),
        ({"max_depth": [1, 2]}, {"cv": 1}, InvalidInput, "at least 2"),
        ({"max_depth": [1, 2]}, {"time_column": "dya"}, NotFound, "time column 'dya'"),
    ],
)
def test_bad_searches_are_refused(cancer, space, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        tune(cancer, "malignant", DecisionTreeClassifier(), space, **kwargs)
