"""Registering versions, reading them back, loading them safely, and bad input."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlcore.errors import (
    CorruptArtifact,
    InvalidInput,
    NotFound,
    PermissionDenied,
    UntrustedArtifact,
)

from .conftest import audit_length, fit, snapshot


def test_versions_are_numbered_per_model(team, model) -> None:
    dana = team["dana"].models
    assert [dana.register("churn", model).version for _ in range(3)] == [1, 2, 3]
    assert dana.register("fraud", model).version == 1
    assert [v.version for v in dana.versions("churn")] == [1, 2, 3]


def test_register_records_artifact_signature_lineage_and_card(team, model, train) -> None:
    v = team["dana"].models.register(
        "churn",
        model,
        training_data=train,
        params={"C": 1.0, "penalty": np.str_("l2")},
        metrics={"auc": np.float64(0.875)},
        tags=["pii", "team=retention"],
        card={"description": "Churn within 30 days", "risk_tier": "high"},
        pipeline_run="run-7",
        features=["customers:age", "visits:*"],
    )
    got = team["admin"].models.get("churn", 1)
    assert got == v
    assert got.state == "draft" and got.created_by == "dana"
    blob = team["admin"].storage.read_blob(got.artifact_sha256)
    assert hashlib.sha256(blob).hexdigest() == got.artifact_sha256
    assert got.artifact["format"] == "skops" and got.artifact["estimator_type"] == "classifier"
    assert got.signature.columns == ["age", "visits"]
    assert got.input_example[0] == {"age": train["age"][0], "visits": train["visits"][0]}
    assert got.params == {"C": 1.0, "penalty": "l2"} and got.metrics == {"auc": 0.875}
    assert got.tags == {"pii": "", "team": "retention"}
    assert got.card.owner == "dana" and got.card.risk_tier == "high"
    assert got.features == ("customers:age", "visits:*")
    lineage = got.lineage
    assert lineage["pipeline_run"] == "run-7"
    assert lineage["training_data"]["rows"] == train.height
    assert lineage["code"]["source"] == __file__
    assert lineage["environment"]["packages"]["scikit-learn"]
    entries = team["admin"].audit_log(subject="model:churn/1")
    assert [e.action for e in entries] == ["models.register"]
    assert entries[0].details["sha256"] == got.artifact_sha256


def test_training_file_hash_is_the_file_sha256(team, model, train, tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    train.write_parquet(path)
    v = team["dana"].models.register("churn", model, training_data=path)
    assert v.lineage["training_data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_dataset_record_supplies_features_and_definition_versions(team, model) -> None:
    record = {
        "name": "churn_training",
        "version": 2,
        "sha256": "ab" * 32,
        "features": ["customers:age", "customers:visits"],
        "definition_versions": {"customers": 3},
    }
    v = team["dana"].models.register("churn", model, dataset=record, features=["customers:age"])
    assert v.features == ("customers:age", "customers:visits")
    assert v.lineage["definition_versions"] == {"customers": 3}
    assert v.lineage["dataset"]["sha256"] == "ab" * 32


def test_dataset_by_name_comes_from_the_feature_store(team, model) -> None:
    from mlcore.registry.registry import Registry

    before = snapshot(team["admin"])
    with pytest.raises(NotFound, match="dataset 'churn_training' not found"):
        team["dana"].models.register("churn", model, dataset="churn_training")
    bare = Registry(team["dana"].storage)  # no store object: no feature store to ask
    with pytest.raises(InvalidInput, match="no feature store is available"):
        bare.register("churn", model, dataset="churn_training")
    assert snapshot(team["admin"]) == before


def test_load_returns_an_equivalent_model(team, model, train) -> None:
    team["dana"].models.register("churn", model, training_data=train)
    loaded = team["admin"].models.load("churn", 1)
    X = train.select("age", "visits")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_register_and_load_honour_the_max_artifact_bytes_setting(team, model, monkeypatch):
    v = team["dana"].models.register("churn", model)
    monkeypatch.setenv("MLCORE_MAX_ARTIFACT_BYTES", str(v.artifact["size"] - 1))
    with pytest.raises(InvalidInput, match="too large"):
        team["admin"].models.load("churn", 1)
    with pytest.raises(InvalidInput, match="too large"):
        team["dana"].models.register("churn", model)
    assert team["dana"].models.register("churn", model, max_bytes=v.artifact["size"]).version == 2


def test_load_refuses_a_tampered_or_missing_artifact(team, model) -> None:
    v = team["dana"].models.register("churn", model)
    path = team["admin"].storage.blobs.path(v.artifact_sha256)
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(CorruptArtifact, match="modified"):
        team["admin"].models.load("churn", 1)
    path.unlink()
    with pytest.raises(CorruptArtifact, match="missing"):
        team["admin"].models.load("churn", 1)


def test_untrusted_types_must_be_trusted_explicitly(team, train) -> None:
    forest = RandomForestClassifier(n_estimators=2, random_state=0)
    forest.fit(train.select("age", "visits"), train["churned"])
    before = snapshot(team["admin"])
    with pytest.raises(UntrustedArtifact, match=re.escape("sklearn.tree._tree.Tree")) as err:
        team["dana"].models.register("forest", forest)
    assert snapshot(team["admin"]) == before
    v = team["dana"].models.register("forest", forest, trusted=err.value.types)
    assert v.trusted == tuple(err.value.types)
    loaded = team["admin"].models.load("forest", 1)  # the author's recorded trust applies
    np.testing.assert_array_equal(
        loaded.predict(train.select("age", "visits")), forest.predict(train.select("age", "visits"))
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": object()}, "no serializer for objects of type builtins.object"),
        ({"model": LogisticRegression()}, "unfitted"),
        ({"name": "../etc"}, "not a valid name"),
        ({"metrics": {"auc": "high"}}, "not a number"),
        ({"metrics": {"auc": float("inf")}}, "finite"),
        ({"params": {"C": object()}}, "JSON-ready"),
        ({"tags": {"team": 3}}, "text value"),
        ({"card": {"risk": "high"}}, "Did you mean 'risk_tier'"),
        ({"card": {"risk_tier": "extreme"}}, "not one of low, medium, high, critical"),
        ({"features": ["age"]}, "VIEW:FEATURE"),
        ({"max_bytes": 100}, "too large"),
        ({"training_data": pl.DataFrame({"age": [1.0]})}, "lacks the model's input columns"),
    ],
)
def test_bad_register_input_changes_nothing(team, model, kwargs, match) -> None:
    args = {"name": "churn", "model": model, **kwargs}
    before, entries = snapshot(team["admin"]), audit_length(team["admin"])
    with pytest.raises(InvalidInput, match=match):
        team["dana"].models.register(args.pop("name"), args.pop("model"), **args)
    assert snapshot(team["admin"]) == before
    assert audit_length(team["admin"]) == entries


def test_unknown_actor_is_denied_and_nothing_changes(team, model) -> None:
    before = snapshot(team["admin"])
    with pytest.raises(PermissionDenied, match="no role in this store"):
        team["admin"].as_actor("mallory").models.register("churn", model)
    with pytest.raises(PermissionDenied):
        team["rita"].models.register("churn", model)  # reviewers do not register
    assert snapshot(team["admin"]) == before
    denied = team["admin"].audit_log(action="access.denied")
    assert [e.subject for e in denied] == ["actor:mallory", "actor:rita"]


def test_unknown_model_and_version_suggest_the_closest(team, model) -> None:
    team["dana"].models.register("churn", model)
    with pytest.raises(NotFound, match=re.escape("model 'chrun' not found. Did you mean 'churn'?")):
        team["admin"].models.get("chrun", 1)
    with pytest.raises(NotFound, match=re.escape("churn/4' not found. churn has versions 1 to 1")):
        team["admin"].models.load("churn", 4)
    with pytest.raises(InvalidInput, match="not a version number"):
        team["admin"].models.get("churn", "one")
    with pytest.raises(NotFound, match="No version of churn is in production yet"):
        team["admin"].models.load("churn")


def test_a_version_named_in_text(team, model) -> None:
    for _ in range(2):
        team["dana"].models.register("churn", model)
    models = team["admin"].models
    models.set_alias("churn", "challenger", 1)
    assert models.resolve_ref("churn:2").version == 2
    assert models.resolve_ref("churn", alias="challenger").version == 1
    for bad in ("churn:x", "churn:0", "churn:"):
        with pytest.raises(InvalidInput, match="is not a number") as caught:
            models.resolve_ref(bad)
        assert caught.value.field == "version"
    with pytest.raises(NotFound, match="No version of churn is in production yet"):
        models.resolve_ref("churn")


def test_list_and_get_latest(team, model, train) -> None:
    dana = team["dana"].models
    dana.register("churn", model)
    dana.register("churn", fit(train, C=0.5), card={"owner": "emil"})
    dana.register("fraud", model)
    rows = {m.name: m for m in team["admin"].models.list()}
    assert (rows["churn"].versions, rows["churn"].latest_version) == (2, 2)
    assert rows["churn"].owner == "emil" and rows["churn"].production is None
    assert team["admin"].models.get("churn").version == 2


def test_to_dict_is_json_ready(team, model, train) -> None:
    import json

    from mlcore.cli.output import jsonable

    v = team["dana"].models.register("churn", model, training_data=train)
    data = json.loads(json.dumps(jsonable(v)))
    assert data["signature"]["inputs"][0] == {"name": "age", "type": "float64", "nullable": False}
    assert data["card"]["owner"] == "dana"


def test_registering_does_not_hold_the_catalog_while_serialising(team, train) -> None:
    # A model whose serialisation takes a while: the catalog must be free meanwhile.
    held = []
    catalog = team["admin"].storage.catalog

    class Slow(LogisticRegression):
        def __getstate__(self):
            held.append(catalog.in_transaction())
            return super().__getstate__()

    slow = Slow().fit(train.select("age", "visits"), train["churned"])
    with pytest.raises(InvalidInput):  # a local class cannot be imported by another process
        team["dana"].models.register("slow", slow)
    assert held and not any(held)
