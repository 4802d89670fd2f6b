"""The lifecycle: transitions, four eyes, approval rules, the release gate, release and rollback."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from mlcore.errors import (
    Conflict,
    GateFailed,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from mlcore.registry.lifecycle import ApprovalRule
from mlcore.registry.registry import Registry

from .conftest import audit_length, snapshot

# What each state allows, written out independently of lifecycle.TRANSITIONS.
ALLOWED = {
    "draft": {"submit", "archive"},
    "in_review": {"approve", "reject", "archive"},
    "approved": {"approve", "reject", "release", "archive"},
    "rejected": {"archive"},
    "production": set(),
    "archived": set(),
}
ACTIONS = ("submit", "approve", "reject", "release", "archive")


def make(team, model, state: str, name: str = "churn") -> int:
    """A new version of ``name`` in ``state``, registered by dana."""
    version = team["dana"].models.register(name, model).version
    if state == "archived":
        team["emil"].models.archive(name, version)
    if state in ("draft", "archived"):
        return version
    team["dana"].models.submit(name, version)
    if state == "rejected":
        team["rita"].models.reject(name, version, reason="leaks the label")
    elif state in ("approved", "production"):
        team["rita"].models.approve(name, version)
        if state == "production":
            team["emil"].models.release(name, version)
    return version


def act(team, action: str, name: str, version: int):
    reviewer = team["rita"].models
    if action == "approve":
        return reviewer.approve(name, version)
    if action == "reject":
        return reviewer.reject(name, version, reason="no")
    return getattr(team["emil"].models, action)(name, version)


@pytest.mark.parametrize("state", list(ALLOWED))
def test_every_illegal_transition_names_state_and_allowed(team, model, state) -> None:
    version = make(team, model, state)
    assert team["admin"].models.get("churn", version).state == state
    for action in sorted(set(ACTIONS) - ALLOWED[state]):
        before, entries = snapshot(team["admin"]), audit_length(team["admin"])
        with pytest.raises(InvalidTransition) as err:
            act(team, action, "churn", version)
        assert f"cannot {action} model:churn/{version}: it is {state}" in str(err.value)
        assert err.value.state == state
        assert set(err.value.allowed) - {"rollback"} == ALLOWED[state]
        assert err.value.exit_code == 4
        assert snapshot(team["admin"]) == before and audit_length(team["admin"]) == entries


def test_release_answers_who_since_when_on_what_evidence(team, model) -> None:
    make(team, model, "approved")
    released = team["emil"].models.release("churn", 1, reason="beats baseline", evidence="eval-17")
    assert released.state == "production"
    info = team["admin"].models.show("churn")
    prod = info.production
    assert (prod.version, prod.released_by, prod.action) == (1, "emil", "release")
    assert (prod.reason, prod.evidence, prod.approved_by) == ("beats baseline", "eval-17", ["rita"])
    assert prod.since == info.pointers["production"]["since"]
    assert prod.approvals[0]["roles"] == ["reviewer"]


def test_author_may_not_review_own_version_and_the_attempt_is_audited(team, model) -> None:
    team["admin"].models.register("churn", model)
    team["admin"].models.submit("churn", 1)
    before = snapshot(team["admin"])
    for verb in ("approve", "reject"):
        with pytest.raises(PermissionDenied, match="they registered it") as err:
            kwargs = {"reason": "mine"} if verb == "reject" else {}
            getattr(team["admin"].models, verb)("churn", 1, **kwargs)
        assert err.value.exit_code == 5
    assert snapshot(team["admin"]) == before
    denied = team["admin"].audit_log(action="access.denied")
    assert [e.details["action"] for e in denied] == [
        "approve model:churn/1",
        "reject model:churn/1",
    ]
    assert team["rita"].models.approve("churn", 1).state == "approved"


def test_reviewer_roles_are_required(team, model) -> None:
    make(team, model, "in_review")
    with pytest.raises(PermissionDenied, match="emil may not approve a version"):
        team["emil"].models.approve("churn", 1)
    with pytest.raises(PermissionDenied, match="rita may not move production"):
        team["rita"].models.release("churn", 1)


def test_approving_twice_is_a_conflict(team, model) -> None:
    make(team, model, "approved")
    with pytest.raises(Conflict, match="rita already approved model:churn/1"):
        team["rita"].models.approve("churn", 1)
    assert team["otto"].models.approve("churn", 1).state == "approved"


class Gate:
    """A stand-in for the evaluation capability's release gate."""

    def __init__(self, rule=None, block=None, evidence="eval-42"):
        self.rule, self.block, self.evidence = rule, block, evidence
        self.seen = []

    def release_requirements(self, version, *, tx):
        return self.rule

    def check_release(self, version, *, tx, evidence):
        # Inside the release transaction: the catalog is held and readable.
        (state,) = tx.fetchone(
            "SELECT state FROM model_versions WHERE model = ? AND version = ?",
            [version.name, version.version],
        )
        self.seen.append((version.ref, state, tx.storage.catalog.in_transaction(), evidence))
        if self.block:
            raise GateFailed(version.subject, self.block)
        return self.evidence


def gated(team, actor: str, gate: Gate) -> Registry:
    return Registry(team[actor].storage, hooks=SimpleNamespace(evals=gate))


def test_approval_rule_from_the_gate(team, model) -> None:
    gate = Gate(rule=ApprovalRule(count=2, must_include=("risk-officer",)))
    make(team, model, "in_review")
    assert gated(team, "rita", gate).approve("churn", 1).state == "in_review"
    assert gated(team, "otto", gate).approve("churn", 1).state == "approved"
    gated(team, "emil", gate).release("churn", 1)
    approvals = team["admin"].models.show("churn").production.approved_by
    assert approvals == ["rita", "otto"]


def test_missing_approvals_block_release_and_are_audited(team, model) -> None:
    make(team, model, "approved")  # one reviewer approval, under the default rule
    gate = Gate(rule=ApprovalRule(count=1, must_include=("risk-officer",)))
    before = snapshot(team["admin"])
    with pytest.raises(GateFailed, match="approval by risk-officer: no approval by a risk-officer"):
        gated(team, "emil", gate).release("churn", 1)
    assert snapshot(team["admin"]) == before
    assert gate.seen == []  # approvals are checked before the evaluation gate runs
    (blocked,) = team["admin"].audit_log(action="models.release_blocked")
    assert blocked.subject == "model:churn/1"
    assert blocked.details["failures"][0]["rule"] == "approval by risk-officer"


def test_check_release_previews_without_changing_anything(team, model) -> None:
    make(team, model, "approved")
    strict = gated(team, "rita", Gate(rule=ApprovalRule(must_include=("risk-officer",))))
    before, entries = snapshot(team["admin"]), audit_length(team["admin"])
    (failure,) = strict.check_release("churn", 1)
    assert failure["rule"] == "approval by risk-officer"
    assert gated(team, "rita", Gate()).check_release("churn", 1) == []
    assert snapshot(team["admin"]) == before and audit_length(team["admin"]) == entries
    make(team, model, "draft")
    with pytest.raises(InvalidTransition, match="it is draft"):
        team["admin"].models.check_release("churn", 2)


def test_gate_runs_inside_the_release_transaction_and_can_block(team, model) -> None:
    make(team, model, "approved")
    failure = {"rule": "auc >= 0.8", "value": 0.71, "threshold": 0.8, "message": "auc too low"}
    blocking = Gate(block=[failure])
    before = snapshot(team["admin"])
    with pytest.raises(GateFailed, match=re.escape("auc >= 0.8: auc too low")) as err:
        gated(team, "emil", blocking).release("churn", 1, evidence="eval-1")
    assert err.value.exit_code == 1
    assert blocking.seen == [("churn/1", "approved", True, "eval-1")]
    assert snapshot(team["admin"]) == before

    passing = Gate(evidence="eval-2")
    gated(team, "emil", passing).release("churn", 1, evidence="eval-1")
    assert team["admin"].models.show("churn").production.evidence == "eval-2"


def test_release_archives_the_previous_holder_atomically(team, model) -> None:
    make(team, model, "production")
    make(team, model, "approved")
    team["emil"].models.release("churn", 2, reason="better")
    states = [(v.version, v.state) for v in team["admin"].models.versions("churn")]
    assert states == [(1, "archived"), (2, "production")]
    moves = team["admin"].models.pointer_history("churn")
    assert [(m.from_version, m.to_version, m.actor) for m in moves] == [
        (None, 1, "emil"),
        (1, 2, "emil"),
    ]
    archived = [e for e in team["admin"].models.history("churn") if e.version == 1]
    assert (
        archived[-1].action == "archive"
        and archived[-1].reason == "replaced in production by version 2"
    )


def test_rollback_walks_back_through_releases(team, model) -> None:
    for _ in range(3):
        make(team, model, "production")
    models = team["emil"].models
    with pytest.raises(InvalidInput, match="needs a reason"):
        models.rollback("churn", reason=" ")
    with pytest.raises(PermissionDenied):
        team["rita"].models.rollback("churn", reason="bad")
    assert models.rollback("churn", reason="latency doubled").version == 2
    assert models.rollback("churn", reason="2 is wrong too").version == 1
    before = snapshot(team["admin"])
    with pytest.raises(Conflict, match="no earlier production version"):
        models.rollback("churn", reason="again")
    assert snapshot(team["admin"]) == before
    states = {v.version: v.state for v in team["admin"].models.versions("churn")}
    assert states == {1: "production", 2: "archived", 3: "archived"}
    prod = team["admin"].models.show("churn").production
    assert (prod.version, prod.action, prod.reason) == (1, "rollback", "2 is wrong too")
    moves = team["admin"].models.pointer_history("churn")
    assert [(m.action, m.from_version, m.to_version) for m in moves] == [
        ("release", None, 1),
        ("release", 1, 2),
        ("release", 2, 3),
        ("rollback", 3, 2),
        ("rollback", 2, 1),
    ]


def test_release_after_rollback_continues_the_chain(team, model) -> None:
    make(team, model, "production")
    make(team, model, "production")
    team["emil"].models.rollback("churn", reason="regression")
    make(team, model, "production")  # version 3 replaces 1
    assert team["emil"].models.rollback("churn", reason="3 regressed").version == 1


def test_archiving_production_is_refused(team, model) -> None:
    make(team, model, "production")
    with pytest.raises(InvalidTransition, match="Allowed from production: none"):
        team["emil"].models.archive("churn", 1)


def test_aliases_are_named_pointers_with_history(team, model) -> None:
    for state in ("approved", "in_review", "rejected"):
        make(team, model, state)
    models = team["dana"].models
    models.set_alias("churn", "staging", 1)
    move = models.set_alias("churn", "staging", 2, reason="try the new one")
    assert (move.from_version, move.to_version, move.reason) == (1, 2, "try the new one")
    assert team["admin"].models.get("churn", alias="staging").version == 2
    with pytest.raises(InvalidInput, match="only by release and rollback"):
        models.set_alias("churn", "production", 1)
    with pytest.raises(Conflict, match="it is rejected"):
        models.set_alias("churn", "champion", 3)
    with pytest.raises(NotFound, match="Did you mean 'churn@staging'"):
        models.remove_alias("churn", "stagin")
    removed = models.remove_alias("churn", "staging")
    assert (removed.from_version, removed.to_version) == (2, None)
    with pytest.raises(NotFound):
        team["admin"].models.get("churn", alias="staging")
    moves = team["admin"].models.pointer_history("churn", "staging")
    assert [(m.action, m.from_version, m.to_version) for m in moves] == [
        ("alias", None, 1),
        ("alias", 1, 2),
        ("unalias", 2, None),
    ]
    with pytest.raises(PermissionDenied):
        team["rita"].models.set_alias("churn", "staging", 1)


def test_history_is_the_timeline_in_audit_order(team, model) -> None:
    make(team, model, "production")
    team["dana"].models.set_alias("churn", "champion", 1)
    history = team["admin"].models.history("churn")
    assert [(e.kind, e.action, e.actor) for e in history] == [
        ("version", "register", "dana"),
        ("version", "submit", "dana"),
        ("version", "approve", "rita"),
        ("version", "release", "emil"),
        ("pointer", "release", "emil"),
        ("pointer", "alias", "dana"),
    ]
    seqs = [e.seq for e in history]
    assert seqs == sorted(seqs)
    audit = {e.seq: e for e in team["admin"].audit_log(subject="model:churn*")}
    assert all(audit[e.seq].actor == e.actor for e in history)
    assert history[2].from_state == "in_review" and history[2].to_state == "approved"
