"""The release gate: a version failing a block rule cannot reach production by the API; a
waiver opens the gate until it expires; only evaluations under the policy versions in
force count."""

from __future__ import annotations

import datetime as dt

import pytest

from mlcore.errors import GateFailed
from mlcore.evaluation import gate as gates
from mlcore.registry.lifecycle import ApprovalRule

from .conftest import approve, policy_text, register, scored_rows

FAILING = [
    {"id": "auc", "kind": "metric", "metric": "roc_auc", "min": 0.99},
    {"id": "rows", "kind": "sample_size", "min_rows": 100},
    {"id": "f1", "kind": "metric", "metric": "f1", "min": 0.99, "severity": "warn"},
]


@pytest.fixture
def candidate(team):
    """churn/1, approved, under a policy whose rule 'auc' it fails (and warn rule 'f1')."""
    store = team["admin"]
    rows = scored_rows()
    register(store, rows, ["x", "z"])
    store.evals.apply_policy(policy_text("general", FAILING))
    approve(team, 1)
    return store, rows


def _blocked(team, **kwargs) -> GateFailed:
    with pytest.raises(GateFailed) as err:
        team["emil"].models.release("churn", 1, **kwargs)
    store = team["admin"]
    assert store.models.get("churn", 1).state == "approved"  # nothing moved
    assert store.models.show("churn").production is None
    assert store.audit_log(action="models.release_blocked")[-1].subject == "model:churn/1"
    return err.value


def test_no_evaluation_no_release(team, candidate) -> None:
    err = _blocked(team)
    assert err.failures == [
        {"rule": "evaluation", "value": None, "threshold": None,
         "message": "no evaluation of churn/1 under general v1"}
    ]  # fmt: skip
    assert err.exit_code == 1 and "mlcore eval run churn:1" in str(err)


def test_a_failing_block_rule_blocks_with_value_and_threshold(team, candidate) -> None:
    store, rows = candidate
    evaluation = store.evals.run("churn", rows, label="y", n_resamples=0)
    err = _blocked(team)
    (failure,) = err.failures  # the failing warn rule 'f1' does not block
    assert failure["rule"] == "general/auc" and failure["threshold"] == 0.99
    assert failure["value"] == evaluation.metrics["roc_auc"] and failure["op"] == ">="
    assert failure["severity"] == "block" and failure["citation"] == "Test standard 1.1"
    assert "roc_auc overall" in failure["message"]
    assert not store.evals.gate("churn", 1).passed


def test_a_waiver_opens_the_gate_and_is_the_releases_evidence(team, candidate) -> None:
    store, rows = candidate
    evaluation = store.evals.run("churn", rows, label="y", n_resamples=0)
    team["rita"].evals.waive("churn", 1, "auc", "accepted by model risk", dt.timedelta(days=7))
    assert store.evals.gate("churn", 1).passed
    released = team["emil"].models.release("churn", 1)
    assert released.state == "production"
    assert store.models.show("churn").production.evidence == evaluation.id


def test_an_expired_waiver_does_not(team, candidate) -> None:
    store, rows = candidate
    store.evals.run("churn", rows, label="y", n_resamples=0)
    team["rita"].evals.waive("churn", 1, "auc", "accepted by model risk", dt.timedelta(days=7))
    with store.storage.transaction() as tx:  # a week passes
        record = store.models.get("churn", 1)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
        assert gates.decide(tx, record, now=later).problems[0]["rule"] == "general/auc"
        tx.execute("UPDATE waivers SET expires_at = ?", [dt.datetime(2001, 1, 1, tzinfo=dt.UTC)])
    assert _blocked(team).failures[0]["rule"] == "general/auc"


def test_an_evaluation_under_a_superseded_policy_version_does_not_count(team, candidate) -> None:
    store, rows = candidate
    lenient = [{"id": "auc", "kind": "metric", "metric": "roc_auc", "min": 0.5}]
    store.evals.apply_policy(policy_text("general", lenient))  # v2: the model passes it
    passing = store.evals.run("churn", rows, label="y", n_resamples=0)
    assert passing.verdict == "pass" and passing.policies[0]["version"] == 2
    store.evals.apply_policy(policy_text("general", [*lenient, FAILING[1]]))  # v3
    err = _blocked(team)
    assert err.failures[0]["message"] == "no evaluation of churn/1 under general v3"
    with pytest.raises(GateFailed, match="predates the active policies"):
        team["emil"].models.release("churn", 1, evidence=passing.id)
    again = store.evals.run("churn", rows, label="y", n_resamples=0)
    assert team["emil"].models.release("churn", 1).state == "production"
    assert store.models.show("churn").production.evidence == again.id


def test_a_newer_failing_evaluation_cannot_be_passed_over(team, candidate) -> None:
    store, rows = candidate
    team["rita"].evals.waive("churn", 1, "auc", "accepted", dt.timedelta(days=7))
    older = store.evals.run("churn", rows, label="y", n_resamples=0)
    newer = store.evals.run("churn", rows.head(50), label="y", n_resamples=0)  # fails 'rows'
    err = _blocked(team, evidence=older.id)
    assert err.failures[0]["message"] == f"evaluation {older.id} was superseded by {newer.id}"
    assert _blocked(team).failures[0]["rule"] == "general/rows"
    with pytest.raises(GateFailed, match="ev-nope is not an evaluation of churn/1"):
        team["emil"].models.release("churn", 1, evidence="ev-nope")


def test_every_policy_in_force_must_pass(team, candidate) -> None:
    store, rows = candidate
    team["rita"].evals.waive("churn", 1, "auc", "accepted", dt.timedelta(days=7))
    store.evals.apply_policy(
        policy_text("cards", [{"id": "card", "kind": "model_card", "fields": ["limitations"]}])
    )
    # an evaluation under one policy only does not cover the other
    store.evals.run("churn", rows, label="y", policy="general", n_resamples=0)
    assert "under cards v1, general v1" in _blocked(team).failures[0]["message"]
    store.evals.run("churn", rows, label="y", n_resamples=0)
    assert _blocked(team).failures[0]["rule"] == "cards/card"


def test_policies_out_of_scope_and_no_policy_do_not_gate(team) -> None:
    store = team["admin"]
    rows = scored_rows()
    register(store, rows, ["x", "z"])
    approve(team, 1)
    store.evals.apply_policy(policy_text("credit", FAILING, scope={"tags": ["domain=credit"]}))
    assert store.evals.gate("churn", 1).policies == ()
    assert team["emil"].models.release("churn", 1).state == "production"


def test_required_approvals_come_from_the_policies(team) -> None:
    store = team["admin"]
    rows = scored_rows()
    register(store, rows, ["x", "z"])
    store.evals.apply_policy(
        policy_text(
            "validation",
            [{"id": "two", "kind": "approvals", "count": 2, "must_include": ["risk-officer"]}],
        )
    )
    store.evals.run("churn", rows, label="y", n_resamples=0)
    store.models.submit("churn", 1)
    assert team["bob"].models.approve("churn", 1).state == "in_review"  # one of two
    decision = store.evals.gate("churn", 1)
    assert decision.approvals == ApprovalRule(2, must_include=("risk-officer",)).to_dict()
    assert [p["rule"] for p in decision.problems] == ["approvals", "approval by risk-officer"]
    shown = decision.to_dict()["rules"]  # what the TUI lists: rule results, then the rest
    assert [(r["rule"], r["status"]) for r in shown] == [
        ("two", "deferred"), ("approvals", "fail"), ("approval by risk-officer", "fail"),
    ]  # fmt: skip
    assert team["rita"].models.approve("churn", 1).state == "approved"
    assert store.evals.gate("churn", 1).passed
    assert team["emil"].models.release("churn", 1).state == "production"


def test_revalidation_age_is_judged_at_release(team) -> None:
    store = team["admin"]
    rows = scored_rows()
    register(store, rows, ["x", "z"], risk_tier="high")
    store.evals.apply_policy(
        policy_text("review", [{"id": "age", "kind": "revalidation", "max_age_days": {"high": 30}}])
    )
    evaluation = store.evals.run("churn", rows, label="y", n_resamples=0)
    approve(team, 1)
    with store.storage.transaction() as tx:  # the evaluation is 45 days old
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
        tx.execute("UPDATE evaluations SET created_at = ?", [old])
    failure = _blocked(team).failures[0]
    assert failure["rule"] == "review/age" and failure["threshold"] == 30
    assert 44.9 < failure["value"] < 45.1
    assert store.evals.get(evaluation.id).rules[0].status == "pass"  # as recorded
