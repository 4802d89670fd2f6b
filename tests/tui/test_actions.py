"""Verbs end to end on a real store: confirm, act, refusals with the store's reason, read-only."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, Static

from mlcore.tui.data import DataAccess
from mlcore.tui.screens.dialogs import ConfirmScreen, RefusedScreen
from mlcore.tui.screens.models import ModelScreen
from mlcore.tui.widgets import Section
from tests.tui.conftest import make_app, settle


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


async def test_cancel_changes_nothing_then_approve_from_the_overview(tui_store) -> None:
    before = tui_store.info()["audit_entries"]
    bob = tui_store.as_actor("bob")
    app = make_app(DataAccess(bob))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x")  # reject: cancelled
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert tui_store.info()["audit_entries"] == before
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
    assert tui_store.info()["audit_entries"] == before + 1


async def test_release_through_the_gate_then_rollback_with_a_required_reason(tui_store) -> None:
    tui_store.as_actor("bob").models.approve("churn", 2)
    evaluation = tui_store.evals.latest("churn", 2)
    app = make_app(DataAccess(tui_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("r")  # churn/2, the newest version, is selected
        await settle(pilot)
        text = dialog_text(app)
        assert "change  churn/2: approved -> production" in text
        assert "churn/1: production -> archived" in text
        assert "approvals: bob (reviewer)" in text
        assert "gate    pass: nothing blocks this release" in text
        recall = next(r for r in evaluation.rules if r.rule == "recall")
        assert (
            f"  waived general/recall: {recall.value:.4g} vs >= 0.95 ({recall.message}; "
            f"waived by rita ({recall.waiver.id}): churners are called anyway)"
        ) in text
        assert "general/brier" in text and "a warning: does not block" in text
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
    (released,) = tui_store.audit_log(action="models.release", subject="model:churn/2")
    assert released.details.get("evidence") == evaluation.id


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


async def test_release_blocked_by_the_gate(tui_store) -> None:
    """lapse/1 failed a block rule of the policy in force: the gate refuses its release."""
    tui_store.as_actor("dana").models.submit("lapse", 1)
    tui_store.as_actor("bob").models.approve("lapse", 1)
    recall = next(r for r in tui_store.evals.latest("lapse", 1).rules if r.rule == "recall")
    assert recall.status == "fail"
    failing = f"  fail   general/recall: {recall.value:.4g} vs >= 0.95 ({recall.message})"
    app = make_app(DataAccess(tui_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_model(pilot, "lapse")
        await pilot.press("r")
        await settle(pilot)
        text = dialog_text(app)
        assert "gate    BLOCKED: 1 rule fails" in text
        assert failing in text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RefusedScreen)
        text = dialog_text(app)
        assert "Blocked by the release gate: release lapse/1" in text
        assert failing in text
        assert "mlcore eval waive lapse:1 POLICY/RULE" in text  # the store's hint
    assert tui_store.models.get("lapse", 1).state == "approved"
    blocked = tui_store.audit_log(action="models.release_blocked")
    assert [e.subject for e in blocked] == ["model:lapse/1"]


async def open_alerts(pilot: Any) -> None:
    await pilot.press("5")
    await settle(pilot)
    assert pilot.app.screen.query_one("#alerts", Section).table.selected_key == "2"


async def test_acknowledge_an_alert_with_a_comment(tui_store) -> None:
    app = make_app(DataAccess(tui_store.as_actor("bob")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_alerts(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = dialog_text(app)
        assert "Acknowledge alert 2?" in text
        assert "change  alert 2: open -> acknowledged" in text
        assert "age_shift (critical) on monitor churn" in text
        assert app.screen.query_one("#reason", Input).placeholder == "comment (required)"
        await pilot.press("enter")
        assert "acknowledge needs a comment" in notes(app)
        await pilot.press(*"retraining tonight", "enter")
        await settle(pilot)
        assert "alert 2 acknowledged" in notes(app)
        alerts = app.screen.query_one("#alerts", Section).table.all_rows
        assert alerts[0].cells[3] == ("acknowledged", "warn")
        await pilot.press("k")  # again: only open alerts are acknowledged
        await settle(pilot)
        warnings = str(app.screen.query_one("#confirm-warnings", Static).render())
        assert "alert 2 is acknowledged: only open alerts are acknowledged" in warnings
        await pilot.press(*"twice", "enter")
        await settle(pilot)
        assert "Not allowed in this state: acknowledge alert 2" in dialog_text(app)
        await pilot.press("escape", "slash", *"no such alert", "enter", "k")  # all hidden
        await settle(pilot)
        assert "nothing to acknowledge here: select a row it applies to" in notes(app)
    alert = tui_store.monitors.alert(2)
    assert (alert.status, alert.acked_by, alert.ack_comment) == (
        "acknowledged",
        "bob",
        "retraining tonight",
    )
    (entry,) = tui_store.audit_log(action="alert.acknowledge", subject="alert:2")
    assert entry.actor == "bob" and entry.details["comment"] == "retraining tonight"


async def test_acknowledge_denied_without_alerts_ack(tui_store) -> None:
    app = make_app(DataAccess(tui_store.as_actor("guest")))  # an actor with no role
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("k")  # the overview's open alerts
        await settle(pilot)
        warnings = str(app.screen.query_one("#confirm-warnings", Static).render())
        assert "guest holds none of the roles this needs" in warnings
        await pilot.press(*"seen it", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RefusedScreen)
        assert "Denied: acknowledge alert 2" in dialog_text(app)
    assert tui_store.monitors.alert(2).status == "open"
    denied = tui_store.audit_log(action="access.denied")
    assert [(e.actor, e.details["action"]) for e in denied] == [("guest", "acknowledge an alert")]


async def test_retrain_runs_the_alerts_pipeline(tui_store) -> None:
    app = make_app(DataAccess(tui_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_alerts(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = dialog_text(app)
        assert "change  alert 2: run its retrain pipeline now (retrain requested)" in text
        assert "retrain.py:retrain" in text
        assert not app.screen.query("#reason")  # the retrain takes no reason
        await pilot.press("enter")
        await settle(pilot)
        alert = tui_store.monitors.alert(2)
        assert (alert.action_status, alert.run_id is not None) == ("succeeded", True)
        assert f"alert 2: retrain succeeded (run {alert.run_id})" in notes(app)
        await pilot.press("4")
        await settle(pilot)
        runs = app.screen.query_one("#runs", Section).table.all_rows
        assert (runs[0].key, runs[0].cells[1]) == (alert.run_id, "retrain")


async def test_read_only_turns_every_verb_off(tui_store) -> None:
    before = tui_store.info()["audit_entries"]
    app = make_app(DataAccess(tui_store.as_actor("bob")), read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "bob · read-only" in str(app.screen.query_one("#status-who", Static).render())
        verbs = [("a", "approve"), ("x", "reject"), ("b", "rollback"), ("k", "acknowledge")]
        for key, verb in [*verbs, ("5", None), ("t", "retrain")]:
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            if verb is not None:
                assert f"read-only: {verb} is off (the TUI was started with --read-only)" in notes(
                    app
                )
    assert tui_store.info()["audit_entries"] == before
