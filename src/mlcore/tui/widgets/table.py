"""A filterable table of rows, and a titled section that can say why it is empty.

Rows carry a key (what Enter opens and verbs act on), their cells and extra
search text. Cells are plain text, never markup (names come from users), or
``(text, tone)`` pairs coloured with the theme's tokens so that they read on
dark and light themes alike. A refresh replaces the rows and keeps the cursor
on the same key, so live updates do not throw the operator's place away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from mlcore.tui import keymap
from mlcore.tui.viewmodels import Unavailable

__all__ = ["Cell", "Row", "RowsTable", "Section", "tone_style", "toned"]

#: A cell: text, or (text, tone) with tone one of the theme tokens below.
Cell = str | tuple[str, str]

# tone -> the theme's text colour for it: the text-* tokens are tuned per theme
# to stay readable on its background (dark and light alike)
_TONES = {
    "ok": "text-success",
    "bad": "text-error",
    "warn": "text-warning",
    "accent": "text-primary",
}


def tone_style(variables: dict[str, str], tone: str) -> str:
    """A Rich style for ``tone`` from the theme's variables.

    >>> tone_style({"text-error": "#7A273C"}, "bad"), tone_style({}, "muted")
    ('#7A273C bold', 'dim')
    """
    if tone == "muted":
        return "dim"
    colour = variables.get(_TONES.get(tone, ""), "")
    bold = " bold" if tone in ("ok", "bad", "warn") and colour else ""
    return f"{colour}{bold}".strip()


def toned(text: str, tones: dict[str, str]) -> Cell:
    """A cell coloured by what it says, when ``tones`` names a tone for it.

    >>> toned("failed", {"failed": "bad"}), toned("pending", {"failed": "bad"})
    (('failed', 'bad'), 'pending')
    """
    tone = tones.get(text)
    return (text, tone) if tone else text


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[Cell, ...]
    search: str = ""

    def matches(self, needle: str) -> bool:
        """Case-insensitive substring match on the cells and the search text."""
        if not needle:
            return True
        text = " ".join(c if isinstance(c, str) else c[0] for c in self.cells)
        return needle in f"{text} {self.search}".lower()


class RowsTable(DataTable):
    """A DataTable of :class:`Row` objects with a live filter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", keymap.find("open").description, show=False)
    ]

    def __init__(self, columns: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._columns = list(columns)
        self._rows: list[Row] = []
        self.filter_text = ""

    def on_mount(self) -> None:
        self.add_columns(*self._columns)
        self.watch(self.app, "theme", lambda _theme: self._render_rows(), init=False)

    @property
    def all_rows(self) -> list[Row]:
        return list(self._rows)

    @property
    def shown_keys(self) -> list[str]:
        return [r.key for r in self._rows if r.matches(self.filter_text)]

    @property
    def selected_key(self) -> str | None:
        keys = self.shown_keys
        if not keys or not 0 <= self.cursor_row < len(keys):
            return None
        return keys[self.cursor_row]

    def set_columns(self, columns: Sequence[str]) -> None:
        """Change the columns (a table whose columns depend on the data); rows are kept."""
        if list(columns) != self._columns:
            self._columns = list(columns)
            self.clear(columns=True)
            self.add_columns(*self._columns)
            self._render_rows()

    def set_rows(self, rows: Iterable[Row]) -> None:
        self._rows = list(rows)
        self._render_rows()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.lower()
        self._render_rows()

    def _render_rows(self) -> None:
        keep = self.selected_key
        variables = self.app.theme_variables
        self.clear()
        for row in self._rows:
            if row.matches(self.filter_text):
                self.add_row(*(_cell(c, variables) for c in row.cells), key=row.key)
        keys = self.shown_keys
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False)


def _cell(cell: Cell, variables: dict[str, str]) -> Text:
    if isinstance(cell, str):
        return Text(cell)
    text, tone = cell
    return Text(text, style=tone_style(variables, tone))


class Section(Vertical):
    """A titled table that shows a note instead when empty or not available."""

    def __init__(self, title: str, columns: Sequence[str], *, id: str, empty: str = "none") -> None:
        super().__init__(id=id, classes="section")
        self.heading = title
        self.columns = columns
        self.empty = empty

    def compose(self) -> ComposeResult:
        yield Static(self.heading, classes="section-title", markup=False)
        yield RowsTable(self.columns, id=f"{self.id}-table")
        yield Static("", classes="note", markup=False)

    @property
    def table(self) -> RowsTable:
        return self.query_one(RowsTable)

    def show(self, rows: Sequence[Row] | Unavailable) -> None:
        note = self.query_one(".note", Static)
        if isinstance(rows, Unavailable):
            self.table.display = False
            note.update(str(rows))
            note.display = True
            return
        self.table.set_rows(rows)
        self.table.display = bool(rows)
        note.update(f"({self.empty})")
        note.display = not rows
