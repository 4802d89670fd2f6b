"""tune: cross-validated hyperparameter search over the pipeline :func:`train` builds.

Two searches from scikit-learn: successive halving (``method="halving"``,
``HalvingRandomSearchCV``: every candidate starts on a small sample of rows and
only the best third, by default, goes on to three times as many; Jamieson &
Talwalkar 2016, Li et al. 2018, "Hyperband") and plain randomized search
(``method="random"``, ``RandomizedSearchCV``). Folds are shuffled stratified
folds for classifiers and shuffled folds otherwise; with ``time_column`` the rows
are put in time order and ``TimeSeriesSplit`` always validates on later rows than
it trains on. One ``random_state`` seeds the folds, the sampling of candidates
and the estimator, so a seed gives the same result, in parallel (``n_jobs``) too.

Parameter names are the estimator's own (``max_depth``); names starting with a
pipeline step (``model__``, ``encode__``) pass through. Values are lists, SciPy
distributions, or, for config files, ``{"uniform": [low, high]}``,
``{"loguniform": [low, high]}`` or ``{"randint": [low, high]}`` (both ends
included).

Examples
--------
>>> from sklearn.datasets import load_breast_cancer
>>> import polars as pl
>>> data = load_breast_cancer(as_frame=False)
>>> frame = pl.DataFrame(data.data[:, :5], schema=list(data.feature_names[:5]))
>>> frame = frame.with_columns(pl.Series("malignant", data.target == 0))
>>> result = tune(frame, "malignant", "sklearn.tree.DecisionTreeClassifier",
...               {"max_depth": [1, 2, 3, 4], "min_samples_leaf": {"randint": [1, 20]}},
...               method="random", n_iter=5, cv=3)
>>> result.best_params
{'max_depth': 4, 'min_samples_leaf': 4}
>>> round(result.best_score, 3)
0.896
>>> result.cv_results.columns[:4]
['param_max_depth', 'param_min_samples_leaf', 'mean_test_score', 'std_test_score']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.components._frames import as_polars, choose, require_columns
from mlcore.pipelines.components.train import build

if TYPE_CHECKING:
    import polars as pl
    from sklearn.pipeline import Pipeline

__all__ = ["METHODS", "TuneResult", "tune"]

METHODS = ("halving", "random")
_STEP = "model__"
_DISTRIBUTIONS = ("uniform", "loguniform", "randint")


@dataclass
class TuneResult:
    """The refitted best pipeline, its parameters and score, and every candidate's scores.

    ``cv_results`` has one row per candidate (per round for halving, with the
    ``iter`` and ``n_resources`` columns): ``param_<name>`` columns, mean, std
    and rank of the test score, per-fold scores and fit times.
    """

    best_estimator: Pipeline
    best_params: dict[str, Any]
    best_score: float
    cv_results: pl.DataFrame
    method: str
    scoring: str | None

    def to_dict(self) -> dict[str, Any]:
        """Everything but the fitted model, JSON-ready."""
        return {
            "method": self.method,
            "scoring": self.scoring,
            "best_params": self.best_params,
            "best_score": self.best_score,
            "cv_results": self.cv_results.to_dicts(),
        }


def tune(
    frame: Any,
    target: str,
    estimator: Any,
    param_distributions: dict[str, Any],
    *,
    method: str = "halving",
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    encoder: str | None = "ordinal",
    cv: int = 5,
    time_column: str | None = None,
    n_iter: int = 10,
    factor: int = 3,
    scoring: str | None = None,
    n_jobs: int | None = None,
    random_state: int = 0,
) -> TuneResult:
    """Search ``param_distributions`` for the best ``estimator`` on ``frame``.

    Parameters
    ----------
    frame, target, estimator, features, params, encoder
        As for :func:`~mlcore.pipelines.components.train.train`; ``params`` are
        fixed, ``param_distributions`` searched.
    param_distributions
        ``{name: values}``; see the module doc for the accepted values.
    method
        ``"halving"`` (successive halving) or ``"random"``.
    cv
        Number of folds (at least 2).
    time_column
        Validate on later rows only (``TimeSeriesSplit``); the column is not a
        feature unless listed in ``features``.
    n_iter
        Candidates to sample (capped at the number of combinations when every
        value is a list).
    factor
        Halving only: the share (1/factor) of candidates kept each round.
    scoring
        A scikit-learn scorer name (default: the estimator's ``score``).
    n_jobs
        Worker processes for the folds and candidates (None: one, -1: all cores).
    random_state
        Seeds folds, candidate sampling and the estimator.
    """
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV

    method = choose(method, METHODS, what="tuning method")
    data = as_polars(frame)
    if time_column is not None:
        require_columns(data, [time_column], kind="time column")
        data = data.sort(time_column, maintain_order=True)
    pipeline, X, y = build(
        data,
        target,
        estimator,
        features=features,
        params=params,
        encoder=encoder,
        random_state=random_state,
        exclude=[time_column] if time_column else None,
    )
    space = _space(param_distributions, pipeline)
    n_candidates = min(n_iter, _combinations(space))
    common = {
        "cv": _folds(cv, pipeline, time_column is not None, random_state),
        "scoring": _scorer(scoring),
        "n_jobs": n_jobs,
        "random_state": random_state,
        "refit": True,
    }
    if method == "halving":
        search: Any = HalvingRandomSearchCV(
            # "exhaust" makes the last round use (nearly) all rows; the default
            # "smallest" can stop the search on a small fraction of the data.
            pipeline,
            space,
            n_candidates=n_candidates,
            factor=factor,
            min_resources="exhaust",
            **common,
        )
    else:
        search = RandomizedSearchCV(pipeline, space, n_iter=n_candidates, **common)
    search.fit(X, y)
    return TuneResult(
        best_estimator=search.best_estimator_,
        best_params={_short(k): _plain(v) for k, v in search.best_params_.items()},
        best_score=float(search.best_score_),
        cv_results=_results_frame(search.cv_results_),
        method=method,
        scoring=scoring,
    )


def _space(distributions: dict[str, Any], pipeline: Pipeline) -> dict[str, Any]:
    if not distributions:
        raise InvalidInput(
            "nothing to tune: param_distributions is empty", hint="Give {name: values}"
        )
    steps = tuple(f"{name}__" for name, _ in pipeline.steps)
    known = pipeline.get_params(deep=True)
    space = {}
    for name, values in distributions.items():
        full = name if name.startswith(steps) else _STEP + name
        if full not in known:
            own = [_short(k) for k in known if k.startswith(_STEP)]
            raise NotFound("parameter to tune", name, candidates=own)
        space[full] = _values(name, values)
    return space


def _values(name: str, values: Any) -> Any:
    from scipy import stats

    if isinstance(values, dict):
        if len(values) != 1 or next(iter(values)) not in _DISTRIBUTIONS:
            raise InvalidInput(
                f"values for '{name}' are {values!r}",
                hint=f"Write a list or one of {', '.join(_DISTRIBUTIONS)}: [low, high]",
            )
        kind, bounds = next(iter(values.items()))
        low, high = bounds
        if not low <= high or (kind == "loguniform" and low <= 0):
            raise InvalidInput(
                f"{kind} bounds for '{name}' are {bounds}", hint="Give 0 < low <= high"
            )
        if kind == "uniform":
            return stats.uniform(low, high - low)
        if kind == "loguniform":
            return stats.loguniform(low, high)
        return stats.randint(low, high + 1)
    if isinstance(values, list | tuple):
        if not values:
            raise InvalidInput(f"no values to try for '{name}'", hint="Give at least one")
        return list(values)
    if hasattr(values, "rvs"):
        return values
    raise InvalidInput(
        f"values for '{name}' are a {type(values).__name__}",
        hint="Give a list, a SciPy distribution or {'uniform': [low, high]}",
    )


def _combinations(space: dict[str, Any]) -> int | float:
    if all(isinstance(v, list) for v in space.values()):
        return math.prod(len(v) for v in space.values())
    return math.inf


def _folds(cv: int, pipeline: Pipeline, in_time: bool, random_state: int) -> Any:
    from sklearn.base import is_classifier
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    if not isinstance(cv, int) or cv < 2:
        raise InvalidInput(f"cv is {cv!r}", hint="Give a number of folds of at least 2")
    if in_time:
        return TimeSeriesSplit(n_splits=cv)
    if is_classifier(pipeline):
        return StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    return KFold(n_splits=cv, shuffle=True, random_state=random_state)


def _scorer(scoring: str | None) -> str | None:
    if scoring is None:
        return None
    from sklearn.metrics import get_scorer_names

    return choose(scoring, sorted(get_scorer_names()), what="scoring")


def _short(name: str) -> str:
    return name.removeprefix(_STEP)


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones, so parameters stay JSON-ready."""
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value


def _results_frame(results: dict[str, Any]) -> pl.DataFrame:
    import polars as pl

    columns = {}
    for key, values in results.items():
        if key == "params":
            continue
        if key.startswith("param_"):
            name = "param_" + _short(key.removeprefix("param_"))
            # A masked array's tolist() gives None where a candidate lacks the parameter.
            plain = [_plain(v) for v in values.tolist()]
            try:
                columns[name] = pl.Series(name, plain)
            except (TypeError, pl.exceptions.PolarsError):
                columns[name] = pl.Series(name, [None if v is None else repr(v) for v in plain])
        else:
            columns[key] = pl.Series(key, values)
    order = [c for c in columns if c.startswith("param_")]
    order += [c for c in ("mean_test_score", "std_test_score", "rank_test_score") if c in columns]
    order += [c for c in columns if c not in order]
    return pl.DataFrame([columns[c] for c in order])
