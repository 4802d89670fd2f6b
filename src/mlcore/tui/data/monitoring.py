"""Monitoring: monitors, their drift per column and window, performance over time, alerts.

Everything comes from ``store.monitors``: ``report`` (drift and performance per
window, computed from the stored window summaries, never from the logged rows)
and ``alerts``. A monitor's page shows its newest :data:`WINDOWS` windows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mlcore.tui import viewmodels as vm
from mlcore.tui.data.base import Capabilities

__all__ = ["ALERTS", "WINDOWS", "MonitoringData", "drift_cell", "window_names"]

#: Windows a monitor's page shows: the newest month of daily windows.
WINDOWS = 30
#: Alerts the monitoring view lists, newest first.
ALERTS = 200
#: Headline metrics of the performance table, per task.
_METRICS = {"classification": ("accuracy", "f1", "roc_auc"), "regression": ("mae", "rmse", "r2")}
#: Alerts people still have to deal with.
_ACTIVE = ("open", "acknowledged")


class MonitoringData(Capabilities):
    def monitoring(self) -> vm.Part[vm.Monitoring]:
        """Every monitor with its newest window, and the newest alerts."""

        def listed() -> vm.Monitoring:
            specs = {m.name: m for m in self._api("monitors", "list")()}
            alerts = self._api("monitors", "alerts")(limit=ALERTS)
            active = [a.monitor for a in alerts if a.status in _ACTIVE]
            return vm.Monitoring(
                monitors=tuple(self._monitor_row(m, active.count(m.name)) for m in specs.values()),
                alerts=tuple(_alert_row(a, specs[a.monitor].window) for a in alerts),
            )

        return self._part(listed)

    def open_alerts(self) -> vm.Part[tuple[vm.AlertRow, ...]]:
        """Alerts open or acknowledged, newest first."""

        def active() -> tuple[vm.AlertRow, ...]:
            windows = {m.name: m.window for m in self._api("monitors", "list")()}
            alerts = self._api("monitors", "alerts")
            found = [a for status in _ACTIVE for a in alerts(status=status)]
            found.sort(key=lambda a: a.id, reverse=True)
            return tuple(_alert_row(a, windows[a.monitor]) for a in found)

        return self._part(active)

    def monitor(self, name: str) -> vm.MonitorDetail:
        """One monitor: drift matrix, sparklines, performance and alerts over its newest windows."""
        monitor = self._api("monitors", "get")(name)
        report = self._api("monitors", "report")(name, last=WINDOWS)
        alerts = self._api("monitors", "alerts")(name, limit=ALERTS)
        active = sum(1 for a in alerts if a.status in _ACTIVE)
        windows = tuple(_window(w, monitor.window) for w in report.windows)
        # every statistic any column has, numeric ones first (the profile's column order)
        statistics = tuple(
            dict.fromkeys(s for w in report.windows for c in w.drift.columns for s in c.statistics)
        )
        drift = {
            column: {s: tuple(_cell(w, column, s) for w in report.windows) for s in statistics}
            for column in report.columns
        }
        return vm.MonitorDetail(
            row=_monitor_row(monitor, windows[-1] if windows else None, active),
            facts=_facts(monitor),
            windows=windows,
            statistics=statistics,
            drift=drift,
            performance=tuple(
                _performance(w, windows[i].label) for i, w in enumerate(report.windows)
            ),
            metrics=_METRICS.get(monitor.task or "", ()),
            alerts=tuple(_alert_row(a, monitor.window) for a in alerts),
        )

    def drift(self, name: str, column: str, window: int) -> vm.DriftDetail:
        """Every statistic of ``column`` in one window of monitor ``name``."""
        monitor = self._api("monitors", "get")(name)
        (found,) = self._api("monitors", "report")(name, windows=[window]).windows
        col = found.drift.column(column)
        return vm.DriftDetail(
            monitor=name,
            column=column,
            kind=col.kind,
            window=_window(found, monitor.window),
            status=col.status,
            pvalue=_finite(col.pvalue),
            cells=tuple(drift_cell(r) for r in col.statistics.values()),
        )

    def _monitor_row(self, monitor: Any, active: int) -> vm.MonitorRow:
        newest = self._api("monitors", "report")(monitor.name, last=1).windows
        return _monitor_row(monitor, _window(newest[0], monitor.window) if newest else None, active)


def window_names(starts_at: datetime, window_id: int, spec: str) -> tuple[str, str]:
    """A window's short name (a heat map's column) and its full name.

    >>> from datetime import UTC, datetime
    >>> window_names(datetime(2024, 3, 6, tzinfo=UTC), 19784, "1d")
    ('03-06', '2024-03-06 (1d)')
    >>> window_names(datetime(2024, 3, 6, 14, tzinfo=UTC), 474830, "1h")
    ('06 14:00', '2024-03-06 14:00 (1h)')
    >>> window_names(datetime(2024, 3, 6, 14, 5, tzinfo=UTC), 12, "batch")
    ('#12', 'batch #12, logged 2024-03-06 14:05')
    """
    if spec == "batch":
        return f"#{window_id}", f"batch #{window_id}, logged {starts_at:%Y-%m-%d %H:%M}"
    if spec[-1] in "dw":
        return f"{starts_at:%m-%d}", f"{starts_at:%Y-%m-%d} ({spec})"
    return f"{starts_at:%d %H:%M}", f"{starts_at:%Y-%m-%d %H:%M} ({spec})"


def drift_cell(result: Any) -> vm.DriftCell:
    """A drift statistic as the heat map shows it: ok, warn (past half the threshold), drift.

    >>> from mlcore.monitoring.report import StatisticResult
    >>> [drift_cell(StatisticResult("psi", v, 0.2, status=s)).status
    ...  for v, s in [(0.05, "ok"), (0.15, "ok"), (0.3, "drift"), (float("nan"), "no_data")]]
    ['ok', 'warn', 'drift', 'no_data']
    >>> drift_cell(StatisticResult("chi_square", 3.2)).status  # no threshold: not judged
    ''
    """
    value, threshold = _finite(result.value, keep_inf=True), _finite(result.threshold)
    if result.status in ("drift", "no_data"):
        status = result.status
    elif threshold is None or value is None:
        status = ""
    else:
        status = "warn" if value > threshold / 2 else "ok"
    return vm.DriftCell(
        result.statistic,
        value,
        threshold,
        status,
        bool(result.alert),
        _finite(result.pvalue),
        _finite(result.test_pvalue),
        _finite(result.bound),
    )


def _cell(window: Any, column: str, statistic: str) -> vm.DriftCell | None:
    found = window.drift.column(column).statistics.get(statistic)
    return None if found is None else drift_cell(found)


def _finite(value: float | None, *, keep_inf: bool = False) -> float | None:
    if value is None or math.isnan(value) or (math.isinf(value) and not keep_inf):
        return None
    return float(value)


def _window(w: Any, spec: str) -> vm.WindowInfo:
    label, title = window_names(w.starts_at, w.window, spec)
    return vm.WindowInfo(
        w.window,
        label,
        title,
        w.rows,
        w.labelled,
        w.changes,
        bool(w.drift.drift),
        tuple(w.drift.drifted_columns),
    )


def _monitor_row(monitor: Any, newest: vm.WindowInfo | None, active: int) -> vm.MonitorRow:
    return vm.MonitorRow(
        name=monitor.name,
        model=monitor.model_ref,
        window=monitor.window,
        columns=tuple(monitor.columns),
        latest=None if newest is None else newest.title,
        latest_rows=0 if newest is None else newest.rows,
        drifted=None if newest is None else newest.drifted,
        open_alerts=active,
    )


def _facts(monitor: Any) -> tuple[tuple[str, Any], ...]:
    settings = monitor.settings
    return (
        ("model", monitor.model_ref),
        ("window", monitor.window),
        ("columns", ", ".join(monitor.columns)),
        ("prediction", monitor.prediction),
        ("label", monitor.label),
        ("reference", f"{settings.get('reference_rows', '?')} rows"),
        (
            "thresholds",
            "calibrated on the reference" if monitor.calibration_sha256 else "conventional",
        ),
        ("rules", "; ".join(_rule_text(r) for r in monitor.rules) or None),
        ("created", monitor.created_at),
        ("created by", monitor.created_by),
    )


def _rule_text(rule: Mapping[str, Any]) -> str:
    columns = rule.get("columns")
    on = f" on {', '.join(columns)}" if isinstance(columns, list) else ""
    action = " -> retrain" if rule.get("action") else ""
    return f"{rule['name']} ({rule['statistic']}{on}, {rule['severity']}){action}"


def _performance(w: Any, label: str) -> vm.PerformanceRow:
    if w.performance:
        source, metrics = "labels", w.performance
    elif w.estimated:
        source, metrics = "estimated", w.estimated
    else:
        source, metrics = "", {}
    finite = {k: v for k, v in metrics.items() if _finite(v) is not None}
    return vm.PerformanceRow(label, w.rows, w.labelled, source, finite)


def _alert_row(alert: Any, spec: str) -> vm.AlertRow:
    action = None
    if alert.action is not None:
        action = f"retrain {alert.action_status or 'pending'}"
        if alert.run_id:
            action += f" (run {alert.run_id})"
        if alert.details.get("action_error"):
            action += f": {alert.details['action_error']}"
    note = None
    if alert.resolved_by:
        note = f"resolved by {alert.resolved_by}: {alert.resolution}"
    elif alert.acked_by:
        note = f"acknowledged by {alert.acked_by}: {alert.ack_comment}"
    return vm.AlertRow(
        id=alert.id,
        monitor=alert.monitor,
        rule=alert.rule,
        severity=alert.severity,
        status=alert.status,
        window=window_names(alert.window_start, alert.window, spec)[1],
        statistic=alert.statistic,
        columns=tuple(alert.columns),
        value=alert.value,
        threshold=alert.threshold,
        action=action,
        note=note,
    )
