"""Keys are data: the keymap table drives bindings, key bar, help and docs; the core stays headless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlcore.tui import keymap

ROOT = Path(__file__).resolve().parents[2]


def test_no_key_is_bound_twice_on_a_screen() -> None:
    for screen in keymap.SCREENS:
        keys = [k.key for k in keymap.KEYS if not k.screens or screen in k.screens]
        assert len(keys) == len(set(keys)), screen


def test_every_scope_names_a_screen_and_views_have_numbers() -> None:
    assert {s for k in keymap.KEYS for s in k.screens} <= set(keymap.SCREENS)
    assert [v.number for v in keymap.VIEWS] == [1, 2, 3, 4, 5, 6]
    assert keymap.VERBS == (
        "submit",
        "approve",
        "reject",
        "release",
        "rollback",
        "acknowledge",
        "retrain",
    )


def test_screen_bindings_are_the_keymap() -> None:
    from mlcore.tui.app import _VIEW_SCREENS, MlcoreApp
    from mlcore.tui.screens.audit import AuditEntryScreen
    from mlcore.tui.screens.features import FeatureScreen
    from mlcore.tui.screens.models import ModelScreen, VersionScreen
    from mlcore.tui.screens.monitor import DriftScreen, MonitorScreen
    from mlcore.tui.screens.runs import RunScreen

    drilled = [ModelScreen, VersionScreen, FeatureScreen, RunScreen, MonitorScreen, DriftScreen]
    screens = {s.VIEW: s for s in [*_VIEW_SCREENS.values(), *drilled, AuditEntryScreen]}
    assert set(screens) == set(keymap.SCREENS)
    for screen in screens.values():
        bound = {(b.key, b.action) for b in screen.BINDINGS}
        assert bound == {(k.key, k.action) for k in keymap.active_in(screen.VIEW)}, screen
    app_keys = {(b.key, b.action) for b in MlcoreApp.BINDINGS}
    assert app_keys == {
        (k.key, k.action) for k in keymap.KEYS if not k.screens and k.name != "open"
    }
    for k in keymap.KEYS:  # every action has a handler wherever it is bound
        owners = [screens[s] for s in k.screens] or [MlcoreApp]
        for owner in owners:
            if k.name != "open":
                assert hasattr(owner, f"action_{k.action.partition('(')[0]}"), (k, owner)


def test_docs_carry_the_key_table() -> None:
    doc = (ROOT / "docs" / "concepts" / "tui.md").read_text()
    assert keymap.markdown() in doc, (
        "regenerate: python -c 'from mlcore.tui import keymap; print(keymap.markdown())'"
    )


@pytest.mark.parametrize(
    ("text", "view"),
    [("models", "models"), ("MOD", "models"), ("feat", "features"), ("6", "audit"), ("m", None)],
)
def test_colon_names(text: str, view: str | None) -> None:
    assert keymap.resolve_view(text) == view


def test_headless_core_never_imports_textual() -> None:
    """The API, the CLI (with the tui command) and the TUI's data layer load no Textual."""
    code = (
        "import sys\n"
        "import mlcore, mlcore.api, mlcore.cli.app, mlcore.cli.tui\n"
        "import mlcore.features.store, mlcore.registry.registry, mlcore.pipelines\n"
        "import mlcore.evaluation, mlcore.monitoring\n"
        "import mlcore.tui.data, mlcore.tui.keymap, mlcore.tui.viewmodels, mlcore.tui.format\n"
        "loaded = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_cli_offers_the_tui(capsys: pytest.CaptureFixture[str]) -> None:
    from mlcore.cli.app import main

    for argv in (["tui", "--help"], ["--help"]):
        try:
            main(argv)
        except SystemExit as done:
            assert done.code in (0, None)
    out = capsys.readouterr().out
    assert "--read-only" in out and "--interval" in out
    assert "\n  tui " in out
