"""Built-in pipeline components: validate, clean, split, train, tune.

Each is a plain function on frames, usable on its own or wrapped as a pipeline
step; parameters are JSON-ready scalars, lists and dicts so that a step's cache key
can hash them, and results are frames, fitted scikit-learn pipelines, or reports
with a ``to_dict()``.

Importing this package stays light: Polars and scikit-learn load inside the
functions that use them.

>>> from mlcore.pipelines import components
>>> components.split.__module__
'mlcore.pipelines.components.split'
"""

from __future__ import annotations

# The functions share their modules' names, so they are imported eagerly: a lazy
# attribute would be shadowed by the submodule as soon as anything imported it.
from mlcore.pipelines.components.clean import Cleaner, CleanReport, clean
from mlcore.pipelines.components.expectations import (
    AllowedValues,
    ColumnExists,
    Expectation,
    InRange,
    MatchesRegex,
    NullShare,
    RowCount,
    Unique,
    load_expectations,
)
from mlcore.pipelines.components.split import split
from mlcore.pipelines.components.train import make_estimator, train
from mlcore.pipelines.components.tune import TuneResult, tune
from mlcore.pipelines.components.validate import (
    ExpectationResult,
    ValidationFailed,
    ValidationReport,
    validate,
)

__all__ = [
    "AllowedValues",
    "CleanReport",
    "Cleaner",
    "ColumnExists",
    "Expectation",
    "ExpectationResult",
    "InRange",
    "MatchesRegex",
    "NullShare",
    "RowCount",
    "TuneResult",
    "Unique",
    "ValidationFailed",
    "ValidationReport",
    "clean",
    "load_expectations",
    "make_estimator",
    "split",
    "train",
    "tune",
    "validate",
]
