"""Fixtures for the TUI tests: a real store built once, fakes for the data layer, pilots."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
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
HERE = Path(__file__).parent


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

    Every datetime becomes FIXED_NOW; the path, the chain's hash, byte sizes,
    the number of data files (pipeline outputs are packed per flush),
    durations, ages and the machine-dependent lineage fixed values; random ids
    (runs, evaluations, waivers) and content hashes get aliases in the order
    they are first seen, translated back when the TUI passes one to the data
    layer. An SVG snapshot then depends on the store's content only.
    """

    def __init__(self, data: Any) -> None:
        self._data = data
        self._alias: dict[str, str] = {}
        self._real: dict[str, str] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._data, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(self._real.get(a, a) if isinstance(a, str) else a for a in args)
            return self.freeze(found(*args, **kwargs))

        return call

    def _aliased(self, match: re.Match[str]) -> str:
        real = match.group(0)
        with self._lock:
            if real not in self._alias:
                n = len(self._alias) + 1
                kind = "run" if real[8] == "T" else real[:3] if real[2] == "-" else "sha"
                alias = {
                    "run": f"20240301T120000-{n:06x}",
                    "ev-": f"ev-{n:012x}",
                    "wv-": f"wv-{n:012x}",
                }.get(kind, f"{n:064x}")
                self._alias[real], self._real[alias] = alias, real
            return self._alias[real]

    def freeze(self, value: Any, name: str = "") -> Any:
        if name in _FIXED_FIELDS and isinstance(value, type(_FIXED_FIELDS[name])):
            return _FIXED_FIELDS[name]
        if name == "chain_head":
            return value.split(":")[0] + ":" + "cd" * 32
        if name.endswith("_bytes"):
            return 4096
        if isinstance(value, datetime):
            return FIXED_NOW
        if isinstance(value, str):
            return _IDS.sub(self._aliased, value.replace(str(HERE), "tests/tui"))
        if isinstance(value, tuple):
            return tuple(self.freeze(v) for v in value)
        if isinstance(value, dict):
            return {k: self.freeze(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: self.freeze(getattr(value, f.name), f.name)
                for f in dataclasses.fields(value)
            }
            return dataclasses.replace(value, **changes)
        return value


#: run ids, evaluation and waiver ids, sha256 digests
_IDS = re.compile(r"\b(?:\d{8}T\d{6}-[0-9a-f]{6}|ev-[0-9a-f]{12}|wv-[0-9a-f]{12}|[0-9a-f]{64})\b")

_FIXED_FIELDS: dict[str, Any] = {
    "path": "/srv/stores/demo",
    "hash": "ab" * 32,
    "freshness_s": 3600.0,
    "seconds": 0.25,
    # pipeline outputs are packed into files per flush, which timing decides
    "data_files": 10,
    # a version's lineage: code hash, git commit, platform and package versions
    # differ between machines (a run's lineage, a tuple of rows, is kept)
    "lineage": {"code": {"source": "train.py"}, "git": {"branch": "main"}},
}


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


def without(store: Any, **capabilities: str) -> Any:
    """The store seen without some capabilities, as a store lacking their modules would be.

    ``without(store, monitors="mlcore.monitoring.monitors")``.
    """
    from mlcore.api import Store

    hidden = type("Hidden", (Store,), {c: _absent(m) for c, m in capabilities.items()})
    return hidden(store.storage)
