"""Audit: the newest entries of the hash-chained log, and whether the chain verifies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlcore.tui import format as fmt
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.widgets import Row, RowsTable, Section

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import AuditPage, AuditRow

__all__ = ["AuditEntryScreen", "AuditScreen", "chain_line"]


def chain_line(ok: bool, checked: int, head: str, problem: str | None) -> tuple[str, str]:
    """The verification as one line, and its tone."""
    seq, _, digest = head.partition(":")
    if ok:
        return f"chain verified: {checked} entries, head {seq}:{digest[:16]}…", "ok"
    return f"CHAIN BROKEN: {problem}", "bad"


class AuditScreen(ViewScreen):
    VIEW = "audit"
    BINDINGS = bindings(VIEW)

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, AuditRow] = {}

    def body(self) -> ComposeResult:
        yield Static("", id="chain", markup=False)
        yield Section("Audit log", ["seq", "at (UTC)", "actor", "action", "subject"], id="log")

    def fetch(self, data: DataAccess) -> AuditPage:
        return data.audit()

    def show(self, page: AuditPage) -> None:
        text, tone = chain_line(page.chain_ok, page.total, page.chain_head, page.chain_problem)
        chain = self.query_one("#chain", Static)
        chain.update(text)
        chain.set_classes(tone)
        self.entries = {str(e.seq): e for e in page.entries}
        section = self.query_one("#log", Section)
        section.query_one(".section-title", Static).update(
            f"Audit log: newest {len(page.entries)} of {page.total} entries"
        )
        section.show(
            [
                Row(
                    str(e.seq),
                    (str(e.seq), fmt.when(e.at), e.actor, _action(e.action), e.subject),
                    search=json.dumps(e.details, default=str),
                )
                for e in page.entries
            ]
        )

    def open_row(self, table: RowsTable, key: str) -> None:
        if key in self.entries:
            self.app.push_screen(AuditEntryScreen(self.entries[key]))


def _action(action: str) -> str | tuple[str, str]:
    if action == "access.denied" or action.endswith("_blocked"):
        return action, "bad"
    return action


class AuditEntryScreen(ViewScreen):
    """One entry in full: its details and its place in the chain."""

    VIEW = "entry"
    BINDINGS = bindings(VIEW)

    def __init__(self, entry: AuditRow) -> None:
        super().__init__("Audit", f"entry {entry.seq}")
        self.entry = entry

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="entry", markup=False)

    def fetch(self, data: DataAccess) -> AuditRow:
        return self.entry  # entries never change: nothing to read

    def show(self, entry: AuditRow) -> None:
        self.query_one("#entry", Static).update(
            fmt.facts(
                [
                    ("seq", entry.seq),
                    ("at (UTC)", entry.at),
                    ("actor", entry.actor),
                    ("action", entry.action),
                    ("subject", entry.subject),
                    ("hash", entry.hash),
                ]
            )
            + "\n\ndetails\n"
            + json.dumps(entry.details, indent=2, default=str, ensure_ascii=False)
        )
