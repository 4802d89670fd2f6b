from __future__ import annotations

import functools
import io
import json
import os
import pickle
import zipfile

import numpy as np
import polars as pl
import pytest
import sklearn
import skops.io
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from mlcore.errors import CheckFailed, InvalidInput, NotFound, UntrustedArtifact
from mlcore.registry import artifacts
from mlcore.registry.artifacts import (
    MLCORE_TRUSTED,
    Serializer,
    deserialize,
    estimator_type,
    register_serializer,
    serialize,
)


@pytest.fixture(autouse=True)
def one_native_thread():
    # OpenMP threads spin against each other on a busy shared machine: a tiny
    # HistGradientBoosting fit then takes seconds instead of milliseconds.
    with threadpool_limits(1):
        yield


TREE = "sklearn.tree._tree.Tree"
TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"


def training_frame(n: int = 200, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "amount": rng.normal(100, 30, n),
            "visits": rng.integers(0, 20, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
        }
    )


def target(frame: pl.DataFrame) -> np.ndarray:
    return ((frame["amount"] > 100) ^ (frame["plan"] == "pro")).to_numpy().astype(int)


def numeric(frame: pl.DataFrame) -> np.ndarray:
    return frame.select("amount", "visits").to_numpy()


def encoded(transformer: object) -> ColumnTransformer:
    return ColumnTransformer(
        [("num", "passthrough", ["amount", "visits"]), ("cat", transformer, ["plan"])]
    )


# name -> (build, uses the frame (else numeric array), types to trust beyond the defaults)
MODELS = {
    "logistic": (lambda: LogisticRegression(), False, set()),
    "ridge": (lambda: Ridge(), False, set()),
    "svc": (lambda: SVC(), False, set()),
    "threshold": (
        lambda: FixedThresholdClassifier(LogisticRegression(), threshold=0.8),
        False,
        set(),
    ),
    "gaussian_nb": (lambda: GaussianNB(), False, set()),
    "column_transformer": (
        lambda: make_pipeline(
            ColumnTransformer(
                [
                    ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["amount", "visits"]),
                    ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                ]
            ),
            LogisticRegression(),
        ),
        True,
        set(),
    ),
    "target_encoder": (lambda: make_pipeline(encoded(TargetEncoder()), Ridge()), True, set()),
    "kbins": (
        lambda: make_pipeline(KBinsDiscretizer(n_bins=3, quantile_method="linear"), Ridge()),
        False,
        set(),
    ),
    "calibrated": (lambda: CalibratedClassifierCV(LogisticRegression(), cv=3), False, set()),
    "ordinal_hgb": (
        lambda: make_pipeline(
            encoded(OrdinalEncoder()), HistGradientBoostingClassifier(max_iter=10, random_state=0)
        ),
        True,
        {TREE_PREDICTOR},
    ),
    "hgb_categorical": (
        lambda: HistGradientBoostingClassifier(
            max_iter=10, categorical_features="from_dtype", random_state=0
        ),
        "categorical",
        {TREE_PREDICTOR},
    ),
    "random_forest": (
        lambda: RandomForestClassifier(n_estimators=5, random_state=0),
        False,
        {TREE},
    ),
    "knn": (
        lambda: KNeighborsClassifier(algorithm="kd_tree"),
        False,
        {"sklearn.neighbors._kd_tree.KDTree", "sklearn.metrics._dist_metrics.EuclideanDistance64"},
    ),
}


@functools.cache
def fitted(name: str) -> tuple[object, object]:
    build, uses_frame, _ = MODELS[name]
    frame = training_frame()
    if uses_frame == "categorical":
        X = frame.with_columns(pl.col("plan").cast(pl.Categorical)).to_pandas()
    else:
        X = frame if uses_frame else numeric(frame)
    return build().fit(X, target(frame)), X


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_gives_identical_predictions(name):
    model, X = fitted(name)
    artifact = serialize(model)
    needs = MODELS[name][2]
    assert set(artifact.untrusted_types) == needs
    loaded = deserialize(artifact.data, artifact.format, trusted=sorted(needs))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("name", sorted(n for n, spec in MODELS.items() if spec[2]))
def test_memory_unsafe_types_are_refused_unless_trusted(name):
    model, _ = fitted(name)
    artifact = serialize(model)
    with pytest.raises(UntrustedArtifact) as caught:
        deserialize(artifact.data)
    assert caught.value.types == sorted(MODELS[name][2])
    for type_name in MODELS[name][2]:
        assert type_name in str(caught.value)
    assert isinstance(caught.value, CheckFailed)
    assert artifacts.UntrustedArtifact is UntrustedArtifact  # still importable where it was


def test_trusting_some_types_still_refuses_the_others():
    model, _ = fitted("knn")
    data = serialize(model).data
    with pytest.raises(UntrustedArtifact) as caught:
        deserialize(data, trusted=["sklearn.neighbors._kd_tree.KDTree", TREE])
    assert caught.value.types == ["sklearn.metrics._dist_metrics.EuclideanDistance64"]


@pytest.mark.parametrize("name", ["kbins", "calibrated", "hgb_categorical"])
def test_mlcore_trust_list_is_what_loads_standard_pipelines(name):
    # skops alone refuses these; the extra types in MLCORE_TRUSTED make them load.
    model, _ = fitted(name)
    data = serialize(model).data
    refused_by_skops = set(skops.io.get_untrusted_types(data=data)) - MODELS[name][2]
    assert refused_by_skops
    assert refused_by_skops <= set(MLCORE_TRUSTED)
    assert deserialize(data, trusted=sorted(MODELS[name][2])) is not None


def test_metadata_describes_the_model():
    model, _ = fitted("column_transformer")
    artifact = serialize(model)
    assert artifact.format == "skops"
    assert artifact.framework == "scikit-learn"
    assert artifact.framework_version == sklearn.__version__
    assert artifact.library_versions["numpy"] == np.__version__
    assert artifact.library_versions["skops"] == skops.__version__
    assert artifact.class_name == "sklearn.pipeline.Pipeline"
    assert artifact.estimator_type == "classifier"
    meta = artifact.metadata()
    assert meta["size"] == len(artifact.data)
    assert "data" not in meta
    json.dumps(meta)


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        (LogisticRegression(), "classifier"),
        (Ridge(), "regressor"),
        (KMeans(n_clusters=2, n_init=1), "clusterer"),
        (IsolationForest(), "outlier_detector"),
        (StandardScaler(), "transformer"),
        (make_pipeline(StandardScaler(), Ridge()), "regressor"),
    ],
)
def test_estimator_type(model, kind):
    assert estimator_type(model) == kind


def test_a_model_calling_os_system_is_refused_and_the_error_names_it():
    # What a pickle would happily run: the artifact refers to os.system.
    data = skops.io.dumps(make_pipeline(FunctionTransformer(os.system), LogisticRegression()))
    name = f"{os.system.__module__}.system"
    with pytest.raises(UntrustedArtifact) as caught:
        deserialize(data)
    assert caught.value.types == [name]
    assert name in str(caught.value)
    assert "trusted=" in str(caught.value)


def test_pickle_bytes_are_refused():
    with pytest.raises(InvalidInput, match="pickle"):
        deserialize(pickle.dumps(LogisticRegression()))


LOADED: list[str] = []


class Recorder(ClassifierMixin, BaseEstimator):
    """A custom estimator whose loading leaves a trace."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def __setstate__(self, state):
        LOADED.append("constructed")
        self.__dict__.update(state)


def test_untrusted_custom_type_is_not_constructed_unless_trusted():
    LOADED.clear()
    model = Recorder().fit(np.zeros((3, 1)), [1, 2, 1])
    artifact = serialize(model)
    full_name = f"{Recorder.__module__}.Recorder"
    assert artifact.untrusted_types == (full_name,)
    with pytest.raises(UntrustedArtifact) as caught:
        deserialize(artifact.data)
    assert caught.value.types == [full_name]
    assert LOADED == []
    for trusted in ([full_name], [Recorder]):
        loaded = deserialize(artifact.data, trusted=trusted)
        assert loaded.predict(np.zeros((2, 1))).tolist() == [1, 1]
    assert LOADED == ["constructed", "constructed"]


def test_objects_without_a_serializer_are_refused_with_their_type():
    class Booster:
        pass

    with pytest.raises(InvalidInput) as caught:
        serialize(Booster())
    assert "Booster" in str(caught.value)
    assert "register_serializer" in str(caught.value)


def test_unfitted_models_are_refused():
    with pytest.raises(InvalidInput, match="unfitted LogisticRegression"):
        serialize(LogisticRegression())


def test_functions_another_process_cannot_import_are_refused():
    def local(X):
        return X

    for candidate in (lambda X: X, local):
        model = make_pipeline(FunctionTransformer(candidate), Ridge())
        model.fit(np.ones((4, 2)), [1.0, 2.0, 3.0, 4.0])
        with pytest.raises(InvalidInput, match="cannot import"):
            serialize(model)


def test_size_limit_applies_to_serialised_and_unpacked_bytes():
    model = LinearRegression().fit(np.zeros((3, 50_000)), [0.0, 0.0, 0.0])
    artifact = serialize(model)
    with pytest.raises(InvalidInput, match="too large"):
        serialize(model, max_bytes=artifact.size - 1)
    with pytest.raises(InvalidInput, match="too large"):
        deserialize(artifact.data, max_bytes=artifact.size - 1)
    # A deflated archive is small on disk but unpacks to its full size: judged unpacked.
    packed = skops.io.dumps(model, compression=zipfile.ZIP_DEFLATED)
    assert len(packed) * 10 < artifact.size
    with pytest.raises(InvalidInput, match="unpacked"):
        deserialize(packed, max_bytes=len(packed) * 2)
    assert deserialize(packed).coef_.shape == (50_000,)


def test_size_limit_defaults_to_the_max_artifact_bytes_setting(monkeypatch):
    model = LinearRegression().fit(np.zeros((3, 50_000)), [0.0, 0.0, 0.0])
    artifact = serialize(model)
    monkeypatch.setenv("MLCORE_MAX_ARTIFACT_BYTES", str(artifact.size - 1))
    with pytest.raises(InvalidInput, match="MLCORE_MAX_ARTIFACT_BYTES"):
        serialize(model)
    with pytest.raises(InvalidInput, match="too large"):
        deserialize(artifact.data)
    assert serialize(model, max_bytes=artifact.size).data == artifact.data  # a call overrides it
    monkeypatch.setenv("MLCORE_MAX_ARTIFACT_BYTES", "0")
    with pytest.raises(InvalidInput, match="MLCORE_MAX_ARTIFACT_BYTES='0' is not valid"):
        serialize(model)


def test_damaged_artifacts_are_refused_clearly():
    data = serialize(fitted("logistic")[0]).data
    with pytest.raises(InvalidInput, match="not a readable skops file"):
        deserialize(data[: len(data) // 2])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", "{not json")
    with pytest.raises(InvalidInput, match="could not be loaded"):
        deserialize(buffer.getvalue())


def test_unknown_format_lists_the_known_ones():
    with pytest.raises(NotFound) as caught:
        deserialize(b"", "onnx")
    assert "Known formats: skops" in str(caught.value)
    with pytest.raises(NotFound, match="Did you mean 'skops'"):
        deserialize(b"", "skop")


class Constant:
    def __init__(self, value: float) -> None:
        self.value = value


class ConstantSerializer(Serializer):
    format = "constant-json"
    framework = "constant"

    def accepts(self, model):
        return isinstance(model, Constant)

    def dumps(self, model):
        return json.dumps({"value": model.value}).encode()

    def untrusted_types(self, data, trusted=()):
        return []

    def loads(self, data, trusted, max_bytes):
        return Constant(json.loads(data)["value"])


@pytest.fixture
def isolated_serializers(monkeypatch):
    monkeypatch.setattr(artifacts, "_SERIALIZERS", dict(artifacts._SERIALIZERS))


def test_serializers_are_an_extension_point(isolated_serializers):
    with pytest.raises(InvalidInput):
        serialize(Constant(1.5))
    register_serializer(ConstantSerializer())
    artifact = serialize(Constant(1.5))
    assert (artifact.format, artifact.framework, artifact.class_name) == (
        "constant-json",
        "constant",
        f"{__name__}.Constant",
    )
    assert deserialize(artifact.data, "constant-json").value == 1.5
    # sklearn models still go to skops
    assert serialize(fitted("logistic")[0]).format == "skops"
    with pytest.raises(InvalidInput, match="already registered"):
        register_serializer(ConstantSerializer())
    register_serializer(ConstantSerializer(), replace=True)


@settings(max_examples=15, deadline=None)
@given(
    n_features=st.integers(1, 6),
    n_classes=st.integers(2, 4),
    seed=st.integers(0, 2**16),
)
def test_round_trip_is_exact_for_any_fitted_logistic_regression(n_features, n_classes, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, n_features)) * rng.uniform(0.01, 100, n_features)
    y = np.arange(40) % n_classes
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    loaded = deserialize(serialize(model).data)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_equal_models_give_equal_bytes() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlcore.registry.artifacts import deserialize, serialize

    X, y = load_iris(return_X_y=True)
    first = serialize(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y))
    second = serialize(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y))
    assert first.data == second.data
    loaded = deserialize(first.data)
    assert (loaded.predict(X) == y).mean() > 0.9
