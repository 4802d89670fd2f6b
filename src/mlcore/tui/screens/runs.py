"""Runs: pipeline runs -> one run's steps (status, timings, cache hits) and lineage.

The lineage lists the data given to the run, each step's outputs (by content
hash, and the run that computed them when reused from the cache), the model
versions it registered and their evaluations; Enter on a version or an
evaluation opens the version.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlcore.tui import format as fmt
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.screens.models import VersionScreen
from mlcore.tui.viewmodels import Unavailable
from mlcore.tui.widgets import Cell, Row, RowsTable, Section, toned

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import Part, RunDetail, RunRow

__all__ = ["RunScreen", "RunsScreen", "run_rows"]

_STATUS_TONES = {"succeeded": "ok", "failed": "bad", "running": "warn", "cached": "accent"}
_LINK_TONES = {"model": "accent", "evaluation": "accent"}
_CACHE: dict[bool | None, Cell] = {True: ("hit", "accent"), False: "miss", None: "-"}


def status_cell(status: str) -> Cell:
    return toned(status, _STATUS_TONES)


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
        self.refs: dict[str, str] = {}

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="about", markup=False)
            yield Section(
                "Steps",
                ["step", "status", "took", "cache", "tries", "error"],
                id="steps",
            )
            yield Section(
                "Lineage: data -> step outputs -> model versions -> evaluations",
                ["link", "name", "what", "sha256"],
                id="links",
                empty="nothing recorded",
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
                        _CACHE[s.cache_hit],
                        str(s.attempts),
                        (s.error, "bad") if s.error else "",
                    ),
                )
                for s in d.steps
            ]
        )
        lineage = d.lineage
        if not isinstance(lineage, Unavailable):
            self.refs = {f"{i}": r.ref for i, r in enumerate(lineage) if r.ref}
        self.query_one("#links", Section).show(
            lineage
            if isinstance(lineage, Unavailable)
            else [
                Row(
                    str(i),
                    (
                        (r.kind, _LINK_TONES.get(r.kind, "muted")),
                        r.name,
                        r.detail,
                        r.sha256[:12] if r.sha256 else "",
                    ),
                )
                for i, r in enumerate(lineage)
            ]
        )

    def open_row(self, table: RowsTable, key: str) -> None:
        if table.id == "links-table" and key in self.refs:
            name, _, version = self.refs[key].rpartition("/")
            self.app.push_screen(VersionScreen(name, int(version)))
