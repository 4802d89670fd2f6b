"""Evaluation numerics against a plain scikit-learn loop doing the same work.

The headline case is issue 6's goal: evaluate a binary classifier on N rows with five
slice columns (each alone and every pair: 15 groupings; one column at size small) and two sensitive attributes
(each alone and their intersection), including 200 bootstrap resamples of the overall
metrics. The reference resamples row indices with NumPy and calls scikit-learn's metric
functions per resample, per slice, and Fairlearn per sensitive grouping.

At sizes medium and large the reference's bootstrap loop is timed on a subset of the
resamples and scaled linearly to the full count (each resample is the same work); the
case note and ``extras`` say how many were timed.

The store case measures what ``store.evals.run`` adds to the numeric core: loading the
registered version, checking the rows against its signature, hashing the data, judging
the policy's rules and recording the evaluation (catalog rows, slice table as Parquet,
audit entry), against loading, scoring and :func:`~mlcore.evaluation.evaluate.evaluate`
called directly on the same rows with the same settings.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from benches.harness import Case, Measurement, best_of

ROWS = {"small": 5_000, "medium": 100_000, "large": 1_000_000}
RESAMPLES = {"small": 5, "medium": 200, "large": 200}
# Resamples the scikit-learn reference actually runs; its time is scaled to RESAMPLES.
REFERENCE_RESAMPLES = {"small": 5, "medium": 20, "large": 4}
SLICES = {"origin": 3, "carrier": 16, "month": 12, "weekday": 7, "hour": 6}
# The smoke run slices on one small column: the reference's 765 groups at full
# width cost scikit-learn's per-call overhead ten times over, far past a smoke test.
SLICES_USED = {"small": ("origin",), "medium": tuple(SLICES), "large": tuple(SLICES)}
SENSITIVE = {"sex": 2, "age_band": 5}
METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "accuracy", "precision", "recall", "f1")


def make_frame(n_rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {
        name: rng.integers(0, k, n_rows).astype(np.int32)
        for name, k in (SLICES | SENSITIVE).items()
    }
    signal = rng.normal(size=n_rows) + 0.1 * columns["carrier"] - 0.2 * columns["sex"]
    y = (rng.uniform(size=n_rows) < 1 / (1 + np.exp(-signal))).astype(np.int8)
    noisy = signal + rng.normal(scale=1.0, size=n_rows)
    # Rounded probabilities: real models tie, and ties are the hard case for AUC.
    champion = np.round(1 / (1 + np.exp(-noisy)), 3)
    challenger = np.round(1 / (1 + np.exp(-(0.8 * noisy + 0.2 * signal))), 3)
    return pl.DataFrame(columns | {"y": y, "p": challenger, "p_champion": champion})


# -- mlcore -----------------------------------------------------------------------------


def mlcore_evaluation(frame: pl.DataFrame, slices: list[str], n_resamples: int) -> Any:
    from mlcore.evaluation.fairness import fairness_metrics
    from mlcore.evaluation.metrics import evaluate_metrics
    from mlcore.evaluation.slices import slice_metrics

    overall = evaluate_metrics("y", "p", n_resamples=n_resamples, data=frame)
    by_slice = slice_metrics("y", "p", slices, data=frame)
    fairness = fairness_metrics("y", "p", list(SENSITIVE), data=frame)
    return overall, by_slice, fairness


def mlcore_comparison(frame: pl.DataFrame, n_resamples: int) -> Any:
    from mlcore.evaluation.comparison import compare_models

    return compare_models("y", "p", "p_champion", n_resamples=n_resamples, data=frame)


# -- scikit-learn reference -------------------------------------------------------------


def sklearn_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as skm

    pred = p >= 0.5
    out = {}
    if 0 < y.sum() < len(y):
        out["roc_auc"] = skm.roc_auc_score(y, p)
        out["pr_auc"] = skm.average_precision_score(y, p)
    out["log_loss"] = skm.log_loss(y, p, labels=[0, 1])
    out["brier"] = skm.brier_score_loss(y, p, labels=[0, 1])
    out["accuracy"] = skm.accuracy_score(y, pred)
    out["precision"] = skm.precision_score(y, pred, zero_division=np.nan)
    out["recall"] = skm.recall_score(y, pred, zero_division=np.nan)
    out["f1"] = skm.f1_score(y, pred, zero_division=np.nan)
    bins = np.minimum((p * 10).astype(int), 9)
    gap = np.bincount(bins, weights=y - p, minlength=10)
    out["ece"] = np.abs(gap).sum() / len(y)
    return out


def sklearn_bootstrap(y: np.ndarray, p: np.ndarray, n_resamples: int, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(y), len(y))
        reps.append(sklearn_metrics(y[idx], p[idx]))
    return {k: np.percentile([r[k] for r in reps], [2.5, 97.5]) for k in reps[0]}


def sklearn_slices_and_fairness(frame: pl.DataFrame, slices: list[str]) -> Any:
    import fairlearn.metrics as fm
    from scipy import stats

    out = []
    families = [(c,) for c in slices] + list(itertools.combinations(slices, 2))
    for family in families:
        for part in frame.partition_by(list(family), maintain_order=False):
            out.append(sklearn_metrics(part["y"].to_numpy(), part["p"].to_numpy()))
    y = frame["y"].to_numpy()
    pred = (frame["p"].to_numpy() >= 0.5).astype(int)
    attrs = list(SENSITIVE)
    for family in [[a] for a in attrs] + [attrs]:
        groups = frame.select(family).to_pandas()
        for fn in (
            fm.demographic_parity_difference,
            fm.demographic_parity_ratio,
            fm.equalized_odds_difference,
            fm.equal_opportunity_difference,
        ):
            out.append(fn(y, pred, sensitive_features=groups))
        table = pl.DataFrame({"g": frame.select(family).hash_rows(), "s": pred})
        counts = table.pivot(on="s", index="g", values="s", aggregate_function="len")
        out.append(stats.chi2_contingency(counts.drop("g").fill_null(0).to_numpy()).pvalue)
    return out


# -- store.evals.run against the numeric calls it makes --------------------------------

STORE_POLICY = """
name = "bench"
[[rules]]
id = "rows"
kind = "sample_size"
description = "enough rows"
citation = "bench"
severity = "block"
min_rows = 1000
[[rules]]
id = "auc"
kind = "metric"
description = "discrimination"
citation = "bench"
severity = "block"
metric = "roc_auc"
min = 0.6
[[rules]]
id = "four-fifths"
kind = "fairness"
description = "adverse impact"
citation = "29 CFR 1607.4(D)"
severity = "warn"
measure = "demographic_parity_ratio"
min = 0.8
"""


def store_case(size: str, frame: pl.DataFrame, slices: list[str], n_resamples: int) -> Case:
    """One evaluation through the store vs the same scoring and evaluate() call directly."""
    state: dict[str, Any] = {}
    rows = frame.with_columns(x=pl.col("p_champion"))  # the model's one input
    options: dict[str, Any] = {"slices": slices, "sensitive": list(SENSITIVE)}
    options["n_resamples"] = n_resamples

    def setup() -> None:
        from sklearn.linear_model import LogisticRegression

        import mlcore

        state["dir"] = tempfile.mkdtemp(prefix="mlcore-bench-")
        store = mlcore.open(state["dir"] + "/store", create=True, actor="bench")
        sample = rows.head(10_000)
        model = LogisticRegression().fit(sample.select("x"), sample["y"])
        store.models.register("bench", model, training_data=sample.select("x"), code=[])
        store.evals.apply_policy(STORE_POLICY)
        state["store"] = store

    def teardown() -> None:
        state["store"].close()
        shutil.rmtree(state["dir"], ignore_errors=True)

    def through_store() -> Any:
        return state["store"].evals.run("bench", rows, label="y", **options)

    def direct() -> Any:
        from mlcore.evaluation.evaluate import evaluate
        from mlcore.registry.signature import predict

        store = state["store"]
        record = store.models.get("bench", 1)
        model = store.models.load("bench", 1)
        scores = predict(model, rows, record.signature)["score"].to_numpy()
        return evaluate(rows, label="y", score=scores, **options)

    return Case(
        name=f"store_evals_run_{rows.height}_rows",
        run=through_store,
        reference=direct,
        reference_name="load + predict + evaluate() directly",
        setup=setup,
        teardown=teardown,
        repeat=1 if size == "large" else 3,
        max_ratio=1.5,
        note="store overhead: signature check, data hash, rules, Parquet slice table, "
        "catalog rows and audit entry",
    )


# -- cases ------------------------------------------------------------------------------


def _scaled_measure(
    run: Callable[[], Any],
    fixed_reference: Callable[[], Any],
    bootstrap_reference: Callable[[int], Any],
    n_rows: int,
    n_resamples: int,
    timed_resamples: int,
    repeat: int,
) -> Callable[[], Measurement]:
    def measure() -> Measurement:
        run()  # compile the Numba kernels (cached on disk after the first run)
        seconds = best_of(run, repeat)
        fixed = best_of(fixed_reference, 1)
        per_resample = best_of(lambda: bootstrap_reference(timed_resamples), 1) / timed_resamples
        return Measurement(
            seconds,
            fixed + per_resample * n_resamples,
            extras={
                "rows": n_rows,
                "resamples": n_resamples,
                "reference_resamples_timed": timed_resamples,
                "reference_s_per_resample": per_resample,
            },
        )

    return measure


def cases(size: str) -> list[Case]:
    import fairlearn.metrics  # noqa: F401 - import before timing, not during
    import sklearn.metrics  # noqa: F401

    n_rows, n_resamples = ROWS[size], RESAMPLES[size]
    timed = REFERENCE_RESAMPLES[size]
    frame = make_frame(n_rows)
    slices = list(SLICES_USED[size])
    n_groupings = len(slices) + len(slices) * (len(slices) - 1) // 2
    y, p, p0 = (frame[c].to_numpy() for c in ("y", "p", "p_champion"))
    repeat = 1 if size == "large" else 2
    scaled = (
        f"reference bootstrap timed on {timed} of {n_resamples} resamples, scaled linearly"
        if timed < n_resamples
        else "reference runs every resample"
    )
    return [
        Case(
            name=f"evaluate_{n_rows}_rows_{len(slices)}_slices_2_sensitive",
            reference_name="sklearn+fairlearn loop",
            measure=_scaled_measure(
                lambda: mlcore_evaluation(frame, slices, n_resamples),
                lambda: sklearn_slices_and_fairness(frame, slices),
                lambda k: sklearn_bootstrap(y, p, k),
                n_rows,
                n_resamples,
                timed,
                repeat,
            ),
            max_ratio=0.1,
            note=f"overall metrics with {n_resamples} resamples + {n_groupings} slice groupings +"
            f" 3 sensitive groupings; {scaled}",
        ),
        Case(
            name=f"compare_champion_{n_rows}_rows",
            reference_name="sklearn loop on both models",
            measure=_scaled_measure(
                lambda: mlcore_comparison(frame, n_resamples),
                lambda: None,
                lambda k: (sklearn_bootstrap(y, p, k), sklearn_bootstrap(y, p0, k)),
                n_rows,
                n_resamples,
                timed,
                repeat,
            ),
            max_ratio=0.1,
            note=f"paired bootstrap deltas of 9 metrics, {n_resamples} resamples; {scaled}",
        ),
        store_case(size, frame, slices, n_resamples),
    ]
