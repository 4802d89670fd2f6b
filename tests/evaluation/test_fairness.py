from __future__ import annotations

import json

import fairlearn.metrics as fm
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.fairness import fairness_metrics, independence_test

FAIRLEARN = {
    "demographic_parity_difference": fm.demographic_parity_difference,
    "demographic_parity_ratio": fm.demographic_parity_ratio,
    "equalized_odds_difference": fm.equalized_odds_difference,
    "equal_opportunity_difference": fm.equal_opportunity_difference,
}


def population(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(rng.uniform(size=n) + 0.1 * (sex == "M") + 0.2 * y - 0.1, 0, 1)
    return pl.DataFrame({"y": y, "score": score, "sex": sex, "race": race})


def assert_measures_equal_fairlearn(report, frame: pl.DataFrame, threshold: float) -> None:
    y = frame["y"].to_numpy()
    pred = (frame["score"].to_numpy() >= threshold).astype(int)
    for attributes in (("sex",), ("race",), ("sex", "race")):
        groups = frame.select(list(attributes)).to_pandas()
        d = report.get(*attributes)
        for measure, fn in FAIRLEARN.items():
            want = fn(y, pred, sensitive_features=groups)
            assert d.measures[measure] == pytest.approx(want, abs=1e-12), (attributes, measure)


def test_disparities_and_rates_equal_fairlearn_for_attributes_and_their_intersection():
    frame = population(2000, seed=0)
    report = fairness_metrics("y", "score", ["sex", "race"], data=frame)
    assert [d.attributes for d in report.disparities] == [("sex",), ("race",), ("sex", "race")]
    assert_measures_equal_fairlearn(report, frame, 0.5)
    y = frame["y"].to_numpy()
    pred = (frame["score"].to_numpy() >= 0.5).astype(int)
    rates = fm.MetricFrame(
        metrics={"selection_rate": fm.selection_rate, "tpr": fm.true_positive_rate},
        y_true=y,
        y_pred=pred,
        sensitive_features=frame.select(["sex", "race"]).to_pandas(),
    ).by_group
    for g in report.get("sex", "race").groups:
        row = rates.loc[tuple(v for _, v in g.key)]
        assert g.selection_rate == pytest.approx(row["selection_rate"], abs=1e-12)
        assert g.true_positive_rate == pytest.approx(row["tpr"], abs=1e-12)


@settings(max_examples=5, deadline=None)  # Fairlearn takes ~0.1 s per call
@given(st.integers(60, 400), st.integers(0, 10**6), st.sampled_from([0.2, 0.5, 0.7]))
def test_disparities_equal_fairlearn_on_random_populations(n, seed, threshold):
    frame = population(n, seed)
    # Fairlearn scores a group without positives (or negatives) as rate 0; mlcore leaves
    # it out. Compare only where every group of every grouping has both labels.
    for cols in (["sex"], ["race"], ["sex", "race"]):
        labels = frame.group_by(cols).agg(pl.col("y").n_unique())
        if (labels["y"] < 2).any():
            return
    report = fairness_metrics("y", "score", ["sex", "race"], data=frame, threshold=threshold)
    assert_measures_equal_fairlearn(report, frame, threshold)


def test_group_counts():
    frame = population(500, seed=1)
    d = fairness_metrics("y", "score", ["sex"], data=frame).get("sex")
    for g in d.groups:
        part = frame.filter(pl.col("sex") == g.key[0][1])
        selected = part["score"] >= 0.5
        assert g.n_rows == len(part)
        assert g.n_positive == part["y"].sum()
        assert g.n_selected == selected.sum()
        assert g.n_true_positive == (selected & (part["y"] == 1)).sum()


def test_two_groups_use_fisher_exact_on_the_selection_table():
    frame = population(300, seed=2)
    d = fairness_metrics("y", "score", ["sex"], data=frame).get("sex")
    table = [[g.n_selected, g.n_rows - g.n_selected] for g in d.groups]
    assert d.selection_test.method == "fisher_exact"
    assert d.selection_test.table == table
    assert d.selection_test.p_value == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-12)
    positives = [[g.n_true_positive, g.n_positive - g.n_true_positive] for g in d.groups]
    assert d.true_positive_test.p_value == pytest.approx(stats.fisher_exact(positives).pvalue)


def test_many_groups_use_chi_square_when_every_expected_count_reaches_five():
    table = np.array([[30, 70], [45, 55], [50, 50]])
    result = independence_test(table)
    want = stats.chi2_contingency(table, correction=False)
    assert result.method == "chi_square"
    assert result.p_value == pytest.approx(want.pvalue, rel=1e-12)
    assert result.statistic == pytest.approx(want.statistic, rel=1e-12)


def test_sparse_tables_get_a_monte_carlo_exact_test_close_to_enumeration():
    table = np.array([[3, 2], [40, 30], [20, 9]])
    result = independence_test(table, seed=4)
    assert result.method == "fisher_monte_carlo"
    # Exact Fisher-Freeman-Halton p-value by enumerating every table with these margins.
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    law = stats.random_table(rows, cols)
    observed = law.pmf(table)
    exact = 0.0
    for a in range(rows[0] + 1):
        for b in range(rows[1] + 1):
            c = cols[0] - a - b
            if 0 <= c <= rows[2]:
                t = np.array([[a, rows[0] - a], [b, rows[1] - b], [c, rows[2] - c]])
                mass = law.pmf(t)
                exact += mass if mass <= observed * (1 + 1e-7) else 0.0
    # 9999 tables: the Monte Carlo standard error is below 0.005.
    assert result.p_value == pytest.approx(exact, abs=0.02)
    assert independence_test(table, seed=4).p_value == result.p_value


def test_degenerate_tables_give_no_p_value_with_a_reason():
    assert independence_test(np.array([[3, 4]])).reason == "fewer than two groups"
    assert independence_test(np.array([[0, 4], [0, 5]])).reason == "every row falls in one column"
    dropped = independence_test(np.array([[1, 4], [0, 0], [3, 2]]))
    assert dropped.method == "fisher_exact" and dropped.table == [[1, 4], [3, 2]]


def test_a_group_without_positive_labels_is_left_out_of_tpr_disparities():
    frame = pl.DataFrame(
        {
            "y": [1, 0, 1, 0, 0, 0, 1, 0],
            "score": [0.9, 0.2, 0.4, 0.6, 0.7, 0.1, 0.8, 0.9],
            "g": ["a", "a", "a", "a", "b", "b", "c", "c"],
        }
    )
    d = fairness_metrics("y", "score", ["g"], data=frame).get("g")
    b = next(g for g in d.groups if g.key == (("g", "b"),))
    assert b.true_positive_rate is None and b.false_positive_rate == 0.5
    # TPRs: a = 1/2, c = 1/1 -> 0.5 (Fairlearn would count b as 0 and report 1.0).
    assert d.equal_opportunity_difference == 0.5
    assert "g=b" in d.reasons["equal_opportunity_difference"]
    groups = frame["g"].to_pandas()
    pred = (frame["score"] >= 0.5).to_numpy().astype(int)
    assert fm.equal_opportunity_difference(frame["y"], pred, sensitive_features=groups) == 1.0
    # FPRs: a = 1/2, b = 1/2, c = 1/1 -> 0.5; equalized odds max(0.5, 0.5).
    assert d.equalized_odds_difference == 0.5


def test_no_selection_leaves_the_ratio_undefined():
    frame = population(100, seed=3)
    d = fairness_metrics("y", "score", ["sex"], data=frame, threshold=2.0).get("sex")
    assert d.demographic_parity_difference == 0.0
    assert d.demographic_parity_ratio is None
    assert d.reasons["demographic_parity_ratio"] == "no group has a selected row"
    assert d.selection_test.p_value is None


def test_hard_predictions_boolean_labels_and_enum_groups_without_rows():
    frame = population(400, seed=4).with_columns(
        pl.col("sex").cast(pl.Enum(["F", "M", "X"])),
        (pl.col("score") >= 0.5).alias("pred"),
        (pl.col("y") == 1).alias("label"),
    )
    report = fairness_metrics("label", "pred", ["sex"], data=frame)
    d = report.get("sex")
    x = next(g for g in d.groups if g.key == (("sex", "X"),))
    assert x.n_rows == 0 and x.selection_rate is None
    want = fm.demographic_parity_ratio(
        frame["y"], frame["pred"].cast(int), sensitive_features=frame["sex"].cast(str).to_pandas()
    )
    assert d.demographic_parity_ratio == pytest.approx(want, abs=1e-12)
    assert len(d.selection_test.table) == 2  # the empty group is not tested


def test_only_single_attributes_without_intersections():
    frame = population(200, seed=5)
    report = fairness_metrics("y", "score", ["sex", "race"], data=frame, intersections=False)
    assert [d.name for d in report.disparities] == ["sex", "race"]
    with pytest.raises(NotFound, match="intersection 'sex & race'"):
        report.get("sex", "race")


def test_bad_fairness_input():
    frame = population(50, seed=6)
    with pytest.raises(NotFound, match=r"column 'sx' not found. Did you mean 'sex'"):
        fairness_metrics("y", "score", ["sx"], data=frame)
    report = fairness_metrics("y", "score", ["sex"], data=frame)
    with pytest.raises(NotFound, match=r"sensitive attribute 'sexx'.*Did you mean 'sex'"):
        report.get("sexx")
    with pytest.raises(InvalidInput, match="differ in length"):
        fairness_metrics([0, 1], [0.3], {"sex": ["F", "M"]})
    with pytest.raises(InvalidInput, match="NaN"):
        fairness_metrics([0, 1], [0.3, np.nan], {"sex": ["F", "M"]})
    with pytest.raises(InvalidInput, match="no sensitive attribute given"):
        fairness_metrics([0, 1], [0.3, 0.6], [])


def test_outputs_serialise():
    frame = population(300, seed=7)
    report = fairness_metrics("y", "score", ["sex", "race"], data=frame)
    doc = json.loads(json.dumps(report.to_dict()))
    assert [d["attributes"] for d in doc["disparities"]] == [["sex"], ["race"], ["sex", "race"]]
    table = report.to_frame()
    assert table.height == 3 * 4
    eo = report.get("sex").p_values["equalized_odds_difference"]
    tpr = report.get("sex").true_positive_test.p_value
    fpr = report.get("sex").false_positive_test.p_value
    assert eo == pytest.approx(min(1.0, 2 * min(tpr, fpr)))
    groups = report.groups_frame()
    assert groups.height == 2 + 3 + 6
