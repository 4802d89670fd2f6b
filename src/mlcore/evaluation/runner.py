"""The steps of ``store.evals.run`` that happen before anything is recorded: :func:`assess`.

Read the rows, score the version (and the production champion) on them with
``store.models.predict`` -- hash-checked load and signature check included, nothing
written or logged -- turn labels and model outputs into what
:func:`~mlcore.evaluation.evaluate.evaluate` reads, compute drift against the training
data with the monitoring package, and judge every rule of the policies in force. All of
it runs outside catalog transactions; the other capabilities are reached through the
``models`` and ``features`` objects of the store.

How labels meet model outputs: a binary classifier's positive class is its second class
(``classes_[1]``) and its score the probability of it; a multiclass classifier's labels
become class positions and its scores the probability matrix; a regressor's prediction
is its score. A label the model has no class for is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.metrics import TaskName
from mlcore.evaluation.records import RuleResult
from mlcore.evaluation.rules import Context, Needs

if TYPE_CHECKING:
    from mlcore.evaluation.evaluate import EvaluationResult
    from mlcore.evaluation.records import PolicyVersion

__all__ = [
    "Assessment",
    "ModelOutput",
    "assess",
    "drift_table",
    "judge",
    "model_output",
    "task_of",
]


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
    models: Any,
    record: Any,
    frame: pl.DataFrame,
    label: str,
    task: str | None = None,
    trusted: Sequence[str | type] | None = None,
) -> ModelOutput:
    """Score ``frame`` with version ``record`` through ``models.predict`` (its signature
    checks the inputs)."""
    if label not in frame.columns:
        raise NotFound("label column", label, candidates=frame.columns)
    out = record.signature.output
    resolved = task_of(out, task)
    try:
        predictions = models.predict(
            record.name, frame, version=record.version, passthrough=(), trusted=trusted
        )
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


@dataclass(frozen=True)
class Assessment:
    """What an evaluation found, ready to record: the tables, the data record, the
    champion compared with, every rule's result, and the JSON document of the tables
    (all but the slices, which are recorded as a Parquet file)."""

    result: EvaluationResult
    dataset: dict[str, Any]
    champion: int | None
    rules: list[RuleResult]
    document: dict[str, Any]


def assess(
    models: Any,
    features: Any,
    record: Any,
    policies: Sequence[PolicyVersion],
    data: Any,
    *,
    label: str,
    slices: Sequence[str],
    sensitive: Sequence[str],
    task: str | None,
    where: str | None,
    reference: Any,
    compare_champion: bool,
    trusted: Sequence[str | type] | None,
    options: Mapping[str, Any],
) -> Assessment:
    """Evaluate ``record`` on ``data`` under ``policies`` (see ``store.evals.run``).

    ``options`` holds evaluate()'s threshold, cross, min_support, n_resamples,
    confidence and seed.
    """
    from mlcore.evaluation.evaluate import evaluate
    from mlcore.evaluation.inputs import load_data

    if record.signature is None:
        raise InvalidInput(
            f"{record.ref} cannot be evaluated: it was registered without training data, "
            "so it has no signature to score with",
            hint="Register it again with training_data=...",
        )
    needs = Needs()
    for p in policies:
        for rule in p.policy.rules:
            needs |= rule.needs()
    frame, dataset = load_data(data, where=where, features=features)
    candidate = model_output(models, record, frame, label, task, trusted)
    champion, champion_scores, champion_reason = _champion(
        models, record, frame, label, candidate, compare_champion
    )
    present = set(frame.columns)
    slice_columns = list(dict.fromkeys([*slices, *(c for c in needs.slices if c in present)]))
    extra = [c for c in needs.sensitive if c in present] if candidate.task == "binary" else []
    sensitive_columns = list(dict.fromkeys([*sensitive, *extra]))
    kept = [c for c in dict.fromkeys(slice_columns + sensitive_columns) if c in present]
    result = evaluate(
        pl.DataFrame([candidate.labels.alias(label), *(frame[c] for c in kept)]),
        label=label,
        score=candidate.scores,
        task=candidate.task,
        slices=slice_columns,
        sensitive=sensitive_columns,
        champion=champion_scores,
        slice_intervals=needs.slice_intervals,
        **options,
    )
    drift, drift_about = None, {"reason": "no drift rule in force"}
    if needs.reference or reference is not None:
        drift, drift_about = _drift(features, record, frame, reference)
    context = Context(
        result=result,
        card=record.card.to_dict(),
        columns=frozenset(frame.columns),
        drift=drift,
        drift_reason=drift_about.get("reason"),
        champion=champion,
        champion_reason=champion_reason,
    )
    settings = {"label": label, "slices": slice_columns, "sensitive": sensitive_columns}
    document = _document(
        result, settings | dict(options), champion, champion_reason, drift, drift_about
    )
    return Assessment(result, dataset, champion, judge(policies, context), document)


def _champion(
    models: Any, record: Any, frame: pl.DataFrame, label: str, candidate: ModelOutput, compare: bool
) -> tuple[int | None, np.ndarray | None, str | None]:
    """(champion version, its scores, why there are none) on the evaluation rows."""
    try:
        production = models.resolve(record.name)
    except NotFound:
        return None, None, f"no version of {record.name} serves production"
    if production.version == record.version:
        return None, None, f"{record.ref} is the version in production"
    which = f"champion {production.ref}"
    if not compare:
        return production.version, None, f"comparison with {which} was turned off"
    if production.signature is None:
        return production.version, None, f"{which} has no signature to score with"
    try:
        out = model_output(models, production, frame, label)
    except InvalidInput as exc:
        return production.version, None, f"{which} cannot score these rows: {exc.message}"
    if (out.task, out.classes) != (candidate.task, candidate.classes):
        return production.version, None, f"{which} is a {out.task} model of other classes"
    return production.version, out.scores, None


def _drift(
    features: Any, record: Any, frame: pl.DataFrame, reference: Any
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Drift of the evaluation rows against the training data, and where that came from."""
    from mlcore.evaluation.inputs import load_data

    if reference is None:
        trained_on = (record.lineage or {}).get("dataset") or {}
        if not trained_on.get("name"):
            return None, {
                "reason": f"no training data for {record.ref}: pass reference=..., or "
                "register versions with dataset=..."
            }
        reference = f"dataset:{trained_on['name']}/{trained_on['version']}"
    rows, about = load_data(reference, features=features, what="training data")
    try:
        table = drift_table(rows, frame, record.signature.columns)
    except InvalidInput as exc:
        return None, about | {"reason": exc.message}
    return table, about


def _document(
    result: EvaluationResult,
    settings: dict[str, Any],
    champion: int | None,
    champion_reason: str | None,
    drift: dict[str, Any] | None,
    drift_about: dict[str, Any],
) -> dict[str, Any]:
    """Every table of an evaluation but the slices (those go to a Parquet file)."""
    slices = None
    if result.slices is not None:
        worst = result.slices.worst
        slices = {
            "columns": list(result.slices.columns),
            "count": len(result.slices.slices),
            "worst_by": result.slices.worst_by,
            "min_support": result.slices.min_support,
            "worst": None if worst is None else worst.to_dict(),
        }
    return {
        "metrics": result.metrics.to_dict(),
        "comparison": None if result.comparison is None else result.comparison.to_dict(),
        "champion": {"version": champion, "reason": champion_reason},
        "fairness": None if result.fairness is None else result.fairness.to_dict(),
        "slices": slices,
        "drift": drift_about | {"columns": drift},
        "settings": settings,
        "warnings": list(result.warnings),
    }
