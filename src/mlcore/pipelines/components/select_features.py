"""SelectFeatures: the first step of every trained pipeline.

It lets a fitted model take raw data as it comes: a frame with more columns in
any order, or a NumPy array of just the features, and hands the estimator the
declared feature columns in their training order.

Examples
--------
>>> import numpy as np
>>> import polars as pl
>>> select = SelectFeatures(["b", "a"]).fit(pl.DataFrame({"a": [1], "b": ["x"], "c": [0]}))
>>> select.transform(pl.DataFrame({"c": [5], "a": [2], "b": ["y"]})).rows()
[('y', 2)]
>>> select.transform(np.array([["z", 3]], dtype=object)).rows()
[('z', 3.0)]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin

from mlcore.errors import InvalidInput
from mlcore.pipelines.components._frames import as_polars, require_columns

__all__ = ["SelectFeatures"]


class SelectFeatures(TransformerMixin, BaseEstimator):
    """Pick the feature columns, in order, from a frame or a NumPy array.

    Returns a Polars frame with numeric features as they are (NumPy input: as
    floats) and text features (String, Categorical, Enum) as strings.

    Parameters
    ----------
    columns
        The feature columns, in the order the model sees them.
    """

    def __init__(self, columns: list[str] | None = None) -> None:
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> SelectFeatures:
        frame = self._select(X)
        self.text_columns_ = [c for c in frame.columns if _is_text(frame.schema[c])]
        for name, dtype in frame.schema.items():
            if not (_is_text(dtype) or dtype.is_numeric() or str(dtype) == "Boolean"):
                raise InvalidInput(
                    f"feature '{name}' is {dtype}, which no estimator reads",
                    hint="Derive numeric features from it, or leave it out of features",
                )
        self.feature_names_in_ = _object_array(frame.columns)
        self.n_features_in_ = len(frame.columns)
        return self

    def transform(self, X: Any) -> pl.DataFrame:
        frame = self._select(X)
        return frame.with_columns(pl.col(c).cast(pl.String) for c in self.text_columns_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return _object_array(self._columns())

    def _columns(self) -> list[str]:
        if not self.columns:
            raise InvalidInput("SelectFeatures needs columns", hint="Pass columns=[...]")
        return list(self.columns)

    def _select(self, X: Any) -> pl.DataFrame:
        columns = self._columns()
        if isinstance(X, np.ndarray):
            return self._from_numpy(X, columns)
        frame = as_polars(X, allow_empty=True)
        require_columns(frame, columns, kind="feature column")
        return frame.select(columns)

    def _from_numpy(self, X: np.ndarray, columns: list[str]) -> pl.DataFrame:
        if X.ndim != 2 or X.shape[1] != len(columns):
            raise InvalidInput(
                f"expected a 2-D array of {len(columns)} feature columns, got shape {X.shape}",
                hint=f"Order the columns as {columns}",
            )
        if hasattr(self, "text_columns_"):
            text = set(self.text_columns_)
        else:  # fitting on an array: text is what holds strings
            text = {c for i, c in enumerate(columns) if any(isinstance(v, str) for v in X[:, i])}
        return pl.DataFrame(
            [
                pl.Series(name, [_text_or_none(v) for v in X[:, i]], dtype=pl.String)
                if name in text
                else _numbers(name, X[:, i])
                for i, name in enumerate(columns)
            ]
        )


def _numbers(name: str, values: np.ndarray) -> pl.Series:
    if values.dtype == object:  # may hold None for missing values
        return pl.Series(name, values.tolist(), dtype=pl.Float64, strict=False)
    return pl.Series(name, values.astype(np.float64))


def _is_text(dtype: Any) -> bool:
    return str(dtype) in ("String", "Categorical") or type(dtype).__name__ == "Enum"


def _text_or_none(value: Any) -> str | None:
    missing = value is None or (isinstance(value, float) and value != value)
    return None if missing else str(value)


def _object_array(names: list[str]) -> np.ndarray:
    return np.asarray(names, dtype=object)
