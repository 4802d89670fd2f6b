"""Alert lifecycle on a store: raised once, consecutive windows, ack and resolve, retrain actions."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mlcore.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied

from .conftest import batch

PIPELINE = """
from mlcore.pipelines import pipeline, step

@step
def fit(epochs: int) -> int:
    {body}

@pipeline
def retrain(epochs: int = 1):
    fit(epochs)
"""


@pytest.fixture
def retrain_file(tmp_path: Path) -> Path:
    path = tmp_path / "retrain.py"
    path.write_text(PIPELINE.format(body="return epochs * 10"))
    return path


def drifting(store, rng, n: int = 300):
    return store.monitors.observe("m", batch(rng, n, shift=15.0))


def quiet(store, rng, n: int = 300):
    return store.monitors.observe("m", batch(rng, n))


def test_one_alert_per_rule_and_window_however_often_it_is_updated(store, reference, rng):
    store.monitors.create("m", reference=reference)  # daily windows, default rule
    first = drifting(store, rng)
    assert [(a.rule, a.status, a.severity) for a in first.alerts] == [
        ("dataset_drift", "open", "warning")
    ]
    alert = first.alerts[0]
    assert (alert.window, alert.statistic, alert.value, alert.columns) == (
        first.windows[0], "drift", 1.0, ("age",),
    )  # fmt: skip
    assert drifting(store, rng).alerts == []
    assert store.monitors.evaluate("m") == []
    assert [a.id for a in store.monitors.alerts("m")] == [alert.id]
    (entry,) = store.audit_log(action="alert.raise")
    assert entry.subject == f"alert:{alert.id}"


def test_consecutive_windows_raise_once_and_clear_when_the_newest_window_is_fine(
    store, reference, rng
) -> None:
    store.monitors.create(
        "m", reference=reference, window="batch",
        rules=[{"name": "shift", "statistic": "psi", "columns": ["age"], "threshold": 0.25,
                "consecutive": 2, "severity": "critical"}],
    )  # fmt: skip
    assert drifting(store, rng).alerts == []
    second = drifting(store, rng)
    assert [(a.rule, a.window) for a in second.alerts] == [("shift", second.windows[0])]
    assert drifting(store, rng).alerts == []  # still the same drift: one alert
    cleared = quiet(store, rng)
    assert [(a.id, a.status, a.resolved_by) for a in cleared.resolved] == [
        (second.alerts[0].id, "resolved", "admin")
    ]
    assert "condition cleared" in cleared.resolved[0].resolution
    assert drifting(store, rng).alerts == []
    again = drifting(store, rng)
    assert len(again.alerts) == 1 and again.alerts[0].id != second.alerts[0].id
    assert [a.status for a in store.monitors.alerts("m")] == ["open", "resolved"]


def test_ack_needs_a_comment_and_the_role_and_is_audited(store, reference, rng) -> None:
    store.monitors.create("m", reference=reference, calibrate=False)
    (alert,) = drifting(store, rng).alerts
    with pytest.raises(InvalidInput, match="comment is required"):
        store.monitors.ack(alert.id, "  ")
    store.grant("eve", "risk-officer")
    store.as_actor("nobody")
    with pytest.raises(PermissionDenied, match="acknowledge an alert"):
        store.as_actor("nobody").monitors.ack(alert.id, "mine")
    done = store.as_actor("eve").monitors.ack(alert.id, "known campaign")
    assert (done.status, done.acked_by, done.ack_comment) == (
        "acknowledged",
        "eve",
        "known campaign",
    )
    with pytest.raises(InvalidTransition, match="Allowed from acknowledged: resolve"):
        store.monitors.ack(alert.id, "twice")
    closed = store.monitors.resolve(alert.id, "retrained")
    assert (closed.status, closed.resolution) == ("resolved", "retrained")
    entries = store.audit_log(subject=f"alert:{alert.id}")
    assert [e.action for e in entries] == ["alert.raise", "alert.acknowledge", "alert.resolve"]
    assert entries[1].actor == "eve" and entries[1].details["comment"] == "known campaign"
    with pytest.raises(NotFound, match="alert '999'"):
        store.monitors.ack(999, "x")


def test_a_retrain_action_runs_the_pipeline_and_records_the_run(
    store, reference, rng, retrain_file
) -> None:
    store.monitors.create(
        "m", reference=reference, calibrate=False,
        rules=[{"name": "retrain", "statistic": "drift",
                "action": {"pipeline": f"{retrain_file}:retrain", "params": {"epochs": 3}}}],
    )  # fmt: skip
    (alert,) = drifting(store, rng).alerts
    assert alert.action_status == "succeeded"
    run = store.pipelines.get(alert.run_id)
    assert run.output("fit") == 30 and run.record.params == {"epochs": 3}
    assert store.monitors.alert(alert.id).run_id == alert.run_id
    (entry,) = store.audit_log(action="alert.action")
    assert entry.details["run_id"] == alert.run_id
    with pytest.raises(Conflict, match="already ran"):
        store.monitors.run_action(alert.id)


def test_a_recorded_retrain_waits_for_a_job(store, reference, rng, retrain_file) -> None:
    store.monitors.create(
        "m", reference=reference, calibrate=False,
        rules=[{"statistic": "drift",
                "action": {"pipeline": str(retrain_file), "trigger": "record"}}],
    )  # fmt: skip
    (alert,) = drifting(store, rng).alerts
    assert (alert.action_status, alert.run_id) == ("requested", None)
    assert store.pipelines.runs() == []
    assert [a.id for a in store.monitors.alerts(action_status="requested")] == [alert.id]
    with pytest.raises(PermissionDenied):  # someone without pipelines.run is refused, audited
        store.as_actor("guest").monitors.run_action(alert.id)
    assert store.monitors.alert(alert.id).action_status == "requested"
    assert store.audit_log(action="access.denied")[-1].actor == "guest"
    done = store.monitors.run_action(alert.id)
    assert done.action_status == "succeeded"
    assert [r.id for r in store.pipelines.runs()] == [done.run_id]
    assert store.monitors.alerts(action_status="requested") == []


def test_a_failing_retrain_is_recorded_not_raised(store, reference, rng, retrain_file) -> None:
    retrain_file.write_text(PIPELINE.format(body="raise RuntimeError('no GPU')"))
    store.monitors.create(
        "m", reference=reference, calibrate=False,
        rules=[{"statistic": "drift", "action": {"pipeline": str(retrain_file)}}],
    )  # fmt: skip
    seen = drifting(store, rng)
    (alert,) = seen.alerts
    assert alert.action_status == "failed" and alert.run_id is not None
    assert seen.rows == 300 and store.monitors.windows("m")[0].rows == 300


def test_performance_rules_fire_when_labels_arrive(store, rng) -> None:
    ref = pl.DataFrame({"x": rng.normal(size=500), "score": rng.random(500)})
    ref = ref.with_columns(label=(pl.col("score") > 0.5).cast(pl.Int64))
    store.monitors.create(
        "m", reference=ref, prediction="score", label="label", calibrate=False,
        rules=[{"name": "accuracy", "statistic": "accuracy", "threshold": 0.8}],
    )  # fmt: skip
    scores = rng.random(200)
    logged = pl.DataFrame(
        {"request_id": [str(i) for i in range(200)], "x": rng.normal(size=200), "score": scores}
    )
    assert store.monitors.observe("m", logged).alerts == []  # no labels yet: no accuracy
    wrong = logged.select("request_id", label=(pl.col("score") < 0.5).cast(pl.Int64))
    (alert,) = store.monitors.log_labels("m", wrong).alerts
    assert (alert.rule, alert.value, alert.threshold) == ("accuracy", 0.0, 0.8)


def test_listing_filters(store, reference, rng) -> None:
    store.monitors.create("m", reference=reference, calibrate=False)
    (alert,) = drifting(store, rng).alerts
    assert store.monitors.alerts(status="open")[0].id == alert.id
    assert store.monitors.alerts(status="resolved") == []
    assert store.monitors.alerts(severity="critical") == []
    with pytest.raises(InvalidInput, match="status 'closed'"):
        store.monitors.alerts(status="closed")
    with pytest.raises(NotFound, match="monitor 'n'"):
        store.monitors.alerts("n")


def test_new_rules_apply_to_stored_windows_when_evaluated(store, reference, rng) -> None:
    store.monitors.create("m", reference=reference, calibrate=False, rules=[])
    assert drifting(store, rng).alerts == []
    monitor = store.monitors.set_rules("m", [{"name": "age_psi", "statistic": "psi",
                                              "columns": ["age"], "threshold": 0.5}])  # fmt: skip
    assert [r["name"] for r in monitor.rules] == ["age_psi"]
    assert store.audit_log(action="monitor.rules")[0].details["rules"][0]["threshold"] == 0.5
    (alert,) = store.monitors.evaluate("m")
    assert (alert.rule, alert.columns) == ("age_psi", ("age",))
    assert store.monitors.evaluate("m") == []
    with pytest.raises(NotFound, match="monitored column 'income'"):
        store.monitors.set_rules("m", [{"statistic": "psi", "columns": ["income"]}])
