"""Ready-made steps: the components, feature-store reads and model registration.

Each wraps a plain function so that it can be wired into a pipeline as it is::

    from mlcore.pipelines import FeatureSnapshot, InputFile, pipeline, steps

    @pipeline
    def churn(seed: int = 0):
        data = steps.features(InputFile("customers.parquet"), FeatureSnapshot(["customer:*"]))
        checked = steps.validate(data, [{"kind": "null_share", "column": "age", "max": 0.1}])
        cleaned, _ = steps.clean(checked, impute={"age": "median"})
        train, test = steps.split(cleaned, test_size=0.2, seed=seed)
        model = steps.train(train, "churned", "sklearn.linear_model.LogisticRegression")
        steps.register(model, "churn", training_data=train)

Pure steps (``validate``, ``clean``, ``split``, ``split_train_valid_test``,
``train``, ``tune``) run wherever the engine puts them, workers included.
Steps that need the store (``features``, ``dataset``, ``register``,
``evaluate``) are
declared ``uses_store=True``: they run in the process running the pipeline,
which holds the store, and take it from the pinned input or from
:func:`~mlcore.pipelines.context.current_run`. Registry and feature-store calls
are short transactions around work done outside them, so running them there
keeps every catalog write in one process and never makes a worker wait for
the catalog.

Estimators are best given as a dotted class path plus ``params`` (text that a
config file and ``--param`` can hold); an estimator object works too and
enters the cache key by its serialised form. Give ``validate`` its
expectations file as an ``InputFile`` so that editing the file misses the cache.

``evaluate`` records an evaluation of the version ``register`` returned under
the policies in force (``store.evals.run``) and, by default, fails the step
when a block rule fails, so that a low-grade model stops the pipeline there.

Examples
--------
>>> import polars as pl
>>> from mlcore.pipelines import pipeline
>>> frame = pl.DataFrame({"x": list(range(10)), "y": [0, 1] * 5})
>>> @pipeline
... def flow(seed: int = 0):
...     train, test = split(validate(frame, [{"kind": "row_count", "min": 5}]), seed=seed)
>>> result = flow.run()
>>> result.output("split", "train").height, result.output("split", "test").height
(8, 2)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.capabilities import capability
from mlcore.errors import CheckFailed, InvalidInput
from mlcore.pipelines import components
from mlcore.pipelines.components.train import TRUSTED_TYPES
from mlcore.pipelines.context import current_run
from mlcore.pipelines.feature_inputs import FeatureSnapshot, SavedDataset
from mlcore.pipelines.step import step

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "EvaluationFailed",
    "clean",
    "dataset",
    "evaluate",
    "features",
    "register",
    "split",
    "split_train_valid_test",
    "train",
    "tune",
    "validate",
]


def _frame(value: Any) -> Any:
    """A frame, or a path (an InputFile included) for the components to read."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


@step(outputs="validated")
def validate(frame: Any, expectations: Any, max_examples: int = 5) -> pl.DataFrame:
    """The frame, unchanged, once every expectation holds.

    A violation fails the step with ``ValidationFailed`` (not retried, exit
    code 1): its record's error details hold the full report.
    """
    from mlcore.frames import to_polars

    data = to_polars(_frame(frame), what="frame to validate")
    expected = _frame(expectations)
    components.validate(data, expected, max_examples=max_examples).raise_if_failed()
    return data


@step(outputs=("cleaned", "cleaning"))
def clean(
    frame: Any,
    impute: dict[str, Any] | None = None,
    clip: dict[str, Any] | None = None,
    dedupe: bool | str | list[str] | dict[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The cleaned frame and what cleaning did (with the fitted fill values and bounds)."""
    cleaned, report = components.clean(_frame(frame), impute=impute, clip=clip, dedupe=dedupe)
    return cleaned, report.to_dict()


@step(outputs=("train", "test"))
def split(
    frame: Any,
    method: str = "random",
    test_size: float | None = None,
    seed: int = 0,
    stratify: str | list[str] | None = None,
    time_column: str | None = None,
    cutoff: Any = None,
    group_column: str | list[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train and test frames; see :func:`mlcore.pipelines.components.split`."""
    if isinstance(cutoff, list | tuple):
        raise InvalidInput(
            "a cutoff pair makes three frames", hint="Use steps.split_train_valid_test"
        )
    train, test = components.split(
        _frame(frame),
        method,
        test_size=test_size,
        seed=seed,
        stratify=stratify,
        time_column=time_column,
        cutoff=cutoff,
        group_column=group_column,
    )
    return train, test


@step(outputs=("train", "valid", "test"))
def split_train_valid_test(
    frame: Any,
    method: str = "random",
    test_size: float | None = None,
    valid_size: float = 0.2,
    seed: int = 0,
    stratify: str | list[str] | None = None,
    time_column: str | None = None,
    cutoff: list[Any] | None = None,
    group_column: str | list[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Train, validation and test frames; see :func:`mlcore.pipelines.components.split`."""
    if cutoff is None and not valid_size > 0:
        raise InvalidInput(f"valid_size={valid_size!r} leaves no validation frame", hint="Use > 0")
    train, valid, test = components.split(
        _frame(frame),
        method,
        test_size=test_size,
        valid_size=valid_size if cutoff is None else 0.0,
        seed=seed,
        stratify=stratify,
        time_column=time_column,
        cutoff=cutoff,
        group_column=group_column,
    )
    return train, valid, test


@step(outputs="model")
def train(
    frame: Any,
    target: str,
    estimator: Any,
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    encoder: str | None = "ordinal",
    random_state: int | None = 0,
) -> Any:
    """A fitted scikit-learn Pipeline; see :func:`mlcore.pipelines.components.train`."""
    return components.train(
        _frame(frame),
        target,
        estimator,
        features=features,
        params=params,
        encoder=encoder,
        random_state=random_state,
    )


@step(outputs=("model", "tuning"))
def tune(
    frame: Any,
    target: str,
    estimator: Any,
    param_distributions: dict[str, Any],
    method: str = "halving",
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    encoder: str | None = "ordinal",
    cv: int = 5,
    time_column: str | None = None,
    n_iter: int = 10,
    scoring: str | None = None,
    n_jobs: int | None = None,
    random_state: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """The refitted best model and the search (best parameters, score, every candidate)."""
    result = components.tune(
        _frame(frame),
        target,
        estimator,
        param_distributions,
        method=method,
        features=features,
        params=params,
        encoder=encoder,
        cv=cv,
        time_column=time_column,
        n_iter=n_iter,
        scoring=scoring,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    return result.best_estimator, result.to_dict()


@step(uses_store=True, outputs="features")
def features(
    entities: Any,
    features: FeatureSnapshot,
    timestamp: str = "event_timestamp",
    full_names: bool = False,
    key_map: dict[str, Any] | None = None,
    assume_tz: str | None = None,
) -> pl.DataFrame:
    """Features joined point in time onto ``entities``, as of the run's pinned snapshot.

    ``entities`` is a frame (a step output, say) or a file; ``features`` a
    :class:`~mlcore.pipelines.feature_inputs.FeatureSnapshot`, whose data
    decides the cache key. See ``store.features.historical`` for the rest.
    """
    if not isinstance(features, FeatureSnapshot):
        raise InvalidInput(
            f"features must be a FeatureSnapshot, not {type(features).__name__}",
            hint="Write FeatureSnapshot(['view:feature', ...]): new feature data then "
            "means a new cache key",
            field="features",
        )
    return features.store.features.historical(
        _frame(entities),
        features.features,
        timestamp=timestamp,
        full_names=full_names,
        as_of=features.snapshot,
        key_map=key_map,
        assume_tz=assume_tz,
        versions=features.versions,
    )


@step(uses_store=True, outputs="dataset")
def dataset(dataset: SavedDataset) -> pl.DataFrame:
    """A saved training dataset's rows (checked against their sha256)."""
    if not isinstance(dataset, SavedDataset):
        raise InvalidInput(
            f"dataset must be a SavedDataset, not {type(dataset).__name__}",
            hint="Write SavedDataset('name') or SavedDataset('name', version=2)",
            field="dataset",
        )
    return dataset.store.features.load_dataset(dataset.name, dataset.version)


@step(uses_store=True, outputs="model_version")
def register(
    model: Any,
    name: str,
    training_data: Any = None,
    metrics: dict[str, float] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, str] | list[str] | None = None,
    card: dict[str, Any] | None = None,
    trusted: list[str] | None = None,
    features: list[str] | FeatureSnapshot | None = None,
) -> dict[str, Any]:
    """Register ``model`` as the next version of ``name``, recording this run as its origin.

    The version's lineage names the run (``pipeline_run``) and the pipeline's
    file as its code. The mlcore types a model from ``train`` or ``tune``
    holds are trusted; name others (``sklearn.tree._tree.Tree`` for tree
    models) in ``trusted``. Returns ``{"model", "version", "ref", "artifact_sha256",
    "pipeline_run"}``; a cache hit returns the version an earlier run
    registered instead of registering the same model again.
    """
    run = current_run()
    source = run.source_file
    version = run.store.models.register(
        name,
        model,
        training_data=_frame(training_data),
        metrics=metrics,
        params=params,
        tags=tags,
        card=card,
        trusted=[*TRUSTED_TYPES, *(trusted or ())],
        pipeline_run=run.run_id,
        features=features.features if isinstance(features, FeatureSnapshot) else features,
        code=[source] if source is not None and Path(source).is_file() else None,
    )
    return {
        "model": version.name,
        "version": version.version,
        "ref": version.ref,
        "artifact_sha256": version.artifact_sha256,
        "pipeline_run": run.run_id,
    }


class EvaluationFailed(CheckFailed):
    """An evaluation a pipeline recorded failed block rules; ``evaluation`` summarises it."""

    def __init__(self, evaluation: dict[str, Any]) -> None:
        self.evaluation = evaluation
        failed = [r for r in evaluation["rules"] if r.get("blocking")]
        listed = "; ".join(f"{r['rule']}: {r['message']}" for r in failed)
        super().__init__(
            f"evaluation {evaluation['id']} of {evaluation['model']}/{evaluation['version']} "
            f"failed {len(failed)} block rule(s) ({listed})",
            hint=f"See mlcore eval show {evaluation['id']}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "evaluation": self.evaluation}


@step(uses_store=True, cache=False, outputs="evaluation")
def evaluate(
    model_version: dict[str, Any],
    data: Any,
    label: str,
    policy: str | list[str] | None = None,
    slices: list[str] | None = None,
    sensitive: list[str] | None = None,
    where: str | None = None,
    threshold: float = 0.5,
    n_resamples: int = 200,
    seed: int = 0,
    compare_champion: bool = True,
    require_pass: bool = True,
) -> dict[str, Any]:
    """Evaluate the version ``register`` returned on ``data`` and record it in the store.

    See ``store.evals.run`` for the parameters. Never cached: an evaluation is
    judged under the policies in force when it runs, which a new policy version
    changes without changing this step's inputs. Returns the evaluation's id,
    verdict, metrics and rule results; with ``require_pass`` a failing verdict
    fails the step (:class:`EvaluationFailed`, exit code 1) after recording it.
    """
    run = current_run()
    evals = capability(run.store, "evals")
    if evals is None:
        raise InvalidInput(
            "this mlcore has no evaluation capability", hint="Upgrade mlcore to evaluate"
        )
    evaluation = evals.run(
        model_version["model"],
        _frame(data),
        label=label,
        version=model_version["version"],
        policy=policy,
        slices=slices or (),
        sensitive=sensitive or (),
        where=where,
        threshold=threshold,
        n_resamples=n_resamples,
        seed=seed,
        compare_champion=compare_champion,
    )
    summary = {
        "id": evaluation.id,
        "model": evaluation.model,
        "version": evaluation.version,
        "verdict": evaluation.verdict,
        "metrics": dict(evaluation.metrics),
        "rules": [
            {
                "rule": f"{r.policy}/{r.rule}",
                "status": r.effective,
                "severity": r.severity,
                "value": r.value,
                "threshold": r.threshold,
                "message": r.message,
                "blocking": r.blocking,
            }
            for r in evaluation.rules
        ],
    }
    if require_pass and evaluation.verdict == "fail":
        raise EvaluationFailed(summary)
    return summary
