"""Verbs end to end on a real store: confirm, act, refusals with the store's reason, read-only."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, Static

from tests.tui.conftest import make_app, settle
from mlcore.api import Store
from mlcore.errors import GateFailed
from mlcore.tui.data import DataAccess
from mlcore.tui.screens.dialogs import ConfirmScreen, RefusedScreen
from mlcore.tui.screens.models import ModelScreen
from mlcore.tui.widgets import Section


def dialog_text(app: Any) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Static))


def notes(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def open_model(pilot: Any, name: str = "churn") -> None:
    await pilot.press("3")
    await settle(pilot)
    rows = pilot.app.screen.query_one("#models", Section).table.shown_keys
    await pilot.press(*["down"] * rows.index(name), "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ModelScreen)


async def test_approve_from_the_overview(tui_store) -> None:
    bob = tui_store.as_actor("bob")
    app = make_app(DataAccess(bob))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")  # acts on the pending approvals' selected row
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = dialog_text(app)
        assert "Approve churn/2?" in text
        assert "as      bob (reviewer)" in text
        assert "change  churn/2: in_review -> approved" in text
        assert not app.screen.query("#confirm-warnings")
        await pilot.press(*"fine by me", "enter")
        await settle(pilot)
        assert "churn/2 is now approved" in notes(app)
        assert app.screen.query_one("#pending", Section).table.shown_keys == []
    version = tui_store.models.get("churn", 2)
    assert version.state == "approved"
    last = tui_store.audit_log(limit=1, newest_first=True)[0]
    assert (last.actor, last.action, last.subject) == ("bob", "models.approve", "model:churn/2")
    assert last.details.get("reason") == "fine by me"


async def test_cancel_changes_nothing(tui_store) -> None:
    before = tui_store.info()["audit_entries"]
    app = make_app(DataAccess(tui_store.as_actor("bob")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
    assert tui_store.models.get("churn", 2).state == "in_review"
    assert tui_store.info()["audit_entries"] == before


async def test_release_then_rollback_with_a_required_reason(tui_store) -> None:
    tui_store.as_actor("bob").models.approve("churn", 2)
    app = make_app(DataAccess(GatedStore(tui_store.storage, _Gate())))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("r")  # churn/2, the newest version, is selected
        await settle(pilot)
        text = dialog_text(app)
        assert "change  churn/2: approved -> production" in text
        assert "churn/1: production -> archived" in text
        assert "approvals: bob (reviewer)" in text
        assert "  pass: nothing blocks this release" in text
        await pilot.press("enter")
        await settle(pilot)
        assert "churn/2 is now production" in notes(app)
        await pilot.press("escape")  # back to the models list
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.query_one("#reason", Input).placeholder == "reason (required)"
        await pilot.press("enter")  # no reason: refused by the dialog itself
        assert isinstance(app.screen, ConfirmScreen)
        assert "rollback needs a reason" in notes(app)
        await pilot.press(*"bad latency", "enter")
        await settle(pilot)
        assert "churn/1 serves production again" in notes(app)
    assert tui_store.models.show("churn").production.version == 1


async def test_denied_and_not_allowed_show_the_reason(tui_store) -> None:
    dana = tui_store.as_actor("dana")
    app = make_app(DataAccess(dana))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("a")  # her own churn/2, and she is no reviewer
        await settle(pilot)
        warnings = str(app.screen.query_one("#confirm-warnings", Static).render())
        assert "dana holds none of the roles this needs" in warnings
        assert "dana registered churn/2: authors do not review" in warnings
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RefusedScreen)
        text = dialog_text(app)
        assert "Denied: approve churn/2" in text
        assert "dana may not approve" in text
        await pilot.press("escape", "down", "s")  # submit churn/1, which is in production
        await settle(pilot)
        assert "submit is not allowed from production (allowed: nothing)" in dialog_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert "Not allowed in this state: submit churn/1" in dialog_text(app)
    denied = tui_store.audit_log(action="access.denied")
    assert [(e.actor, e.details["action"]) for e in denied] == [
        ("dana", "approve a version (never one's own)")
    ]


class _Gate:
    """An evaluation capability the registry asks at release: it blocks with ``failures``."""

    def __init__(self, *failures: dict[str, Any]) -> None:
        self.failures = list(failures)

    def check_release(self, version: Any, *, tx: Any, evidence: str | None) -> str | None:
        if self.failures:
            raise GateFailed(version.subject, self.failures, hint="Evaluate against the policy")
        return "evaluation-1"


class GatedStore(Store):
    """A store whose evaluation capability is a :class:`_Gate`."""

    def __init__(self, storage: Any, gate: _Gate) -> None:
        super().__init__(storage)
        self.gate = gate

    @property
    def evals(self) -> _Gate:  # type: ignore[override]
        return self.gate


_AUC = {"rule": "auc_min", "value": 0.9, "threshold": 0.95, "message": "AUC below policy"}


async def test_release_blocked_by_the_gate(tui_store) -> None:
    tui_store.as_actor("bob").models.approve("churn", 2)
    app = make_app(DataAccess(GatedStore(tui_store.storage, _Gate(_AUC))))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "  fail  auc_min: 0.9 vs 0.95 (AUC below policy)" in dialog_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RefusedScreen)
        text = dialog_text(app)
        assert "Blocked by the release gate: release churn/2" in text
        assert "fail  auc_min: 0.9 vs 0.95 (AUC below policy)" in text
        assert "Evaluate against the policy" in text
    assert tui_store.models.show("churn").production.version == 1
    blocked = tui_store.audit_log(action="models.release_blocked")
    assert [e.subject for e in blocked] == ["model:churn/2"]


async def test_read_only_turns_every_verb_off(tui_store) -> None:
    before = tui_store.info()["audit_entries"]
    app = make_app(DataAccess(tui_store.as_actor("bob")), read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "bob · read-only" in str(app.screen.query_one("#status-who", Static).render())
        for key, verb in [("a", "approve"), ("x", "reject"), ("b", "rollback")]:
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            assert f"read-only: {verb} is off (the TUI was started with --read-only)" in notes(app)
    assert tui_store.info()["audit_entries"] == before


async def test_a_verb_without_a_target_says_so(tui_store) -> None:
    app = make_app(DataAccess(tui_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5", "k")
        await settle(pilot)
        assert "nothing to acknowledge here: select a row it applies to" in notes(app)
