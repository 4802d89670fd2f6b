"""Ready-made steps give what the components give when called directly."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mlcore.errors import InvalidInput
from mlcore.pipelines import InputFile, RunStatus, components, pipeline, steps


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    rng = np.random.default_rng(5)
    n = 200
    x = rng.normal(size=n)
    missing = rng.random(n) < 0.1
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "x": [None if m else float(v) for m, v in zip(missing, x, strict=True)],
            "colour": rng.choice(["red", "blue"], size=n),
            "y": (x + rng.normal(scale=0.5, size=n) > 0).astype("int64"),
        }
    )


def test_a_component_chain_matches_direct_calls(frame, tmp_path):
    expectations = tmp_path / "expect.toml"
    expectations.write_text('[[expect]]\nkind = "row_count"\nmin = 10\n')
    cleaning = {"impute": {"x": "median"}, "clip": {"x": {"min": -2.0, "max": 2.0}}}

    @pipeline
    def flow(seed: int = 4):
        checked = steps.validate(frame, InputFile(expectations))
        cleaned, _ = steps.clean(checked, **cleaning)
        train, _ = steps.split(cleaned, test_size=0.25, seed=seed, stratify="y")
        steps.train(train, "y", "sklearn.linear_model.LogisticRegression", features=["x", "colour"])

    result = flow.run()
    assert result.status is RunStatus.SUCCEEDED, result.record
    assert result.output("validate").equals(frame)

    cleaned, report = components.clean(frame, **cleaning)
    assert result.output("clean", "cleaned").equals(cleaned)
    assert result.output("clean", "cleaning") == report.to_dict()

    train, test = components.split(cleaned, test_size=0.25, seed=4, stratify="y")
    assert result.output("split", "train").equals(train)
    assert result.output("split", "test").equals(test)

    direct = components.train(
        train, "y", "sklearn.linear_model.LogisticRegression", features=["x", "colour"]
    )
    model = result.output("train")  # read back from its artifact
    assert model.predict_proba(test).tolist() == direct.predict_proba(test).tolist()


def test_three_way_split_matches_and_a_cutoff_pair_needs_it(frame):
    @pipeline
    def flow():
        steps.split_train_valid_test(frame, method="time", time_column="id", cutoff=[100, 150])
        steps.split(frame, method="time", time_column="id", cutoff=[100, 150])

    result = flow.run()
    parts = components.split(frame, method="time", time_column="id", cutoff=[100, 150])
    for name, part in zip(("train", "valid", "test"), parts, strict=True):
        assert result.output("split_train_valid_test", name).equals(part)
    error = result.steps["split"].error
    assert (error.type, error.message) == (
        "InvalidInput",
        "a cutoff pair makes three frames. Use steps.split_train_valid_test.",
    )


@pytest.mark.slow  # cross-validated search with scikit-learn
def test_tune_matches_a_direct_search(frame):
    clean = frame.drop_nulls()
    space = {"C": [0.01, 0.1, 1.0, 10.0]}
    options = {"method": "random", "n_iter": 3, "cv": 3, "random_state": 2}

    @pipeline
    def flow():
        steps.tune(clean, "y", "sklearn.linear_model.LogisticRegression", space, **options)

    result = flow.run()
    direct = components.tune(
        clean, "y", "sklearn.linear_model.LogisticRegression", space, **options
    )
    tuning = result.output("tune", "tuning")
    assert tuning["best_params"] == direct.best_params
    assert tuning["best_score"] == pytest.approx(direct.best_score)
    assert len(tuning["cv_results"]) == direct.cv_results.height
    model = result.output("tune", "model")
    assert model.predict(clean).tolist() == direct.best_estimator.predict(clean).tolist()


def test_store_steps_refuse_plain_values(store):
    @pipeline
    def listed():
        steps.features(pl.DataFrame({"customer_id": [1]}), ["spending:spend"])

    result = store.pipelines.run(listed)
    error = result.steps["features"].error
    assert error.type == "InvalidInput"
    assert "features must be a FeatureSnapshot, not list" in error.message

    with pytest.raises(InvalidInput, match="uses the store, and this run has none"):
        listed.run()
