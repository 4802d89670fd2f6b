"""Model signatures: the columns a model reads and what it predicts, and scoring by them.

A signature is inferred once, from the training frame and the fitted model, and
stored with the version. At scoring time :meth:`Signature.check` turns "the
batch has the wrong shape" into one error naming every missing and mistyped
column, instead of whatever the estimator says halfway through, and
:func:`predict` returns a Polars frame whose columns the signature announced.

Types are mlcore type names (``int64``, ``float64``, ``string``, ``bool``,
``categorical``, ``date``, ``datetime[us, UTC]``...), stable across Polars
versions and readable in the catalog. A column may arrive in another type only
when the cast cannot change a value the model sees: integer to float, integer
or float widening, string to categorical and back, a datetime in another time
unit with the same zone, or an all-null column.

Examples
--------
>>> import polars as pl
>>> from sklearn.linear_model import LogisticRegression
>>> train = pl.DataFrame({"age": [20.0, 30.0, 40.0, 50.0], "visits": [1, 5, 2, 8]})
>>> model = LogisticRegression().fit(train, ["no", "yes", "no", "yes"])
>>> signature = infer_signature(train, model)
>>> [(c.name, c.type) for c in signature.inputs]
[('age', 'float64'), ('visits', 'int64')]
>>> signature.output.columns
('prediction', 'score')
>>> batch = pl.DataFrame({"id": [7, 8], "visits": [1, 9], "age": [25, 45]})
>>> predict(model, batch, signature, passthrough=["id"]).columns
['id', 'prediction', 'score']
>>> try:
...     signature.check(batch.drop("age").with_columns(visits=pl.lit("many")))
... except SignatureMismatch as err:
...     print(err)
input does not match the model signature: missing column 'age'; column 'visits' is string, expected int64. Pass a frame with these columns in these types (extra columns are ignored).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, closest
from mlcore.frames import to_polars
from mlcore.registry.artifacts import estimator_type

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "ColumnSpec",
    "OutputSpec",
    "Signature",
    "SignatureMismatch",
    "cast_allowed",
    "infer_signature",
    "input_example",
    "predict",
    "type_name",
]

_INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "int128": 128}
_UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "uint128": 128}
_FLOAT_BITS = {"float32": 32, "float64": 64}
_DATETIME = re.compile(r"datetime\[(ms|us|ns)(?:, (.+))?\]")


@functools.cache
def _polars_names() -> dict[Any, str]:
    import polars as pl

    names: dict[Any, str] = {
        pl.Boolean: "bool",
        pl.String: "string",
        pl.Categorical: "categorical",
        pl.Enum: "categorical",  # the model sees the same strings as for a Categorical
        pl.Date: "date",
        pl.Time: "time",
        pl.Binary: "binary",
        pl.Null: "null",
    }
    for name in (*_INT_BITS, *_UINT_BITS, *_FLOAT_BITS):
        names[getattr(pl, name.capitalize().replace("Uint", "UInt"))] = name
    return names


def type_name(dtype: pl.DataType) -> str:
    """The mlcore type name of a Polars dtype.

    >>> import polars as pl
    >>> type_name(pl.Datetime("us", "UTC")), type_name(pl.UInt8), type_name(pl.Enum(["a"]))
    ('datetime[us, UTC]', 'uint8', 'categorical')
    """
    import polars as pl

    if isinstance(dtype, pl.Datetime):
        zone = f", {dtype.time_zone}" if dtype.time_zone else ""
        return f"datetime[{dtype.time_unit}{zone}]"
    name = _polars_names().get(dtype.base_type())
    if name is None:
        raise InvalidInput(
            f"a model signature cannot describe columns of type {dtype}",
            hint="Convert or drop such columns before training",
        )
    return name


def _polars_dtype(name: str) -> pl.DataType:
    import polars as pl

    match = _DATETIME.fullmatch(name)
    if match:
        return pl.Datetime(match.group(1), match.group(2))  # type: ignore[arg-type]
    for dtype, known in _polars_names().items():
        if known == name and dtype is not pl.Enum:
            return dtype()
    raise InvalidInput(f"unknown mlcore type name '{name}'", field="type")


def cast_allowed(source: str, target: str) -> bool:
    """True when a column of type ``source`` may feed an input declared ``target``.

    >>> cast_allowed("int32", "float64"), cast_allowed("float64", "int64")
    (True, False)
    """
    if source == target or source == "null":
        return True
    if source in _INT_BITS or source in _UINT_BITS:
        if target in _FLOAT_BITS:
            return True
        if source in _INT_BITS:
            return _INT_BITS[source] <= _INT_BITS.get(target, 0)
        return _UINT_BITS[source] <= _UINT_BITS.get(target, 0) or (
            _UINT_BITS[source] < _INT_BITS.get(target, 0)
        )
    if source == "float32":
        return target == "float64"
    if {source, target} == {"string", "categorical"}:
        return True
    source_dt, target_dt = _DATETIME.fullmatch(source), _DATETIME.fullmatch(target)
    return bool(source_dt and target_dt and source_dt.group(2) == target_dt.group(2))


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name, mlcore type, and whether training data had missing values."""

    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class OutputSpec:
    """What :func:`predict` returns for a model.

    ``kind`` is the estimator type; ``type`` the ``prediction`` column's type
    (None for models without ``predict``); ``classes`` the class labels of a
    classifier; ``probabilities`` whether it reports them (binary: one
    ``score`` column, P(classes[1]); more classes: one ``proba_<class>`` each).
    """

    kind: str
    type: str | None
    classes: tuple[Any, ...] | None = None
    probabilities: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        if self.type is None:
            return ()
        if not (self.probabilities and self.classes):
            return ("prediction",)
        if len(self.classes) == 2:
            return ("prediction", "score")
        return ("prediction", *(f"proba_{label}" for label in self.classes))


class SignatureMismatch(InvalidInput):
    """A frame does not fit a signature; lists every missing and mistyped column."""

    def __init__(
        self,
        missing: Sequence[str],
        mistyped: Mapping[str, tuple[str, str]],
        with_nulls: Mapping[str, int],
        *,
        extra: Sequence[str] = (),
    ) -> None:
        self.missing = list(missing)
        self.mistyped = dict(mistyped)
        self.with_nulls = dict(with_nulls)
        problems = []
        for name in self.missing:
            near = closest(name, extra)
            problems.append(
                f"missing column '{name}'" + (f" (did you mean '{near}'?)" if near else "")
            )
        problems += [
            f"column '{n}' is {got}, expected {want}" for n, (got, want) in self.mistyped.items()
        ]
        problems += [
            f"column '{n}' has {count} missing values, none in training"
            for n, count in self.with_nulls.items()
        ]
        super().__init__(
            "input does not match the model signature: " + "; ".join(problems),
            hint="Pass a frame with these columns in these types (extra columns are ignored)",
            field=(self.missing or list(self.mistyped) or list(self.with_nulls))[0],
        )


@dataclass(frozen=True)
class Signature:
    """Input columns in the order the model reads them, and its output."""

    inputs: tuple[ColumnSpec, ...]
    output: OutputSpec

    @property
    def columns(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stable across versions; :meth:`from_dict` reads it back."""
        out = self.output
        return {
            "inputs": [
                {"name": c.name, "type": c.type, "nullable": c.nullable} for c in self.inputs
            ],
            "output": {
                "kind": out.kind,
                "type": out.type,
                "classes": None if out.classes is None else list(out.classes),
                "probabilities": out.probabilities,
                "columns": list(out.columns),
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        try:
            inputs = tuple(
                ColumnSpec(str(c["name"]), str(c["type"]), bool(c.get("nullable", True)))
                for c in data["inputs"]
            )
            out = data["output"]
            classes = out.get("classes")
            output = OutputSpec(
                kind=str(out["kind"]),
                type=out.get("type"),
                classes=None if classes is None else tuple(classes),
                probabilities=bool(out.get("probabilities", False)),
            )
        except (KeyError, TypeError) as exc:
            raise InvalidInput(
                f"not a model signature: missing or malformed {exc}", field="signature"
            ) from None
        for spec in inputs:
            _polars_dtype(spec.type)  # refuse unknown type names now, not at scoring time
        return cls(inputs, output)

    def check(self, frame: Any, *, refuse_nulls: bool = False) -> pl.DataFrame:
        """The model's input columns from ``frame``, in order and in the declared types.

        Parameters
        ----------
        frame
            Polars, pandas or Arrow data, or a Parquet/CSV path. Extra columns are allowed
            and left out of the result; the caller keeps them for passthrough.
        refuse_nulls
            Also refuse missing values (null, or NaN in float columns) in
            columns that had none in training.

        Raises
        ------
        SignatureMismatch
            Naming every missing column, every column whose type cannot be
            cast safely, and (with ``refuse_nulls``) every column with new
            missing values.
        """
        import polars as pl

        df = to_polars(frame, what="input")
        schema = df.schema
        missing = [c.name for c in self.inputs if c.name not in schema]
        mistyped: dict[str, tuple[str, str]] = {}
        selected = []  # eager Series picks: no query plan for what is mostly a projection
        for spec in self.inputs:
            if spec.name not in schema:
                continue
            dtype = schema[spec.name]
            try:
                actual = type_name(dtype)
            except InvalidInput:
                actual = str(dtype)
            if actual == spec.type:
                selected.append(df.get_column(spec.name))
            elif cast_allowed(actual, spec.type):
                selected.append(df.get_column(spec.name).cast(_polars_dtype(spec.type)))
            else:
                mistyped[spec.name] = (actual, spec.type)
        with_nulls: dict[str, int] = {}
        if refuse_nulls:
            strict = [c.name for c in self.inputs if not c.nullable and c.name in schema]
            with_nulls = {k: v for k, v in _missing_counts(df, strict).items() if v}
        if missing or mistyped or with_nulls:
            expected = set(self.columns)
            extra = [name for name in schema if name not in expected]
            raise SignatureMismatch(missing, mistyped, with_nulls, extra=extra)
        return pl.DataFrame(selected)


def _missing_counts(df: pl.DataFrame, names: Sequence[str]) -> dict[str, int]:
    import polars as pl

    if not names:
        return {}
    exprs = []
    for name in names:
        count = pl.col(name).null_count()
        if df.schema[name].is_float():
            count = count + pl.col(name).is_nan().sum()
        exprs.append(count.alias(name))
    return {k: int(v) for k, v in df.select(exprs).row(0, named=True).items()}


def input_example(
    frame: Any, *, rows: int = 5, columns: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The first ``rows`` rows of ``frame`` as JSON-ready records.

    Temporal values become ISO-8601 strings, durations seconds, NaN and
    infinities None, bytes base64 text.

    >>> import polars as pl
    >>> from datetime import datetime, timezone
    >>> frame = pl.DataFrame({"at": [datetime(2024, 5, 1, tzinfo=timezone.utc)], "x": [float("nan")]})
    >>> input_example(frame)
    [{'at': '2024-05-01T00:00:00+00:00', 'x': None}]
    """
    df = to_polars(frame, what="training data")
    if columns is not None:
        df = df.select(columns)
    return [
        {name: _json_ready(value) for name, value in row.items()}
        for row in df.head(rows).iter_rows(named=True)
    ]


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def infer_signature(
    frame: Any, model: object, *, columns: Sequence[str] | None = None
) -> Signature:
    """The signature of ``model`` as trained on ``frame``.

    Parameters
    ----------
    frame
        The training frame (Polars, pandas or Arrow); it may hold more columns
        than the model reads (target, ids).
    model
        The fitted model. Its ``feature_names_in_`` (set when fitted on a data
        frame) fixes the input columns and their order.
    columns
        The input columns in the order the model reads them, for models fitted
        on arrays; default: every column of ``frame``.
    """
    df = to_polars(frame, what="training data")
    names = list(columns) if columns is not None else _fitted_names(model)
    if names is None:
        names = df.columns
        width = getattr(model, "n_features_in_", None)
        if width is not None and width != len(names):
            raise InvalidInput(
                f"the model reads {width} columns but the training frame has {len(names)}",
                hint="Pass columns=[...] naming the model's inputs in training order",
                field="columns",
            )
    absent = [name for name in names if name not in df.schema]
    if absent:
        raise InvalidInput(
            f"the training frame lacks the model's input columns {absent}",
            hint="Pass the frame the model was fitted on",
            field=absent[0],
        )
    counts = _missing_counts(df, names)
    inputs = tuple(ColumnSpec(n, type_name(df.schema[n]), counts[n] > 0) for n in names)
    return Signature(inputs, _output_spec(model))


def _fitted_names(model: object) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _output_spec(model: object) -> OutputSpec:
    import numpy as np
    import polars as pl

    kind = estimator_type(model)
    if not hasattr(model, "predict"):
        return OutputSpec(kind, None)
    if kind == "classifier":
        classes = getattr(model, "classes_", None)
        if not isinstance(classes, np.ndarray) or classes.ndim != 1:
            return OutputSpec(kind, None)  # multi-output: one label per target, not scored here
        labels = tuple(classes.tolist())
        label_type = type_name(pl.Series(list(labels)).dtype)
        return OutputSpec(kind, label_type, labels, hasattr(model, "predict_proba"))
    return OutputSpec(kind, "float64" if kind == "regressor" else "int64")


# Classifiers whose predict() is the class of highest predict_proba(), first on ties, or a
# monotone transform of the same scores (differing only where two probabilities round to
# the same float). For them the labels come from the probabilities already computed, so
# scoring costs one predict_proba, not two passes over the model.
_ARGMAX_CLASSIFIERS = frozenset(
    {
        "BaggingClassifier",
        "BernoulliNB",
        "CalibratedClassifierCV",
        "CategoricalNB",
        "ComplementNB",
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "ExtraTreesClassifier",
        "GaussianNB",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
        "LinearDiscriminantAnalysis",
        "LogisticRegression",
        "LogisticRegressionCV",
        "MultinomialNB",
        "QuadraticDiscriminantAnalysis",
        "RandomForestClassifier",
    }
)


def _labels_from_probabilities(model: object) -> bool:
    from sklearn.pipeline import Pipeline

    while isinstance(model, Pipeline):
        model = model[-1]
    kind = type(model)
    return kind.__module__.startswith("sklearn.") and kind.__name__ in _ARGMAX_CLASSIFIERS


def predict(
    model: Any, frame: Any, signature: Signature, *, passthrough: Sequence[str] = ()
) -> pl.DataFrame:
    """Score ``frame`` with ``model``: checked against ``signature``, returned as Polars.

    Parameters
    ----------
    model
        The fitted model the signature was inferred from.
    frame
        Polars, pandas or Arrow data holding at least the signature's inputs.
    signature
        The model's signature; :meth:`Signature.check` validates and orders the input.
    passthrough
        Columns of ``frame`` copied in front of the predictions (ids, keys).

    Returns
    -------
    polars.DataFrame
        ``passthrough`` columns, then ``signature.output.columns``: ``prediction``
        and, for classifiers with probabilities, ``score`` = P(classes[1]) when
        binary, else one ``proba_<class>`` per class. For the classifiers listed
        in ``_ARGMAX_CLASSIFIERS`` ``prediction`` is the most probable class,
        which is what their ``predict`` returns; others are asked for both.
    """
    import polars as pl

    out = signature.output
    if out.type is None:
        raise InvalidInput(
            f"{type(model).__name__} ({out.kind}) has no single-column prediction to score",
            hint="Score classifiers, regressors, clusterers or outlier detectors with one target",
        )
    df = to_polars(frame, what="input")
    absent = [name for name in passthrough if name not in df.schema]
    if absent:
        raise InvalidInput(f"passthrough columns {absent} are not in the frame", field=absent[0])
    inputs = signature.check(df)
    kept = [df.get_column(name) for name in passthrough]
    if df.height == 0:
        dtypes = {name: pl.Float64 for name in out.columns} | {
            "prediction": _polars_dtype(out.type)
        }
        return pl.DataFrame([*kept, *(pl.Series(n, [], dtype=t) for n, t in dtypes.items())])
    # A model fitted on an array gets one, without going through pandas.
    features = inputs.to_numpy() if _fitted_names(model) is None else inputs
    return pl.DataFrame([*kept, *_prediction_columns(model, features, out)])


def _prediction_columns(model: Any, inputs: Any, out: OutputSpec) -> list[pl.Series]:
    import numpy as np
    import polars as pl

    dtype = _polars_dtype(out.type or "null")
    if out.kind != "classifier" or not out.probabilities:
        labels = np.asarray(model.predict(inputs))
        if labels.ndim != 1:
            raise InvalidInput(
                f"{type(model).__name__} returned {labels.ndim}-d predictions",
                hint="Multi-output models are not scored by mlcore yet",
            )
        return [pl.Series("prediction", labels).cast(dtype)]
    assert out.classes is not None
    if model.classes_.tolist() != list(out.classes):
        raise InvalidInput(
            f"the signature's classes {list(out.classes)} are not the model's "
            f"{model.classes_.tolist()}",
            hint="Use the signature stored with this model version",
        )
    proba = model.predict_proba(inputs)
    if _labels_from_probabilities(model):
        if proba.shape[1] == 2:
            index = (proba[:, 1] > proba[:, 0]).view(np.uint8)  # argmax, first on ties
        else:
            index = proba.argmax(axis=1)
        if dtype.is_numeric() or dtype == pl.Boolean:
            prediction = pl.Series("prediction", np.asarray(out.classes)[index])
        else:  # strings: a Polars gather, as NumPy string arrays convert slowly
            classes = pl.Series("prediction", list(out.classes), dtype=dtype)
            prediction = classes.gather(pl.Series(index))
    else:
        prediction = pl.Series("prediction", np.asarray(model.predict(inputs))).cast(dtype)
    if len(out.classes) == 2:
        return [prediction, pl.Series("score", proba[:, 1])]
    return [prediction, *(pl.Series(n, proba[:, i]) for i, n in enumerate(out.columns[1:]))]
