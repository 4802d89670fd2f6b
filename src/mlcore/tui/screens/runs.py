"""Runs: pipeline runs -> one run's steps with status, timings and cache hits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Static

from mlcore.tui import format as fmt
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.viewmodels import Unavailable
from mlcore.tui.widgets import Cell, Row, RowsTable, Section

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import Part, RunDetail, RunRow

__all__ = ["RunScreen", "RunsScreen", "run_rows"]

_STATUS_TONES = {"succeeded": "ok", "failed": "bad", "running": "warn", "cached": "accent"}


def status_cell(status: str) -> Cell:
    tone = _STATUS_TONES.get(status)
    return (status, tone) if tone else status


def run_rows(runs: Iterable[RunRow]) -> list[Row]:
    return [
        Row(
            r.id,
            (
                r.id,
                r.pipeline,
                status_cell(r.status),
                fmt.when(r.started_at),
                fmt.duration(r.seconds),
            ),
        )
        for r in runs
    ]


class RunsScreen(ViewScreen):
    VIEW = "runs"
    BINDINGS = bindings(VIEW)

    def body(self) -> ComposeResult:
        yield Section(
            "Runs",
            ["run", "pipeline", "status", "started (UTC)", "took"],
            id="runs",
            empty="no runs yet",
        )

    def fetch(self, data: DataAccess) -> Part[tuple[RunRow, ...]]:
        return data.runs()

    def show(self, runs: Part[tuple[RunRow, ...]]) -> None:
        self.query_one("#runs", Section).show(
            runs if isinstance(runs, Unavailable) else run_rows(runs)
        )

    def open_row(self, table: RowsTable, key: str) -> None:
        self.app.push_screen(RunScreen(key))


class RunScreen(ViewScreen):
    VIEW = "run"
    BINDINGS = bindings(VIEW)

    def __init__(self, run_id: str) -> None:
        super().__init__("Runs", run_id)
        self.run_id = run_id

    def body(self) -> ComposeResult:
        yield Static("", id="about", markup=False)
        yield Section(
            "Steps",
            ["step", "status", "took", "cache", "tries", "error"],
            id="steps",
        )

    def fetch(self, data: DataAccess) -> RunDetail:
        return data.run(self.run_id)

    def show(self, d: RunDetail) -> None:
        r = d.row
        self.query_one("#about", Static).update(
            fmt.facts(
                [
                    ("pipeline", r.pipeline),
                    ("status", r.status),
                    ("started", r.started_at),
                    ("took", fmt.duration(r.seconds)),
                    ("steps", f"{r.steps} ({r.cached} from cache, {r.failed} failed)"),
                    ("params", d.params or None),
                    ("source", d.source),
                    ("resumed from", d.resumed_from),
                ]
            )
        )
        self.query_one("#steps", Section).show(
            [
                Row(
                    s.name,
                    (
                        s.name,
                        status_cell(s.status),
                        fmt.duration(s.seconds),
                        {True: ("hit", "accent"), False: "miss", None: "-"}[s.cache_hit],
                        str(s.attempts),
                        (s.error, "bad") if s.error else "",
                    ),
                )
                for s in d.steps
            ]
        )
