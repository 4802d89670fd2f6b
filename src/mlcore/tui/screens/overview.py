"""Overview: what serves production, what waits for review, alerts, runs, store health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlcore.tui import format as fmt
from mlcore.tui.screens.audit import chain_line
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.screens.models import ModelScreen, VersionScreen, version_rows
from mlcore.tui.screens.monitor import ALERT_COLUMNS, MonitorScreen, alert_rows, alert_target
from mlcore.tui.screens.runs import RunScreen, run_rows
from mlcore.tui.viewmodels import Target, Unavailable
from mlcore.tui.widgets import Row, RowsTable, Section

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import AlertRow, Health, ModelRow, Overview

__all__ = ["OverviewScreen", "health_text"]


def health_text(h: Health) -> str:
    roles = ", ".join(h.roles) or "no role"
    return fmt.facts(
        [
            ("store", h.path),
            ("actor", f"{h.actor} ({roles})"),
            ("data", f"{h.data_files} files, {h.data_rows} rows, {fmt.size(h.data_bytes)}"),
            ("artifacts", f"{h.artifacts} blobs, {fmt.size(h.artifact_bytes)}"),
        ]
    )


class OverviewScreen(ViewScreen):
    VIEW = "overview"
    BINDINGS = bindings(VIEW)

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, AlertRow] = {}

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="health", markup=False)
            yield Static("", id="chain", markup=False)
            yield Section(
                "Production",
                ["model", "production", "latest", "state", "updated (UTC)"],
                id="production",
                empty="no models yet",
            )
            yield Section(
                "Pending approvals",
                ["version", "state", "registered (UTC)", "by", "risk"],
                id="pending",
                empty="nothing waits for review",
            )
            yield Section("Open alerts", ALERT_COLUMNS, id="alerts", empty="no open alerts")
            yield Section(
                "Recent runs",
                ["run", "pipeline", "status", "started (UTC)", "took"],
                id="runs",
                empty="no runs yet",
            )

    def fetch(self, data: DataAccess) -> Overview:
        return data.overview()

    def show(self, o: Overview) -> None:
        h = o.health
        self.query_one("#health", Static).update(health_text(h))
        text, tone = chain_line(h.chain_ok, h.audit_entries, h.chain_head, h.chain_problem)
        chain = self.query_one("#chain", Static)
        chain.update(f"audit     {text}")
        chain.set_classes(tone)
        self.query_one("#production", Section).show(
            o.production if isinstance(o.production, Unavailable) else _production(o.production)
        )
        self.query_one("#pending", Section).show(
            o.pending if isinstance(o.pending, Unavailable) else version_rows(o.pending)
        )
        if not isinstance(o.alerts, Unavailable):
            self.alerts = {str(a.id): a for a in o.alerts}
        self.query_one("#alerts", Section).show(
            o.alerts if isinstance(o.alerts, Unavailable) else alert_rows(o.alerts)
        )
        self.query_one("#runs", Section).show(
            o.runs if isinstance(o.runs, Unavailable) else run_rows(o.runs)
        )

    def open_row(self, table: RowsTable, key: str) -> None:
        section = table.parent.id if table.parent is not None else None
        if section == "production":
            self.app.push_screen(ModelScreen(key))
        elif section == "pending":
            name, _, version = key.rpartition("/")
            self.app.push_screen(VersionScreen(name, int(version)))
        elif section == "runs":
            self.app.push_screen(RunScreen(key))
        elif section == "alerts":
            self.app.push_screen(MonitorScreen(self.alerts[key].monitor))

    def target(self, verb: str) -> Target | None:
        # each verb fits one section, so it acts on that section's selected row
        if verb in ("approve", "reject"):
            key = self.query_one("#pending", Section).table.selected_key
            if key is None:
                return None
            name, _, version = key.rpartition("/")
            return Target("version", name, int(version))
        if verb == "rollback":
            key = self.query_one("#production", Section).table.selected_key
            return None if key is None else Target("model", key)
        return alert_target(self.query_one("#alerts", Section), verb)


def _production(models: tuple[ModelRow, ...]) -> list[Row]:
    return [
        Row(
            m.name,
            (
                m.name,
                (f"v{m.production}", "ok") if m.production is not None else ("none", "muted"),
                f"v{m.latest}",
                m.latest_state,
                fmt.when(m.updated_at),
            ),
        )
        for m in models
    ]
