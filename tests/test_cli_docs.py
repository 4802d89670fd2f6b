"""docs/cli.md holds exactly what the commands' --help prints (scripts/gen_cli_docs.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gen_cli_docs.py"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("gen_cli_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_is_current(generator) -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == generator.reference(), (
        "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"
    )


def test_every_command_has_its_help_in_the_reference(generator, capsys) -> None:
    from mlcore.cli import output
    from mlcore.cli.app import main

    text = generator.reference()
    for path in (["models", "release"], ["demo"], ["features", "history"]):
        output.state.__init__()  # type: ignore[misc]
        try:
            main([*path, "--help"])
        except SystemExit as exc:
            assert exc.code in (0, None)
        shown = capsys.readouterr().out
        usage = shown.splitlines()[0]
        assert f"## `mlcore {' '.join(path)}`" in text
        assert usage in text
    sections = [line for line in text.splitlines() if line.startswith("## `mlcore")]
    assert len(sections) == len(set(sections)) > 40


def test_check_mode_reports_a_stale_file(generator, tmp_path: Path, monkeypatch) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n")
    monkeypatch.setattr(generator, "DOC", stale)
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0


def test_the_script_runs_from_a_shell() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
