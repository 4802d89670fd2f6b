"""Labelled sparklines, one per line: a name, the Sparkline widget, the newest value.

Used for each drift statistic of a column over windows, and for performance
over windows. Lines are made once per set of names and then only updated, so
a live refresh redraws in place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

__all__ = ["Spark", "SparkLines"]


@dataclass(frozen=True)
class Spark:
    """One line: ``values`` over time (None: no value), and the text at its end with a tone."""

    name: str
    values: tuple[float | None, ...]
    text: str = ""
    tone: str = ""

    @property
    def points(self) -> list[float]:
        """The values the Sparkline draws (gaps and infinities as 0, it has no gaps).

        >>> Spark("psi", (0.1, None, float("inf"), 0.3)).points
        [0.1, 0.0, 0.0, 0.3]
        """
        return [v if v is not None and math.isfinite(v) else 0.0 for v in self.values]


class SparkLine(Horizontal):
    def __init__(self, spark: Spark) -> None:
        super().__init__(classes="spark")
        self.spark = spark

    def compose(self) -> ComposeResult:
        yield Static(self.spark.name, classes="spark-name", markup=False)
        yield Sparkline(self.spark.points, classes="spark-line")
        classes = f"spark-value {self.spark.tone}".strip()
        yield Static(self.spark.text, classes=classes, markup=False)

    def update(self, spark: Spark) -> None:
        self.spark = spark
        self.query_one(Sparkline).data = spark.points
        value = self.query_one(".spark-value", Static)
        value.update(spark.text)
        value.set_classes(f"spark-value {spark.tone}".strip())


class SparkLines(Vertical):
    """A block of :class:`Spark` lines, rebuilt only when the names change."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="sparks")
        self.sparks: tuple[Spark, ...] = ()

    def show(self, sparks: Sequence[Spark]) -> None:
        sparks = tuple(sparks)
        lines = list(self.query(SparkLine))
        if [s.name for s in sparks] == [line.spark.name for line in lines]:
            for line, spark in zip(lines, sparks, strict=True):
                line.update(spark)
        else:
            self.remove_children()
            self.mount_all(SparkLine(s) for s in sparks)
        self.sparks = sparks
