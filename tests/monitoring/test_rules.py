"""Alert rules as code: parsing and checking, breaches, consecutive windows and clearing."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring.report import ColumnDrift, DriftReport, StatisticResult
from mlcore.monitoring.rules import DEFAULT_RULES, Rule, breach, evaluate, parse_rules
from mlcore.monitoring.timeline import WindowReport

KINDS = {"age": "numeric", "plan": "categorical"}


def parse(rules, *, calibrated=True, task="classification"):
    return parse_rules(rules, kinds=KINDS, calibrated=calibrated, task=task)


def window(
    i: int, psi: float, *, threshold: float = 0.2, accuracy: float = math.nan
) -> WindowReport:
    """A window whose 'age' has PSI ``psi`` (status from ``threshold``); 'plan' is quiet."""
    age = StatisticResult(
        "psi", psi, threshold, alert=True, status="drift" if psi > threshold else "ok"
    )
    plan = StatisticResult("psi", 0.0, 0.2, alert=True)
    columns = [
        ColumnDrift("age", "numeric", 100, {"psi": age}, age.status),
        ColumnDrift("plan", "categorical", 100, {"psi": plan}),
    ]
    drifted = ["age"] if age.status == "drift" else []
    drift = DriftReport("p", 100, columns, bool(drifted), "any", 0.05, drifted_columns=drifted)
    start = datetime(2024, 3, 4 + i, tzinfo=UTC)
    perf = None if math.isnan(accuracy) else {"accuracy": accuracy}
    return WindowReport(i, start, start, start.isoformat(), 100, 100, 0, drift, perf)


def test_defaults_and_round_trip() -> None:
    (default,) = parse(None)
    assert default == Rule("dataset_drift", "drift", None, None, 1, "warning", "above")
    assert default.to_dict() == {**DEFAULT_RULES[0], "threshold": "calibrated", "consecutive": 1,
                                 "direction": "above"}  # fmt: skip
    rules = parse(
        [
            {"statistic": "psi", "columns": "*", "consecutive": 2, "severity": "critical"},
            {"name": "acc", "statistic": "accuracy", "threshold": 0.8},
            {"name": "err", "statistic": "log_loss", "threshold": 0.7},
            {
                "name": "plan_new",
                "statistic": "new_category_rate",
                "column": "plan",
                "threshold": 0.05,
            },
        ]
    )
    assert [(r.name, r.columns, r.direction) for r in rules] == [
        ("psi", ("age", "plan"), "above"),
        ("acc", None, "below"),
        ("err", None, "above"),
        ("plan_new", ("plan",), "above"),
    ]
    assert [Rule.from_dict(r.to_dict()) for r in rules] == list(rules)


@pytest.mark.parametrize(
    ("rule", "error", "message"),
    [
        ({"statistic": "pis"}, NotFound, "Did you mean 'psi'"),
        ({"statistic": "psi", "columns": ["agee"]}, NotFound, "Did you mean 'age'"),
        ({"statistic": "psi", "treshold": 0.1}, InvalidInput, "Did you mean 'threshold'"),
        ({"statistic": "ks", "columns": ["plan"]}, InvalidInput, "not computed for categorical"),
        ({"statistic": "psi", "columns": "dataset"}, InvalidInput, "per column"),
        ({"statistic": "accuracy"}, InvalidInput, "needs a numeric threshold"),
        ({"statistic": "accuracy", "columns": ["age"], "threshold": 1}, InvalidInput, "dataset"),
        ({"statistic": "positive_rate", "threshold": 0.3}, InvalidInput, "direction"),
        ({"statistic": "psi", "severity": "fatal"}, InvalidInput, "severity 'fatal'"),
        ({"statistic": "psi", "consecutive": 0}, InvalidInput, "consecutive"),
        ({"statistic": "psi", "threshold": "high"}, InvalidInput, "not a number"),
        ({"statistic": "psi", "action": {"pipeline": "nowhere.py"}}, NotFound, "pipeline file"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(rule, error, message) -> None:
    with pytest.raises(error, match=message):
        parse([rule])


def test_rules_need_what_they_watch() -> None:
    with pytest.raises(InvalidInput, match="no calibrated or default threshold"):
        parse([{"statistic": "ks", "columns": ["age"]}], calibrated=False)
    assert parse([{"statistic": "ks", "columns": ["age"]}], calibrated=True)
    with pytest.raises(InvalidInput, match="no prediction task"):
        parse([{"statistic": "accuracy", "threshold": 0.9}], task=None)
    with pytest.raises(InvalidInput, match="used twice"):
        parse([{"statistic": "psi"}, {"statistic": "psi"}])


def test_a_rules_file_resolves_pipelines_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "train.py").write_text("# a pipeline file\n")
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rules]]\nname = "shift"\nstatistic = "psi"\ncolumns = ["age"]\nthreshold = 0.25\n'
        '[rules.action]\npipeline = "flows/train.py:retrain"\nparams = { epochs = 3 }\n'
        'trigger = "record"\n'
    )
    (rule,) = parse(path)
    assert (rule.name, rule.threshold, rule.columns) == ("shift", 0.25, ("age",))
    assert rule.action.pipeline == f"{(tmp_path / 'flows' / 'train.py').resolve()}:retrain"
    assert (rule.action.params, rule.action.trigger) == ({"epochs": 3}, "record")
    path.write_text("[[rules]\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        parse(path)


def test_breaches_take_the_worst_column_and_respect_direction() -> None:
    (psi,) = parse([{"statistic": "psi", "threshold": 0.1}])
    hit = breach(psi, window(0, 0.5))
    assert (hit.value, hit.threshold, hit.columns) == (0.5, 0.1, ("age",))
    (calibrated,) = parse([{"statistic": "psi"}])
    assert breach(calibrated, window(0, 0.15)) is None  # the report's threshold, 0.2
    assert breach(calibrated, window(0, 0.15, threshold=0.1)).threshold == 0.1
    (acc,) = parse([{"statistic": "accuracy", "threshold": 0.8}])
    assert breach(acc, window(0, 0.0, accuracy=0.7)).value == 0.7
    assert breach(acc, window(0, 0.0, accuracy=0.9)) is None
    assert breach(acc, window(0, 0.0)) is None  # no labels: no breach
    (dataset,) = parse(None)
    assert breach(dataset, window(0, 0.5)).columns == ("age",)
    assert breach(dataset, window(0, 0.1)) is None


def test_consecutive_windows_and_clearing() -> None:
    (rule,) = parse([{"name": "r", "statistic": "psi", "consecutive": 2}])
    history = [window(i, psi) for i, psi in enumerate([0.5, 0.5, 0.5, 0.1, 0.5])]

    def raised_on(updated: set[int], upto: int) -> list[int]:
        found = evaluate([rule], history[: upto + 1], updated, upto)
        return [w.window for _, w, _ in found.raised]

    assert raised_on({0}, 0) == []  # one window is not two in a row
    assert raised_on({1}, 1) == [1]
    assert raised_on({0, 1, 2}, 2) == [1, 2]  # alerts.record keeps only one open per rule
    assert raised_on({4}, 4) == []  # window 3 broke the run
    cleared = evaluate([rule], history[:4], {3}, 3).cleared
    assert [(r.name, w.window) for r, w in cleared] == [("r", 3)]
    # An old window updated does not clear: only the newest one speaks for now.
    assert evaluate([rule], history[:4], {2}, 3).cleared == []
