"""Fairness between groups of sensitive attributes: rates, disparities, small-sample tests.

For each sensitive attribute alone and each intersection of them (``sex``, ``race``,
``sex & race``), every group gets its selection rate ``P(selected)``, true positive
rate ``P(selected | y = 1)`` and false positive rate ``P(selected | y = 0)``, where a row
is *selected* when its score is at least the threshold. The disparities are Fairlearn's
"between groups" definitions and equal :mod:`fairlearn.metrics` on the same inputs:

- ``demographic_parity_difference``: largest minus smallest selection rate;
- ``demographic_parity_ratio``: smallest over largest selection rate -- the four-fifths
  rule of the US Uniform Guidelines (29 CFR 1607.4(D)) asks for at least 0.8;
- ``equal_opportunity_difference``: largest minus smallest true positive rate;
- ``equalized_odds_difference``: the larger of the TPR and FPR differences.

Where Fairlearn differs: a group without positive labels has no true positive rate
(Fairlearn counts it as 0.0), so it is left out of the TPR-based differences and named
in ``reasons``; likewise for negatives and the FPR. Groups of no rows (categories of an
``Enum`` column absent from the data) are listed with zero counts and left out.

Each disparity comes with a test of independence between group and selection --
overall, among positive labels and among negative labels -- on the groups x (selected,
not selected) table: Fisher's exact test for two groups, Pearson's chi-square for more
when every expected count is at least 5, otherwise a seeded Monte Carlo
Fisher-Freeman-Halton test (Freeman and Halton 1951) with 9999 tables drawn under
independence with the observed margins (Patefield's algorithm, via
:func:`scipy.stats.random_table`).

Examples
--------
>>> import numpy as np
>>> y = np.array([1, 0, 1, 1, 0, 1, 0, 0])
>>> score = np.array([0.9, 0.6, 0.4, 0.8, 0.2, 0.7, 0.1, 0.3])
>>> sex = np.array(["F", "F", "F", "F", "M", "M", "M", "M"])
>>> report = fairness_metrics(y, score, {"sex": sex})
>>> d = report.get("sex")
>>> d.demographic_parity_difference, d.demographic_parity_ratio
(0.5, 0.3333333333333333)
>>> [(g.name, g.n_rows, g.n_selected) for g in d.groups]
[('sex=F', 4, 3), ('sex=M', 4, 1)]
>>> d.selection_test.method, round(d.selection_test.p_value, 3)
('fisher_exact', 0.486)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.metrics import ArrayLike, as_array, binary_labels
from mlcore.evaluation.slices import Grouping, groupings, slice_columns, slice_name

__all__ = ["ContingencyTest", "Disparity", "FairnessReport", "GroupRates", "fairness_metrics"]

MONTE_CARLO_TABLES = 9999
_MEASURES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
)


@dataclass(frozen=True)
class GroupRates:
    """Counts and rates of one group; a rate is None where its denominator is 0."""

    key: tuple[tuple[str, Any], ...]
    n_rows: int
    n_positive: int
    n_selected: int
    n_true_positive: int

    @property
    def name(self) -> str:
        return slice_name(self.key)

    @property
    def selection_rate(self) -> float | None:
        return _rate(self.n_selected, self.n_rows)

    @property
    def true_positive_rate(self) -> float | None:
        return _rate(self.n_true_positive, self.n_positive)

    @property
    def false_positive_rate(self) -> float | None:
        return _rate(self.n_selected - self.n_true_positive, self.n_rows - self.n_positive)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "group": self.name,
            "n_rows": self.n_rows,
            "n_positive": self.n_positive,
            "n_selected": self.n_selected,
            "selection_rate": self.selection_rate,
            "true_positive_rate": self.true_positive_rate,
            "false_positive_rate": self.false_positive_rate,
        }


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True)
class ContingencyTest:
    """A test that selection is independent of group, on a groups x 2 table."""

    method: str | None
    statistic: float | None
    p_value: float | None
    table: list[list[int]]
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "table": self.table,
            "reason": self.reason,
        }


def independence_test(table: np.ndarray, seed: int = 0) -> ContingencyTest:
    """Test of independence of rows (groups) and columns (selected, not selected).

    Rows of zero total are dropped; with fewer than two rows, or a column of zero
    total, there is nothing to test and the p-value is None with the reason.
    """
    table = np.asarray(table, dtype=np.int64)
    table = table[table.sum(axis=1) > 0]
    as_list = table.tolist()
    if table.shape[0] < 2:
        return ContingencyTest(None, None, None, as_list, "fewer than two groups")
    if (table.sum(axis=0) == 0).any():
        return ContingencyTest(None, None, None, as_list, "every row falls in one column")
    if table.shape[0] == 2:
        res = stats.fisher_exact(table)
        return ContingencyTest("fisher_exact", float(res.statistic), float(res.pvalue), as_list)
    expected = stats.contingency.expected_freq(table)
    if expected.min() >= 5:
        res = stats.chi2_contingency(table, correction=False)
        return ContingencyTest("chi_square", float(res.statistic), float(res.pvalue), as_list)
    null = stats.random_table(table.sum(axis=1), table.sum(axis=0), seed=seed)
    observed = null.pmf(table)
    drawn = null.pmf(null.rvs(size=MONTE_CARLO_TABLES))
    # Tables as probable as the observed one count as extreme; the relative tolerance
    # keeps rounding from splitting exact ties.
    extreme = np.count_nonzero(drawn <= observed * (1 + 1e-7))
    p_value = (extreme + 1) / (MONTE_CARLO_TABLES + 1)
    return ContingencyTest("fisher_monte_carlo", float(observed), p_value, as_list)


@dataclass(frozen=True)
class Disparity:
    """Group rates and disparities for one attribute or intersection of attributes."""

    attributes: tuple[str, ...]
    groups: list[GroupRates]
    demographic_parity_difference: float | None
    demographic_parity_ratio: float | None
    equal_opportunity_difference: float | None
    equalized_odds_difference: float | None
    selection_test: ContingencyTest
    true_positive_test: ContingencyTest
    false_positive_test: ContingencyTest
    reasons: dict[str, str]

    @property
    def name(self) -> str:
        return " & ".join(self.attributes)

    @property
    def measures(self) -> dict[str, float | None]:
        """The four disparities by name."""
        return {m: getattr(self, m) for m in _MEASURES}

    @property
    def p_values(self) -> dict[str, float | None]:
        """Per disparity, the p-value of the test that bears on it.

        Equalized odds is violated if either rate differs, so its p-value is the
        Bonferroni union of the true and false positive tests: ``min(1, 2 min(p, q))``.
        """
        tpr, fpr = self.true_positive_test.p_value, self.false_positive_test.p_value
        odds = [p for p in (tpr, fpr) if p is not None]
        return {
            "demographic_parity_difference": self.selection_test.p_value,
            "demographic_parity_ratio": self.selection_test.p_value,
            "equal_opportunity_difference": tpr,
            "equalized_odds_difference": min(1.0, len(odds) * min(odds)) if odds else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "attributes": list(self.attributes),
            **self.measures,
            "reasons": dict(self.reasons),
            "selection_test": self.selection_test.to_dict(),
            "true_positive_test": self.true_positive_test.to_dict(),
            "false_positive_test": self.false_positive_test.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
        }


def _spread(groups: Sequence[GroupRates], rate: str) -> tuple[float | None, list[str]]:
    """Largest minus smallest rate, and the groups where the rate is undefined."""
    values = {g.name: getattr(g, rate) for g in groups if g.n_rows}
    defined = [v for v in values.values() if v is not None]
    undefined = [name for name, v in values.items() if v is None]
    return (max(defined) - min(defined) if defined else None), undefined


def _disparity(grouping: Grouping, y: np.ndarray, selected: np.ndarray, seed: int) -> Disparity:
    size = grouping.n_groups
    n_rows = np.bincount(grouping.codes, minlength=size)
    n_pos = np.bincount(grouping.codes, weights=y, minlength=size).astype(np.int64)
    n_sel = np.bincount(grouping.codes, weights=selected, minlength=size).astype(np.int64)
    n_tp = np.bincount(grouping.codes, weights=selected * y, minlength=size).astype(np.int64)
    groups = [
        GroupRates(
            tuple(zip(grouping.columns, key, strict=True)),
            int(n_rows[g]),
            int(n_pos[g]),
            int(n_sel[g]),
            int(n_tp[g]),
        )
        for g, key in enumerate(grouping.keys)
    ]
    reasons: dict[str, str] = {}
    rates = [g.n_selected / g.n_rows for g in groups if g.n_rows]
    dp_diff = max(rates) - min(rates)
    dp_ratio = min(rates) / max(rates) if max(rates) > 0 else None
    if dp_ratio is None:
        reasons["demographic_parity_ratio"] = "no group has a selected row"
    tpr_diff, no_positives = _spread(groups, "true_positive_rate")
    fpr_diff, no_negatives = _spread(groups, "false_positive_rate")
    left_out = []
    if no_positives:
        left_out.append(f"left out for want of positive labels: {', '.join(no_positives)}")
        reasons["equal_opportunity_difference"] = left_out[0]
    if no_negatives:
        left_out.append(f"left out for want of negative labels: {', '.join(no_negatives)}")
    if left_out:
        reasons["equalized_odds_difference"] = "; ".join(left_out)
    defined = [d for d in (tpr_diff, fpr_diff) if d is not None]
    n_fp = n_sel - n_tp
    n_neg = n_rows - n_pos
    return Disparity(
        attributes=grouping.columns,
        groups=groups,
        demographic_parity_difference=dp_diff,
        demographic_parity_ratio=dp_ratio,
        equal_opportunity_difference=tpr_diff,
        equalized_odds_difference=max(defined) if defined else None,
        selection_test=independence_test(np.c_[n_sel, n_rows - n_sel], seed),
        true_positive_test=independence_test(np.c_[n_tp, n_pos - n_tp], seed),
        false_positive_test=independence_test(np.c_[n_fp, n_neg - n_fp], seed),
        reasons=reasons,
    )


@dataclass(frozen=True)
class FairnessReport:
    """Disparities for every sensitive attribute and intersection."""

    threshold: float
    n_rows: int
    disparities: list[Disparity]

    def get(self, *attributes: str) -> Disparity:
        """The disparity over exactly these attributes (in any order)."""
        wanted = set(attributes)
        for d in self.disparities:
            if set(d.attributes) == wanted:
                return d
        known = sorted({a for d in self.disparities for a in d.attributes})
        for a in attributes:
            if a not in known:
                raise NotFound("sensitive attribute", a, candidates=known)
        raise NotFound(
            "intersection",
            " & ".join(attributes),
            hint="Pass intersections=True to compute intersections of attributes",
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "threshold": self.threshold,
            "n_rows": self.n_rows,
            "disparities": [d.to_dict() for d in self.disparities],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per attribute set and measure: attributes, measure, value, reason,
        and the p-value of :attr:`Disparity.p_values`."""
        rows = [
            {
                "attributes": d.name,
                "measure": m,
                "value": v,
                "reason": d.reasons.get(m),
                "p_value": d.p_values[m],
            }
            for d in self.disparities
            for m, v in d.measures.items()
        ]
        schema = {"attributes": pl.String, "measure": pl.String, "value": pl.Float64}
        schema |= {"reason": pl.String, "p_value": pl.Float64}
        return pl.DataFrame(rows, schema=schema)

    def groups_frame(self) -> pl.DataFrame:
        """One row per attribute set and group, with its counts and rates."""
        rows = [{"attributes": d.name} | g.to_dict() for d in self.disparities for g in d.groups]
        return pl.DataFrame(rows, infer_schema_length=None)


def fairness_metrics(
    y_true: ArrayLike | str,
    y_pred: ArrayLike | str,
    sensitive: Sequence[str] | Mapping[str, ArrayLike] | pl.DataFrame,
    *,
    threshold: float = 0.5,
    pos_label: Any = None,
    intersections: bool = True,
    seed: int = 0,
    data: pl.DataFrame | None = None,
) -> FairnessReport:
    """Group rates, disparities and independence tests over sensitive attributes.

    Parameters
    ----------
    y_true
        Binary labels (0/1, boolean, or any with ``pos_label``), values or a column name.
    y_pred
        Scores or hard 0/1 predictions; a row is selected when ``y_pred >= threshold``.
    sensitive
        Sensitive attributes: names of ``data`` columns, a mapping, or a frame.
    threshold
        Selection threshold on ``y_pred``.
    pos_label
        The positive label when labels are not 0/1 or boolean.
    intersections
        Also evaluate every intersection of two or more attributes.
    seed
        Seed of the Monte Carlo test, used only for sparse tables of 3+ groups.
    data
        The frame the column names refer to.

    Returns
    -------
    FairnessReport
    """
    y = binary_labels(as_array(y_true, data, "y_true"), pos_label)
    pred = as_array(y_pred, data, "y_pred")
    if pred.ndim != 1 or pred.dtype.kind not in "biuf":
        raise InvalidInput("y_pred must be one number per row", field="y_pred")
    if len(pred) != len(y):
        raise InvalidInput(
            f"inputs differ in length: y_true has {len(y)}, y_pred has {len(pred)} rows",
            hint="Pass labels and predictions of the same rows",
        )
    if not len(y):
        raise InvalidInput("no rows to evaluate", hint="Pass a non-empty dataset")
    selected = (pred.astype(np.float64) >= threshold).astype(np.float64)
    columns = slice_columns(sensitive, data, len(y), "sensitive attribute")
    order = len(columns) if intersections else 1
    return FairnessReport(
        threshold=threshold,
        n_rows=len(y),
        disparities=[_disparity(g, y, selected, seed) for g in groupings(columns, order)],
    )
