"""A heat map of rows × columns: a DataTable with a cell cursor and status-coloured cells.

Cells are ``(text, status)`` with status ``ok``, ``warn``, ``drift``,
``no_data`` or empty (not judged). Colours are the theme's muted backgrounds
under its foreground, so that they read on dark and light themes alike (a
test renders both); the status is also in the text's weight, for terminals
with few colours. A refresh keeps the cursor on the same row and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from mlcore.tui import keymap

__all__ = ["HeatCell", "HeatMap", "heat_style"]

#: A cell: its text and its status.
HeatCell = tuple[str, str]

_BACKGROUNDS = {"ok": "success-muted", "warn": "warning-muted", "drift": "error-muted"}


def heat_style(variables: dict[str, str], status: str) -> str:
    """A Rich style for a cell of ``status`` from the theme's variables.

    >>> theme = {"foreground": "#1F1F1F", "error-muted": "#D4AEB8"}
    >>> heat_style(theme, "drift"), heat_style(theme, "no_data"), heat_style(theme, "")
    ('bold #1F1F1F on #D4AEB8', 'dim', '')
    """
    if status == "no_data":
        return "dim"
    background = variables.get(_BACKGROUNDS.get(status, ""))
    if background is None:
        return ""
    bold = "bold " if status == "drift" else ""
    return f"{bold}{variables.get('foreground', '')} on {background}".strip()


class HeatMap(DataTable):
    """Rows × columns of coloured cells; the first column names the rows and stays put."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", keymap.find("open").description, show=False)
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", zebra_stripes=False)
        self.fixed_columns = 1
        self._header: list[str] = []
        self._rows: list[str] = []
        self._cells: list[list[HeatCell]] = []

    def on_mount(self) -> None:
        self.watch(self.app, "theme", lambda _theme: self._render_cells(), init=False)

    @property
    def row_names(self) -> list[str]:
        return list(self._rows)

    @property
    def cursor_cell(self) -> tuple[str, int | None] | None:
        """The row under the cursor, and its data column (None on the row names)."""
        row, column = self.cursor_coordinate
        if not 0 <= row < len(self._rows):
            return None
        return self._rows[row], column - 1 if column > 0 else None

    def cell_text(self, row: str, column: int) -> HeatCell:
        """What data cell ``column`` of ``row`` shows."""
        return self._cells[self._rows.index(row)][column]

    def show(
        self,
        corner: str,
        rows: Sequence[str],
        columns: Sequence[str],
        cells: Sequence[Sequence[HeatCell]],
    ) -> None:
        """Show ``cells[row][column]``; the cursor stays put (at first: the last column)."""
        first = not self._header
        row, column = self.cursor_coordinate
        header = [corner, *columns]
        if header != self._header:
            self.clear(columns=True)
            for i, name in enumerate(header):
                self.add_column(name, key=str(i))
            self._header = header
        self._rows, self._cells = list(rows), [list(r) for r in cells]
        self._render_cells()
        if self._rows:
            self.move_cursor(
                row=min(row, len(self._rows) - 1),
                column=len(columns) if first else min(column, len(columns)),
                animate=False,
            )

    def _render_cells(self) -> None:
        variables = self.app.theme_variables
        row, column = self.cursor_coordinate
        self.clear()
        for name, cells in zip(self._rows, self._cells, strict=True):
            self.add_row(
                Text(name, style="bold"),
                *(Text(text, style=heat_style(variables, status)) for text, status in cells),
                key=name,
            )
        if self._rows:
            last = len(self._header) - 1
            self.move_cursor(
                row=min(row, len(self._rows) - 1), column=min(column, last), animate=False
            )
