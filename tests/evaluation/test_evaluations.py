"""store.evals: evaluations recorded under versioned policies, waivers, permissions, data sources."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from mlcore import Entity, FeatureView, Field
from mlcore.errors import InvalidInput, NotFound, PermissionDenied

from .conftest import policy_text, register, scored_rows

AUC_FLOOR = [{"id": "auc", "kind": "metric", "metric": "roc_auc", "min": 0.7}]


@pytest.fixture
def rows() -> pl.DataFrame:
    return scored_rows()


def test_run_scores_the_version_and_records_everything(team, rows) -> None:
    store = team["admin"]
    register(store, rows, ["x", "z"])
    policy = store.evals.apply_policy(policy_text("general", AUC_FLOOR))
    evaluation = store.evals.run(
        "churn", rows, label="y", slices=["region"], sensitive=["sex"], n_resamples=20
    )
    model = store.models.load("churn", 1)
    expected = skm.roc_auc_score(rows["y"], model.predict_proba(rows.select("x", "z"))[:, 1])
    assert evaluation.metrics["roc_auc"] == pytest.approx(expected, abs=1e-12)
    assert (evaluation.model, evaluation.version, evaluation.task) == ("churn", 1, "binary")
    assert evaluation.policies == ({"name": "general", "version": 1, "sha256": policy.sha256},)
    assert [(r.rule, r.status, r.value) for r in evaluation.rules] == [
        ("auc", "pass", evaluation.metrics["roc_auc"])
    ]
    assert evaluation.dataset["source"] == "frame" and evaluation.dataset["rows"] == 1200
    assert evaluation.results["fairness"]["disparities"][0]["attributes"] == ["sex"]
    assert evaluation.results["champion"]["reason"] == "no version of churn serves production"
    # the slice table is a data file of kind evaluations, hash checked on read
    slices = store.evals.slices(evaluation.id)
    assert set(slices["slice"]) == {"region=east", "region=north", "region=south"}
    # read back the same, by id or a unique prefix
    assert store.evals.get(evaluation.id) == evaluation
    assert store.evals.get(evaluation.id[:8]).id == evaluation.id
    assert store.evals.latest("churn", 1) == evaluation
    assert [e.id for e in store.evals.list("churn")] == [evaluation.id]
    entry = store.audit_log(action="evals.run")[-1]
    assert entry.subject == "model:churn/1" and entry.details["evaluation"] == evaluation.id
    assert store.verify_audit().ok


def test_policies_named_by_rules_add_slices_and_sensitive_columns(team, rows) -> None:
    store = team["admin"]
    register(store, rows, ["x", "z"])
    store.evals.apply_policy(
        policy_text(
            "fair",
            [
                {"id": "seg", "kind": "metric", "metric": "roc_auc", "min": 0.5, "slices": ["region"]},
                {"id": "dp", "kind": "fairness", "measure": "demographic_parity_ratio", "min": 0.5,
                 "attributes": ["sex", "age_band"]},
            ],
        )
    )  # fmt: skip
    evaluation = store.evals.run("churn", rows, label="y", n_resamples=0)
    assert evaluation.results["slices"]["columns"] == ["region"]
    assert evaluation.results["settings"]["sensitive"] == ["sex", "age_band"]
    assert [r.status for r in evaluation.rules] == ["pass", "pass"]


def test_policy_edits_make_versions_and_old_evaluations_keep_theirs(team, rows) -> None:
    store = team["admin"]
    register(store, rows, ["x", "z"])
    first = store.evals.apply_policy(policy_text("general", AUC_FLOOR))
    again = store.evals.apply_policy("# same rules\n" + policy_text("general", AUC_FLOOR))
    assert (first.version, again.version) == (1, 1)  # unchanged content: no new version
    old = store.evals.run("churn", rows, label="y", n_resamples=0)
    stricter = [AUC_FLOOR[0] | {"min": 0.99}]
    assert store.evals.diff_policy(policy_text("general", stricter)).changes == (
        "~ rule auc: min 0.7 -> 0.99",
    )
    second = store.evals.apply_policy(policy_text("general", stricter))
    assert second.version == 2
    new = store.evals.run("churn", rows, label="y", n_resamples=0)
    assert store.evals.get(old.id).policies[0]["version"] == 1
    assert store.evals.get(old.id).rules[0].status == "pass"
    assert new.policies[0]["version"] == 2 and new.rules[0].status == "fail"
    assert [p.version for p in store.evals.policy_history("general")] == [1, 2]
    assert store.evals.policy("general", 1).policy.rules[0].min == 0.7
    assert [e.action for e in store.audit_log(action="policies.apply")] == ["policies.apply"] * 2


def test_policy_scope_decides_what_is_in_force(team, rows) -> None:
    store = team["admin"]
    register(store, rows, ["x"], risk_tier="low")
    register(store, rows, ["x", "z"], risk_tier="high")
    store.evals.apply_policy(policy_text("high-risk", AUC_FLOOR, scope={"risk_tiers": ["high"]}))
    store.evals.apply_policy(policy_text("churn-only", AUC_FLOOR, scope={"models": ["churn*"]}))
    store.evals.apply_policy(policy_text("tagged", AUC_FLOOR, scope={"tags": ["domain=credit"]}))
    assert [p.name for p in store.evals.active_policies("churn", 1)] == ["churn-only"]
    assert [p.name for p in store.evals.active_policies("churn", 2)] == ["churn-only", "high-risk"]
    named = store.evals.run("churn", rows, version=1, label="y", policy="tagged", n_resamples=0)
    assert [p["name"] for p in named.policies] == ["tagged"]
    with pytest.raises(NotFound, match=r"policy 'taged' not found\. Did you mean 'tagged'"):
        store.evals.run("churn", rows, label="y", policy="taged")


def test_waivers_bind_to_a_rule_version_and_expire(team, rows) -> None:
    store, rita = team["admin"], team["rita"]
    register(store, rows, ["x", "z"])
    store.evals.apply_policy(policy_text("general", [AUC_FLOOR[0] | {"min": 0.99}]))
    evaluation = store.evals.run("churn", rows, label="y", n_resamples=0)
    assert evaluation.verdict == "fail"
    with pytest.raises(PermissionDenied):
        team["dana"].evals.waive("churn", 1, "auc", "because", dt.timedelta(days=1))
    with pytest.raises(NotFound, match="Did you mean 'auc'"):
        rita.evals.waive("churn", 1, "acu", "because", dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match="in the past"):
        rita.evals.waive("churn", 1, "auc", "because", dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        rita.evals.waive("churn", 1, "auc", "because", dt.datetime(2999, 1, 1))
    with pytest.raises(InvalidInput, match="justification"):
        rita.evals.waive("churn", 1, "auc", " ", dt.timedelta(days=1))
    waiver = rita.evals.waive("churn", 1, "general/auc", "seasonal dip", dt.timedelta(days=30))
    assert (waiver.policy, waiver.policy_version, waiver.rule) == ("general", 1, "auc")
    now = store.evals.get(evaluation.id)
    assert now.verdict == "waived" and now.rules[0].waiver == waiver
    assert now.rules[0].status == "fail"  # what was recorded does not change
    entry = store.audit_log(action="evals.waive")[-1]
    assert entry.actor == "rita" and entry.details["justification"] == "seasonal dip"
    with store.storage.transaction() as tx:  # time passes: the waiver lapses
        tx.execute("UPDATE waivers SET expires_at = ?", [dt.datetime(2000, 1, 1, tzinfo=dt.UTC)])
    assert store.evals.get(evaluation.id).verdict == "fail"
    assert store.evals.waivers("churn", 1)[0].id == waiver.id  # still on record


def test_ambiguous_and_unwaivable_rules(team, rows) -> None:
    store, rita = team["admin"], team["rita"]
    register(store, rows, ["x", "z"])
    store.evals.apply_policy(policy_text("a", AUC_FLOOR))
    store.evals.apply_policy(
        policy_text("b", [*AUC_FLOOR, {"id": "ok", "kind": "approvals", "count": 1}])
    )
    with pytest.raises(InvalidInput, match="several policies in force: a, b"):
        rita.evals.waive("churn", 1, "auc", "x", dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match="approval rules cannot be waived"):
        rita.evals.waive("churn", 1, "b/ok", "x", dt.timedelta(days=1))
    assert rita.evals.waive("churn", 1, "b/auc", "x", dt.timedelta(days=1)).policy == "b"


def test_permissions(team, rows) -> None:
    store = team["admin"]
    register(store, rows, ["x", "z"])
    with pytest.raises(PermissionDenied):
        store.as_actor("zed").evals.run("churn", rows, label="y")
    with pytest.raises(PermissionDenied):
        team["dana"].evals.apply_policy(policy_text("p", AUC_FLOOR))
    assert team["rita"].evals.apply_policy(policy_text("p", AUC_FLOOR)).applied_by == "rita"
    assert team["dana"].evals.run("churn", rows, label="y", n_resamples=0).created_by == "dana"
    denied = store.audit_log(action="access.denied")
    assert {e.actor for e in denied} == {"dana", "zed"}


def test_champion_is_compared_on_the_same_rows(team, rows) -> None:
    store = team["admin"]
    register(store, rows, ["x"])
    register(store, rows, ["x", "z"])
    from .conftest import approve

    approve(team, 1)
    team["emil"].models.release("churn", 1)
    evaluation = store.evals.run("churn", rows, version=2, label="y", n_resamples=20)
    assert evaluation.champion == 1
    deltas = {d["metric"]: d for d in evaluation.results["comparison"]["deltas"]}
    champion = store.models.load("churn", 1).predict_proba(rows.select("x"))[:, 1]
    assert deltas["roc_auc"]["champion"]["value"] == pytest.approx(
        skm.roc_auc_score(rows["y"], champion), abs=1e-12
    )
    # the production version itself has no champion
    same = store.evals.run("churn", rows, version=1, label="y", n_resamples=0)
    assert (
        same.champion is None
        and "is the version in production" in same.results["champion"]["reason"]
    )
    # rows lacking the champion's inputs: no comparison, and the reason is recorded
    only_z = rows.drop("x").with_columns(x=pl.lit(None, pl.Float64))
    register(store, rows, ["z"])
    lacking = store.evals.run("churn", only_z, version=3, label="y", n_resamples=0)
    assert lacking.champion == 1 and lacking.results["comparison"] is None
    assert "cannot score these rows" in lacking.results["champion"]["reason"]


def test_string_labels_and_bad_labels(team) -> None:
    store = team["admin"]
    rows = scored_rows(labels=("stay", "leave"))
    register(store, rows, ["x", "z"])
    evaluation = store.evals.run("churn", rows, label="y", n_resamples=0)
    model = store.models.load("churn", 1)
    positive = model.classes_[1]
    expected = skm.roc_auc_score(
        rows["y"] == positive, model.predict_proba(rows.select("x", "z"))[:, 1]
    )
    assert evaluation.metrics["roc_auc"] == pytest.approx(expected, abs=1e-12)
    odd = rows.with_columns(
        y=pl.when(pl.int_range(pl.len()) < 2).then(pl.lit("maybe")).otherwise("y")
    )
    with pytest.raises(InvalidInput, match="no class for: 'maybe'"):
        store.evals.run("churn", odd, label="y")
    with pytest.raises(NotFound, match="label column 'target' not found"):
        store.evals.run("churn", rows, label="target")
    with pytest.raises(NotFound, match="sensitive attribute 'gender' not found"):
        store.evals.run("churn", rows, label="y", sensitive=["gender"])
    with pytest.raises(InvalidInput, match="missing column 'z'"):
        store.evals.run("churn", rows.drop("z"), label="y")
    nan_input = rows.with_columns(
        x=pl.when(pl.int_range(pl.len()) == 0).then(float("nan")).otherwise("x")
    )
    with pytest.raises(InvalidInput, match="could not score the evaluation rows"):
        store.evals.run("churn", nan_input, label="y")
    with pytest.raises(InvalidInput, match="has no rows where"):
        store.evals.run("churn", rows, label="y", where="x > 100")
    with pytest.raises(InvalidInput, match="cannot filter"):
        store.evals.run("churn", rows, label="y", where="no_such_column > 1")
    assert store.evals.list() == [evaluation]  # failures recorded nothing


def test_regression_models(team) -> None:
    from sklearn.linear_model import LinearRegression

    store = team["admin"]
    rows = scored_rows().with_columns(y=pl.col("x") * 2 + pl.col("z"))
    model = LinearRegression().fit(rows.select("x"), rows["y"])
    store.models.register("price", model, training_data=rows.select("x"))
    store.evals.apply_policy(
        policy_text(
            "general", [*AUC_FLOOR, {"id": "r2", "kind": "metric", "metric": "r2", "min": 0.5}]
        )
    )
    evaluation = store.evals.run("price", rows, label="y", n_resamples=10)
    assert evaluation.task == "regression"
    assert evaluation.metrics["r2"] == pytest.approx(
        skm.r2_score(rows["y"], model.predict(rows.select("x")))
    )
    assert [(r.rule, r.status) for r in evaluation.rules] == [("auc", "skipped"), ("r2", "pass")]


# -- saved datasets: time splits, drift against the training data -------------------------


@pytest.fixture
def on_dataset(team):
    """Version 1 trained on the saved dataset 'train' (first 600 rows by time)."""
    store = team["admin"]
    rng = np.random.default_rng(7)
    n = 1200
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    times = [start + dt.timedelta(hours=i) for i in range(n)]
    features = pl.DataFrame(
        {"customer_id": np.arange(n), "ts": times, "x": rng.normal(size=n), "z": rng.normal(size=n)}
    )
    store.features.apply(
        [
            Entity("customer", join_keys=["customer_id"]),
            FeatureView(
                "customer_stats",
                entities="customer",
                schema=[Field("x", "float64"), Field("z", "float64")],
                event_timestamp="ts",
            ),
        ]
    )
    store.features.ingest("customer_stats", features)
    entities = pl.DataFrame(
        {
            "customer_id": np.arange(n),
            "event_timestamp": times,
            "y": (features["x"] + features["z"] + rng.normal(size=n) > 0).cast(pl.Int64),
            "region": rng.choice(["north", "south"], n),
        }
    )
    store.features.save_dataset("train", entities, ["customer_stats:x", "customer_stats:z"])
    data = store.features.load_dataset("train")
    from sklearn.linear_model import LogisticRegression

    head = data.head(600)
    model = LogisticRegression().fit(head.select("x", "z"), head["y"])
    store.models.register("churn", model, training_data=head.select("x", "z"), dataset="train")
    return store


def test_a_saved_dataset_split_by_time(on_dataset) -> None:
    store = on_dataset
    cut = "event_timestamp >= DATE '2024-01-26'"
    evaluation = store.evals.run("churn", "dataset:train", label="y", where=cut, n_resamples=0)
    recorded = store.features.dataset("train")
    assert evaluation.dataset == {
        "source": "dataset", "name": "train", "version": 1, "id": "train/1",
        "sha256": recorded.sha256, "where": cut, "rows": 600,
    }  # fmt: skip
    with pytest.raises(NotFound):
        store.evals.run("churn", "dataset:trian", label="y")


def test_drift_against_the_training_dataset_in_the_lineage(on_dataset) -> None:
    store = on_dataset
    store.evals.apply_policy(
        policy_text("drift", [{"id": "psi", "kind": "drift", "max": 0.2, "severity": "warn"}])
    )
    evaluation = store.evals.run("churn", "dataset:train/1", label="y", n_resamples=0)
    drift = evaluation.results["drift"]
    assert drift["id"] == "train/1" and set(drift["columns"]) == {"x", "z"}
    assert evaluation.rules[0].status == "pass"
    shifted = store.features.load_dataset("train").with_columns(x=pl.col("x") + 2)
    moved = store.evals.run("churn", shifted, label="y", n_resamples=0)
    assert moved.rules[0].status == "fail" and moved.rules[0].details["drifted"] == ["x"]
    assert moved.verdict == "pass"  # a warn rule never blocks


def test_drift_without_training_data_fails_closed(team, rows) -> None:
    store = team["admin"]
    register(store, rows, ["x", "z"])
    store.evals.apply_policy(policy_text("drift", [{"id": "psi", "kind": "drift", "max": 0.2}]))
    evaluation = store.evals.run("churn", rows, label="y", n_resamples=0)
    assert evaluation.rules[0].status == "fail"
    assert "no training data for churn/1" in evaluation.rules[0].message
    explicit = store.evals.run("churn", rows, label="y", reference=rows, n_resamples=0)
    assert explicit.rules[0].status == "pass" and explicit.results["drift"]["source"] == "frame"
