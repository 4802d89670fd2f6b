"""Pilot tests on a real store: every view, drill-down and back, filter, the ':' prompt, help."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from mlcore.tui import keymap
from mlcore.tui.data import DataAccess
from mlcore.tui.screens.audit import AuditEntryScreen, AuditScreen
from mlcore.tui.screens.features import FeatureScreen, FeaturesScreen
from mlcore.tui.screens.help import HelpScreen
from mlcore.tui.screens.models import ModelScreen, ModelsScreen, VersionScreen
from mlcore.tui.screens.monitor import MonitorScreen
from mlcore.tui.screens.monitoring import MonitoringScreen
from mlcore.tui.screens.overview import OverviewScreen
from mlcore.tui.screens.runs import RunScreen, RunsScreen
from mlcore.tui.widgets import RowsTable, Section
from tests.tui.conftest import make_app, settle, without

SCREENS = {
    "overview": OverviewScreen,
    "features": FeaturesScreen,
    "models": ModelsScreen,
    "runs": RunsScreen,
    "monitoring": MonitoringScreen,
    "audit": AuditScreen,
}


def title(app) -> str:
    return str(app.screen.query_one("#title", Static).render())


def rows(app, section: str) -> list[str]:
    return app.screen.query_one(f"#{section}", Section).table.shown_keys


def note(app, section: str) -> str:
    return str(app.screen.query_one(f"#{section} .note", Static).render())


@pytest.fixture
def app(tui_store):
    return make_app(DataAccess(tui_store))


def seq_of(store, action: str) -> str:
    (entry,) = store.audit_log(action=action)
    return str(entry.seq)


async def test_number_keys_reach_every_view_and_return_to_its_top(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        for view in keymap.VIEWS:
            await pilot.press(str(view.number))
            await settle(pilot)
            assert isinstance(app.screen, SCREENS[view.name]), view.name
            assert title(app) == f"mlcore › {view.title}"
            assert app.screen.loaded, f"{view.name} was not fetched"
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FeatureScreen)
        stats = app.screen.query_one("#stats", Section).table
        assert [r.key for r in stats.all_rows] == ["rate", "trips"]
        assert [r.cells[1] for r in stats.all_rows] == ["float64", "int64"]  # the schema
        about = str(app.screen.query_one("#about", Static).render()).splitlines()
        assert "used by       fraud/1" in about
        assert "freshness     newest event" in "\n".join(about)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("2")  # back to features: the drill-down is kept
        await settle(pilot)
        assert isinstance(app.screen, FeatureScreen)
        await pilot.press("2")  # the current view's key: its top
        await settle(pilot)
        assert isinstance(app.screen, FeaturesScreen)
        assert app.status.tone == "ok"


async def test_views_show_the_store(app, tui_store) -> None:
    entries = tui_store.info()["audit_entries"]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert rows(app, "production") == ["churn", "fraud", "lapse"]
        assert rows(app, "pending") == ["churn/2"]
        assert rows(app, "alerts") == ["2", "1"]  # open, then acknowledged: both need people
        assert rows(app, "runs") == [r.id for r in tui_store.pipelines.runs(limit=5)]
        health = str(app.screen.query_one("#health", Static).render())
        assert "admin (admin)" in health
        chain = app.screen.query_one("#chain", Static)
        assert f"chain verified: {entries} entries" in str(chain.render())
        assert chain.has_class("ok")
        await pilot.press("enter")  # the production table has focus: churn
        await settle(pilot)
        assert isinstance(app.screen, ModelScreen) and app.screen.model_name == "churn"
        await pilot.press("escape", "tab", "enter")  # the pending approvals: churn/2
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen) and app.screen.version == 2
        await pilot.press("escape", "tab", "enter")  # the open alerts: their monitor
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen) and app.screen.monitor_name == "churn"
        await pilot.press("2")
        await settle(pilot)
        assert rows(app, "views") == ["driver_stats"]
        await pilot.press("6")
        await settle(pilot)
        assert rows(app, "log")[0] == str(entries) and len(rows(app, "log")) == entries
        await pilot.press("5")
        await settle(pilot)
        assert rows(app, "monitors") == ["churn"]


async def test_a_missing_capability_is_named_in_place(tui_store) -> None:
    store = without(tui_store, monitors="mlcore.monitoring.monitors")
    app = make_app(DataAccess(store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "not available in this store yet" in note(app, "alerts")
        await pilot.press("5")
        await settle(pilot)
        assert note(app, "monitors") == (
            "monitoring: not available in this store yet "
            "(mlcore.monitoring.monitors is not installed)"
        )


async def test_drill_down_and_back(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("enter")  # churn
        await settle(pilot)
        assert isinstance(app.screen, ModelScreen) and app.screen.model_name == "churn"
        assert title(app) == "mlcore › Models › churn"
        assert rows(app, "versions") == ["churn/2", "churn/1"]  # newest first
        production = str(app.screen.query_one("#serving", Static).render())
        assert "v1 since" in production and "bob" in production
        await pilot.press("down", "enter")  # churn/1
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen) and app.screen.version == 1
        timeline = app.screen.query_one("#timeline", Section).table
        assert [r.cells[2] for r in timeline.all_rows] == [
            "register",
            "submit",
            "approve",
            "release",
            "release",  # the production pointer's move
        ]
        assert note(app, "evaluation") == "(not evaluated yet)"
        gate = str(app.screen.query_one("#gate", Static).render())
        assert gate == (
            "release gate: blocked now by evaluation (no evaluation of churn/1 under general v1)"
        )
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ModelScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ModelsScreen)
        await pilot.press("escape")  # at the top: stays
        assert isinstance(app.screen, ModelsScreen)


async def test_audit_entry_detail(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("ctrl+end", "enter")  # the oldest entry
        await settle(pilot)
        assert isinstance(app.screen, AuditEntryScreen)
        text = str(app.screen.query_one("#entry", Static).render())
        assert "store.create" in text and '"path"' in text


async def test_filter_narrows_rows_and_escape_clears(app, tui_store) -> None:
    approval = seq_of(tui_store, "models.approve")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("slash", *"models.approve")
        assert rows(app, "log") == [approval]
        assert title(app).endswith("/models.approve")
        await pilot.press("enter")  # keep the filter, back to the table
        assert isinstance(app.focused, RowsTable)
        assert rows(app, "log") == [approval]
        await pilot.press("escape")
        assert len(rows(app, "log")) == tui_store.info()["audit_entries"]
        assert title(app) == "mlcore › Audit"


async def test_filter_finds_feature_views_by_their_fields_and_takes_any_key(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "slash", *"acceptance")  # a field's description
        assert rows(app, "views") == ["driver_stats"]
        await pilot.press("backspace", *"zzz")
        assert rows(app, "views") == []
        await pilot.press("escape")  # cancels the filter
        assert rows(app, "views") == ["driver_stats"]
        await pilot.press("slash", "3", "q", "a")  # keys typed in the prompt are only text
        assert isinstance(app.screen, FeaturesScreen) and app.is_running
        assert app.screen.filter_text == "3qa"


async def test_colon_prompt_completes_and_switches(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("colon", "m", "o", "tab")
        assert app.screen.prompt.input.value == "models"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ModelsScreen)
        await pilot.press("colon", *"aud", "enter")  # a unique prefix
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        await pilot.press("colon", *"modles", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        assert any("Did you mean :models?" in str(n.message) for n in app._notifications)


async def test_help_lists_every_key_of_the_keymap(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys")
        shown = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert sorted(shown) == sorted(k.display for k in keymap.KEYS)
        assert shown[0] == "b"  # the one key scoped to the models view comes first
        await pilot.press("3")  # view keys are off while a dialog is open
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ModelsScreen)


async def test_quit_key(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_runs_show_steps_cache_hits_and_lineage(app, tui_store) -> None:
    lapse, again, first = [r.id for r in tui_store.pipelines.runs()]
    (evaluation,) = tui_store.evals.evaluations("lapse", 1)
    version = tui_store.models.get("lapse", 1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert rows(app, "runs") == [lapse, again, first]  # newest first
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen) and app.screen.run_id == again
        steps = app.screen.query_one("#steps", Section).table.all_rows
        assert [(r.key, r.cells[1], r.cells[3]) for r in steps] == [
            ("numbers", ("cached", "accent"), ("hit", "accent")),
            ("total", ("cached", "accent"), ("hit", "accent")),
        ]
        about = str(app.screen.query_one("#about", Static).render())
        assert "2 (2 from cache, 0 failed)" in about
        reused = [r.cells[2] for r in app.screen.query_one("#links", Section).table.all_rows]
        assert reused == [f"json, reused from run {first}"] * 2
        await pilot.press("escape", "up", "enter")
        await settle(pilot)
        links = app.screen.query_one("#links", Section).table
        shown = [(r.cells[0][0], r.cells[1]) for r in links.all_rows]
        assert shown == [
            ("input", "split.frame"),
            ("output", "split.train"),
            ("output", "split.test"),
            ("output", "train.model"),
            ("output", "register.model_version"),
            ("output", "evaluate.evaluation"),
            ("model", "lapse/1"),
            ("evaluation", evaluation.id),
        ]
        model = links.all_rows[6]
        assert model.cells[3] == version.artifact_sha256[:12]
        await pilot.press("tab", "ctrl+end", "enter")  # the evaluation opens its version
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen)
        assert (app.screen.model_name, app.screen.version) == ("lapse", 1)
