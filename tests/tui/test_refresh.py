"""The refresh loop: one fetch at a time, re-armed when done, busy and broken stores survived."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap

import pytest

from mlcore.errors import StoreBusy
from mlcore.tui.data import DataAccess
from mlcore.tui.screens.audit import AuditScreen
from mlcore.tui.screens.models import ModelsScreen
from mlcore.tui.screens.monitoring import MonitoringScreen
from mlcore.tui.widgets import Section
from tests.tui.conftest import FakeData, make_app, overview_model, settle


async def test_refreshes_never_overlap_and_rearm_after_finishing() -> None:
    fake = FakeData(overview=overview_model())
    fake.gate.clear()
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await asyncio.to_thread(fake.entered.wait, 10)
        for _ in range(3):
            await pilot.press("ctrl+r")
        await pilot.pause()
        assert fake.calls == ["overview"]  # the requests wait for the one in flight
        assert app._timer is None  # and no timer runs meanwhile
        assert app.status.text == "starting"
        fake.gate.set()
        await settle(pilot)
        # the three requests made during the fetch collapse into one more fetch
        assert fake.calls == ["overview", "overview"]
        assert fake.max_running == 1
        assert app.refreshes == 2
        assert app._timer is not None  # the next tick is armed once idle
        assert app.status.text == "refreshed 12:00:00 UTC"


async def test_busy_store_says_so_and_retries_sooner() -> None:
    fake = FakeData(overview=StoreBusy("/srv/stores/fake", waited=2.0, holder="pid 42"))
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, loaded=False)
        assert app.status.text == "store busy, retrying, held by pid 42"
        assert app.status.tone == "busy"
        assert app._timer is not None and app.is_running
        fake.results["overview"] = overview_model()
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.status.tone == "ok"
        assert app.screen.loaded


async def test_an_error_is_shown_not_raised() -> None:
    fake = FakeData(overview=RuntimeError("catalog exploded"))
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, loaded=False)
        assert app.status.text == "error: catalog exploded"
        assert app.status.tone == "bad"
        assert app.is_running


_HOLD_CATALOG = """
import sys, time, duckdb
while True:
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.Error:
        time.sleep(0.01)
print("held", flush=True)
sys.stdin.read()
con.close()
"""


async def test_real_busy_catalog_then_recovery(tui_store) -> None:
    catalog = str(tui_store.path / "catalog.duckdb")
    tui_store.storage.catalog.release()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_CATALOG, catalog],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        app = make_app(DataAccess(tui_store, lock_timeout=0.3))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, loaded=False)  # the fetch gives up after the lock timeout
            assert not app.screen.loaded
            assert app.status.text.startswith("store busy, retrying")
            holder.communicate("")  # the other process lets go
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert app.status.tone == "ok"
    finally:
        holder.kill()
        holder.wait()


def monitor_row(app) -> tuple:
    (row,) = app.screen.query_one("#monitors", Section).table.all_rows
    return row.cells


_WRITER = """
import sys
sys.path.insert(0, sys.argv[2])
import mlcore
from builders import driver_batch, monitor_batch, register
import polars, sklearn.linear_model  # the slow imports, before the TUI starts refreshing
import mlcore.monitoring.observing, mlcore.monitoring.timeline

batch = monitor_batch(4, seed=14)

print("ready", flush=True)
sys.stdin.readline()
admin = mlcore.open(sys.argv[1], actor="admin")
admin.grant("eve", "reviewer")
dana = admin.as_actor("dana")
dana.features.ingest("driver_stats", driver_batch(4, start=10))
register(dana, "uplift")
dana.monitors.observe("churn", batch)
print("wrote", flush=True)
"""


@pytest.mark.slow  # a second Python process that imports the registry and monitoring
async def test_a_second_process_writes_while_the_tui_runs(tui_store) -> None:
    """Grant, ingest, register and observe a batch from another process while the TUI refreshes."""
    from pathlib import Path

    app = make_app(DataAccess(tui_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")  # the monitoring view, whose reads are the heaviest
        await settle(pilot)
        assert monitor_row(app)[3] == "2024-03-07 (1d)"
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            textwrap.dedent(_WRITER),
            str(tui_store.path),
            str(Path(__file__).parent),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"MLCORE_LOCK_TIMEOUT": "10", "PATH": "/usr/bin:/bin"},
        )
        assert writer.stdin is not None and writer.stdout is not None
        assert await writer.stdout.readline() == b"ready\n"
        writer.stdin.write(b"go\n")
        await writer.stdin.drain()
        statuses = set()
        while writer.returncode is None:  # keep refreshing while it writes
            await pilot.press("ctrl+r")
            await settle(pilot)
            statuses.add(app.status.tone)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.wait(), 0.05)
        out, err = await writer.communicate()
        assert writer.returncode == 0, err.decode()[-2000:]
        assert out.decode() == "wrote\n"
        assert statuses == {"ok"}, statuses  # refreshed while it wrote, never busy
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, MonitoringScreen)
        assert monitor_row(app)[3:5] == ("2024-03-08 (1d)", "150")  # the batch's new window
        alerts = app.screen.query_one("#alerts", Section).table.all_rows
        stored = tui_store.monitors.alerts()
        assert [(r.key, r.cells[3][0]) for r in alerts] == [(str(a.id), a.status) for a in stored]
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, ModelsScreen)
        assert app.screen.query_one("#models", Section).table.shown_keys == [
            "churn",
            "fraud",
            "lapse",
            "uplift",
        ]
        await pilot.press("6")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        actions = [(e.actor, e.action, e.subject) for e in app.screen.entries.values()]
        assert ("admin", "access.grant", "actor:eve") in actions
        assert ("dana", "features.ingest", "view:driver_stats") in actions
        assert ("dana", "models.register", "model:uplift/1") in actions
        assert ("dana", "monitor.observe", "monitor:churn") in actions
