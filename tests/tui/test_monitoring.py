"""The monitoring views on a real monitor: heat map, sparklines, performance, a cell in full."""

from __future__ import annotations

import math

import pytest
from textual.widgets import Static

from mlcore.tui.data import DataAccess
from mlcore.tui.screens.monitor import DriftScreen, MonitorScreen
from mlcore.tui.screens.monitoring import MonitoringScreen
from mlcore.tui.widgets import HeatMap, Section, SparkLines
from tests.tui.conftest import make_app, settle

NUMERIC = [
    "psi",
    "ks",
    "jensen_shannon",
    "wasserstein",
    "wasserstein_normalised",
    "hellinger",
    "chi_square",
    "missing_rate",
    "out_of_range_rate",
]
CATEGORICAL = [
    "psi",
    "jensen_shannon",
    "hellinger",
    "chi_square",
    "missing_rate",
    "linf",
    "new_category_rate",
]
DAYS = ["03-04", "03-05", "03-06", "03-07"]


@pytest.fixture
def app(tui_store):
    return make_app(DataAccess(tui_store))


async def open_monitor(pilot) -> None:
    await pilot.press("5")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, MonitorScreen)


def heat(app) -> HeatMap:
    return app.screen.query_one("#heat", HeatMap)


def shown(heatmap: HeatMap, statistic_row: str) -> list[tuple[str, str]]:
    return [heatmap.cell_text(statistic_row, i) for i in range(len(DAYS))]


def expected_cell(value: float | None, status: str | None, threshold: float | None):
    """What a heat map cell should show: the value and ok / warn (past half) / drift."""
    if status is None:
        return ("·", "")  # the column has no such statistic
    if value is None or math.isnan(value):
        return ("·", "no_data")
    if status == "drift":
        tone = "drift"
    elif threshold is None:
        tone = ""
    else:
        tone = "warn" if value > threshold / 2 else "ok"
    return (f"{value:.3g}", tone)


def matrix(store, statistic: str) -> dict[str, list[tuple[str, str]]]:
    """Columns x windows of ``statistic`` as the heat map must show them, via the API."""
    values = store.monitors.drift_matrix("churn", statistic).rows(named=True)
    statuses = store.monitors.drift_matrix("churn", statistic, value="status").rows(named=True)
    report = store.monitors.report("churn")
    out = {}
    for vals, stats in zip(values, statuses, strict=True):
        column = vals.pop("column")
        stats.pop("column")
        found = [w.drift.column(column).statistics.get(statistic) for w in report.windows]
        out[column] = [
            expected_cell(v, s, None if r is None else r.threshold)
            for v, s, r in zip(vals.values(), stats.values(), found, strict=True)
        ]
    return out


async def test_monitoring_lists_monitors_and_alerts(app, tui_store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, MonitoringScreen)
        (monitor,) = app.screen.query_one("#monitors", Section).table.all_rows
        assert monitor.cells == (
            "churn",
            "churn",
            "1d",
            "2024-03-07 (1d)",
            "150",
            ("age, plan, score", "bad"),
            ("2", "bad"),  # open or acknowledged: both still need people
        )
        alerts = app.screen.query_one("#alerts", Section).table.all_rows
        assert [(r.key, r.cells[2], r.cells[3], r.cells[4]) for r in alerts] == [
            ("2", ("critical", "bad"), ("open", "bad"), "age_shift"),
            ("1", ("warning", "warn"), ("acknowledged", "warn"), "dataset_drift"),
        ]
        stored = tui_store.monitors.alert(2)
        assert alerts[0].cells[6] == f"{stored.value:.4g} vs {stored.threshold:.4g}"
        assert alerts[0].cells[7] == "retrain requested"
        await pilot.press("slash", *"known campaign")  # the acknowledgement's comment
        assert app.screen.query_one("#alerts", Section).table.shown_keys == ["1"]
        await pilot.press("escape", "tab", "enter")  # an alert opens its monitor
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen) and app.screen.monitor_name == "churn"


async def test_monitor_heat_map_sparklines_drill_down_and_performance(app, tui_store) -> None:
    psi, ks = matrix(tui_store, "psi"), matrix(tui_store, "ks")
    report = tui_store.monitors.report("churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_monitor(pilot)
        heatmap = heat(app)
        assert app.focused is heatmap
        assert heatmap.row_names == ["age", "plan", "score"]
        assert [str(c.label) for c in heatmap.columns.values()] == ["psi", *DAYS]
        for column in heatmap.row_names:
            assert shown(heatmap, column) == psi[column], column
        assert heatmap.cursor_cell == ("age", 3)  # the newest window
        sparks = app.screen.query_one("#sparks", SparkLines).sparks
        assert [s.name for s in sparks] == NUMERIC
        age = {s.name: s for s in sparks}
        expected = [w.drift.column("age").statistics["psi"].value for w in report.windows]
        assert age["psi"].values == pytest.approx(expected)
        assert age["psi"].tone == "bad" and age["psi"].text.endswith("drift")

        await pilot.press("down")  # plan: a categorical column, its own statistics
        await settle(pilot)
        assert [s.name for s in app.screen.query_one("#sparks", SparkLines).sparks] == CATEGORICAL
        title = str(app.screen.query_one("#spark-title", Static).render())
        assert title == "plan over 4 windows"

        await pilot.press("n")  # the next statistic: KS, which categories do not have
        assert next(str(c.label) for c in heatmap.columns.values()) == "ks"
        assert ks["plan"] == [("·", "")] * 4
        for column in heatmap.row_names:
            assert shown(heatmap, column) == ks[column], column
        assert heatmap.cursor_cell == ("plan", 3)  # the cursor stays put

        await pilot.press("up", "left", "enter")  # age on 03-06, all its statistics
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        assert (app.screen.column, app.screen.window) == ("age", report.windows[2].window)
        stats = app.screen.query_one("#statistics", Section).table.all_rows
        assert [r.key for r in stats] == NUMERIC
        stored = report.windows[2].drift.column("age").statistics
        for r in stats:
            res = stored[r.key]
            assert r.cells[1] == f"{res.value:.3g}"
            assert r.cells[4] == ("yes" if res.alert else "no")
        about = str(app.screen.query_one("#about", Static).render())
        assert "2024-03-06 (1d)" in about and "150 (0 labelled)" in about
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen)
        check_performance(app, report)


def check_performance(app, report) -> None:
    """Per window: realised metrics once labels arrived, the CBPE estimate before."""
    table = app.screen.query_one("#performance", Section).table
    assert table.ordered_columns[4].label.plain == "accuracy"
    got = [(r.key, r.cells[2], r.cells[3], r.cells[4]) for r in table.all_rows]
    want = []
    for day, w in zip(DAYS, report.windows, strict=True):
        realised = w.performance is not None
        source = "labels" if realised else ("CBPE", "accent")
        accuracy = (w.performance if realised else w.estimated)["accuracy"]
        want.append((day, str(w.labelled), source, f"{accuracy:.4g}"))
    assert got == want
    assert [w[1] for w in want] == ["150", "150", "0", "0"]
    perf = {s.name: s for s in app.screen.query_one("#perf-sparks", SparkLines).sparks}
    assert list(perf) == ["accuracy", "f1", "roc_auc"]
    assert perf["roc_auc"].text.endswith("(estimated)")
