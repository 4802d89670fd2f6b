"""Fixtures for the TUI tests: a real store built once, fakes for the data layer, pilots."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import shutil
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from builders import build

FIXED_NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (Pilot needs one; no plugin required)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The builders' store, built once per session (registering models is slow)."""
    path = tmp_path_factory.mktemp("tui") / "store"
    build(path).close()
    return path


@pytest.fixture
def tui_store(built_store: Path, tmp_path: Path):
    """A fresh copy of the built store, open as admin."""
    import mlcore

    path = tmp_path / "store"
    shutil.copytree(built_store, path, ignore=shutil.ignore_patterns(".queue"))
    store = mlcore.open(path, actor="admin")
    yield store
    store.close()


def make_app(data: Any, **options: Any) -> Any:
    """The app with no timer refreshes during a test and a fixed clock."""
    from mlcore.tui.app import MlcoreApp

    options.setdefault("interval", 3600.0)
    options.setdefault("clock", lambda: FIXED_NOW)
    return MlcoreApp(data, **options)


async def settle(pilot: Any, *, loaded: bool = True) -> None:
    """Wait until no worker runs and the active view was fetched and shown.

    ``loaded=False``: until a fetch has finished at all (for fetches that fail).
    """
    from mlcore.tui.screens.base import ViewScreen

    app = pilot.app
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        idle = app._inflight is None and not any(w.is_running for w in app.workers)
        if not isinstance(screen, ViewScreen):
            shown = True
        else:
            shown = screen.loaded if loaded else app.refreshes > 0
        if idle and shown:
            return
    raise AssertionError("the TUI did not settle")


class Frozen:
    """The real data layer with the values that change between runs fixed (for snapshots).

    Every datetime becomes FIXED_NOW, the path, hashes, byte sizes and ages fixed
    values, so that an SVG snapshot depends on the store's content only.
    """

    def __init__(self, data: Any) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._data, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            return freeze(found(*args, **kwargs))

        return call


_FIXED_FIELDS: dict[str, Any] = {
    "path": "/srv/stores/demo",
    "hash": "ab" * 32,
    "freshness_s": 3600.0,
    # code hash, git commit, platform and package versions differ between machines
    "lineage": {"code": {"source": "train.py"}, "git": {"branch": "main"}},
}


def freeze(value: Any) -> Any:
    if isinstance(value, datetime):
        return FIXED_NOW
    if isinstance(value, tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return {k: freeze(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name in _FIXED_FIELDS:
                changes[f.name] = _FIXED_FIELDS[f.name]
            elif f.name == "chain_head":
                changes[f.name] = v.split(":")[0] + ":" + "cd" * 32
            elif f.name.endswith("_bytes"):
                changes[f.name] = 4096
            else:
                changes[f.name] = freeze(v)
        return dataclasses.replace(value, **changes)
    return value


class FakeData:
    """A data layer whose fetches block until a test lets them go.

    ``results`` maps a method name to what it returns, or an exception to raise;
    ``gate`` (a threading.Event) holds every call until set; ``calls`` counts
    them and ``running`` says how many are inside a call right now.
    """

    actor = "ana"
    path = "/srv/stores/fake"

    def __init__(self, **results: Any) -> None:
        self.results = results
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[str] = []
        self.running = 0
        self.max_running = 0
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def _answer(self, name: str) -> Any:
        with self._lock:
            self.calls.append(name)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        self.entered.set()
        try:
            self.gate.wait(timeout=10)
            found = self.results[name]
            if isinstance(found, BaseException):
                raise found
            return found() if isinstance(found, Callable) else found
        finally:
            with self._lock:
                self.running -= 1

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.results:
            raise AttributeError(name)
        return lambda *args, **kwargs: self._answer(name)


def overview_model(**health: Any) -> Any:
    """A small Overview view model for the fake data layer."""
    from mlcore.tui import viewmodels as vm

    facts = {
        "path": "/srv/stores/fake",
        "actor": "ana",
        "roles": ("reviewer",),
        "data_files": 0,
        "data_rows": 0,
        "data_bytes": 0,
        "artifacts": 0,
        "artifact_bytes": 0,
        "audit_entries": 1,
        "chain_ok": True,
        "chain_head": "1:" + "ab" * 32,
        "chain_problem": None,
        **health,
    }
    missing = vm.Unavailable("monitoring", "not in this fake")
    return vm.Overview(vm.Health(**facts), (), (), missing, missing)


def _absent(module: str) -> Any:
    def missing(self: Any) -> Any:
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    return property(missing)


def phase_one(store: Any) -> Any:
    """The store seen with only features and the registry.

    Evaluation, monitoring and pipelines are landing while the TUI is built;
    hiding them (as a store without those modules would) keeps snapshots and
    "not available" assertions stable whichever of them a checkout holds.
    """
    from mlcore.api import Store

    class PhaseOneStore(Store):
        evals = _absent("mlcore.evaluation.evaluations")
        monitors = _absent("mlcore.monitoring.monitors")
        pipelines = _absent("mlcore.pipelines.runner")

    return PhaseOneStore(store.storage)
