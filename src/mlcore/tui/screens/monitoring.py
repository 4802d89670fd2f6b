"""Monitoring: monitors with their newest window, and alerts with severity and status.

Enter on a monitor (or on an alert) opens the monitor's page
(:class:`~mlcore.tui.screens.monitor.MonitorScreen`); ``k`` acknowledges the
selected alert and ``t`` runs its retrain pipeline, each after a confirmation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult

from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.screens.monitor import ALERT_COLUMNS, MonitorScreen, alert_rows, alert_target
from mlcore.tui.viewmodels import Target, Unavailable
from mlcore.tui.widgets import Cell, Row, RowsTable, Section

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import AlertRow, Monitoring, MonitorRow, Part

__all__ = ["MonitoringScreen"]


def _monitor_cells(m: MonitorRow) -> tuple[Cell, ...]:
    if m.drifted is None:
        drifted: Cell = ("no batch yet", "muted")
    else:
        drifted = (", ".join(m.drifted), "bad") if m.drifted else ("none", "ok")
    return (
        m.name,
        m.model or "-",
        m.window,
        m.latest or "-",
        str(m.latest_rows),
        drifted,
        (str(m.open_alerts), "bad") if m.open_alerts else "0",
    )


class MonitoringScreen(ViewScreen):
    VIEW = "monitoring"
    BINDINGS = bindings(VIEW)

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, AlertRow] = {}

    def body(self) -> ComposeResult:
        yield Section(
            "Monitors",
            ["monitor", "model", "window", "newest window", "rows", "drifted", "alerts"],
            id="monitors",
            empty="no monitors yet",
        )
        yield Section("Alerts, newest first", ALERT_COLUMNS, id="alerts", empty="no alerts")

    def fetch(self, data: DataAccess) -> Part[Monitoring]:
        return data.monitoring()

    def show(self, m: Part[Monitoring]) -> None:
        monitors = self.query_one("#monitors", Section)
        alerts = self.query_one("#alerts", Section)
        if isinstance(m, Unavailable):
            monitors.show(m)
            alerts.show(m)
            return
        monitors.show([Row(r.name, _monitor_cells(r), " ".join(r.columns)) for r in m.monitors])
        self.alerts = {str(a.id): a for a in m.alerts}
        alerts.show(alert_rows(m.alerts))

    def open_row(self, table: RowsTable, key: str) -> None:
        if table.id == "alerts-table":
            key = self.alerts[key].monitor
        self.app.push_screen(MonitorScreen(key))

    def target(self, verb: str) -> Target | None:
        return alert_target(self.query_one("#alerts", Section), verb)
