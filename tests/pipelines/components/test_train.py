from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.components import make_estimator, train


@pytest.fixture(scope="module")
def cancer() -> pl.DataFrame:
    data = load_breast_cancer()
    frame = pl.DataFrame(data.data, schema=[n.replace(" ", "_") for n in data.feature_names])
    return frame.with_columns(pl.Series("malignant", data.target == 0))


def shops(n: int = 400, seed: int = 0) -> pl.DataFrame:
    """Sales driven by a text column (shop) and a number (price)."""
    rng = np.random.default_rng(seed)
    shop = rng.choice(["north", "south", "east", "west"], size=n)
    price = rng.uniform(1, 10, size=n)
    effect = {"north": 5.0, "south": -5.0, "east": 0.0, "west": 2.0}
    sales = np.array([effect[s] for s in shop]) - price + rng.normal(0, 0.1, size=n)
    return pl.DataFrame({"shop": shop, "price": price, "sales": sales, "note": ["x"] * n})


def test_predictions_equal_a_direct_sklearn_fit(cancer: pl.DataFrame) -> None:
    model = train(cancer, "malignant", RandomForestClassifier(n_estimators=20), random_state=3)
    X = cancer.drop("malignant").to_numpy()
    direct = RandomForestClassifier(n_estimators=20, random_state=3).fit(
        X, cancer["malignant"].to_numpy()
    )
    np.testing.assert_array_equal(model.predict(cancer), direct.predict(X))
    np.testing.assert_allclose(model.predict_proba(cancer), direct.predict_proba(X))
    assert [name for name, _ in model.steps] == ["features", "model"]
    assert list(model.feature_names_in_) == cancer.drop("malignant").columns


def test_same_seed_same_predictions_other_seed_others(cancer: pl.DataFrame) -> None:
    def fit(seed: int) -> np.ndarray:
        model = train(
            cancer,
            "malignant",
            "sklearn.ensemble.RandomForestClassifier",
            params={"n_estimators": 10, "max_features": 2},
            random_state=seed,
        )
        return model.predict_proba(cancer)[:, 1]

    np.testing.assert_array_equal(fit(7), fit(7))
    assert not np.array_equal(fit(7), fit(8))


def test_explicit_estimator_seed_wins(cancer: pl.DataFrame) -> None:
    model = train(
        cancer, "malignant", RandomForestClassifier(n_estimators=5, random_state=11), random_state=0
    )
    assert model.named_steps["model"].random_state == 11


def test_estimator_is_cloned_not_fitted_in_place(cancer: pl.DataFrame) -> None:
    given = LogisticRegression(max_iter=5000)
    train(cancer, "malignant", given, features=["mean_radius", "mean_texture"])
    assert not hasattr(given, "coef_")


def test_text_features_are_ordinal_encoded_like_sklearn() -> None:
    frame = shops()
    model = train(frame, "sales", "sklearn.tree.DecisionTreeRegressor", features=["shop", "price"])
    encoder = model.named_steps["encode"].named_transformers_["categorical"]
    reference = OrdinalEncoder().fit(frame.select("shop").to_numpy())
    assert [list(c) for c in encoder.categories_] == [list(c) for c in reference.categories_]
    assert model.score(frame, frame["sales"].to_numpy()) > 0.99


def test_onehot_suits_linear_models() -> None:
    frame = shops()
    ordinal = train(frame, "sales", Ridge(alpha=1e-6), features=["shop", "price"])
    onehot = train(frame, "sales", Ridge(alpha=1e-6), features=["shop", "price"], encoder="onehot")
    y = frame["sales"].to_numpy()
    assert onehot.score(frame, y) > 0.99 > ordinal.score(frame, y)
    X = OneHotEncoder(sparse_output=False).fit_transform(frame.select("shop").to_numpy())
    direct = Ridge(alpha=1e-6).fit(np.hstack([X, frame.select("price").to_numpy()]), y)
    np.testing.assert_allclose(
        onehot.predict(frame), direct.predict(np.hstack([X, frame.select("price").to_numpy()]))
    )


def test_predict_takes_raw_frames_in_any_form() -> None:
    frame = shops()
    model = train(frame, "sales", "sklearn.tree.DecisionTreeRegressor", features=["price", "shop"])
    expected = model.predict(frame)
    reordered = frame.select("note", "shop", "sales", "price")  # extra columns, other order
    np.testing.assert_array_equal(model.predict(reordered), expected)
    np.testing.assert_array_equal(model.predict(frame.to_arrow()), expected)
    np.testing.assert_array_equal(model.predict(frame.to_pandas()), expected)
    as_numpy = np.array(frame.select("price", "shop").rows(), dtype=object)
    np.testing.assert_array_equal(model.predict(as_numpy), expected)


def test_unseen_and_missing_categories_still_predict() -> None:
    model = train(
        shops(), "sales", "sklearn.tree.DecisionTreeRegressor", features=["shop", "price"]
    )
    new = pl.DataFrame({"shop": ["atlantis", None], "price": [3.0, 3.0]})
    assert np.isfinite(model.predict(new)).all()
    encoded = model[:-1].transform(new)
    assert encoded[0, 0] == -1  # unseen -> unknown_value


def test_users_own_pipeline_gets_raw_columns_with_encoder_none() -> None:
    frame = shops()
    own = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["shop"]), remainder="passthrough"),
        Ridge(alpha=1e-6),
    )
    model = train(frame, "sales", own, features=["shop", "price"], encoder=None)
    assert [name for name, _ in model.steps] == ["features", "model"]
    assert model.score(frame, frame["sales"].to_numpy()) > 0.99


def test_pandas_and_parquet_inputs_train_alike(cancer: pl.DataFrame, tmp_path) -> None:
    path = tmp_path / "cancer.parquet"
    cancer.write_parquet(path)
    est = LogisticRegression(max_iter=5000)
    features = ["mean_radius", "mean_texture", "mean_smoothness"]
    a = train(cancer, "malignant", est, features=features).predict_proba(cancer)
    b = train(cancer.to_pandas(), "malignant", est, features=features).predict_proba(cancer)
    c = train(str(path), "malignant", est, features=features).predict_proba(cancer)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)


def test_regression_on_diabetes_matches_ridge() -> None:
    data = load_diabetes()
    frame = pl.DataFrame(data.data, schema=list(data.feature_names)).with_columns(
        pl.Series("progression", data.target)
    )
    model = train(frame, "progression", Ridge(alpha=0.5))
    direct = Ridge(alpha=0.5).fit(data.data, data.target)
    np.testing.assert_allclose(model.named_steps["model"].coef_, direct.coef_)


def test_trained_pipeline_survives_skops(tmp_path) -> None:
    import skops.io as sio

    frame = shops()
    model = train(frame, "sales", "sklearn.tree.DecisionTreeRegressor", features=["shop", "price"])
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert "mlcore.pipelines.components.select_features.SelectFeatures" in untrusted
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("malignnt", LogisticRegression()), {}, NotFound, "Did you mean 'malignant'"),
        (
            ("malignant", LogisticRegression()),
            {"features": ["mean_radus"]},
            NotFound,
            "mean_radius",
        ),
        (
            ("malignant", LogisticRegression()),
            {"features": ["malignant"]},
            InvalidInput,
            "also a feature",
        ),
        (
            ("malignant", "sklearn.linear_model.LogisticRegresion"),
            {},
            NotFound,
            "LogisticRegression",
        ),
        (("malignant", "nosuchpackage.Model"), {}, InvalidInput, "cannot import"),
        (("malignant", "LogisticRegression"), {}, InvalidInput, "not a dotted path"),
        (("malignant", "collections.OrderedDict"), {}, InvalidInput, "no fit method"),
        (("malignant", object()), {}, InvalidInput, "unsupported estimator"),
        (("malignant", LogisticRegression()), {"params": {"CC": 1}}, NotFound, "Did you mean 'C'"),
        (
            ("malignant", "sklearn.linear_model.LogisticRegression"),
            {"params": {"CC": 1}},
            InvalidInput,
            "cannot make",
        ),
        (
            ("malignant", LogisticRegression()),
            {"encoder": "one-hot"},
            InvalidInput,
            "Did you mean 'onehot'",
        ),
    ],
)
def test_bad_input_is_refused(cancer, args, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        train(cancer, *args, **kwargs)


def test_unusable_columns_and_targets_are_refused() -> None:
    frame = pl.DataFrame(
        {
            "when": pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 3), eager=True),
            "x": [1.0, 2.0, 3.0],
            "y": [1, None, 0],
        }
    )
    with pytest.raises(InvalidInput, match="'when' is Datetime"):
        train(frame.drop_nulls(), "y", LogisticRegression())
    with pytest.raises(InvalidInput, match="target 'y' has 1 nulls"):
        train(frame, "y", LogisticRegression(), features=["x"])
    with pytest.raises(InvalidInput, match="no rows"):
        train(frame.clear(), "y", LogisticRegression())
    with pytest.raises(InvalidInput, match="no feature columns"):
        train(frame.select("y").drop_nulls(), "y", LogisticRegression())


def test_make_estimator_sets_params_on_a_clone() -> None:
    given = LogisticRegression(C=1.0)
    made = make_estimator(given, {"C": 0.1})
    assert made.C == 0.1 and given.C == 1.0
