"""SVG snapshots of the main screens on a fixed store, at 80x24, dark and light.

Values that differ between runs (times, the store's path, hashes, sizes,
lineage) are fixed by ``Frozen``; the rest is the built store's content, seen
with features and the registry only (``phase_one``).
Update after an intended change with ``pytest tests/tui --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.conftest import Frozen, make_app, phase_one, settle
from mlcore.tui.data import DataAccess


def snapshot_app(store: Any, theme: str = "textual-dark") -> Any:
    app = make_app(Frozen(DataAccess(phase_one(store))))
    app.theme = theme
    return app


def keys(*pressed: str):
    async def run(pilot: Any) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_overview(snap_compare, tui_store, theme: str) -> None:
    assert snap_compare(snapshot_app(tui_store, theme), run_before=keys())


def test_model_versions(snap_compare, tui_store) -> None:
    assert snap_compare(snapshot_app(tui_store), run_before=keys("3", "enter"))


def test_version_detail(snap_compare, tui_store) -> None:
    app = snapshot_app(tui_store)
    assert snap_compare(app, run_before=keys("3", "enter", "down", "enter"))


def test_feature_detail(snap_compare, tui_store) -> None:
    assert snap_compare(snapshot_app(tui_store), run_before=keys("2", "enter"))


def test_audit(snap_compare, tui_store) -> None:
    assert snap_compare(snapshot_app(tui_store), run_before=keys("6"))


def test_release_confirmation(snap_compare, tui_store) -> None:
    tui_store.as_actor("bob").models.approve("churn", 2)
    assert snap_compare(snapshot_app(tui_store), run_before=keys("3", "enter", "r"))


def test_help(snap_compare, tui_store) -> None:
    assert snap_compare(snapshot_app(tui_store, "textual-light"), run_before=keys("question_mark"))
