"""train: fit any scikit-learn estimator on a frame, into a self-contained Pipeline.

The result is a scikit-learn :class:`~sklearn.pipeline.Pipeline` of up to three
steps, so that it predicts from raw features on its own:

1. ``features``: :class:`~mlcore.pipelines.components.select_features.SelectFeatures`
   picks the declared feature columns, in
   order, from a Polars, pandas or Arrow frame (extra columns are ignored) or
   takes a NumPy array whose columns are those features;
2. ``encode`` (only when some features are text): a ``ColumnTransformer`` with an
   ``OrdinalEncoder`` (``encoder="ordinal"``, the default, suits tree models:
   unseen categories become -1, a missing value is a category of its own) or a
   ``OneHotEncoder`` (``encoder="onehot"``, for linear models: unseen categories
   become all zeros); ``encoder=None`` leaves text columns to the estimator,
   e.g. a Pipeline of your own that encodes them;
3. ``model``: a clone of the estimator, seeded with ``random_state`` wherever it
   has a ``random_state`` parameter left at None.

Data stays in Polars (Arrow) up to scikit-learn, which reads it into NumPy; no
pandas is involved. The estimator may also be given as a dotted class path plus
``params``, the form a config file can hold.

Loading with skops needs
``mlcore.pipelines.components.select_features.SelectFeatures`` among the trusted
types (:data:`TRUSTED_TYPES`); pipeline artifacts and the ``register`` step
trust it.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({
...     "size": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
...     "colour": ["red", "blue", "red", "blue", "red", "blue"],
...     "label": [0, 0, 0, 1, 1, 1],
... })
>>> model = train(frame, "label", "sklearn.tree.DecisionTreeClassifier", params={"max_depth": 2})
>>> [name for name, _ in model.steps]
['features', 'encode', 'model']
>>> model.predict(pl.DataFrame({"colour": ["red", "green"], "size": [1.5, 5.5]})).tolist()
[0, 1]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.components._frames import as_list, as_polars, choose, require_columns

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    from sklearn.pipeline import Pipeline

__all__ = ["ENCODERS", "TRUSTED_TYPES", "make_estimator", "train"]

ENCODERS = ("ordinal", "onehot")

#: Types a model trained here holds beyond scikit-learn's: mlcore's own code, so
#: safe to load; skops asks for them to be named.
TRUSTED_TYPES = ("mlcore.pipelines.components.select_features.SelectFeatures",)


def make_estimator(estimator: Any, params: dict[str, Any] | None = None) -> Any:
    """A fresh, unfitted estimator from an estimator object or a dotted class path.

    >>> make_estimator("sklearn.linear_model.Ridge", {"alpha": 0.5})
    Ridge(alpha=0.5)
    >>> make_estimator("sklearn.linear_model.Rigde")
    Traceback (most recent call last):
    ...
    mlcore.errors.NotFound: estimator class 'Rigde' not found. Did you mean 'Ridge'?
    """
    if isinstance(estimator, str):
        estimator = _import_class(estimator)
    if isinstance(estimator, type):
        if not hasattr(estimator, "fit"):
            raise InvalidInput(
                f"{estimator.__name__} is not an estimator: it has no fit method",
                hint="Pass a scikit-learn estimator or Pipeline",
            )
        try:
            return estimator(**(params or {}))
        except TypeError as exc:
            raise InvalidInput(
                f"cannot make {estimator.__name__}: {exc}", hint="Check the estimator's parameters"
            ) from exc
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise InvalidInput(
            f"unsupported estimator {type(estimator).__name__}: it lacks fit or get_params",
            hint="Pass a scikit-learn estimator or Pipeline, or a dotted class path",
        )
    from sklearn.base import clone

    fresh = clone(estimator)
    if params:
        known = fresh.get_params(deep=True)
        for key in params:
            if key not in known:
                raise NotFound(f"parameter of {type(fresh).__name__}", key, candidates=list(known))
        fresh.set_params(**params)
    return fresh


def _import_class(path: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise InvalidInput(
            f"estimator '{path}' is not a dotted path",
            hint="Write e.g. sklearn.ensemble.RandomForestClassifier",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(
            f"cannot import module '{module_name}' for estimator '{path}': {exc}",
            hint="Check the dotted path and that the package is installed",
        ) from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise NotFound("estimator class", class_name, candidates=public)
    return cls


def seed(estimator: Any, random_state: int | None) -> Any:
    """Set every ``random_state`` parameter left at None (nested ones too)."""
    if random_state is None:
        return estimator
    unset = {
        key: random_state
        for key, value in estimator.get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    }
    return estimator.set_params(**unset) if unset else estimator


def build(
    frame: Any,
    target: str,
    estimator: Any,
    *,
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    encoder: str | None = "ordinal",
    random_state: int | None = 0,
    exclude: list[str] | None = None,
) -> tuple[Pipeline, pl.DataFrame, np.ndarray]:
    """The unfitted pipeline and the ``(X, y)`` to fit it on; shared with tune."""
    from sklearn.pipeline import Pipeline

    from mlcore.pipelines.components.select_features import SelectFeatures

    data = as_polars(frame)
    require_columns(data, [target], kind="target column")
    columns = as_list(features) or [c for c in data.columns if c not in {target, *(exclude or [])}]
    require_columns(data, columns, kind="feature column")
    if target in columns:
        raise InvalidInput(f"target '{target}' is also a feature", hint="Remove it from features")
    if not columns:
        raise InvalidInput("there are no feature columns", hint="Pass features=[...]")
    y = data[target]
    if y.null_count():
        raise InvalidInput(
            f"target '{target}' has {y.null_count()} nulls",
            hint="Drop those rows or impute the target",
        )
    model = seed(make_estimator(estimator, params), random_state)
    selector = SelectFeatures(columns).fit(data.head(1))
    steps: list[tuple[str, Any]] = [("features", selector)]
    if encoder is not None:
        choose(encoder, ENCODERS, what="encoder")
    if encoder is not None and selector.text_columns_:
        steps.append(("encode", _encoder(encoder, selector.text_columns_)))
    steps.append(("model", model))
    return Pipeline(steps), data.select(columns), y.to_numpy()


def _encoder(kind: str, text_columns: list[str]) -> Any:
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    if kind == "ordinal":
        encode: Any = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64
        )
    else:
        encode = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    return ColumnTransformer(
        [("categorical", encode, text_columns)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )


def train(
    frame: Any,
    target: str,
    estimator: Any,
    *,
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    encoder: str | None = "ordinal",
    random_state: int | None = 0,
) -> Pipeline:
    """Fit ``estimator`` to predict ``target`` from ``features`` of ``frame``.

    Parameters
    ----------
    frame
        Training data: a Polars, pandas or Arrow frame, or a Parquet/CSV path.
    target
        The column to predict; it must have no nulls.
    estimator
        A scikit-learn estimator or Pipeline (cloned, never fitted in place), or a
        dotted class path such as ``"sklearn.ensemble.RandomForestClassifier"``.
    features
        Feature columns, in order; by default every column but the target.
    params
        Estimator parameters to set (constructor arguments for a class path).
    encoder
        ``"ordinal"``, ``"onehot"`` or None for text features (see the module doc).
    random_state
        Seed given to every ``random_state`` the estimator leaves at None; an
        explicit seed on the estimator wins. None leaves them unseeded.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted; ``predict`` takes a frame with the feature columns, or a NumPy
        array of them in order.
    """
    pipeline, X, y = build(
        frame,
        target,
        estimator,
        features=features,
        params=params,
        encoder=encoder,
        random_state=random_state,
    )
    return pipeline.fit(X, y)
