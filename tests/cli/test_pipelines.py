"""``mlcore pipeline run|show|resume`` and ``mlcore runs list|show|lineage``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLOW = """
from pathlib import Path
from mlcore.pipelines import pipeline, step

@step
def numbers(n: int) -> list:
    return list(range(n))

@step
def fragile(values: list, flag: str) -> list:
    if Path(flag).read_text() == "fail":
        raise RuntimeError("the model server is down")
    return values

@step
def total(values: list) -> int:
    return sum(values)

@pipeline
def flow(n: int = 3, flag: str = "FLAG"):
    total(fragile(numbers(n), flag))
"""


@pytest.fixture
def files(cli, tmp_path: Path):
    """An initialised store, a pipeline file and the flag file its fragile step reads."""
    flag = tmp_path / "flag"
    flag.write_text("ok")
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(FLOW).replace("FLAG", str(flag)))
    assert cli("init", str(cli.store), store=None).exit_code == 0
    return path, flag


@pytest.fixture
def cli(cli, store_path: Path):
    """The CLI acting as ana, the store's admin."""

    def run(*args: str, **kwargs):
        return cli("--as", "ana", *args, **kwargs)

    run.store = store_path  # type: ignore[attr-defined]
    return run


def test_run_prints_steps_on_stdout_and_progress_on_stderr(cli, files):
    path, _ = files
    r = cli("pipeline", "run", str(path), "--param", "n=4")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("run ") and lines[0].endswith("(flow): succeeded")
    assert lines[1].split() == ["STEP", "STATUS", "CACHED", "ATTEMPTS", "SECONDS", "DETAIL"]
    assert [line.split()[:2] for line in lines[2:]] == [
        ["numbers", "succeeded"],
        ["fragile", "succeeded"],
        ["total", "succeeded"],
    ]
    progress = r.stderr.splitlines()
    assert progress[0].endswith("running: 3 steps")
    assert [line.split(" ", 1)[1] for line in progress[1:3]] == [
        "numbers running",
        "numbers succeeded",
    ]
    assert "running" not in r.stdout

    again = cli("pipeline", "run", f"{path}:flow", "-p", "n=4", "--json")
    assert again.exit_code == 0
    record = again.json()
    assert [s["status"] for s in record["steps"]] == ["cached"] * 3
    assert record["params"] == {"n": 4, "flag": str(files[1])}
    assert "cached" in again.stderr  # progress still on stderr, JSON alone on stdout


def test_quiet_hides_progress(cli, files):
    r = cli("pipeline", "run", str(files[0]), "-q")
    assert r.exit_code == 0 and r.stderr == ""


def test_a_failed_step_exits_1_with_the_table_then_resume_finishes(cli, files):
    path, flag = files
    flag.write_text("fail")
    r = cli("pipeline", "run", str(path))
    assert r.exit_code == 1
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in r.stdout.splitlines()[2:]}
    assert rows["fragile"][0] == "failed"
    assert rows["fragile"][1].endswith("RuntimeError: the model server is down")
    assert rows["total"] == ["skipped", "upstream step 'fragile' failed"]
    run_id = r.stdout.split()[1]
    assert f"mlcore pipeline resume {run_id}" in r.stderr

    shown = cli("runs", "show", run_id, "--json").json()
    assert shown["status"] == "failed"
    assert shown["steps"][1]["error"]["message"] == "the model server is down"

    flag.write_text("ok")
    resumed = cli("pipeline", "resume", run_id.rsplit("-", 1)[1], "--json")
    assert resumed.exit_code == 0, resumed.stderr
    record = resumed.json()
    assert record["resumed_from"] == run_id
    assert [s["status"] for s in record["steps"]] == ["cached", "succeeded", "succeeded"]


def test_bad_parameters_exit_2_and_unknown_things_exit_3(cli, files, tmp_path):
    path, _ = files
    r = cli("pipeline", "run", str(path), "-p", "nn=3")
    assert r.exit_code == 2
    assert r.stderr == (
        "mlcore: error: pipeline 'flow' has no parameter 'nn'. Did you mean 'n'? "
        "Its parameters are: n, flag.\n"
    )
    r = cli("pipeline", "run", str(path), "-p", "n=three")
    assert (r.exit_code, r.stderr) == (
        2,
        "mlcore: error: pipeline 'flow' parameter 'n' expects int, got 'three'. "
        "Give a value of that type.\n",
    )
    assert cli("pipeline", "run", str(path), "-p", "n").exit_code == 2
    r = cli("pipeline", "run", f"{path}:flwo")
    assert r.exit_code == 3 and "Did you mean 'flow'?" in r.stderr
    assert cli("pipeline", "run", str(tmp_path / "missing.py")).exit_code == 3
    r = cli("runs", "show", "nope")
    assert (r.exit_code, r.stdout) == (3, "")
    assert r.stderr == "mlcore: error: run 'nope' not found.\n"
    assert cli("pipeline", "resume", "nope").exit_code == 3


def test_a_file_that_does_not_import_names_its_line(cli, files, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("from mlcore.pipelines import step\n\nimport not_a_module_anywhere\n")
    r = cli("pipeline", "run", str(broken))
    assert r.exit_code == 2
    assert r.stderr.startswith(f"mlcore: error: pipeline file {broken} does not import: line 3:")
    assert "ModuleNotFoundError" in r.stderr


def test_a_step_returning_an_unsupported_type_fails_by_name(cli, files, tmp_path):
    odd = tmp_path / "odd.py"
    odd.write_text(
        "from mlcore.pipelines import pipeline, step\n\n"
        "@step\ndef make() -> set:\n    return {1, 2}\n\n"
        "@pipeline\ndef odd():\n    make()\n"
    )
    r = cli("pipeline", "run", str(odd))
    assert r.exit_code == 1
    assert "step 'make' returned a builtins.set, which mlcore cannot store" in r.stdout


def test_config_file_and_param_precedence(cli, files, tmp_path):
    config = tmp_path / "params.toml"
    config.write_text("n = 5\n")
    r = cli("pipeline", "run", str(files[0]), "--config", str(config), "--json")
    assert r.json()["params"]["n"] == 5
    r = cli("pipeline", "run", str(files[0]), "--config", str(config), "-p", "n=2", "--json")
    assert r.json()["params"]["n"] == 2


def test_show_prints_the_dag(cli, files):
    r = cli("pipeline", "show", str(files[0]))
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == "pipeline flow: 3 steps"
    assert "total    values=fragile" in r.stdout
    data = cli("pipeline", "show", str(files[0]), "--json").json()
    assert [s["name"] for s in data["steps"]] == ["numbers", "fragile", "total"]
    assert data["steps"][2]["upstream"] == ["fragile"]


def test_runs_list_show_and_lineage(cli, files):
    first = cli("pipeline", "run", str(files[0]), "--json").json()
    second = cli("pipeline", "run", str(files[0]), "--json").json()
    listed = cli("runs", "list", "--json").json()
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert listed[0]["steps"] == "3 cached" and listed[1]["steps"] == "3 succeeded"
    assert listed[0]["actor"] == "ana"
    table = cli("runs", "list", "--pipeline", "flow", "--limit", "1")
    assert table.stdout.splitlines()[1].startswith(second["id"])

    shown = cli("runs", "show", second["id"])
    assert f"run           {second['id']}" in shown.stdout
    assert shown.stdout.splitlines()[-1].split()[:3] == ["total", "cached", "yes"]

    chain = cli("runs", "lineage", second["id"], "--json").json()
    steps = {s["name"]: s for s in chain["steps"]}
    assert steps["total"]["inputs"]["values"]["from"] == "fragile.fragile"
    assert steps["total"]["computed_by"] == first["id"]
    text = cli("runs", "lineage", second["id"]).stdout
    assert f"(computed by run {first['id']})" in text
    assert "(none registered)" in text


def test_help_stays_light():
    code = (
        "import sys\nfrom mlcore.cli.app import app\n"
        "heavy = {'polars', 'duckdb', 'sklearn', 'numba', 'mlcore.pipelines'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.replace("'", '"')) == []
