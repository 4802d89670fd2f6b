"""``mlcore demo``: options reach the story, the summary reaches stdout, the story stderr.

The story itself is stubbed here (test_story.py runs it): these tests check the
command's wiring.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcore.cli import output
from mlcore.cli.app import main
from mlcore.demo.summary import Summary


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    seen: list[dict] = []

    def fake_run(path, **options):
        seen.append({"path": path, **options})
        options["narrate"]("1. a line of the story")
        summary = Summary(str(path or "/tmp/fresh"), fast=options["fast"], seed=options["seed"])
        summary.production = 1
        summary.audit = {"entries": 3, "verified": True}
        return summary

    monkeypatch.setattr("mlcore.demo.run", fake_run)
    return seen


def _mlcore(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    output.state.__init__()  # type: ignore[misc]
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_options_reach_the_story(calls, capsys, tmp_path: Path) -> None:
    where = str(tmp_path / "demo")
    code, out, err = _mlcore(
        capsys, "demo", "--fast", "--seed", "7", "--threads", "0", "--store", where, "--as", "ann"
    )
    assert code == 0
    (call,) = calls
    assert (call["path"], call["fast"], call["seed"], call["threads"], call["actor"]) == (
        where,
        True,
        7,
        None,  # 0: the libraries' default, a thread per core
        "ann",
    )
    assert err == "1. a line of the story\n"
    assert out.startswith(f"store       {where}\nproduction  flight_delays/1\n")
    assert f"mlcore tui --store {where}" in out


def test_json_summary_on_stdout_and_quiet_story(calls, capsys) -> None:
    code, out, err = _mlcore(capsys, "demo", "--json", "-q")
    assert code == 0 and err == ""
    summary = json.loads(out)
    assert (calls[0]["path"], calls[0]["fast"], calls[0]["threads"]) == (None, False, 1)
    assert summary["production"] == 1 and summary["audit"]["verified"] is True


def test_a_used_folder_is_refused_with_one_line(capsys, tmp_path: Path) -> None:
    (tmp_path / "catalog.duckdb").write_text("")
    code, out, err = _mlcore(capsys, "demo", "--fast", "--store", str(tmp_path))
    assert code == 4 and out == ""
    assert err == (
        f"mlcore: error: {tmp_path} is not empty. "
        "Give a new folder: the demo builds a store of its own.\n"
    )
