"""Monitoring: monitors per model and their alerts.

The store-backed monitors (``store.monitors``) are not built yet; until they
are, this view says so, naming what is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult

from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.screens.overview import generic_rows
from mlcore.tui.viewmodels import Target, Unavailable
from mlcore.tui.widgets import Section

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import Monitoring

__all__ = ["MonitoringScreen"]


class MonitoringScreen(ViewScreen):
    VIEW = "monitoring"
    BINDINGS = bindings(VIEW)

    def body(self) -> ComposeResult:
        yield Section("Monitors", ["id", "monitor"], id="monitors", empty="no monitors yet")

    def fetch(self, data: DataAccess) -> Monitoring:
        return data.monitoring()

    def show(self, m: Monitoring) -> None:
        self.query_one("#monitors", Section).show(
            m.monitors if isinstance(m.monitors, Unavailable) else generic_rows(m.monitors)
        )

    def target(self, verb: str) -> Target | None:
        return None  # alerts arrive with store.monitors
