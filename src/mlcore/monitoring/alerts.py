"""Alerts: raised by rules on windows, acknowledged and resolved by people, with retrain actions.

Lifecycle::

    open --ack--> acknowledged --resolve--> resolved
      \\_________________resolve_____________/

An alert is raised at most once per (monitor, rule, window), and not while the
same rule still has an unresolved alert: a drift that lasts ten windows is one
alert, not ten. When the rule's condition clears on the monitor's newest
window, its unresolved alerts are resolved automatically (``resolved_by`` is
the actor whose update cleared it). Acknowledging needs the ``alerts.ack``
permission and a comment; every change is audited as ``alert.<verb>`` on
``alert:<id>``.

A rule's action is recorded with its alert: ``trigger = "record"`` sets
``action_status`` to ``requested`` (a batch job lists such alerts and runs the
pipeline, e.g. with ``store.monitors.run_action(id)``); ``trigger = "run"``
runs the pipeline right after the alert is stored and records the run id and
``succeeded`` or ``failed``; ``unavailable`` when the store has no pipelines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, InvalidTransition, NotFound
from mlcore.monitoring.codec import json_float

if TYPE_CHECKING:
    from mlcore.monitoring.rules import Evaluation
    from mlcore.store.storage import Tx

__all__ = ["STATUSES", "Alert", "acknowledge", "get", "listing", "record", "record_action"]

STATUSES = ("open", "acknowledged", "resolved")
_NEXT = {
    "acknowledge": {"open": "acknowledged"},
    "resolve": {"open": "resolved", "acknowledged": "resolved"},
}

_COLUMNS = (
    "id, monitor, rule, window_id, window_start, statistic, columns, value, threshold, severity, "
    "status, created_at, created_by, details, action, action_status, run_id, acked_at, acked_by, "
    "ack_comment, resolved_at, resolved_by, resolution"
)


@dataclass(frozen=True)
class Alert:
    """One stored alert; see the module docstring for its lifecycle."""

    id: int
    monitor: str
    rule: str
    window: int
    window_start: datetime
    statistic: str
    columns: tuple[str, ...]
    value: float | None
    threshold: float | None
    severity: str
    status: str
    created_at: datetime
    created_by: str
    details: dict[str, Any] = field(default_factory=dict)
    action: dict[str, Any] | None = None
    action_status: str | None = None
    run_id: str | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Alert:
        values = list(row)
        values[6] = tuple(values[6])
        values[13] = json.loads(values[13])
        values[14] = None if values[14] is None else json.loads(values[14])
        return cls(*values)

    @property
    def subject(self) -> str:
        return f"alert:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "monitor": self.monitor,
            "rule": self.rule,
            "window": self.window,
            "window_start": self.window_start,
            "statistic": self.statistic,
            "columns": list(self.columns),
            "value": self.value,
            "threshold": self.threshold,
            "severity": self.severity,
            "status": self.status,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "details": self.details,
            "action": self.action,
            "action_status": self.action_status,
            "run_id": self.run_id,
            "acked_at": self.acked_at,
            "acked_by": self.acked_by,
            "ack_comment": self.ack_comment,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
        }


def get(tx: Tx, alert_id: int) -> Alert:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM monitor_alerts WHERE id = ?", [int(alert_id)])
    if row is None:
        raise NotFound("alert", str(alert_id), hint="List alerts with `mlcore alerts list`")
    return Alert.from_row(row)


def listing(
    tx: Tx,
    *,
    monitor: str | None = None,
    status: str | None = None,
    severity: str | None = None,
    action_status: str | None = None,
    limit: int | None = None,
) -> list[Alert]:
    """Alerts, newest first, filtered by monitor, status, severity and action status."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}")
    sql = f"SELECT {_COLUMNS} FROM monitor_alerts WHERE 1 = 1"
    params: list[Any] = []
    for column, value in (
        ("monitor", monitor),
        ("status", status),
        ("severity", severity),
        ("action_status", action_status),
    ):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [Alert.from_row(row) for row in tx.fetchall(sql, params)]


def record(tx: Tx, monitor: str, found: Evaluation) -> tuple[list[Alert], list[Alert]]:
    """Store what :func:`~mlcore.monitoring.rules.evaluate` found; return (raised, resolved).

    Runs in the caller's transaction; see the module docstring for the rules
    that keep alerts from repeating.
    """
    now = datetime.now(UTC)
    raised = []
    for rule, window, hit in found.raised:
        exists = tx.fetchone(
            "SELECT 1 FROM monitor_alerts WHERE monitor = ? AND rule = ? "
            "AND (window_id = ? OR status != 'resolved') LIMIT 1",
            [monitor, rule.name, window.window],
        )
        if exists:
            continue
        (alert_id,) = tx.fetchone("SELECT coalesce(max(id), 0) + 1 FROM monitor_alerts") or (1,)
        action = rule.action.to_dict() if rule.action else None
        action_status = None if action is None else (
            "requested" if rule.action.trigger == "record" else "pending"  # type: ignore[union-attr]
        )  # fmt: skip
        alert = Alert(
            alert_id, monitor, rule.name, window.window, window.starts_at, rule.statistic,
            hit.columns, json_float(hit.value), json_float(hit.threshold), rule.severity, "open",
            now, tx.actor, {**hit.details, "consecutive": rule.consecutive}, action, action_status,
        )  # fmt: skip
        tx.execute(
            f"INSERT INTO monitor_alerts ({_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
            [
                alert.id, monitor, rule.name, window.window, window.starts_at, rule.statistic,
                list(hit.columns), alert.value, alert.threshold, rule.severity, "open", now,
                tx.actor, json.dumps(alert.details, default=str),
                None if action is None else json.dumps(action), action_status,
            ],
        )  # fmt: skip
        tx.audit(
            "alert.raise",
            alert.subject,
            {"monitor": monitor, "rule": rule.name, "window": window.window,
             "value": alert.value, "threshold": alert.threshold, "severity": rule.severity},
        )  # fmt: skip
        raised.append(alert)
    resolved = []
    for rule, window in found.cleared:
        rows = tx.fetchall(
            f"SELECT {_COLUMNS} FROM monitor_alerts WHERE monitor = ? AND rule = ? "
            "AND status != 'resolved'",
            [monitor, rule.name],
        )
        for row in rows:
            note = f"condition cleared in window {window.label}"
            resolved.append(_move(tx, Alert.from_row(row), "resolve", note, now))
    return raised, resolved


def acknowledge(tx: Tx, alert_id: int, comment: str, *, resolve: bool = False) -> Alert:
    """Acknowledge (or resolve) an alert with a comment; needs ``alerts.ack``."""
    tx.require("alerts.ack")
    if not comment or not comment.strip():
        raise InvalidInput(
            "a comment is required", hint="Say what was checked or done, e.g. -m 'known outage'"
        )
    return _move(tx, get(tx, alert_id), "resolve" if resolve else "acknowledge", comment.strip())


def _move(tx: Tx, alert: Alert, verb: str, comment: str, now: datetime | None = None) -> Alert:
    target = _NEXT[verb].get(alert.status)
    if target is None:
        possible = [v for v, moves in _NEXT.items() if alert.status in moves]
        raise InvalidTransition(alert.subject, verb, alert.status, possible)
    now = now or datetime.now(UTC)
    if verb == "acknowledge":
        tx.execute(
            "UPDATE monitor_alerts SET status = ?, acked_at = ?, acked_by = ?, ack_comment = ? "
            "WHERE id = ?",
            [target, now, tx.actor, comment, alert.id],
        )
    else:
        tx.execute(
            "UPDATE monitor_alerts SET status = ?, resolved_at = ?, resolved_by = ?, "
            "resolution = ? WHERE id = ?",
            [target, now, tx.actor, comment, alert.id],
        )
    tx.audit(f"alert.{verb}", alert.subject, {"from": alert.status, "comment": comment})
    return get(tx, alert.id)


def record_action(
    tx: Tx, alert_id: int, status: str, *, run_id: str | None = None, error: str | None = None
) -> Alert:
    """Record what became of an alert's action: ``succeeded``/``failed`` with the run, or why not."""
    alert = get(tx, alert_id)
    details = dict(alert.details)
    if error is not None:
        details["action_error"] = error
    tx.execute(
        "UPDATE monitor_alerts SET action_status = ?, run_id = ?, details = ? WHERE id = ?",
        [status, run_id, json.dumps(details, default=str), alert.id],
    )
    tx.audit(
        "alert.action",
        alert.subject,
        {"status": status, "run_id": run_id, "pipeline": (alert.action or {}).get("pipeline"),
         **({"error": error} if error else {})},
    )  # fmt: skip
    return get(tx, alert.id)
