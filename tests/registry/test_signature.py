from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier
from sklearn.utils import all_estimators
from threadpoolctl import threadpool_limits

from mlcore.errors import InvalidInput
from mlcore.registry import signature as signature_module
from mlcore.registry.signature import (
    ColumnSpec,
    OutputSpec,
    Signature,
    SignatureMismatch,
    cast_allowed,
    infer_signature,
    input_example,
    predict,
    type_name,
)


@pytest.fixture(autouse=True)
def one_native_thread():
    # OpenMP threads spin against each other on a busy shared machine: a tiny
    # HistGradientBoosting fit then takes seconds instead of milliseconds.
    with threadpool_limits(1):
        yield


INT_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


def churn(n: int = 120, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "customer": np.arange(n),
            "tenure": rng.integers(0, 60, n),
            "spend": rng.normal(50, 15, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "churned": rng.choice(["no", "yes"], n),
        }
    )


def fitted_pipeline(frame: pl.DataFrame):
    features = frame.select("plan", "spend", "tenure")
    model = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), ["spend", "tenure"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ]
        ),
        LogisticRegression(),
    )
    return model.fit(features, frame["churned"].to_numpy())


# --- type names and casts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "name"),
    [
        (pl.Int8, "int8"),
        (pl.UInt64, "uint64"),
        (pl.Float32, "float32"),
        (pl.Float64, "float64"),
        (pl.Boolean, "bool"),
        (pl.String, "string"),
        (pl.Categorical, "categorical"),
        (pl.Enum(["a", "b"]), "categorical"),
        (pl.Date, "date"),
        (pl.Datetime("us", "UTC"), "datetime[us, UTC]"),
        (pl.Datetime("ns", "Europe/Paris"), "datetime[ns, Europe/Paris]"),
        (pl.Datetime("ms"), "datetime[ms]"),
        (pl.Null, "null"),
    ],
)
def test_type_names_and_back(dtype, name):
    assert type_name(dtype) == name
    if not isinstance(dtype, pl.Enum):
        assert signature_module._polars_dtype(name) == dtype


def test_types_a_signature_cannot_describe_are_refused():
    with pytest.raises(InvalidInput, match="List"):
        type_name(pl.List(pl.Int64))


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("int64", "float64", True),
        ("int8", "float32", True),
        ("uint32", "float64", True),
        ("float64", "int64", False),
        ("float64", "float32", False),
        ("float32", "float64", True),
        ("int32", "int64", True),
        ("int64", "int32", False),
        ("uint32", "int64", True),
        ("uint32", "int32", False),
        ("int8", "uint64", False),
        ("bool", "int64", False),
        ("int64", "bool", False),
        ("string", "categorical", True),
        ("categorical", "string", True),
        ("string", "float64", False),
        ("null", "float64", True),
        ("datetime[ns, UTC]", "datetime[us, UTC]", True),
        ("datetime[us]", "datetime[us, UTC]", False),
        ("datetime[us, Europe/Paris]", "datetime[us, UTC]", False),
        ("date", "datetime[us, UTC]", False),
    ],
)
def test_cast_allowed(source, target, allowed):
    assert cast_allowed(source, target) is allowed


@settings(max_examples=60, deadline=None)
@given(source=st.sampled_from(INT_TYPES), target=st.sampled_from(INT_TYPES), data=st.data())
def test_allowed_integer_casts_never_change_a_value(source, target, data):
    dtype = signature_module._polars_dtype(source)
    info = np.iinfo(source)
    values = data.draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=1, max_size=20))
    series = pl.Series([*values, int(info.min), int(info.max)], dtype=dtype)
    if cast_allowed(source, target):
        assert series.cast(signature_module._polars_dtype(target)).to_list() == series.to_list()
    else:
        # refused casts are exactly those some value of the source type does not survive
        with pytest.raises(pl.exceptions.InvalidOperationError):
            series.cast(signature_module._polars_dtype(target), strict=True)


# --- inference -------------------------------------------------------------------------


def test_inference_follows_the_model_and_records_missing_values():
    frame = churn().with_columns(
        spend=pl.when(pl.col("customer") == 3).then(float("nan")).otherwise(pl.col("spend")),
        plan=pl.when(pl.col("customer") == 5).then(None).otherwise(pl.col("plan")),
    )
    model = fitted_pipeline(
        frame.with_columns(pl.col("spend").fill_nan(0), pl.col("plan").fill_null("basic"))
    )
    sig = infer_signature(frame, model)
    # the model's column order, not the frame's; ids and target left out
    assert sig.inputs == (
        ColumnSpec("plan", "string", True),
        ColumnSpec("spend", "float64", True),
        ColumnSpec("tenure", "int64", False),
    )
    assert sig.output == OutputSpec("classifier", "string", ("no", "yes"), True)
    assert sig.output.columns == ("prediction", "score")


def test_pandas_and_arrow_frames_give_the_same_signature():
    frame = churn()
    model = fitted_pipeline(frame)
    expected = infer_signature(frame, model)
    assert infer_signature(frame.to_pandas(), model) == expected
    assert infer_signature(frame.to_arrow(), model) == expected


def test_models_fitted_on_arrays_take_columns_by_name():
    frame = churn()
    X = frame.select("tenure", "spend").to_numpy()
    model = LinearRegression().fit(X, frame["spend"].to_numpy())
    sig = infer_signature(frame, model, columns=["tenure", "spend"])
    assert sig.columns == ["tenure", "spend"]
    assert sig.output == OutputSpec("regressor", "float64")
    with pytest.raises(InvalidInput, match="reads 2 columns but the training frame has 5"):
        infer_signature(frame, model)
    with pytest.raises(InvalidInput, match="tenur"):
        infer_signature(frame, model, columns=["tenur", "spend"])


@pytest.mark.parametrize(
    ("model", "output"),
    [
        (LogisticRegression(), OutputSpec("classifier", "int64", (0, 1, 2), True)),
        (SVC(), OutputSpec("classifier", "int64", (0, 1, 2), False)),
        (KMeans(n_clusters=2, n_init=1, random_state=0), OutputSpec("clusterer", "int64")),
        (StandardScaler(), OutputSpec("transformer", None)),
    ],
)
def test_output_spec_by_estimator_type(model, output):
    X = np.random.default_rng(0).normal(size=(30, 2))
    model.fit(X, np.arange(30) % 3)
    sig = infer_signature(pl.DataFrame(X, schema=["a", "b"]), model)
    assert sig.output == output
    expected_columns = {
        (True, 3): ("prediction", "proba_0", "proba_1", "proba_2"),
        (False, 3): ("prediction",),
    }
    if output.kind == "classifier":
        assert output.columns == expected_columns[(output.probabilities, 3)]


def test_signature_round_trips_through_json():
    sig = infer_signature(churn(), fitted_pipeline(churn()))
    text = json.dumps(sig.to_dict())
    assert Signature.from_dict(json.loads(text)) == sig
    assert json.loads(text)["output"]["columns"] == ["prediction", "score"]


@pytest.mark.parametrize(
    "broken",
    [{}, {"inputs": [{"name": "a"}], "output": {"kind": "regressor"}}, {"inputs": 3, "output": {}}],
)
def test_from_dict_refuses_malformed_input(broken):
    with pytest.raises(InvalidInput):
        Signature.from_dict(broken)


def test_from_dict_refuses_unknown_type_names():
    with pytest.raises(InvalidInput, match="unknown mlcore type name 'varchar'"):
        Signature.from_dict(
            {"inputs": [{"name": "a", "type": "varchar"}], "output": {"kind": "regressor"}}
        )


# --- check -----------------------------------------------------------------------------


SIG = Signature(
    (
        ColumnSpec("age", "float64", False),
        ColumnSpec("visits", "int64", False),
        ColumnSpec("plan", "categorical", True),
        ColumnSpec("country", "string", True),
    ),
    OutputSpec("regressor", "float64"),
)


def test_check_selects_orders_and_casts_safely():
    frame = pl.DataFrame(
        {
            "id": [1, 2],
            "country": ["fr", "de"],
            "plan": ["a", "b"],
            "visits": pl.Series([3, 4], dtype=pl.Int32),
            "age": [30, 40],
        }
    )
    checked = SIG.check(frame)
    assert checked.columns == ["age", "visits", "plan", "country"]
    assert checked.schema["age"] == pl.Float64
    assert checked.schema["visits"] == pl.Int64
    assert checked.schema["plan"] == pl.Categorical
    assert checked["age"].to_list() == [30.0, 40.0]
    assert frame.columns[0] == "id"  # the caller's frame is untouched


def test_check_names_every_bad_column_in_one_error():
    frame = pl.DataFrame({"Age": [1.0], "visits": [1.5], "plan": [True], "id": [1]})
    with pytest.raises(SignatureMismatch) as caught:
        SIG.check(frame)
    err = caught.value
    assert err.missing == ["age", "country"]
    assert err.mistyped == {"visits": ("float64", "int64"), "plan": ("bool", "categorical")}
    message = str(err)
    for part in (
        "missing column 'age' (did you mean 'Age'?)",
        "missing column 'country'",
        "column 'visits' is float64, expected int64",
        "column 'plan' is bool, expected categorical",
    ):
        assert part in message
    assert isinstance(err, InvalidInput)
    assert err.field == "age"


def test_check_refuses_new_missing_values_only_when_asked():
    frame = pl.DataFrame(
        {
            "age": [1.0, float("nan")],
            "visits": [None, 2],
            "plan": [None, "a"],
            "country": ["x", "y"],
        }
    )
    assert SIG.check(frame).height == 2
    with pytest.raises(SignatureMismatch) as caught:
        SIG.check(frame, refuse_nulls=True)
    assert caught.value.with_nulls == {"age": 1, "visits": 1}  # plan was nullable in training


def test_check_accepts_pandas_with_csv_like_types():
    frame = pd.DataFrame(
        {"age": [20, 30], "visits": [1, 2], "plan": ["a", "a"], "country": ["x", "y"]}
    )
    checked = SIG.check(frame)
    assert checked.schema["age"] == pl.Float64


def test_check_refuses_what_is_not_a_frame():
    with pytest.raises(InvalidInput, match="input is a list, not a frame"):
        SIG.check([1, 2])


# --- predict ---------------------------------------------------------------------------


def test_predict_binary_classifier_matches_sklearn():
    frame = churn(500)
    model = fitted_pipeline(frame)
    sig = infer_signature(frame, model)
    batch = churn(300, seed=1).drop("churned")
    scored = predict(model, batch, sig, passthrough=["customer"])
    features = batch.select("plan", "spend", "tenure")
    assert scored.columns == ["customer", "prediction", "score"]
    assert scored["customer"].to_list() == batch["customer"].to_list()
    assert scored["prediction"].to_list() == model.predict(features).tolist()
    np.testing.assert_array_equal(scored["score"].to_numpy(), model.predict_proba(features)[:, 1])


def test_predict_multiclass_on_arrays_matches_sklearn():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = np.array(["a", "b", "c"])[np.argmax(X, axis=1)]
    model = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)
    frame = pl.DataFrame(X, schema=["x0", "x1", "x2"])
    sig = infer_signature(frame, model)
    scored = predict(model, frame, sig)
    assert scored.columns == ["prediction", "proba_a", "proba_b", "proba_c"]
    assert scored["prediction"].to_list() == model.predict(X).tolist()
    np.testing.assert_array_equal(
        scored.select("proba_a", "proba_b", "proba_c").to_numpy(), model.predict_proba(X)
    )


def test_predict_regressor_and_empty_batch():
    frame = churn()
    model = LinearRegression().fit(frame.select("tenure", "spend"), frame["spend"])
    sig = infer_signature(frame, model)
    scored = predict(model, frame, sig)
    np.testing.assert_array_equal(
        scored["prediction"].to_numpy(), model.predict(frame.select("tenure", "spend"))
    )
    empty = predict(model, frame.head(0), sig, passthrough=["customer"])
    assert empty.schema == pl.Schema({"customer": pl.Int64, "prediction": pl.Float64})


def test_predict_respects_a_classifier_whose_labels_are_not_the_argmax():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    model = FixedThresholdClassifier(LogisticRegression(), threshold=0.9).fit(X, y)
    frame = pl.DataFrame(X, schema=["a", "b"])
    scored = predict(model, frame, infer_signature(frame, model))
    labels = model.predict(X)
    assert (labels != model.predict_proba(X).argmax(axis=1)).any()
    assert scored["prediction"].to_list() == labels.tolist()


def test_predict_refuses_a_signature_of_another_model():
    X = np.random.default_rng(0).normal(size=(30, 2))
    frame = pl.DataFrame(X, schema=["a", "b"])
    model = LogisticRegression().fit(X, np.arange(30) % 2)
    other = LogisticRegression().fit(X, np.arange(30) % 3)
    with pytest.raises(InvalidInput, match="not the model's"):
        predict(model, frame, infer_signature(frame, other))


def test_predict_refuses_models_without_predictions_and_unknown_passthrough():
    X = np.random.default_rng(0).normal(size=(30, 2))
    frame = pl.DataFrame(X, schema=["a", "b"])
    scaler = StandardScaler().fit(frame)
    with pytest.raises(InvalidInput, match="no single-column prediction"):
        predict(scaler, frame, infer_signature(frame, scaler))
    model = LinearRegression().fit(frame, X[:, 0])
    with pytest.raises(InvalidInput, match="'id'"):
        predict(model, frame, infer_signature(frame, model), passthrough=["id"])


ARGMAX_MODELS = {
    "BaggingClassifier": lambda: BaggingClassifier(n_estimators=3, random_state=0),
    "BernoulliNB": BernoulliNB,
    "CalibratedClassifierCV": lambda: CalibratedClassifierCV(LogisticRegression(), cv=2),
    "CategoricalNB": CategoricalNB,
    "ComplementNB": ComplementNB,
    "DecisionTreeClassifier": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
    "ExtraTreeClassifier": lambda: ExtraTreeClassifier(max_depth=3, random_state=0),
    "ExtraTreesClassifier": lambda: ExtraTreesClassifier(n_estimators=3, random_state=0),
    "GaussianNB": GaussianNB,
    "GradientBoostingClassifier": lambda: GradientBoostingClassifier(n_estimators=5),
    "HistGradientBoostingClassifier": lambda: HistGradientBoostingClassifier(max_iter=5),
    "LinearDiscriminantAnalysis": LinearDiscriminantAnalysis,
    "LogisticRegression": LogisticRegression,
    "LogisticRegressionCV": lambda: LogisticRegressionCV(
        cv=2, Cs=2, l1_ratios=(0,), scoring="neg_log_loss", use_legacy_attributes=False
    ),
    "MultinomialNB": MultinomialNB,
    "QuadraticDiscriminantAnalysis": QuadraticDiscriminantAnalysis,
    "RandomForestClassifier": lambda: RandomForestClassifier(n_estimators=3, random_state=0),
}


def test_argmax_list_names_real_sklearn_classifiers_and_is_tested_in_full():
    classifiers = {name for name, _ in all_estimators(type_filter="classifier")}
    assert classifiers >= signature_module._ARGMAX_CLASSIFIERS
    assert set(ARGMAX_MODELS) == signature_module._ARGMAX_CLASSIFIERS


@pytest.mark.parametrize("name", sorted(ARGMAX_MODELS))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_labels_from_probabilities_equal_sklearn_predict(name, n_classes):
    rng = np.random.default_rng(n_classes)
    X = rng.integers(0, 4, size=(120, 3)).astype(float) + rng.uniform(0, 0.1, size=(120, 3))
    if name == "CategoricalNB":
        X = np.floor(X)
    y = np.array(["low", "mid", "high"])[:n_classes][(X.sum(axis=1) * 7).astype(int) % n_classes]
    model = make_pipeline(ARGMAX_MODELS[name]()).fit(X, y)  # through a Pipeline, too
    frame = pl.DataFrame(X, schema=["a", "b", "c"])
    scored = predict(model, frame, infer_signature(frame, model))
    assert scored["prediction"].to_list() == model.predict(X).tolist()


# --- input example -----------------------------------------------------------------------


def test_input_example_is_json_ready():
    frame = pl.DataFrame(
        {
            "at": [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)] * 3,
            "day": [date(2024, 1, 2)] * 3,
            "wait": [timedelta(minutes=1)] * 3,
            "x": [1.5, float("inf"), None],
            "raw": [b"\x00\x01"] * 3,
            "plan": pl.Series(["a", "b", "a"], dtype=pl.Categorical),
        }
    )
    example = input_example(frame, rows=2, columns=["plan", "x", "at", "day", "wait", "raw"])
    assert example == [
        {
            "plan": "a",
            "x": 1.5,
            "at": "2024-01-02T03:04:05+00:00",
            "day": "2024-01-02",
            "wait": 60.0,
            "raw": "AAE=",
        },
        {
            "plan": "b",
            "x": None,
            "at": "2024-01-02T03:04:05+00:00",
            "day": "2024-01-02",
            "wait": 60.0,
            "raw": "AAE=",
        },
    ]
    json.dumps(example, allow_nan=False)
    assert len(input_example(pa.table({"a": list(range(10))}))) == 5
