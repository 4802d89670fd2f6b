"""``?``: every key, what it does and where, generated from the keymap table."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from mlcore.tui import keymap

__all__ = ["HelpScreen"]


class HelpScreen(ModalScreen[None]):
    """The keymap as a table; keys of the screen help was opened from come first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", key_display="Esc"),
    ]

    def __init__(self, screen: str, read_only: bool = False) -> None:
        super().__init__()
        self.screen_name = screen
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        here = keymap.SCREENS.get(self.screen_name, self.screen_name)
        with Vertical(id="help", classes="dialog"):
            yield Static(f"Keys (here: {here})", classes="dialog-title", markup=False)
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            views = "  ".join(f"{v.number} {v.name}" for v in keymap.VIEWS)
            note = "read-only: verbs are off" if self.read_only else "verbs ask to confirm"
            yield Static(f"views: {views}\n{note} · Esc closes", classes="note", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "does", "where")
        here = [k for k in keymap.KEYS if self.screen_name in k.screens]
        rest = [k for k in keymap.KEYS if k not in here]
        for k in here + rest:
            where = "everywhere" if not k.screens else ", ".join(k.screens)
            style = "bold" if k in here else ""
            table.add_row(Text(k.display, style=style), Text(k.description), Text(where))
        table.focus()
