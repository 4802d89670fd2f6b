"""Batch scoring with a signature check, against a bare ``predict_proba`` on the same frame.

Goal (issue 5): scoring costs at most 1.2x the bare call. The reference gets the
model's columns already selected from the same Polars frame, converted the way
that model takes them (a NumPy array for a model fitted on arrays, the frame
itself for one fitted on a data frame); mlcore's side also checks the
signature, derives labels and builds the output frame with a passthrough id.
The HistGradientBoosting case runs OpenMP on one thread (see the case).
Serialisation round trips of a small model are reported beside skops' own.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from benches.harness import Case
from mlcore.registry.artifacts import deserialize, serialize
from mlcore.registry.signature import infer_signature, predict

ROWS = {"small": 20_000, "medium": 200_000, "large": 1_000_000}
FEATURES = [f"x{i}" for i in range(8)]


def _frame(rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {name: rng.normal(size=rows) for name in FEATURES}
    return pl.DataFrame(
        {"id": np.arange(rows), **columns, "plan": rng.choice(["basic", "plus", "pro"], rows)}
    )


def _label(frame: pl.DataFrame) -> np.ndarray:
    return (frame["x0"] + frame["x1"] > 0).to_numpy()


def cases(size: str) -> list[Case]:
    # Each timed call is preceded by a full gc.collect() (harness.best_of), which
    # costs more than a small predict: few repeats at small size, where the
    # suite is only smoke-run.
    repeat = 2 if size == "small" else 7
    frame = _frame(ROWS[size])
    train = _frame(5_000, seed=1)
    y = _label(train)
    train_array = train.select(FEATURES).to_numpy()

    on_array = LogisticRegression().fit(train_array, y)
    array_sig = infer_signature(train, on_array, columns=FEATURES)
    on_frame = LogisticRegression().fit(train.select(FEATURES), y)
    frame_sig = infer_signature(train, on_frame)
    with threadpool_limits(1):
        hgb = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(
            train_array, np.digitize(train["x0"].to_numpy(), [-0.5, 0.5])
        )
    hgb_sig = infer_signature(train, hgb, columns=FEATURES)
    pipeline = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), FEATURES), ("cat", OneHotEncoder(), ["plan"])]
        ),
        LogisticRegression(),
    ).fit(train.select(*FEATURES, "plan"), y)
    pipeline_sig = infer_signature(train, pipeline)

    def scoring(name: str, model, sig, reference, *, one_thread: bool = False) -> Case:
        limits: list[threadpool_limits] = []
        return Case(
            name=f"predict_{name}",
            run=lambda: predict(model, frame, sig, passthrough=["id"]),
            reference=reference,
            reference_name="predict_proba",
            repeat=repeat,
            # The goal is stated for 1M rows; at 20k a fixed ~0.1 ms per call shows.
            max_ratio=None if size == "small" else 1.2,
            setup=(lambda: limits.append(threadpool_limits(1))) if one_thread else None,
            teardown=(lambda: limits.pop().restore_original_limits()) if one_thread else None,
            note=f"{frame.height:,} rows" + (", OpenMP on one thread" if one_thread else ""),
        )

    small_model = serialize(on_frame)
    return [
        scoring(
            "logistic_array",
            on_array,
            array_sig,
            lambda: on_array.predict_proba(frame.select(FEATURES).to_numpy()),
        ),
        scoring(
            "logistic_frame",
            on_frame,
            frame_sig,
            lambda: on_frame.predict_proba(frame.select(FEATURES)),
        ),
        scoring(
            "hgb_3_classes",
            hgb,
            hgb_sig,
            lambda: hgb.predict_proba(frame.select(FEATURES).to_numpy()),
            # OpenMP threads spin against each other on a busy machine (10x swings);
            # one thread keeps the ratio about mlcore's overhead.
            one_thread=True,
        ),
        scoring(
            "column_transformer",
            pipeline,
            pipeline_sig,
            lambda: pipeline.predict_proba(frame.select(*FEATURES, "plan")),
        ),
        Case(
            name="serialize_small_model",
            run=lambda: serialize(on_frame),
            reference=lambda: skops.io.dumps(on_frame),
            reference_name="skops.io.dumps",
            repeat=3 * repeat,
            note="adds fit check, trust scan, import check",
        ),
        Case(
            name="deserialize_small_model",
            run=lambda: deserialize(small_model.data),
            reference=lambda: skops.io.loads(small_model.data),
            reference_name="skops.io.loads",
            repeat=3 * repeat,
            note="adds size and trust checks",
        ),
    ]
