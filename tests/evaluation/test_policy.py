"""Policy files: parsed into rules, or refused with the file, line, rule and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.errors import InvalidInput
from mlcore.evaluation.policy import (
    PolicyError,
    Scope,
    diff_policies,
    parse_policy,
    read_policy,
)
from mlcore.evaluation.rules import KINDS, rule_from_spec

from .conftest import policy_text

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policies"

GOOD = """\
name = "credit"
description = "Credit models"

[scope]
risk_tiers = ["high", "critical"]

[[rules]]
id = "auc"
kind = "metric"
description = "Discrimination"
citation = "SR 11-7"
severity = "block"
metric = "roc_auc"
min = 0.7

[[rules]]
id = "four-fifths"
kind = "fairness"
description = "Adverse impact"
citation = "29 CFR 1607.4(D) four-fifths rule"
severity = "warn"
measure = "demographic_parity_ratio"
min = 0.8
attributes = ["sex"]
"""


def test_a_good_policy_parses_into_rules() -> None:
    policy = parse_policy(GOOD, source_name="credit.toml")
    assert policy.name == "credit" and policy.description == "Credit models"
    assert policy.scope == Scope(risk_tiers=("high", "critical"))
    assert [(r.id, r.kind, r.severity) for r in policy.rules] == [
        ("auc", "metric", "block"),
        ("four-fifths", "fairness", "warn"),
    ]
    assert policy.rules[1].citation == "29 CFR 1607.4(D) four-fifths rule"
    assert policy.rules[0].min == 0.7 and policy.rules[0].use == "value"


def _error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, source_name="credit.toml")
    assert isinstance(err.value, InvalidInput)  # exit code 2 in the CLI
    return err.value


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "says"),
    [
        (
            'metric = "roc_auc"',
            'metric = "roc_acu"',
            13,
            "metric",
            "unknown metric 'roc_acu'. Did you mean 'roc_auc'?",
        ),
        ("min = 0.7", 'min = "high"', 14, "min", "threshold 'high' is not a number"),
        ("min = 0.7", "min = 1.5", 14, "min", "threshold 1.5 is outside [0, 1]"),
        ("min = 0.7", "min = nan", 14, "min", "threshold nan is not a finite number"),
        (
            'kind = "metric"',
            'kind = "metrik"',
            9,
            "kind",
            "'metrik' is not one of metric, champion",
        ),
        ('citation = "SR 11-7"\n', "", 7, "citation", "'citation' is missing"),
        ('severity = "block"\n', "", 7, "severity", "'severity' is missing"),
        (
            'severity = "block"',
            'severity = "fatal"',
            12,
            "severity",
            "'fatal' is not one of block, warn",
        ),
        (
            'severity = "warn"',
            'severity = "warn"\nthreshold = 3',
            22,
            "threshold",
            "unknown field 'threshold'",
        ),
        (
            'risk_tiers = ["high", "critical"]',
            'risk_tiers = ["hihg"]',
            5,
            "risk_tiers",
            "unknown risk tier 'hihg'. Did you mean 'high'?",
        ),
        ('id = "four-fifths"', 'id = "auc"', 17, "id", "rule id 'auc' is used twice"),
        (
            'measure = "demographic_parity_ratio"',
            'measure = "parity"',
            22,
            "measure",
            "'parity' is not one of",
        ),
    ],
)
def test_errors_name_line_field_and_problem(old, new, line, field, says) -> None:
    err = _error(GOOD.replace(old, new, 1))
    assert str(err).startswith(f"credit.toml:{line}: ")
    assert err.line == line and err.field == field
    assert says in str(err)


def test_rule_errors_name_the_rule() -> None:
    err = _error(GOOD.replace("min = 0.8", "min = 2"))
    assert "rule 'four-fifths', field 'min'" in str(err)


def test_toml_syntax_error_names_the_line() -> None:
    err = _error(GOOD.replace('metric = "roc_auc"', "metric = roc_auc"))
    assert err.line == 13 and "not valid TOML" in str(err)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"kind": "metric", "metric": "roc_auc"}, "give a bound: min, max or both"),
        ({"kind": "metric", "metric": "f1", "min": 0.8, "max": 0.5}, "max 0.5 is below min 0.8"),
        ({"kind": "metric", "metric": "r2", "max": 2}, "outside [-inf, 1]"),
        ({"kind": "metric", "metric": "roc-auc", "min": 0.5}, "Did you mean 'roc_auc'?"),
        (
            {"kind": "metric", "metric": "f1", "min": 0.5, "use": "lower"},
            "'lower' is not one of value, ci_low, ci_high",
        ),
        (
            {"kind": "champion", "metric": "roc_auc"},
            "exactly one of max_drop and max_relative_drop",
        ),
        ({"kind": "champion", "metric": "roc_auc", "max_relative_drop": 1.5}, "outside [0, 1]"),
        ({"kind": "champion", "metric": "roc_auc", "max_drop": -0.1}, "outside [0, inf]"),
        ({"kind": "fairness", "measure": "demographic_parity_ratio"}, "give a bound"),
        (
            {"kind": "fairness", "measure": "demographic_parity_ratio", "min": 0.8, "alpha": 0},
            "must be greater than 0",
        ),
        ({"kind": "sample_size"}, "'min_rows' is missing"),
        ({"kind": "sample_size", "min_rows": 10.5}, "10.5 is not a whole number"),
        ({"kind": "sample_size", "min_rows": 0}, "0 is below the smallest allowed, 1"),
        ({"kind": "model_card", "fields": ["purpose"]}, "unknown model card field 'purpose'"),
        ({"kind": "model_card"}, "name the card fields"),
        (
            {"kind": "approvals", "count": 2, "roles": ["reviewers"]},
            "unknown role 'reviewers'. Did you mean 'reviewer'?",
        ),
        ({"kind": "drift"}, "'max' is missing"),
        ({"kind": "drift", "max": 0.2, "statistic": "kl"}, "'kl' is not one of psi"),
        ({"kind": "drift", "max": 0.2, "missing_reference": "ignore"}, "not one of fail, skip"),
        (
            {"kind": "revalidation", "max_age_days": {"hi": 90}},
            "unknown risk tier 'hi'. Did you mean 'high'?",
        ),
        (
            {"kind": "revalidation", "max_age_days": {"high": 0}},
            "high = 0 is not a whole number of days",
        ),
        ({"kind": "revalidation"}, "'max_age_days' must be a table"),
    ],
)
def test_each_rule_kind_validates_its_fields(rule, says) -> None:
    err = _error(policy_text("p", [{"id": "r"} | rule]))
    assert says in str(err)
    assert err.line is not None and "rule 'r'" in str(err)


def test_bad_names_and_empty_policies() -> None:
    assert "policy name '9lives' is not a valid name" in str(_error('name = "9lives"\n'))
    assert "at least one [[rules]]" in str(_error('name = "p"\n'))
    assert "'name' is missing" in str(_error("[[rules]]\nid = 'r'\n"))
    bad_id = policy_text("p", [{"id": "no spaces", "kind": "sample_size", "min_rows": 1}])
    assert "rule id 'no spaces' is not a valid name" in str(_error(bad_id))


def test_every_rule_kind_round_trips_through_its_stored_spec() -> None:
    examples = {
        "metric": {"metric": "roc_auc", "min": 0.7, "slices": ["region"], "use": "ci_low"},
        "champion": {"metric": "log_loss", "max_relative_drop": 0.05, "significance": False},
        "fairness": {"measure": "equalized_odds_difference", "max": 0.1, "attributes": ["sex"]},
        "sample_size": {"min_rows": 100, "min_positives": 10},
        "model_card": {"fields": ["owner", "limitations"]},
        "approvals": {"count": 2, "must_include": ["risk-officer"]},
        "drift": {"max": 0.2, "statistic": "ks", "columns": ["x"]},
        "revalidation": {"max_age_days": {"high": 90, "default": 365}},
    }
    assert set(examples) == set(KINDS)
    rules = [{"id": f"r-{k}", "kind": k} | fields for k, fields in examples.items()]
    policy = parse_policy(policy_text("all", rules))
    for rule in policy.rules:
        assert rule_from_spec(rule.spec()) == rule


def test_sha256_reflects_meaning_not_layout() -> None:
    base = parse_policy(GOOD)
    relaid = parse_policy("# a comment\n" + GOOD.replace("min = 0.7", "min   =   0.70  # floor"))
    assert relaid.sha256 == base.sha256
    assert parse_policy(GOOD.replace("min = 0.7", "min = 0.71")).sha256 != base.sha256


def test_diff_lists_added_removed_and_changed_rules() -> None:
    old = parse_policy(GOOD)
    new_text = GOOD.replace("min = 0.7", "min = 0.75").replace(
        'severity = "warn"', 'severity = "block"'
    )
    new_text = new_text.replace('risk_tiers = ["high", "critical"]', 'risk_tiers = ["high"]')
    new_text += policy_text("x", [{"id": "rows", "kind": "sample_size", "min_rows": 500}]).split(
        "\n", 2
    )[2]
    diff = diff_policies(old, parse_policy(new_text), current=3)
    assert diff.version == 4 and diff.current == 3
    assert diff.changes == (
        "~ scope: risk tiers high, critical -> risk tiers high",
        "~ rule auc: min 0.7 -> 0.75",
        "~ rule four-fifths: severity warn -> block",
        "+ rule rows (sample_size, block)",
    )
    removed = diff_policies(parse_policy(new_text), old, current=4)
    assert "- rule rows" in removed.changes
    assert not diff_policies(old, parse_policy(GOOD), current=3).changed


def test_scope_matching() -> None:
    scope = Scope(models=("credit_*",), tags=("domain=credit", "pii"), risk_tiers=("high",))
    assert scope.matches("credit_pd", {"domain": "credit"}, "high")
    assert scope.matches("credit_pd", {"pii": ""}, "high")
    assert not scope.matches("churn", {"domain": "credit"}, "high")
    assert not scope.matches("credit_pd", {"domain": "retail"}, "high")
    assert not scope.matches("credit_pd", {"domain": "credit"}, "low")
    assert Scope().matches("anything", {}, None)
    assert Scope(risk_tiers=("unassessed",)).matches("m", {}, None)


def test_read_policy_from_a_path_or_text(tmp_path) -> None:
    path = tmp_path / "credit.toml"
    path.write_text(GOOD)
    assert read_policy(path).source_name == "credit.toml"
    assert read_policy(str(path)) == read_policy(GOOD)
    with pytest.raises(Exception, match="policy file"):
        read_policy(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize("name", ["credit.toml", "general.toml"])
def test_shipped_example_policies_are_valid(name) -> None:
    policy = read_policy(DOCS / name)
    kinds = {r.kind for r in policy.rules}
    assert kinds >= {"sample_size", "metric", "champion", "model_card", "approvals", "drift"}
    assert all(r.citation and r.description for r in policy.rules)


def test_drift_rules_bound_statistics_monitoring_computes() -> None:
    from mlcore.evaluation.rules.data_drift import STATISTICS
    from mlcore.monitoring.report import STATISTICS as MONITORED

    # every drift statistic a rule may bound exists in monitoring, except the chi-square,
    # whose statistic grows with the sample and so makes no sense as a fixed bound
    monitored = set(MONITORED["numeric"]) | set(MONITORED["categorical"])
    assert set(STATISTICS) <= monitored
    assert monitored - set(STATISTICS) == {"chi_square", "wasserstein"}


def test_every_example_in_the_policy_reference_is_valid() -> None:
    import re

    text = (DOCS / "reference.md").read_text()
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if b.startswith("[[rules]]")]
    kinds = {parse_policy('name = "ref"\n' + b).rules[0].kind for b in blocks}
    assert kinds == set(KINDS)
