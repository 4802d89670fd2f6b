"""Pilot tests on a real store: every view, drill-down and back, filter, the ':' prompt, help."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.tui.conftest import make_app, phase_one, settle
from mlcore.tui import keymap
from mlcore.tui.data import DataAccess
from mlcore.tui.screens.audit import AuditEntryScreen, AuditScreen
from mlcore.tui.screens.features import FeatureScreen, FeaturesScreen
from mlcore.tui.screens.help import HelpScreen
from mlcore.tui.screens.models import ModelScreen, ModelsScreen, VersionScreen
from mlcore.tui.screens.monitoring import MonitoringScreen
from mlcore.tui.screens.overview import OverviewScreen
from mlcore.tui.screens.runs import RunScreen, RunsScreen
from mlcore.tui.widgets import RowsTable, Section

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
    return make_app(DataAccess(phase_one(tui_store)))


async def test_number_keys_reach_every_view(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        for view in keymap.VIEWS:
            await pilot.press(str(view.number))
            await settle(pilot)
            assert isinstance(app.screen, SCREENS[view.name]), view.name
            assert title(app) == f"mlcore › {view.title}"
            assert app.screen.loaded, f"{view.name} was not fetched"
        assert app.status.tone == "ok"


async def test_views_show_the_store(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert rows(app, "production") == ["churn", "fraud"]
        assert rows(app, "pending") == ["churn/2"]
        assert "not available in this store yet" in note(app, "alerts")
        health = str(app.screen.query_one("#health", Static).render())
        assert "admin (admin)" in health
        chain = app.screen.query_one("#chain", Static)
        assert "chain verified: 14 entries" in str(chain.render())
        assert chain.has_class("ok")
        await pilot.press("enter")  # the production table has focus: churn
        await settle(pilot)
        assert isinstance(app.screen, ModelScreen) and app.screen.model_name == "churn"
        await pilot.press("escape", "tab", "enter")  # the pending approvals: churn/2
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen) and app.screen.version == 2
        await pilot.press("2")
        await settle(pilot)
        assert rows(app, "views") == ["driver_stats"]
        await pilot.press("6")
        await settle(pilot)
        assert rows(app, "log")[0] == "14" and len(rows(app, "log")) == 14
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
        production = str(app.screen.query_one("#production", Static).render())
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
        assert "evaluation: not available" in note(app, "evaluation")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ModelScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ModelsScreen)
        await pilot.press("escape")  # at the top: stays
        assert isinstance(app.screen, ModelsScreen)


async def test_current_view_key_returns_to_its_top(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, FeatureScreen)
        stats = app.screen.query_one("#stats", Section).table
        assert [r.key for r in stats.all_rows] == ["rate", "trips"]
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("2")  # back to features: the drill-down is kept
        await settle(pilot)
        assert isinstance(app.screen, FeatureScreen)
        await pilot.press("2")  # the current view's key: its top
        await settle(pilot)
        assert isinstance(app.screen, FeaturesScreen)


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


async def test_filter_narrows_rows_and_escape_clears(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("slash", *"models.approve")
        assert rows(app, "log") == ["9"]
        assert title(app).endswith("/models.approve")
        await pilot.press("enter")  # keep the filter, back to the table
        assert isinstance(app.focused, RowsTable)
        assert rows(app, "log") == ["9"]
        await pilot.press("escape")
        assert len(rows(app, "log")) == 14
        assert title(app) == "mlcore › Audit"


async def test_filter_finds_feature_views_by_their_fields(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "slash", *"acceptance")  # a field's description
        assert rows(app, "views") == ["driver_stats"]
        await pilot.press("backspace", *"zzz")
        assert rows(app, "views") == []
        await pilot.press("escape")  # cancels the filter
        assert rows(app, "views") == ["driver_stats"]


async def test_typing_in_the_prompt_does_not_trigger_keys(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "3", "q", "a")
        assert isinstance(app.screen, OverviewScreen) and app.is_running
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


async def test_runs_show_steps_and_cache_hits(tui_store) -> None:
    from builders import counting_pipeline

    try:
        flow = counting_pipeline()
        first = tui_store.pipelines.run(flow)
        again = tui_store.pipelines.run(flow)
    except ModuleNotFoundError:
        pytest.skip("store.pipelines is not in this checkout")
    app = make_app(DataAccess(tui_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert rows(app, "runs") == [again.id, first.id]  # newest first
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen) and app.screen.run_id == again.id
        steps = app.screen.query_one("#steps", Section).table.all_rows
        assert [(r.key, r.cells[1], r.cells[3]) for r in steps] == [
            ("numbers", ("cached", "accent"), ("hit", "accent")),
            ("total", ("cached", "accent"), ("hit", "accent")),
        ]
        about = str(app.screen.query_one("#about", Static).render())
        assert "2 (2 from cache, 0 failed)" in about
