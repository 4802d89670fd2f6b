"""The registry with the real feature store: dataset lineage, discovery, online features."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from mlcore import Entity, FeatureView, Field

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DRIVER = Entity("driver", join_keys=["driver_id"])
STATS = FeatureView(
    "driver_stats",
    entities=DRIVER,
    schema=[Field("rate", "float64"), Field("trips", "int64")],
    event_timestamp="ts",
    ttl="1d",
)


def test_dataset_lineage_discovery_and_online_scoring(store) -> None:
    rng = np.random.default_rng(0)
    drivers = np.arange(40)
    store.features.apply([DRIVER, STATS])
    store.features.ingest(
        "driver_stats",
        pl.DataFrame(
            {
                "driver_id": drivers,
                "ts": [NOW - dt.timedelta(hours=2)] * 40,
                "rate": rng.uniform(0, 1, 40),
                "trips": rng.integers(0, 30, 40),
            }
        ),
    )
    entities = pl.DataFrame(
        {"driver_id": drivers, "event_timestamp": [NOW - dt.timedelta(hours=1)] * 40}
    )
    dataset = store.features.save_dataset(
        "drivers", entities, ["driver_stats:rate", "driver_stats:trips"]
    )
    train = store.features.load_dataset("drivers")
    label = (train["rate"] > 0.5).to_numpy()
    model = LogisticRegression().fit(train.select("rate", "trips"), label)

    v = store.models.register("quality", model, training_data=train, dataset="drivers")
    assert v.features == ("driver_stats:rate", "driver_stats:trips")
    assert v.lineage["dataset"]["sha256"] == dataset.sha256
    assert v.lineage["definition_versions"] == {"driver_stats": 1}
    assert store.models.using_features(["driver_stats"]) == [("quality", 1)]

    store.features.materialize()
    keys = pl.DataFrame({"driver_id": [3, 17, 5]})
    scored = store.models.score(
        "quality", keys, version=1, entity_features=["driver_stats:rate", "driver_stats:trips"]
    )
    online = store.features.online(keys, ["driver_stats:rate", "driver_stats:trips"])
    expected = model.predict_proba(online.select("rate", "trips").to_pandas())[:, 1]
    assert scored["driver_id"].to_list() == [3, 17, 5]
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-12)
