"""Step 5 of the demo: September to December as production traffic, one week at a time.

Each week of flights (by the moment their features are read, two hours
before departure; weeks start on Monday 00:00 UTC, as the monitor's windows
do):

1. ``eli`` ingests the week's weather and departures, as the sources deliver
   them; the point-in-time join never reads past each flight's entity time;
2. ``mia`` reads the week's features point in time -- what the online table
   served two hours before each departure -- and scores them with
   ``store.models.score``, which logs the batch to the monitor;
3. the previous week's labels arrive (a week late) and are joined to the
   logged predictions with ``log_labels``;
4. a new alert whose rule requests a retrain is handled by a retraining job:
   a training set of the most recent labelled weeks is saved as the dataset's
   next version, the alert's pipeline runs on it (``run_action``), the new
   version is evaluated against the production champion inside the pipeline
   and, if it passes, reviewed and released.

The monitor's reference is the first model's held-out test period (mid-July
to August) with its scores, as NannyML advises: the most recent period whose
performance is known. Its thresholds are calibrated on that reference with
pseudo-windows of a week's worth of flights. Against the whole of
January-August the autumn's temperatures are nothing new (January was
colder), and calibration, which sees the seasons in the reference's blocks,
rightly declines to alert; against late summer the cooling is a clear,
lasting shift.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.demo import story, traffic
from mlcore.demo.definitions import FEATURES
from mlcore.demo.pipeline import DATASET, MODEL

if TYPE_CHECKING:
    import polars as pl

    from mlcore.demo.story import Cast, DemoOptions, Narrate
    from mlcore.demo.summary import Summary
    from mlcore.monitoring.alerts import Alert

__all__ = ["MONITOR", "RECENT", "WATCHED", "replay", "rules"]

MONITOR = "flight_delays"
#: How far back a retraining job reaches for labelled flights: as far as the first
#: training set did (January to August), so the window slides rather than grows.
RECENT = dt.timedelta(weeks=35)
#: The weather columns whose shift retrains the model (see monitor.toml).
WATCHED = ("temp", "dewp", "humid")
RULES = Path(__file__).with_name("monitor.toml")
_WEEK = dt.timedelta(weeks=1)


def rules(options: DemoOptions) -> list[dict[str, Any]]:
    """The monitor's rules from ``monitor.toml``, their retrains sized like this run."""
    import tomllib

    table = tomllib.loads(RULES.read_text())["rules"]
    for rule in table:
        if "action" in rule:
            action = rule["action"]
            action["pipeline"] = str(RULES.parent / action["pipeline"])
            action["params"] = {**action.get("params", {}), **options.pipeline_params}
    return table


def replay(
    cast: Cast,
    rows: pl.DataFrame,
    events: dict[str, tuple[str, Any]],
    first_run: Any,
    options: DemoOptions,
    summary: Summary,
    say: Narrate,
) -> None:
    """Create the monitor, then score, label and react week by week (see the module doc)."""
    import polars as pl

    _create_monitor(cast, first_run, options, summary, say)
    moment = pl.col(traffic.TIMESTAMP)
    production = rows.filter(
        moment.is_between(story.PRODUCTION_START, story.PRODUCTION_END, "left")
    )
    served: dict[int, int] = {}
    raised: set[int] = set()
    previous = None
    for start, week in traffic.weeks(production, story.PRODUCTION_START, story.PRODUCTION_END):
        number = week_number(start)
        story.ingest_between(cast.eli, events, start, start + _WEEK)
        batch = cast.mia.features.historical(
            week.drop(traffic.LABEL), FEATURES, timestamp=traffic.TIMESTAMP
        )
        served[number] = cast.mia.models.resolve(MODEL).version
        cast.mia.models.score(MODEL, batch)
        if previous is not None:
            _log_labels(cast, previous)
        previous = week
        for alert in _new_alerts(cast, raised):
            say(
                f"   week {number} ({start:%d %b}): alert {alert.id}, {alert.rule} "
                f"({alert.severity}) on {', '.join(alert.columns) or 'the dataset'} "
                f"in week {week_number(alert.window_start)}"
            )
            if alert.action_status == "requested":
                _retrain(cast, rows, alert, start, summary, say)
    if previous is not None:
        _log_labels(cast, previous)
    summary.alerts = [_alert_facts(cast.mia.monitors.alert(i)) for i in sorted(raised)]
    _weeks(cast, served, summary, say)


def _create_monitor(
    cast: Cast, first_run: Any, options: DemoOptions, summary: Summary, say: Narrate
) -> None:
    test = first_run.output("split", "test")
    version = first_run.output("register")["version"]
    scored = cast.mia.models.score(MODEL, test, version=version)
    reference = test.with_columns(scored["score"])
    days = (reference[traffic.TIMESTAMP].max() - reference[traffic.TIMESTAMP].min()).days + 1
    window_rows = max(1, round(reference.height * 7 / days))
    cast.mia.monitors.create(
        MONITOR,
        model=MODEL,
        reference=reference,
        prediction="score",
        label=traffic.LABEL,
        request_id=traffic.KEY,
        timestamp=traffic.TIMESTAMP,
        window="7d",
        rules=rules(options),
        calibrate={"window_rows": window_rows},
    )
    summary.monitor = {
        "name": MONITOR,
        "reference": f"{MODEL}/{version} test split",
        "reference_rows": reference.height,
        "reference_from": str(reference["scheduled_departure"].min().date()),
        "calibration_window_rows": window_rows,
        "rules": [r["name"] for r in rules(options)],
    }
    say(
        f"5. mia created monitor {MONITOR} on {reference.height:,} reference flights from "
        f"{summary.monitor['reference_from']}; replaying {story.PRODUCTION_START:%d %b} to "
        f"{story.PRODUCTION_END - dt.timedelta(days=1):%d %b} week by week"
    )


def week_number(start: dt.datetime) -> int:
    """1 for the week starting on :data:`~mlcore.demo.story.PRODUCTION_START`, and so on."""
    return (start - story.PRODUCTION_START) // _WEEK + 1


def _log_labels(cast: Cast, week: pl.DataFrame) -> None:
    cast.mia.monitors.log_labels(
        MONITOR, week.select(traffic.KEY, traffic.LABEL), request_id=traffic.KEY
    )


def _new_alerts(cast: Cast, raised: set[int]) -> list[Alert]:
    fresh = [a for a in cast.mia.monitors.alerts(MONITOR) if a.id not in raised]
    raised.update(a.id for a in fresh)
    return sorted(fresh, key=lambda a: a.id)


def _retrain(
    cast: Cast,
    rows: pl.DataFrame,
    alert: Alert,
    labelled_until: dt.datetime,
    summary: Summary,
    say: Narrate,
) -> None:
    """The retraining job: recent labelled flights, the alert's pipeline, review and release."""
    import polars as pl

    since = labelled_until - RECENT
    recent = rows.filter(pl.col(traffic.TIMESTAMP).is_between(since, labelled_until, "left"))
    dataset = cast.mia.features.save_dataset(
        DATASET,
        recent,
        FEATURES,
        timestamp=traffic.TIMESTAMP,
        description=f"the {RECENT.days // 7} weeks of labelled flights up to "
        f"{labelled_until:%Y-%m-%d}, for alert {alert.id}",
    )
    summary.datasets.append(story.dataset_facts(dataset, recent))
    say(
        f"   mia's retraining job saved {dataset.id} ({dataset.rows:,} flights labelled by "
        f"{labelled_until:%d %b}) and ran the alert's pipeline"
    )
    done = cast.mia.monitors.run_action(alert.id)
    result = cast.mia.pipelines.get(done.run_id) if done.run_id else None
    facts = story.version_facts(cast.mia, result) if result is not None else {}
    facts.update(alert=alert.id, action_status=done.action_status)
    summary.versions.append(facts)
    evaluation = facts.get("evaluation")
    released = False
    if evaluation is None:
        say(f"   the retrain did not produce an evaluated version ({done.action_status})")
    else:
        champion = evaluation.get("champion") or {}
        say(
            f"   {MODEL}/{facts['version']}: held-out ROC AUC {evaluation['roc_auc']}, champion "
            f"v{champion.get('version')} {champion.get('roc_auc')} on the same flights: "
            f"{evaluation['verdict']}"
        )
        if evaluation["verdict"] == "pass":
            reason = f"retrained on recent weather after alert {alert.id}"
            released = story.review_and_release(cast, facts["version"], reason, summary, say)
    facts["released"] = released
    outcome = f"released as version {facts['version']}" if released else "not released"
    cast.mia.monitors.ack(
        alert.id, f"retrained on the {RECENT.days // 7} weeks to {labelled_until:%d %b}: {outcome}"
    )


def _weeks(cast: Cast, served: dict[int, int], summary: Summary, say: Narrate) -> None:
    """Per week, from the monitor's stored windows: drift, realised and estimated ROC AUC."""
    report = cast.mia.monitors.report(MONITOR)
    alerts_by_week: dict[int, list[str]] = {}
    for alert in summary.alerts:
        alerts_by_week.setdefault(alert["week"], []).append(alert["rule"])
    for window in report.windows:
        drift, number = window.drift, week_number(window.starts_at)
        summary.weeks.append(
            {
                "week": number,
                "from": str(window.starts_at.date()),
                "flights": window.rows,
                "labelled": window.labelled,
                "served_by": served.get(number),
                "drift": drift.drift,
                "drifted_columns": list(drift.drifted_columns),
                "psi": {c: _rounded(drift.column(c).statistics["psi"].value) for c in WATCHED},
                "roc_auc": _rounded(window.metric("roc_auc")),
                "estimated_roc_auc": _rounded(window.metric("estimated_roc_auc")),
                "alerts": sorted(alerts_by_week.get(number, [])),
            }
        )
    drifted = sum(w["drift"] for w in summary.weeks)
    often = Counter(c for w in summary.weeks for c in w["drifted_columns"]).most_common(4)
    say(
        f"   {len(summary.weeks)} weeks replayed, {drifted} with dataset-level drift; "
        f"columns drifted most often: {', '.join(f'{c} ({n} weeks)' for c, n in often)}"
    )


def _alert_facts(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule": alert.rule,
        "week": week_number(alert.window_start),
        "window_start": str(alert.window_start.date()),
        "severity": alert.severity,
        "columns": list(alert.columns),
        "value": _rounded(alert.value),
        "threshold": _rounded(alert.threshold),
        "status": alert.status,
        "action_status": alert.action_status,
    }


def _rounded(value: float | None) -> float | None:
    if value is None or value != value:
        return None
    return round(float(value), 4)
