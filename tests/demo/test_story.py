"""The demo's fast run end to end, checked in the store it leaves behind.

One fast run (about half a minute) serves every test of this module; a second
one checks determinism and is marked slow.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import mlcore
from mlcore.demo import run
from mlcore.demo.pipeline import MODEL
from mlcore.demo.replay import MONITOR, WATCHED
from mlcore.demo.story import PRODUCTION_END, PRODUCTION_START


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("demo") / "store"
    lines: list[str] = []
    summary = run(path, fast=True, seed=0, actor="admin", narrate=lines.append, threads=1)
    store = mlcore.open(path, actor="admin")
    yield summary, store, lines
    store.close()


def test_a_model_serves_production_and_the_rollback_is_on_record(demo) -> None:
    summary, store, _ = demo
    production = store.models.show(MODEL).production
    assert production is not None and production.version == summary.production == 1
    assert production.action == "rollback" and "drill" in production.reason
    moves = [(m.action, m.to_version) for m in store.models.pointer_history(MODEL)]
    assert moves == [("release", 1), ("release", 2), ("rollback", 1)]
    assert store.models.get(MODEL, 2).state == "archived"
    assert summary.rollback == {"from": 2, "to": 1, "reason": production.reason}


def test_the_weather_shift_raises_an_alert_in_autumn_whose_retrain_ran(demo) -> None:
    summary, store, _ = demo
    alerts = store.monitors.alerts(MONITOR)
    weather = [a for a in alerts if a.rule == "weather_shift"]
    assert len(weather) == 1
    alert = weather[0]
    assert PRODUCTION_START <= alert.window_start < PRODUCTION_END
    assert alert.window_start >= dt.datetime(2013, 9, 16, tzinfo=dt.UTC)  # three weeks in
    assert set(alert.columns) <= set(WATCHED) and alert.columns
    assert alert.value > alert.threshold
    assert (alert.severity, alert.action_status, alert.status) == (
        "critical",
        "succeeded",
        "acknowledged",
    )
    run_record = store.pipelines.get(alert.run_id)
    assert str(run_record.status) == "succeeded"
    assert run_record.output("register")["version"] == 2
    assert [a["id"] for a in summary.alerts] == [a.id for a in sorted(alerts, key=lambda a: a.id)]


def test_the_retrained_version_was_evaluated_against_the_champion(demo) -> None:
    summary, store, _ = demo
    (evaluation,) = store.evals.evaluations(MODEL, 2)
    assert evaluation.champion == 1
    rules = {r.rule: r for r in evaluation.rules}
    assert rules["no-regression"].effective in ("pass", "fail")
    assert rules["no-regression"].value is not None
    first, retrained = (store.features.dataset("flight_delays", v) for v in (1, 2))
    assert retrained.created_at > first.created_at
    facts = summary.versions[1]["evaluation"]
    assert facts["verdict"] == evaluation.verdict
    assert facts["champion"]["version"] == 1 and 0.5 < facts["champion"]["roc_auc"] < 1
    assert summary.versions[1]["alert"] == summary.alerts[0]["id"]


def test_the_author_could_not_approve_and_the_gate_saw_the_evaluation(demo) -> None:
    summary, store, _ = demo
    denied = [e for e in store.audit_log() if e.action == "access.denied"]
    assert [e.actor for e in denied] == ["dana"]
    assert "registered it" in summary.refusals[0]
    released = [e for e in store.models.history(MODEL) if e.action == "release"]
    assert all(e.actor == "mia" for e in released)
    assert summary.gates == [{"version": 1, "blocked_by": []}, {"version": 2, "blocked_by": []}]


def test_every_week_is_scored_labelled_and_served_by_the_model_in_production(demo) -> None:
    summary, store, _ = demo
    weeks = summary.weeks
    assert [w["week"] for w in weeks] == list(range(1, 18))
    assert all(w["flights"] == w["labelled"] > 0 for w in weeks)
    alert_week = summary.alerts[0]["week"]
    assert {w["served_by"] for w in weeks if w["week"] <= alert_week} == {1}
    assert {w["served_by"] for w in weeks if w["week"] > alert_week} == {2}
    assert all(w["roc_auc"] is not None and 0.5 < w["roc_auc"] < 1 for w in weeks)
    logged = store.monitors.logs(MONITOR)
    assert logged.height == sum(w["flights"] for w in weeks)


def test_the_audit_chain_verifies(demo) -> None:
    summary, store, _ = demo
    assert store.verify_audit().ok
    assert summary.audit == {"entries": len(store.audit_log()), "verified": True}


def test_the_story_is_told_and_the_summary_is_json(demo) -> None:
    summary, _, lines = demo
    assert lines[0].startswith(f"store {summary.store}")
    assert any("weather_shift" in line for line in lines)
    text = json.dumps(summary.to_dict())
    assert json.loads(text)["tui"] == f"mlcore tui --store {summary.store}"


def test_a_folder_with_something_in_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(mlcore.Conflict, match="not empty"):
        run(tmp_path, fast=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


_VOLATILE = {"store", "seconds", "tui", "run", "id", "sha256"}


def _stable(value):
    """The summary without what two runs cannot share: paths, times, drawn ids."""
    if isinstance(value, dict):
        return {
            k: _stable(v)
            for k, v in value.items()
            if k not in _VOLATILE or (k == "id" and isinstance(v, int | None))
        }
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@pytest.mark.slow
def test_the_same_seed_tells_the_same_story(demo, tmp_path: Path) -> None:
    summary, _, _ = demo
    again = run(tmp_path / "again", fast=True, seed=0, actor="admin", threads=1)
    assert _stable(again.to_dict()) == _stable(summary.to_dict())
