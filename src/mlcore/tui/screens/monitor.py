"""One monitor: drift heat map, sparklines, performance over time, alerts; one cell in full.

The heat map shows one statistic (PSI first; ``n`` shows the next) for every
column (rows) and window (columns, oldest to newest), each cell coloured by
its status: ok, warn (past half the threshold), drift, or no data. Moving
the cursor to a column's row draws every statistic of that column over the
windows as sparklines; Enter on a cell opens that column and window with all
their statistics (:class:`DriftScreen`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from mlcore.tui import format as fmt
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.viewmodels import Target
from mlcore.tui.widgets import Cell, HeatMap, Row, Section, Spark, SparkLines, toned

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import AlertRow, DriftCell, DriftDetail, MonitorDetail

__all__ = [
    "ALERT_COLUMNS",
    "DriftScreen",
    "MonitorScreen",
    "alert_rows",
    "alert_target",
    "cell_text",
]

_SEVERITY_TONES = {"critical": "bad", "warning": "warn", "info": "accent"}
_ALERT_TONES = {"open": "bad", "acknowledged": "warn", "resolved": "muted"}
_DRIFT_TONES = {"drift": "bad", "warn": "warn", "ok": "ok", "no_data": "muted"}
_ALERT_VERBS = ("acknowledge", "retrain")
_SOURCES: dict[str, Cell] = {"labels": "labels", "estimated": ("CBPE", "accent")}

ALERT_COLUMNS = ["alert", "monitor", "severity", "status", "rule", "window", "value", "retrain"]


def alert_rows(alerts: Iterable[AlertRow]) -> list[Row]:
    """One row per alert, keyed by its id; the filter also finds columns, statistic, comments."""
    rows = []
    for a in alerts:
        value = fmt.value(a.value)
        if a.threshold is not None:
            value += f" vs {fmt.value(a.threshold)}"
        rows.append(
            Row(
                str(a.id),
                (
                    str(a.id),
                    a.monitor,
                    toned(a.severity, _SEVERITY_TONES),
                    toned(a.status, _ALERT_TONES),
                    a.rule,
                    a.window,
                    value,
                    a.action or "-",
                ),
                search=" ".join([a.statistic, *a.columns, a.note or ""]),
            )
        )
    return rows


def alert_target(section: Section, verb: str) -> Target | None:
    """The alert selected in ``section``, for an alert verb."""
    key = section.table.selected_key
    return Target("alert", key) if verb in _ALERT_VERBS and key is not None else None


def cell_text(cell: DriftCell | None) -> str:
    """A heat map cell: the value to 3 significant digits, ``·`` when there is none.

    >>> from mlcore.tui.viewmodels import DriftCell
    >>> cell_text(DriftCell("psi", 0.67576, 0.3, "drift")), cell_text(None)
    ('0.676', '·')
    >>> cell_text(DriftCell("psi", None, 0.3, "no_data")), cell_text(DriftCell("w", float("inf"), 0.1, "drift"))
    ('·', 'inf')
    """
    if cell is None or cell.value is None:
        return "·"
    return f"{cell.value:.3g}"


def _judged(cell: DriftCell | None) -> str:
    if cell is None or cell.value is None:
        return "no data"
    threshold = "" if cell.threshold is None else f" / {fmt.value(cell.threshold)}"
    return f"{fmt.value(cell.value)}{threshold} {cell.status or ''}".strip()


class MonitorScreen(ViewScreen):
    """One monitor over its newest windows; see the module docs."""

    VIEW = "monitor"
    BINDINGS = bindings(VIEW)

    def __init__(self, name: str) -> None:
        super().__init__("Monitoring", name)
        self.monitor_name = name
        self.statistic = "psi"
        self.detail: MonitorDetail | None = None

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="heat-title", classes="section-title", markup=False)
            yield HeatMap(id="heat")
            yield Static("", id="spark-title", classes="section-title", markup=False)
            yield SparkLines(id="sparks")
            yield Section("Performance over windows", ["window"], id="performance")
            yield SparkLines(id="perf-sparks")
            yield Section("Alerts", ALERT_COLUMNS, id="alerts", empty="no alerts")
            yield Static("Monitor", id="about-title", classes="section-title", markup=False)
            yield Static("", id="about", markup=False)

    def fetch(self, data: DataAccess) -> MonitorDetail:
        return data.monitor(self.monitor_name)

    def show(self, d: MonitorDetail) -> None:
        self.detail = d
        if self.statistic not in d.statistics and d.statistics:
            self.statistic = d.statistics[0]
        r = d.row
        newest = "no batch yet" if r.latest is None else f"{r.latest}, {r.latest_rows} rows"
        self.query_one("#about", Static).update(
            fmt.facts([*d.facts, ("newest window", newest), ("alerts to handle", r.open_alerts)])
        )
        self._show_heat(d)
        self._show_performance(d)
        self.query_one("#alerts", Section).show(alert_rows(d.alerts))

    def _show_heat(self, d: MonitorDetail) -> None:
        stat = self.statistic
        title = f"{stat} by column and window · Enter: every statistic · n: next statistic"
        if not d.windows:
            title = "Drift: no batch observed yet"
        self.query_one("#heat-title", Static).update(title)
        heat = self.query_one("#heat", HeatMap)
        heat.display = bool(d.windows)
        columns = list(d.drift)
        heat.show(
            stat,
            columns,
            [w.label for w in d.windows],
            [
                [(cell_text(c), c.status if c else "") for c in d.drift[col][stat]]
                for col in columns
            ],
        )
        self._show_sparks(heat.cursor_cell[0] if heat.cursor_cell else None)

    def _show_sparks(self, column: str | None) -> None:
        d = self.detail
        sparks = []
        if d is not None and column in d.drift:
            for stat, cells in d.drift[column].items():
                if all(c is None for c in cells):
                    continue  # a statistic of the other kind of column
                last = next((c for c in reversed(cells) if c is not None), None)
                values = tuple(None if c is None else c.value for c in cells)
                tone = _DRIFT_TONES.get(last.status, "") if last else ""
                sparks.append(Spark(stat, values, _judged(last), tone))
        title = f"{column} over {len(d.windows)} windows" if d and column else ""
        self.query_one("#spark-title", Static).update(title)
        self.query_one("#sparks", SparkLines).show(sparks)

    def _show_performance(self, d: MonitorDetail) -> None:
        section = self.query_one("#performance", Section)
        section.table.set_columns(["window", "rows", "labelled", "from", *d.metrics])
        section.show(
            [
                Row(
                    p.window,
                    (
                        p.window,
                        str(p.rows),
                        str(p.labelled),
                        _SOURCES.get(p.source, "-"),
                        *(fmt.value(p.metrics.get(m)) for m in d.metrics),
                    ),
                )
                for p in d.performance
                if p.source
            ]
        )
        sparks = []
        for m in d.metrics:
            values = tuple(p.metrics.get(m) for p in d.performance)
            newest = next((p for p in reversed(d.performance) if m in p.metrics), None)
            text = "" if newest is None else f"{fmt.value(newest.metrics[m])} ({newest.source})"
            sparks.append(Spark(m, values, text))
        self.query_one("#perf-sparks", SparkLines).show(sparks)

    def focus_first_table(self) -> None:
        heat = self.query_one("#heat", HeatMap)
        if heat.display and heat.row_names:
            heat.focus()
        else:
            super().focus_first_table()

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        if isinstance(event.data_table, HeatMap):
            found = event.data_table.cursor_cell
            self._show_sparks(found[0] if found else None)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        if not isinstance(event.data_table, HeatMap) or self.detail is None:
            return
        event.stop()
        found = event.data_table.cursor_cell
        if found is None or not self.detail.windows:
            return
        column, index = found
        window = self.detail.windows[-1 if index is None else index]
        self.app.push_screen(DriftScreen(self.monitor_name, column, window.id, window.label))

    def action_next_statistic(self) -> None:
        d = self.detail
        if d is None or not d.statistics:
            return
        at = d.statistics.index(self.statistic) if self.statistic in d.statistics else -1
        self.statistic = d.statistics[(at + 1) % len(d.statistics)]
        self._show_heat(d)

    def target(self, verb: str) -> Target | None:
        return alert_target(self.query_one("#alerts", Section), verb)


class DriftScreen(ViewScreen):
    """Every statistic of one column in one window, with thresholds and p-values."""

    VIEW = "drift"
    BINDINGS = bindings(VIEW)

    def __init__(self, monitor: str, column: str, window: int, label: str) -> None:
        super().__init__("Monitoring", monitor, f"{column} @ {label}")
        self.monitor_name = monitor
        self.column = column
        self.window = window

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="about", markup=False)
            yield Section(
                "Statistics",
                [
                    "statistic",
                    "value",
                    "threshold",
                    "status",
                    "alerts",
                    "p-value",
                    "test p",
                    "bound",
                ],
                id="statistics",
            )

    def fetch(self, data: DataAccess) -> DriftDetail:
        return data.drift(self.monitor_name, self.column, self.window)

    def show(self, d: DriftDetail) -> None:
        w = d.window
        self.query_one("#about", Static).update(
            fmt.facts(
                [
                    ("monitor", d.monitor),
                    ("column", f"{d.column} ({d.kind})"),
                    ("window", w.title),
                    ("rows", f"{w.rows} ({w.labelled} labelled)"),
                    ("detector alarms", w.changes),
                    ("status", d.status),
                    ("p-value", d.pvalue),
                    ("dataset", "drifted: " + ", ".join(w.drifted) if w.drift else "no drift"),
                ]
            )
        )
        self.query_one("#statistics", Section).show(
            [
                Row(
                    c.statistic,
                    (
                        c.statistic,
                        cell_text(c),
                        fmt.value(c.threshold),
                        toned(c.status or "-", _DRIFT_TONES),
                        "yes" if c.alert else "no",
                        fmt.value(c.pvalue),
                        fmt.value(c.test_pvalue),
                        fmt.value(c.bound),
                    ),
                )
                for c in d.cells
            ]
        )
