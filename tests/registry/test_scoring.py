"""Batch scoring: predictions equal scikit-learn's, the signature guards the input, hooks fire."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from mlcore.errors import CorruptArtifact, InvalidInput, NotFound
from mlcore.registry import scoring
from mlcore.registry.registry import Registry
from mlcore.registry.signature import SignatureMismatch

from .conftest import fit, training_frame


@pytest.fixture(autouse=True)
def _fresh_cache():
    scoring.clear_cache()
    yield
    scoring.clear_cache()


@pytest.fixture
def released(team, model, train):
    models = team["dana"].models
    models.register("churn", model, training_data=train)
    models.submit("churn", 1)
    team["rita"].models.approve("churn", 1)
    team["emil"].models.release("churn", 1)
    return team


def batch(rows: int = 40) -> pl.DataFrame:
    return training_frame(rows, seed=3).drop("churned")


def test_scores_equal_scikit_learn(released, model) -> None:
    frame = batch()
    result = released["admin"].models.score("churn", frame)
    X = frame.select("age", "visits").to_pandas()
    assert result.columns == ["customer", "prediction", "score"]
    assert result["customer"].to_list() == frame["customer"].to_list()
    np.testing.assert_allclose(result["score"].to_numpy(), model.predict_proba(X)[:, 1], rtol=1e-12)
    assert result["prediction"].to_list() == model.predict(X).tolist()


def test_input_from_a_file_and_output_to_parquet(released, tmp_path) -> None:
    source, out = tmp_path / "batch.csv", tmp_path / "out" / "scores.parquet"
    batch().write_csv(source)
    result = released["admin"].models.score("churn", source, out=out, passthrough=[])
    assert pl.read_parquet(out).equals(result)
    assert result.columns == ["prediction", "score"]
    assert [p.name for p in out.parent.iterdir()] == ["scores.parquet"]  # no temporary left


def test_signature_mismatch_names_every_problem(released) -> None:
    bad = batch().drop("age").with_columns(visits=pl.lit("many"))
    with pytest.raises(SignatureMismatch) as err:
        released["admin"].models.score("churn", bad)
    assert "missing column 'age'" in str(err.value)
    assert "column 'visits' is string, expected int64" in str(err.value)
    assert err.value.exit_code == 2


def test_version_alias_and_production_selection(released, train) -> None:
    models = released["dana"].models
    other = fit(train, C=0.001)
    models.register("churn", other, training_data=train)
    models.set_alias("churn", "challenger", 2)
    frame = batch()
    X = frame.select("age", "visits").to_pandas()
    by_alias = released["admin"].models.score("churn", frame, alias="challenger")
    by_number = released["admin"].models.score("churn", frame, version=2)
    np.testing.assert_allclose(by_alias["score"].to_numpy(), other.predict_proba(X)[:, 1])
    assert by_alias.equals(by_number)
    with pytest.raises(NotFound, match="churn@champion"):
        released["admin"].models.score("churn", frame, alias="champion")


def test_model_is_loaded_once_per_process_but_resolved_every_time(released, monkeypatch) -> None:
    storage = released["admin"].storage
    reads = []
    read_blob = storage.read_blob
    monkeypatch.setattr(storage, "read_blob", lambda sha: reads.append(sha) or read_blob(sha))
    models = released["admin"].models
    first = models.score("churn", batch())
    second = models.score("churn", batch())
    assert first.equals(second) and len(reads) == 1
    models.set_alias("churn", "staging", 1)
    models.score("churn", batch(), alias="staging")  # same artifact: still cached
    assert len(reads) == 1


def test_a_tampered_artifact_is_never_scored(released) -> None:
    v = released["admin"].models.get("churn", 1)
    path = released["admin"].storage.blobs.path(v.artifact_sha256)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(CorruptArtifact):
        released["admin"].models.score("churn", batch())


def test_versions_without_signature_cannot_be_scored(team, model) -> None:
    team["dana"].models.register("churn", model)
    with pytest.raises(InvalidInput, match="no signature"):
        team["admin"].models.score("churn", batch(), version=1)


def test_monitor_hook_receives_the_batch(released) -> None:
    logged = []

    class Monitors:
        def log_scoring(self, name, version, *, inputs, outputs):
            logged.append((name, version, inputs.height, outputs.columns))

    registry = Registry(released["admin"].storage, hooks=SimpleNamespace(monitors=Monitors()))
    registry.score("churn", batch(7))
    assert logged == [("churn", 1, 7, ["customer", "prediction", "score"])]


def test_entity_features_come_from_the_online_table(released, model) -> None:
    full = batch(5)
    asked = []

    class Features:
        def online(self, keys, refs):
            asked.append((keys.columns, refs))
            looked_up = full.join(keys.select("customer"), on="customer", how="right")
            return looked_up.select("customer", "age", "visits")

    registry = Registry(released["admin"].storage, hooks=SimpleNamespace(features=Features()))
    result = registry.score(
        "churn", full.select("customer"), entity_features=["customers:age", "customers:visits"]
    )
    assert asked == [(["customer"], ["customers:age", "customers:visits"])]
    expected = model.predict_proba(full.select("age", "visits").to_pandas())[:, 1]
    np.testing.assert_allclose(result["score"].to_numpy(), expected)
    with pytest.raises(InvalidInput, match="online table"):
        Registry(released["admin"].storage).score(
            "churn", full.select("customer"), entity_features=["customers:age"]
        )


def test_predict_is_score_without_writing_or_logging(released, tmp_path) -> None:
    logged = []

    class Monitors:
        def log_scoring(self, name, version, *, inputs, outputs):
            logged.append(name)

    registry = Registry(released["admin"].storage, hooks=SimpleNamespace(monitors=Monitors()))
    files = sorted(p for p in released["admin"].path.rglob("*") if p.is_file())
    predicted = registry.predict("churn", batch(), version=1)
    assert (
        logged == []
        and sorted(p for p in released["admin"].path.rglob("*") if p.is_file()) == files
    )
    assert predicted.equals(registry.score("churn", batch(), out=tmp_path / "s.parquet"))
    assert logged == ["churn"]
    assert registry.predict("churn", batch(), passthrough=()).columns == ["prediction", "score"]
    with pytest.raises(SignatureMismatch, match="missing column 'age'"):
        registry.predict("churn", batch().drop("age"))
