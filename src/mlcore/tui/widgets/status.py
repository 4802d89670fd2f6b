"""The status bar: who acts, whether actions are off, and how the last refresh went."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

__all__ = ["Status", "StatusBar"]


@dataclass(frozen=True)
class Status:
    """One line of news; ``tone`` is ``ok``, ``busy``, ``bad`` or empty."""

    text: str
    tone: str = ""


class StatusBar(Horizontal):
    """Shows the app's ``status`` and its actor; follows the app as it changes."""

    def compose(self) -> ComposeResult:
        yield Static("", id="status-who", markup=False)
        yield Static("", id="status-text", markup=False)

    def on_mount(self) -> None:
        app = self.app
        who = f"{app.data.actor}"  # type: ignore[attr-defined]
        if app.read_only:  # type: ignore[attr-defined]
            who += " · read-only"
        self.query_one("#status-who", Static).update(who)
        self.watch(app, "status", self._show)

    def _show(self, status: Status) -> None:
        line = self.query_one("#status-text", Static)
        line.update(status.text)
        line.set_classes(status.tone)
