"""The steps of ``store.evals.run`` that happen before anything is recorded.

Score the version (and the production champion) on the evaluation rows with the
registry's loader and :func:`mlcore.registry.signature.predict` -- the signature check
included -- turn labels and model outputs into what :func:`evaluate` reads, compute
drift against the training data with the monitoring package, and judge every rule of
the policies in force. All of it runs outside catalog transactions.

How labels meet model outputs: a binary classifier's positive class is its second class
(``classes_[1]``) and its score the probability of it; a multiclass classifier's labels
become class positions and its scores the probability matrix; a regressor's prediction
is its score. A label the model has no class for is an error naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput
from mlcore.evaluation.metrics import TaskName
from mlcore.evaluation.records import RuleResult
from mlcore.evaluation.rules import Context

if TYPE_CHECKING:
    from mlcore.evaluation.records import PolicyVersion

__all__ = ["ModelOutput", "drift_table", "judge", "model_output", "task_of"]


def task_of(output: Any, requested: str | None = None) -> TaskName:
    """The evaluation task of a model with signature output ``output``.

    ``requested="binary"`` also reads a regressor's prediction as a binary score.
    """
    kind, classes = output.kind, output.classes
    inferred: TaskName
    if kind == "classifier" and classes:
        inferred = "binary" if len(classes) == 2 else "multiclass"
        if inferred == "multiclass" and not output.probabilities:
            raise InvalidInput(
                "a multiclass model without predict_proba cannot be evaluated",
                hint="Evaluate a classifier that reports class probabilities",
            )
    elif kind == "regressor":
        inferred = "regression"
    else:
        raise InvalidInput(
            f"{kind} models are not evaluated", hint="Evaluate classifiers and regressors"
        )
    if requested is None or requested == inferred:
        return inferred
    if requested == "binary" and inferred == "regression":
        return "binary"
    raise InvalidInput(
        f"task {requested!r} does not fit a {kind} with classes {list(classes or [])}",
        hint=f"Leave task out: this model is evaluated as {inferred}",
        field="task",
    )


def _labels(series: pl.Series, task: TaskName, classes: Sequence[Any] | None) -> pl.Series:
    """Labels as ``evaluate`` reads them: 0/1 (binary), class positions, or as they are."""
    if task == "regression" or classes is None:
        return series
    known = pl.Series("classes", list(classes))
    try:
        cast = series.cast(known.dtype)
    except Exception:  # Polars raises several types for an impossible cast
        raise InvalidInput(
            f"label column '{series.name}' is {series.dtype}, the model's classes "
            f"{list(classes)} are {known.dtype}",
            hint="Pass labels of the type the model was trained on",
            field=series.name,
        ) from None
    present = cast.drop_nulls().unique()
    unknown = present.filter(~present.is_in(known.implode()))
    if unknown.len():
        raise InvalidInput(
            f"label column '{series.name}' holds values the model has no class for: "
            f"{', '.join(map(repr, unknown.head(5).to_list()))}",
            hint=f"The model's classes are {list(classes)}",
            field=series.name,
        )
    if task == "binary":
        return (cast == classes[1]).cast(pl.Int8)
    return cast.replace_strict(known, pl.Series(range(len(classes))), return_dtype=pl.Int64)


@dataclass(frozen=True)
class ModelOutput:
    """One model's view of the evaluation rows: its task, labels recoded, scores."""

    task: TaskName
    labels: pl.Series
    scores: np.ndarray
    classes: tuple[Any, ...] | None


def model_output(
    model: Any, signature: Any, frame: pl.DataFrame, label: str, task: str | None = None
) -> ModelOutput:
    """Score ``frame`` with ``model`` (its ``signature`` checks the inputs)."""
    from mlcore.registry.signature import predict

    if label not in frame.columns:
        from mlcore.errors import NotFound

        raise NotFound("label column", label, candidates=frame.columns)
    out = signature.output
    resolved = task_of(out, task)
    try:
        predictions = predict(model, frame, signature)
    except ValueError as exc:  # the estimator's own refusal, e.g. NaN in its inputs
        raise InvalidInput(
            f"the model could not score the evaluation rows: {str(exc).splitlines()[0]}",
            hint="Clean the rows (missing values, types) the way its training data was",
        ) from None
    classes = out.classes if out.kind == "classifier" else None
    if resolved == "multiclass":
        scores = np.column_stack([predictions[c].to_numpy() for c in out.columns[1:]])
    elif "score" in predictions.columns:
        scores = predictions["score"].to_numpy()
    elif classes is not None:  # a binary classifier without probabilities: its decision
        scores = (predictions["prediction"] == classes[1]).cast(pl.Float64).to_numpy()
    else:
        scores = predictions["prediction"].cast(pl.Float64).to_numpy()
    return ModelOutput(resolved, _labels(frame[label], resolved, classes), scores, classes)


def drift_table(
    reference: pl.DataFrame, current: pl.DataFrame, columns: Sequence[str]
) -> dict[str, dict[str, float | None]]:
    """Per column, every drift statistic of ``current`` against ``reference``, exactly.

    Columns are the model inputs present in both frames that the monitoring profile
    can summarise (numbers, booleans, text).
    """
    from mlcore.monitoring import ReferenceProfile, drift_report

    shared = [c for c in columns if c in reference.columns and c in current.columns]
    if not shared:
        raise InvalidInput("the training data has none of the model's input columns")
    profile = ReferenceProfile.fit(reference.select(shared))
    used = list(profile.columns)
    report = drift_report(profile, current.select(used), reference=reference.select(used))
    return {
        col["column"]: {name: stat["value"] for name, stat in col["statistics"].items()}
        for col in report.to_dict()["columns"]
    }


def judge(policies: Sequence[PolicyVersion], context: Context) -> list[RuleResult]:
    """Every rule of every policy, judged on one evaluation, in policy and rule order."""
    results = []
    for p in policies:
        for rule in p.policy.rules:
            outcome = rule.check(context)
            results.append(
                RuleResult(
                    p.name,
                    p.version,
                    rule.id,
                    rule.kind,
                    rule.severity,
                    outcome.status,
                    outcome.value,
                    outcome.threshold,
                    outcome.op,
                    outcome.message,
                    rule.citation,
                    rule.description,
                    outcome.details,
                )
            )
    return results
