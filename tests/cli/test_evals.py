"""``mlcore eval ...`` and ``mlcore policy ...``: exit codes, stderr sentences, --json results,
and no way around the gate from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

import mlcore

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policies"

POLICY = """\
name = "gate"

[[rules]]
id = "auc"
kind = "metric"
description = "Discrimination"
citation = "SR 11-7: outcomes analysis"
severity = "block"
metric = "roc_auc"
min = {floor}
"""


@pytest.fixture
def setup(cli, store_path: Path, tmp_path: Path):
    """A store with churn/1 approved; its evaluation rows in a Parquet file; a team."""
    rng = np.random.default_rng(0)
    n = 600
    rows = pl.DataFrame(
        {
            "x": rng.normal(size=n),
            "sex": rng.choice(["F", "M"], n),
            "region": rng.choice(["n", "s"], n),
        }
    ).with_columns(y=(pl.col("x") + pl.Series(rng.normal(size=n)) > 0).cast(pl.Int64))
    with mlcore.open(store_path, create=True, actor="ana") as store:
        for actor, role in (("bob", "reviewer"), ("rita", "risk-officer"), ("emil", "ml-engineer"),
                            ("dana", "data-scientist")):  # fmt: skip
            store.grant(actor, role)
        model = LogisticRegression().fit(rows.select("x"), rows["y"])
        store.models.register("churn", model, training_data=rows.select("x"))
        store.models.submit("churn", 1)
        store.as_actor("bob").models.approve("churn", 1)
    data = tmp_path / "eval.parquet"
    rows.write_parquet(data)

    def policy(floor: float) -> str:
        path = tmp_path / f"gate-{floor}.toml"
        path.write_text(POLICY.format(floor=floor))
        return str(path)

    def as_(actor: str, *args: str):
        return cli("--as", actor, *args)

    return as_, str(data), policy


def test_policy_apply_diff_list_show(setup) -> None:
    run, _, _ = setup
    general = str(DOCS / "general.toml")
    applied = run("ana", "policy", "apply", general)
    assert applied.exit_code == 0 and "applied general v1" in applied.stderr
    assert "+ rule auc-floor (metric, block)" in applied.stdout
    again = run("ana", "policy", "apply", general, "--json")
    assert again.json()["changed"] is False and again.json()["version"] == 1
    credit = run("rita", "policy", "apply", str(DOCS / "credit.toml"), "--json").json()
    assert (credit["name"], credit["version"], credit["changed"]) == ("credit", 1, True)
    listed = run("ana", "policy", "list", "--json").json()
    assert [(p["name"], p["version"]) for p in listed] == [("credit", 1), ("general", 1)]
    shown = run("ana", "policy", "show", "credit")
    assert "scope: tags domain=credit" in shown.stdout and "four-fifths" in shown.stdout
    source = run("ana", "policy", "show", "general", "--source")
    assert source.stdout == (DOCS / "general.toml").read_text()
    unchanged = run("ana", "policy", "diff", general)
    assert unchanged.exit_code == 0 and "general is unchanged at v1" in unchanged.stderr


def test_policy_diff_and_apply_a_change(setup) -> None:
    run, _, policy = setup
    assert run("ana", "policy", "apply", policy(0.6)).exit_code == 0
    diff = run("ana", "policy", "diff", policy(0.65))
    assert diff.stdout.strip() == "~ rule auc: min 0.6 -> 0.65" and "gate: v1 -> v2" in diff.stderr
    assert (
        run("ana", "policy", "show", "gate", "--json").json()["version"] == 1
    )  # diff stored nothing
    assert run("ana", "policy", "apply", policy(0.65), "--json").json()["version"] == 2


def test_bad_policy_files_name_line_and_field(setup, tmp_path) -> None:
    run, _, policy = setup
    bad = tmp_path / "bad.toml"
    bad.write_text(POLICY.format(floor=0.7).replace("roc_auc", "roc_acu"))
    r = run("ana", "policy", "apply", str(bad))
    assert r.exit_code == 2
    assert r.stderr == (
        "mlcore: error: bad.toml:9: rule 'auc', field 'metric': unknown metric 'roc_acu'. "
        "Did you mean 'roc_auc'?\n"
    )
    bad.write_text(POLICY.format(floor="'high'"))
    assert (
        "bad.toml:10: rule 'auc', field 'min': threshold 'high' is not a number"
        in run("ana", "policy", "apply", str(bad)).stderr
    )
    assert run("dana", "policy", "apply", policy(0.6)).exit_code == 5
    assert run("ana", "policy", "apply", str(tmp_path / "none.toml")).exit_code == 3


def test_eval_run_show_list_report(setup, tmp_path) -> None:
    run, data, policy = setup
    run("ana", "policy", "apply", policy(0.6))
    r = run("dana", "eval", "run", "churn:1", "--data", data, "--label", "y", "--slice", "region",
            "--sensitive", "sex", "--resamples", "20")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    first = r.stdout.splitlines()[0]
    evaluation_id = first.split()[0]
    assert first.startswith(f"{evaluation_id}  churn/1  PASS  (600 rows, binary, by dana)")
    assert "policies: gate v1" in r.stdout and "worst slice: region=" in r.stdout
    shown = run("ana", "eval", "show", evaluation_id[:9], "--json").json()
    assert shown["id"] == evaluation_id and shown["dataset"]["source"] == "file"
    assert shown["rules"][0]["status"] == "pass"
    listed = run("ana", "eval", "list", "churn", "--json").json()
    assert [e["id"] for e in listed] == [evaluation_id]
    out = tmp_path / "evidence.html"
    written = run("ana", "eval", "report", evaluation_id, "--format", "html", "--out", str(out))
    assert written.exit_code == 0 and f"to {out}" in written.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and "SR 11-7" in out.read_text()
    md = run("ana", "eval", "report", evaluation_id, "--format", "md")
    assert md.stdout.startswith(f"# Evaluation {evaluation_id} of churn/1")
    assert run("ana", "eval", "report", evaluation_id, "--format", "pdf").exit_code == 3


def test_eval_run_bad_input(setup) -> None:
    run, data, _ = setup
    r = run("ana", "eval", "run", "churn", "--data", data, "--label", "y", "--sensitive", "gender")
    assert r.exit_code == 3 and "sensitive attribute 'gender' not found" in r.stderr
    r = run("ana", "eval", "run", "churn:x", "--data", data, "--label", "y")
    assert r.exit_code == 2 and "version 'x' is not a number" in r.stderr
    r = run("zed", "eval", "run", "churn", "--data", data, "--label", "y")
    assert r.exit_code == 5


def test_the_gate_cannot_be_passed_from_the_cli(setup, store_path) -> None:
    run, data, policy = setup
    run("ana", "policy", "apply", policy(0.99))
    failing = run(
        "dana",
        "eval",
        "run",
        "churn:1",
        "--data",
        data,
        "--label",
        "y",
        "--resamples",
        "0",
        "--json",
    )
    assert failing.exit_code == 1 and failing.json()["verdict"] == "fail"  # printed, then exit 1
    blocked = run("emil", "models", "release", "churn", "1")
    assert blocked.exit_code == 1
    assert (
        "release of model:churn/1 blocked by the gate (gate/auc: roc_auc overall:" in blocked.stderr
    )
    assert "0.99" in blocked.stderr
    gate = run("emil", "eval", "gate", "churn:1")
    assert gate.exit_code == 1 and "BLOCKED" in gate.stdout and "gate/auc" in gate.stdout
    denied = run("dana", "eval", "waive", "churn:1", "auc", "--reason", "x", "--expires", "7d")
    assert denied.exit_code == 5
    waived = run("rita", "eval", "waive", "churn:1", "gate/auc", "--reason", "accepted for Q3",
                 "--expires", "7d", "--json")  # fmt: skip
    assert waived.exit_code == 0 and waived.json()["created_by"] == "rita"
    assert run("emil", "eval", "gate", "churn:1").exit_code == 0
    with mlcore.open(store_path, actor="ana") as store, store.storage.transaction() as tx:
        tx.execute("UPDATE waivers SET expires_at = ?", [dt.datetime(2001, 1, 1, tzinfo=dt.UTC)])
    assert run("emil", "models", "release", "churn", "1").exit_code == 1  # expired
    run(
        "rita",
        "eval",
        "waive",
        "churn:1",
        "auc",
        "--reason",
        "renewed",
        "--expires",
        "2999-01-01T00:00:00Z",
    )
    released = run("emil", "models", "release", "churn", "1")
    assert released.exit_code == 0, released.stderr
    shown = run("ana", "models", "show", "churn", "--json").json()
    assert shown["production"]["evidence"] == failing.json()["id"]
