"""Widgets of the operator TUI."""

from __future__ import annotations

from mlcore.tui.widgets.keybar import KeyBar
from mlcore.tui.widgets.prompt import Prompt, PromptInput
from mlcore.tui.widgets.status import Status, StatusBar
from mlcore.tui.widgets.table import Cell, Row, RowsTable, Section

__all__ = [
    "Cell",
    "KeyBar",
    "Prompt",
    "PromptInput",
    "Row",
    "RowsTable",
    "Section",
    "Status",
    "StatusBar",
]
