"""Widgets of the operator TUI."""

from __future__ import annotations

from mlcore.tui.widgets.heatmap import HeatCell, HeatMap
from mlcore.tui.widgets.keybar import KeyBar
from mlcore.tui.widgets.prompt import Prompt, PromptInput
from mlcore.tui.widgets.sparks import Spark, SparkLines
from mlcore.tui.widgets.status import Status, StatusBar
from mlcore.tui.widgets.table import Cell, Row, RowsTable, Section, toned

__all__ = [
    "Cell",
    "HeatCell",
    "HeatMap",
    "KeyBar",
    "Prompt",
    "PromptInput",
    "Row",
    "RowsTable",
    "Section",
    "Spark",
    "SparkLines",
    "Status",
    "StatusBar",
    "toned",
]
