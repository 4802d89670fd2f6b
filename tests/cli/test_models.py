"""``mlcore models ...`` and ``mlcore score``: exit codes, stderr sentences, --json results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import skops.io
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mlcore


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    train = pl.DataFrame({"id": np.arange(50), "x": rng.normal(size=50), "y": rng.normal(size=50)})
    label = (train["x"] + train["y"] > 0).to_numpy()
    model = LogisticRegression().fit(train.select("x", "y"), label)
    paths = {
        "model": tmp_path / "model.skops",
        "train": tmp_path / "train.parquet",
        "batch": tmp_path / "batch.csv",
    }
    skops.io.dump(model, paths["model"])
    train.write_parquet(paths["train"])
    train.head(10).select("id", "x", "y").write_csv(paths["batch"])
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(
        train.select("x", "y"), label
    )
    paths["forest"] = tmp_path / "forest.skops"
    skops.io.dump(forest, paths["forest"])
    return paths


@pytest.fixture
def team(cli, store_path: Path):
    assert cli("--as", "ana", "init", str(store_path), store=None).exit_code == 0
    for actor, role in (("bob", "reviewer"), ("emil", "ml-engineer"), ("dana", "data-scientist")):
        assert cli("--as", "ana", "access", "grant", actor, role).exit_code == 0

    def as_(actor: str, *args: str):
        return cli("--as", actor, *args)

    return as_


def register(team, files, *extra: str):
    r = team(
        "dana", "models", "register", "churn", str(files["model"]),
        "--training-data", str(files["train"]), *extra, "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return r.json()


def to_production(team, version: int) -> None:
    for actor, verb in (("dana", "submit"), ("bob", "approve"), ("emil", "release")):
        r = team(actor, "models", verb, "churn", str(version))
        assert r.exit_code == 0, r.stderr


def test_register_review_release_show(team, files) -> None:
    v = register(team, files, "--metric", "auc=0.91", "--tag", "team=retention", "--param", "C=1",
                 "--risk-tier", "high", "--description", "churn in 30 days")  # fmt: skip
    assert (v["version"], v["state"], v["created_by"]) == (1, "draft", "dana")
    assert v["metrics"] == {"auc": 0.91} and v["params"] == {"C": 1}
    assert v["card"]["risk_tier"] == "high" and v["signature"]["inputs"][0]["name"] == "x"
    to_production(team, 1)
    shown = team("ana", "models", "show", "churn", "--json").json()
    prod = shown["production"]
    assert (prod["version"], prod["released_by"], prod["approved_by"]) == (1, "emil", ["bob"])
    human = team("ana", "models", "show", "churn")
    assert "production: version 1 since" in human.stdout
    assert "released by emil; approved by bob" in human.stdout
    listed = team("ana", "models", "list", "--json").json()
    assert [(m["name"], m["production"]) for m in listed] == [("churn", 1)]
    full = team("ana", "models", "show", "churn", "1", "--json").json()
    assert full["state"] == "production"


def test_exit_codes_and_messages(team, files) -> None:
    register(team, files)
    r = team("ana", "models", "show", "chrun")
    assert r.exit_code == 3
    assert r.stderr == "mlcore: error: model 'chrun' not found. Did you mean 'churn'?\n"
    r = team("dana", "models", "release", "churn", "1")
    assert r.exit_code == 5 and r.stderr.startswith("mlcore: error: dana may not move production")
    r = team("emil", "models", "approve", "churn", "1")
    assert r.exit_code == 5
    r = team("bob", "models", "approve", "churn", "1")
    assert r.exit_code == 4
    assert (
        "cannot approve model:churn/1: it is draft. Allowed from draft: archive, submit."
        in r.stderr
    )
    r = team("ana", "models", "approve", "churn", "7")
    assert r.exit_code == 3 and "churn has versions 1 to 1" in r.stderr
    r = team("ana", "models", "submit", "churn", "zero")
    assert r.exit_code == 2
    r = team("ana", "models", "rollback", "churn", "--reason", "why not")
    assert r.exit_code == 4 and "no earlier production version" in r.stderr


def test_author_approving_own_version_is_denied_and_audited(team, cli, files) -> None:
    r = team("ana", "models", "register", "churn", str(files["model"]), "--json")
    assert r.exit_code == 0, r.stderr
    team("ana", "models", "submit", "churn", "1")
    r = team("ana", "models", "approve", "churn", "1")
    assert r.exit_code == 5 and "they registered it" in r.stderr
    log = cli("audit", "log", "--action", "access.denied", "--json").json()
    assert [e["details"]["action"] for e in log] == ["approve model:churn/1"]


def test_gate_blocked_release_exits_1(team, files, monkeypatch) -> None:
    from mlcore.errors import GateFailed

    class Blocking:
        def check_release(self, version, *, tx, evidence):
            raise GateFailed(version.subject, [{"rule": "auc", "message": "0.71 < 0.8"}])

    monkeypatch.setattr(mlcore.api.Store, "evals", property(lambda self: Blocking()))
    register(team, files)
    team("dana", "models", "submit", "churn", "1")
    team("bob", "models", "approve", "churn", "1")
    r = team("emil", "models", "release", "churn", "1")
    assert r.exit_code == 1
    assert "release of model:churn/1 blocked by the gate (auc: 0.71 < 0.8)" in r.stderr
    r = team("emil", "models", "release", "churn", "1", "--check", "--json")
    assert r.exit_code == 1 and r.json()["failures"] == [{"rule": "auc", "message": "0.71 < 0.8"}]
    monkeypatch.undo()
    r = team("emil", "models", "release", "churn", "1", "--check")
    assert r.exit_code == 0 and "churn/1 can be released" in r.stderr
    assert team("ana", "models", "show", "churn", "--json").json()["production"] is None


def test_rollback_alias_history_search(team, files) -> None:
    register(team, files, "--metric", "auc=0.7")
    to_production(team, 1)
    register(team, files, "--metric", "auc=0.9", "--feature", "customers:x")
    to_production(team, 2)
    r = team("emil", "models", "rollback", "churn", "--reason", "latency", "--json")
    assert r.exit_code == 0 and r.json()["version"] == 1
    r = team("dana", "models", "alias", "churn", "challenger", "2")
    assert r.exit_code == 4 and "it is archived" in r.stderr
    register(team, files)
    assert team("dana", "models", "alias", "churn", "staging", "3").exit_code == 0
    assert team("dana", "models", "alias", "churn", "staging", "--delete").exit_code == 0
    assert team("dana", "models", "alias", "churn", "staging").exit_code == 2
    history = team("ana", "models", "history", "churn", "--json").json()
    moves = [
        (e["action"], e["from_version"], e["to_version"]) for e in history if e["kind"] == "pointer"
    ]
    assert moves == [
        ("release", None, 1),
        ("release", 1, 2),
        ("rollback", 2, 1),
        ("alias", None, 3),
        ("unalias", 3, None),
    ]
    assert "rollback" in team("ana", "models", "history", "churn").stdout
    found = team("ana", "models", "search", "--metric", "auc>=0.8", "--json").json()
    assert [(v["name"], v["version"]) for v in found] == [("churn", 2)]
    found = team(
        "ana", "models", "search", "--feature", "customers", "--state", "archived", "--json"
    )
    assert [v["version"] for v in found.json()] == [2]


def test_score_and_load(team, files, tmp_path: Path, store_path: Path) -> None:
    register(team, files)
    to_production(team, 1)
    out = tmp_path / "scores.parquet"
    r = team("emil", "score", "churn", "--data", str(files["batch"]), "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {
        "name": "churn", "version": 1, "rows": 10, "columns": ["id", "prediction", "score"],
        "out": str(out),
    }  # fmt: skip
    model = skops.io.load(files["model"])
    batch = pl.read_csv(files["batch"])
    expected = model.predict_proba(batch.select("x", "y").to_pandas())[:, 1]
    np.testing.assert_allclose(pl.read_parquet(out)["score"].to_numpy(), expected)
    bad = tmp_path / "bad.csv"
    batch.drop("y").write_csv(bad)
    r = team("emil", "score", "churn", "--data", str(bad), "--out", str(out))
    assert r.exit_code == 2 and "missing column 'y'" in r.stderr

    copy = tmp_path / "copy.skops"
    loaded = team("emil", "models", "load", "churn", "--out", str(copy), "--json").json()
    assert loaded["verified"] and loaded["class"].endswith("LogisticRegression")
    assert skops.io.load(copy).coef_.tolist() == model.coef_.tolist()
    path = mlcore.open(store_path, actor="ana").storage.blobs.path(loaded["sha256"])
    path.write_bytes(path.read_bytes()[:-1])
    r = team("emil", "models", "load", "churn")
    assert r.exit_code == 1 and "was modified" in r.stderr


def test_register_untrusted_and_from_a_stored_artifact(team, files, store_path) -> None:
    r = team("dana", "models", "register", "forest", str(files["forest"]))
    assert (
        r.exit_code == 1
        and "artifact refused" in r.stderr
        and "sklearn.tree._tree.Tree" in r.stderr
    )
    trust = [a for t in ("sklearn.tree._tree.Tree",) for a in ("--trust", t)]
    r = team("dana", "models", "register", "forest", str(files["forest"]), *trust, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["trusted"] == ["sklearn.tree._tree.Tree"]
    store = mlcore.open(store_path, actor="ana")
    with store.storage.transaction() as tx:
        sha = tx.put_blob(files["model"].read_bytes())
    store.close()
    r = team("dana", "models", "register", "from-pipeline", sha, "--json")
    assert r.exit_code == 0, r.stderr
    r = team("dana", "models", "register", "x", "f" * 64)
    assert r.exit_code == 3
    r = team("dana", "models", "register", "x", str(files["model"]) + ".missing")
    assert r.exit_code == 3 and "Name a skops file" in r.stderr
