"""Conformance of every rule kind: each judges known evaluations as expected, and every
verdict with a value and threshold agrees with the comparison it reports."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.evaluation.evaluate import evaluate
from mlcore.evaluation.policy import parse_policy
from mlcore.evaluation.rules import KINDS, Context, Outcome
from mlcore.evaluation.rules.approvals import combined
from mlcore.evaluation.rules.base import STATUSES

from .conftest import policy_text

CARD = {"owner": "ana", "description": "Churn", "intended_use": "", "risk_tier": "high"}


def rule(**fields):
    spec = {"id": "r"} | fields
    return parse_policy(policy_text("p", [spec])).rules[0]


def _frame(n: int = 3000, seed: int = 0) -> pl.DataFrame:
    """Good scores everywhere but in region 'bad', where they are noise; the champion is
    slightly worse; men are selected less often than women."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    region = rng.choice(["north", "south", "bad"], n, p=[0.45, 0.45, 0.1])
    p = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1)
    p = np.where(region == "bad", rng.uniform(0, 1, n), p)
    sex = rng.choice(["F", "M"], n)
    p = np.where(sex == "M", p * 0.8, p)
    champion = np.clip(p + rng.normal(0, 0.15, n), 0, 1)
    return pl.DataFrame({"y": y, "p": p, "p0": champion, "region": region, "sex": sex})


@pytest.fixture(scope="module")
def result():
    return evaluate(
        _frame(),
        label="y",
        score="p",
        slices=["region"],
        sensitive=["sex"],
        champion="p0",
        n_resamples=50,
    )


def ctx(result, **overrides) -> Context:
    values = {"result": result, "card": CARD, "columns": frozenset({"y", "p", "region", "sex"})}
    return Context(**(values | {"champion": 1} | overrides))


# -- metric ------------------------------------------------------------------------------


def test_metric_floor_passes_and_fails_on_the_point_value(result) -> None:
    auc = result.metrics["roc_auc"].value
    ok = rule(kind="metric", metric="roc_auc", min=round(auc - 0.01, 3)).check(ctx(result))
    bad = rule(kind="metric", metric="roc_auc", min=round(auc + 0.01, 3)).check(ctx(result))
    assert (ok.status, bad.status) == ("pass", "fail")
    assert bad.value == auc and bad.op == ">=" and bad.message.startswith("roc_auc overall: ")


def test_metric_interval_bounds_are_strict_or_lenient(result) -> None:
    est = result.metrics["roc_auc"]
    between = round((est.low + est.value) / 2, 4)  # above the low end, below the value
    assert rule(kind="metric", metric="roc_auc", min=between).check(ctx(result)).status == "pass"
    strict = rule(kind="metric", metric="roc_auc", min=between, use="ci_low").check(ctx(result))
    assert strict.status == "fail" and strict.value == est.low
    above = round((est.value + est.high) / 2, 4)
    lenient = rule(kind="metric", metric="roc_auc", min=above, use="ci_high").check(ctx(result))
    assert lenient.status == "pass" and lenient.value == est.high


def test_metric_ceiling_for_losses(result) -> None:
    loss = result.metrics["log_loss"].value
    out = rule(kind="metric", metric="log_loss", max=round(loss - 0.01, 3)).check(ctx(result))
    assert out.status == "fail" and out.op == "<=" and out.value == loss


def test_metric_of_another_task_is_skipped_and_undefined_fails(result) -> None:
    assert rule(kind="metric", metric="r2", min=0.1).check(ctx(result)).status == "skipped"
    flat = evaluate(_frame().with_columns(y=pl.lit(1)), label="y", score="p", n_resamples=0)
    out = rule(kind="metric", metric="roc_auc", min=0.5).check(ctx(flat))
    assert out.status == "fail" and "only one class present" in out.message
    no_ci = rule(kind="metric", metric="f1", min=0.1, use="ci_low").check(ctx(flat))
    assert no_ci.status == "fail" and "no interval" in no_ci.message


def test_metric_per_slice_names_the_worst_slice(result) -> None:
    out = rule(kind="metric", metric="roc_auc", min=0.7, slices=True).check(ctx(result))
    worst = result.slices.get(region="bad")
    assert out.status == "fail" and out.value == worst.metrics["roc_auc"].value
    assert "region=bad" in out.message and out.details["failing"][0]["slice"] == "region=bad"
    # too few rows in every slice to judge: skipped, not failed
    sparse = rule(kind="metric", metric="roc_auc", min=0.7, slices=True, min_support=5000)
    assert sparse.check(ctx(result)).status == "skipped"
    missing = rule(kind="metric", metric="roc_auc", min=0.7, slices=["channel"])
    assert "not in the evaluation data: channel" in missing.check(ctx(result)).message
    bare = evaluate(_frame(), label="y", score="p", n_resamples=0)
    out = rule(kind="metric", metric="roc_auc", min=0.7, slices=True).check(ctx(bare))
    assert out.status == "fail" and out.message == "the evaluation has no slices"


def test_metric_rules_declare_the_slices_they_need() -> None:
    listed = rule(kind="metric", metric="roc_auc", min=0.7, slices=["region"], use="ci_low")
    assert listed.needs().slices == ("region",) and listed.needs().slice_intervals
    assert not rule(kind="metric", metric="roc_auc", min=0.7, slices=True).needs().slice_intervals


# -- champion ----------------------------------------------------------------------------


def test_champion_drop_with_and_without_significance(result) -> None:
    delta = result.comparison["roc_auc"]
    assert delta.delta > 0  # the candidate is better: no drop at all
    assert rule(kind="champion", metric="roc_auc", max_drop=0.0).check(ctx(result)).status == "pass"
    # As the champion, the candidate would drop by -delta: judge that mirror image.
    mirrored = evaluate(_frame(), label="y", score="p0", champion="p", n_resamples=50)
    drop = mirrored.comparison["roc_auc"]
    exact = -drop.delta
    tight = rule(kind="champion", metric="roc_auc", max_drop=round(exact * 0.9, 4))
    loose = rule(
        kind="champion", metric="roc_auc", max_drop=round(exact * 0.9, 4), significance=False
    )
    with_ci, point = tight.check(ctx(mirrored)), loose.check(ctx(mirrored))
    assert point.status == "fail" and point.value == pytest.approx(exact)
    assert with_ci.value == pytest.approx(-drop.high)  # the lower end of the drop's interval
    # The drop exceeds the allowance, but not beyond doubt: its interval reaches below it.
    assert -drop.high < exact * 0.9 and with_ci.status == "pass"
    clear = rule(kind="champion", metric="roc_auc", max_drop=round(exact * 0.5, 4))
    assert clear.check(ctx(mirrored)).status == "fail"
    relative = rule(kind="champion", metric="roc_auc", max_relative_drop=0.5).check(ctx(mirrored))
    assert relative.status == "pass"
    assert relative.details["drop"] == pytest.approx(exact / drop.champion.value)


def test_champion_absent_or_unscorable(result) -> None:
    r = rule(kind="champion", metric="roc_auc", max_drop=0.01)
    none = r.check(ctx(result, champion=None, champion_reason="no version serves production"))
    assert none.status == "skipped"
    broken = r.check(ctx(result, champion=2, champion_reason="champion cannot score: missing x"))
    assert broken.status == "fail" and "missing x" in broken.message


# -- fairness ----------------------------------------------------------------------------


def test_fairness_bound_on_the_worst_attribute(result) -> None:
    ratio = result.fairness.get("sex").demographic_parity_ratio
    out = rule(kind="fairness", measure="demographic_parity_ratio", min=0.99).check(ctx(result))
    assert out.status == "fail" and out.value == ratio and "for sex" in out.message
    ok = rule(kind="fairness", measure="demographic_parity_ratio", min=round(ratio - 0.01, 3))
    assert ok.check(ctx(result)).status == "pass"


def test_fairness_alpha_forgives_breaches_that_may_be_chance() -> None:
    small = _frame(n=40, seed=5)
    res = evaluate(small, label="y", score="p", sensitive=["sex"], n_resamples=0)
    disparity = res.fairness.get("sex")
    assert disparity.selection_test.p_value > 0.05
    strict = rule(kind="fairness", measure="demographic_parity_difference", max=0.0)
    forgiving = rule(kind="fairness", measure="demographic_parity_difference", max=0.0, alpha=0.05)
    assert strict.check(ctx(res)).status == "fail"
    out = forgiving.check(ctx(res))
    assert out.status == "pass" and out.details["not_significant"][0]["attributes"] == "sex"


def test_fairness_needs_its_attributes(result) -> None:
    r = rule(kind="fairness", measure="demographic_parity_ratio", min=0.8, attributes=["race"])
    assert "not in the evaluation data: race" in r.check(ctx(result)).message
    assert r.needs().sensitive == ("race",)
    bare = evaluate(_frame(), label="y", score="p", n_resamples=0)
    any_attr = rule(kind="fairness", measure="demographic_parity_ratio", min=0.8)
    assert any_attr.check(ctx(bare)).message == "the evaluation has no sensitive attribute"
    reg = evaluate(
        pl.DataFrame({"y": [1.0, 2.0, 3.0], "p": [1.0, 2.5, 2.0]}),
        label="y",
        score="p",
        n_resamples=0,
    )
    assert any_attr.check(ctx(reg)).status == "skipped"


# -- the others --------------------------------------------------------------------------


def test_sample_size(result) -> None:
    assert rule(kind="sample_size", min_rows=3000).check(ctx(result)).status == "pass"
    out = rule(kind="sample_size", min_rows=100, min_positives=5000).check(ctx(result))
    assert out.status == "fail" and out.value == result.n_positive


def test_model_card_completeness(result) -> None:
    out = rule(kind="model_card", fields=["owner", "intended_use", "limitations"]).check(
        ctx(result)
    )
    assert out.status == "fail" and out.value == 2
    assert out.details["missing"] == ["intended_use", "limitations"]
    assert rule(kind="model_card", fields=["owner"]).check(ctx(result)).status == "pass"


def test_approvals_are_deferred_and_combine_to_the_strictest(result) -> None:
    a = rule(kind="approvals", count=1, roles=["reviewer", "risk-officer"])
    b = rule(kind="approvals", count=2, must_include=["risk-officer"])
    assert a.check(ctx(result)).status == "deferred"
    strictest = combined([a, b])
    assert strictest.count == 2
    assert strictest.roles == ("reviewer", "risk-officer")
    assert strictest.must_include == ("risk-officer",)
    assert combined([]) is None


def test_drift(result) -> None:
    table = {"x": {"psi": 0.31, "ks": 0.2}, "plan": {"psi": 0.05, "ks": None}}
    out = rule(kind="drift", max=0.2).check(ctx(result, drift=table))
    assert out.status == "fail" and out.value == 0.31 and out.details["drifted"] == ["x"]
    assert (
        rule(kind="drift", max=0.2, columns=["plan"]).check(ctx(result, drift=table)).status
        == "pass"
    )
    unknown = rule(kind="drift", max=0.2, columns=["age"]).check(ctx(result, drift=table))
    assert unknown.status == "fail" and "age" in unknown.message
    missing = ctx(result, drift_reason="no training data")
    assert rule(kind="drift", max=0.2).check(missing).status == "fail"
    assert rule(kind="drift", max=0.2, missing_reference="skip").check(missing).status == "skipped"


@pytest.mark.parametrize(
    ("tier", "age", "status"),
    [
        ("high", 100, "pass"),
        ("high", 200, "fail"),
        ("low", 200, "pass"),
        ("low", 400, "fail"),
        (None, 10, "skipped"),
    ],
)
def test_revalidation_age_by_risk_tier(result, tier, age, status) -> None:
    r = rule(kind="revalidation", max_age_days={"high": 180, "low": 365})
    out = r.check(ctx(result, card=CARD | {"risk_tier": tier}, age_days=age))
    assert out.status == status


# -- every kind --------------------------------------------------------------------------

EXAMPLES = {
    "metric": {"metric": "roc_auc", "min": 0.6},
    "champion": {"metric": "roc_auc", "max_drop": 0.01},
    "fairness": {"measure": "demographic_parity_ratio", "min": 0.8},
    "sample_size": {"min_rows": 10},
    "model_card": {"fields": ["owner"]},
    "approvals": {"count": 1},
    "drift": {"max": 0.2},
    "revalidation": {"max_age_days": {"default": 30}},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_returns_a_consistent_outcome(result, kind) -> None:
    out = rule(kind=kind, **EXAMPLES[kind]).check(ctx(result, drift={"p": {"psi": 0.01}}))
    assert isinstance(out, Outcome) and out.status in STATUSES and out.message
    if out.status in ("pass", "fail") and out.threshold is not None:
        holds = out.value >= out.threshold if out.op == ">=" else out.value <= out.threshold
        assert holds == (out.status == "pass")


@settings(max_examples=40, deadline=None)
@given(
    low=st.floats(0, 1, allow_nan=False),
    high=st.floats(0, 1, allow_nan=False),
    metric=st.sampled_from(["roc_auc", "pr_auc", "accuracy", "f1", "brier", "ece"]),
)
def test_metric_verdict_is_the_bound_check(result, low, high, metric) -> None:
    low, high = min(low, high), max(low, high)
    out = rule(kind="metric", metric=metric, min=low, max=high).check(ctx(result))
    value = result.metrics[metric].value
    assert (out.status == "pass") == (low <= value <= high)
    assert out.value == value
    assert out.threshold == (low if value < high and (value < low or value <= high) else high)
