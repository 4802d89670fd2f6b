"""``mlcore monitor ...`` and ``mlcore alerts ...``: exit codes, stderr sentences, --json results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(5)
    paths = {name: tmp_path / f"{name}.parquet" for name in ("ref", "calm", "shifted", "labels")}
    pl.DataFrame(
        {"age": rng.normal(40, 10, 2_000), "plan": rng.choice(["a", "b"], 2_000),
         "score": rng.random(2_000)}
    ).with_columns(label=(pl.col("score") > 0.5).cast(pl.Int64)).write_parquet(paths["ref"])  # fmt: skip
    ids = [f"q{i}" for i in range(400)]
    pl.DataFrame(
        {"request_id": ids, "age": rng.normal(40, 10, 400), "plan": rng.choice(["a", "b"], 400),
         "score": rng.random(400)}
    ).write_parquet(paths["calm"])  # fmt: skip
    pl.DataFrame(
        {"request_id": ids, "age": rng.normal(70, 10, 400), "plan": ["c"] * 400,
         "score": rng.random(400), "extra": 1}
    ).write_parquet(paths["shifted"])  # fmt: skip
    pl.DataFrame({"request_id": ids[:100], "label": [1] * 100}).write_parquet(paths["labels"])
    return paths


@pytest.fixture
def monitored(cli, files, store_path):
    assert cli("init", str(store_path), store=None).exit_code == 0  # the OS user is admin
    made = cli(
        "monitor", "create", "churn", "--reference", str(files["ref"]), "--window", "batch",
        "--prediction", "score", "--label", "label", "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    return cli


def test_create_prints_the_monitor(monitored, files) -> None:
    shown = monitored("monitor", "list", "--json").json()
    assert [(m["name"], m["window"], m["task"], m["calibrated"]) for m in shown] == [
        ("churn", "batch", "classification", True)
    ]
    again = monitored("monitor", "create", "churn", "--reference", str(files["ref"]))
    assert again.exit_code == 4
    assert again.stderr == "mlcore: error: monitor 'churn' already exists. Choose another name.\n"


def test_observe_exits_1_on_drift_and_still_prints_the_report(monitored, files) -> None:
    calm = monitored("monitor", "observe", "churn", str(files["calm"]))
    assert calm.exit_code == 0, calm.stderr
    assert "STATISTIC" in calm.stdout and "drift" not in calm.stdout.split("STATUS", 1)[1]
    shifted = monitored("monitor", "observe", "churn", str(files["shifted"]), "--json")
    assert shifted.exit_code == 1
    result = shifted.json()
    assert result["drift"] is True and set(result["drifted_columns"]) >= {"age", "plan"}
    assert result["unexpected_columns"] == ["extra"]
    assert [a["rule"] for a in result["alerts"]] == ["dataset_drift"]
    human = monitored("monitor", "observe", "churn", str(files["shifted"]))
    assert (
        human.exit_code == 1 and "age" in human.stdout and "unknown columns: extra" in human.stderr
    )


def test_report_and_matrix(monitored, files) -> None:
    monitored("monitor", "observe", "churn", str(files["calm"]))
    monitored("monitor", "observe", "churn", str(files["shifted"]))
    report = monitored("monitor", "report", "churn", "--json").json()
    assert [w["drift"]["drift"] for w in report["windows"]] == [False, True]
    assert report["windows"][0]["estimated"]["accuracy"] is not None
    table = monitored("monitor", "report", "churn", "--last", "1", "-s", "psi")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].startswith("window #") and "drift: " in lines[0]
    header = next(i for i, line in enumerate(lines) if line.startswith("WINDOW"))
    assert lines[header].split() == [
        "WINDOW",
        "COLUMN",
        "STATISTIC",
        "VALUE",
        "THRESHOLD",
        "STATUS",
    ]
    rows = [line.split() for line in lines[header + 1 :] if line.strip()]
    assert {r[3] for r in rows} == {"psi"}  # the label "#2 <time>" takes two fields
    assert [r[2] for r in rows] == ["age", "plan", "score"]
    matrix = monitored("monitor", "matrix", "churn", "--statistic", "psi", "--json").json()
    assert matrix["columns"] == ["age", "plan", "score"]
    assert matrix["windows"] == [w["label"] for w in report["windows"]]
    psi = report["windows"][1]["drift"]["columns"][0]["statistics"]["psi"]["value"]
    assert matrix["values"][0][1] == pytest.approx(psi)
    status = monitored("monitor", "matrix", "churn", "--status", "--json").json()
    assert status["values"][0] == ["ok", "drift"]
    bad = monitored("monitor", "matrix", "churn", "--statistic", "pis")
    assert bad.exit_code == 3 and "Did you mean 'psi'?" in bad.stderr


def test_labels_and_profile(monitored, files) -> None:
    monitored("monitor", "observe", "churn", str(files["calm"]))
    done = monitored("monitor", "labels", "churn", str(files["labels"]), "--json").json()
    assert (done["received"], done["labelled"], done["unmatched"]) == (100, 100, 0)
    report = monitored("monitor", "report", "churn", "--json").json()
    assert report["windows"][0]["labelled"] == 100
    profile = monitored("monitor", "profile", "churn", "--json").json()
    assert [(c["column"], c["kind"]) for c in profile] == [
        ("age", "numeric"), ("plan", "categorical"), ("score", "numeric"),
    ]  # fmt: skip
    human = monitored("monitor", "profile", "churn")
    assert human.stdout.splitlines()[0].split()[:3] == ["COLUMN", "KIND", "BINS"]


def test_alerts_list_show_ack_resolve(monitored, files) -> None:
    monitored("monitor", "observe", "churn", str(files["shifted"]))
    listed = monitored("alerts", "list", "--json").json()
    assert [(a["id"], a["rule"], a["status"]) for a in listed] == [(1, "dataset_drift", "open")]
    shown = monitored("alerts", "show", "1", "--json").json()
    assert shown["monitor"] == "churn" and shown["severity"] == "warning"
    missing_comment = monitored("alerts", "ack", "1")
    assert missing_comment.exit_code == 2
    denied = monitored("--as", "mallory", "alerts", "ack", "1", "-m", "fine")
    assert denied.exit_code == 5 and "may not acknowledge an alert" in denied.stderr
    acked = monitored("alerts", "ack", "1", "-m", "looking into it", "--json").json()
    assert (acked["status"], acked["ack_comment"]) == ("acknowledged", "looking into it")
    twice = monitored("alerts", "ack", "1", "-m", "again")
    assert twice.exit_code == 4 and "it is acknowledged" in twice.stderr
    closed = monitored("alerts", "resolve", "1", "-m", "retrained")
    assert closed.exit_code == 0 and "alert 1 resolved by" in closed.stderr
    assert monitored("alerts", "list", "--status", "open", "--json").json() == []
    nothing = monitored("alerts", "show", "9")
    assert nothing.exit_code == 3 and "alert '9' not found" in nothing.stderr


def test_unknown_monitor_suggests_the_closest(monitored, files) -> None:
    result = monitored("monitor", "report", "chrun")
    assert result.exit_code == 3
    assert result.stderr == "mlcore: error: monitor 'chrun' not found. Did you mean 'churn'?\n"
