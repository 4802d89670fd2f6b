"""Widgets of the operator TUI."""

from __future__ import annotations

from mlcore.tui.widgets.prompt import Prompt, PromptInput
from mlcore.tui.widgets.status import Status, StatusBar
from mlcore.tui.widgets.table import Cell, Row, RowsTable, Section

__all__ = ["Cell", "Prompt", "PromptInput", "Row", "RowsTable", "Section", "Status", "StatusBar"]
