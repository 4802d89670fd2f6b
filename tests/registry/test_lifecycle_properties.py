"""Any sequence of lifecycle actions keeps the registry equal to a plain reference model.

The reference is a dict of states, the approvers of each version and the chain
of production releases (a stack: release pushes, rollback pops). After every
step: the same states, at most one version in production, and the production
pointer on the top of the chain.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import mlcore
from mlcore.errors import Conflict, InvalidTransition

from .conftest import TEAM, fit, training_frame

ALLOWED = {
    "submit": {"draft"},
    "approve": {"in_review", "approved"},
    "reject": {"in_review", "approved"},
    "release": {"approved"},
    "archive": {"draft", "in_review", "approved", "rejected"},
}
MODEL = fit(training_frame())


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.states: dict[int, str] = {}
        self.approvers: dict[int, set[str]] = {}
        self.chain: list[int] = []

    @initialize()
    def open_store(self) -> None:
        import tempfile

        self.store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="admin")
        for actor, role in TEAM.items():
            self.store.grant(actor, role)
        self.register()

    def teardown(self) -> None:
        self.store.close()

    def models(self, actor: str):
        return self.store.as_actor(actor).models

    @rule()
    def register(self) -> None:
        v = self.models("dana").register("m", MODEL, code=[]).version
        assert v == len(self.states) + 1
        self.states[v] = "draft"
        self.approvers[v] = set()

    @rule(data=st.data())
    def advance(self, data) -> None:
        """The next step on the happy path of some version (so releases happen often)."""
        nexts = {"draft": "submit", "in_review": "approve", "approved": "release"}
        movable = sorted(v for v, s in self.states.items() if s in nexts)
        if movable:
            v = data.draw(st.sampled_from(movable))
            self.apply(nexts[self.states[v]], v, "otto" if "rita" in self.approvers[v] else "rita")

    @rule()
    def ship(self) -> None:
        """A new version all the way to production (so that rollbacks have a chain)."""
        self.register()
        v = max(self.states)
        for action in ("submit", "approve", "release"):
            self.apply(action, v, "rita")

    @rule(data=st.data(), action=st.sampled_from(sorted(ALLOWED)))
    def act(self, data, action: str) -> None:
        v = data.draw(st.sampled_from(sorted(self.states)))
        self.apply(action, v, data.draw(st.sampled_from(["rita", "otto"])))

    def apply(self, action: str, v: int, approver: str) -> None:
        state = self.states[v]
        calls = {
            "submit": lambda: self.models("dana").submit("m", v),
            "approve": lambda: self.models(approver).approve("m", v),
            "reject": lambda: self.models(approver).reject("m", v, reason="no"),
            "release": lambda: self.models("emil").release("m", v),
            "archive": lambda: self.models("emil").archive("m", v),
        }
        if state not in ALLOWED[action]:
            with pytest.raises(InvalidTransition):
                calls[action]()
            return
        if action == "approve" and approver in self.approvers[v]:
            with pytest.raises(Conflict):
                calls[action]()
            return
        calls[action]()
        event(f"{action} done")
        if action == "approve":
            self.approvers[v].add(approver)
        if action == "release":
            if self.chain:
                self.states[self.chain[-1]] = "archived"
            self.chain.append(v)
        self.states[v] = {
            "submit": "in_review",
            "approve": "approved",
            "reject": "rejected",
            "release": "production",
            "archive": "archived",
        }[action]

    @rule()
    def rollback(self) -> None:
        if len(self.chain) < 2:
            with pytest.raises(Conflict):
                self.models("emil").rollback("m", reason="test")
            return
        restored = self.models("emil").rollback("m", reason="test").version
        event("rollback done")
        current = self.chain.pop()
        assert restored == self.chain[-1]
        self.states[current] = "archived"
        self.states[restored] = "production"

    @invariant()
    def same_states_and_one_production(self) -> None:
        if not hasattr(self, "store"):
            return
        got = {v.version: v.state for v in self.store.models.versions("m")}
        assert got == self.states
        producing = [v for v, s in got.items() if s == "production"]
        assert len(producing) <= 1
        pointers = self.store.models.show("m").pointers
        if self.chain:
            assert producing == [self.chain[-1]] == [pointers["production"]["version"]]
        else:
            assert not producing and "production" not in pointers


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(
    max_examples=6,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
