"""SVG snapshots of the main screens on the fixed store of ``builders.build``.

Every view, a version's page and the release confirmation at 80x24 on the
dark theme; a monitor's page (the heat map's colours) at 80x24 on the light
theme and larger on the dark one. Values that differ between runs (times,
the store's path, random ids, hashes, sizes, durations, a version's lineage)
are fixed by ``Frozen``; the rest is the store's content, built from seeded
data at fixed event times.

Update after an intended change with ``pytest tests/tui --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlcore.tui.data import DataAccess
from tests.tui.conftest import Frozen, make_app, settle


def snapshot_app(store: Any, theme: str = "textual-dark") -> Any:
    app = make_app(Frozen(DataAccess(store)))
    app.theme = theme
    return app


def keys(*pressed: str):
    async def run(pilot: Any) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run


@pytest.mark.parametrize("view", ["1", "2", "3", "4", "5", "6"])
def test_view(snap_compare, tui_store, view: str) -> None:
    assert snap_compare(snapshot_app(tui_store), run_before=keys(view))


def test_version_detail(snap_compare, tui_store) -> None:
    app = snapshot_app(tui_store)
    assert snap_compare(app, run_before=keys("3", "enter", "enter"))


def test_monitor_detail_light(snap_compare, tui_store) -> None:
    app = snapshot_app(tui_store, "textual-light")
    assert snap_compare(app, run_before=keys("5", "enter"))


def test_monitor_detail_large(snap_compare, tui_store) -> None:
    app = snapshot_app(tui_store)
    assert snap_compare(app, run_before=keys("5", "enter", "down"), terminal_size=(120, 40))


def test_release_confirmation(snap_compare, tui_store) -> None:
    tui_store.as_actor("bob").models.approve("churn", 2)
    assert snap_compare(snapshot_app(tui_store), run_before=keys("3", "enter", "r"))
