"""The drift report: every statistic of every column, thresholds, statuses, one decision.

:func:`drift_report` compares a window (a :class:`WindowSummary`, or a raw frame
summarised on the spot) with a :class:`ReferenceProfile`. Each column gets every
statistic of its kind with a threshold and a status; the statistics listed in
``alert_on`` decide the column's status; a multiple-testing procedure across
columns decides for the dataset. What ``mlcore monitor report`` prints and the
TUI's drift matrix shows is :meth:`DriftReport.to_frame` / :func:`drift_matrix`.

Thresholds, in order of precedence: the caller's ``thresholds``; the
:class:`~mlcore.monitoring.calibration.Calibration`'s null quantile; the
conventional defaults in :data:`DEFAULT_THRESHOLDS` (PSI 0.2, the usual
"significant shift"; 0.1 for the bounded distances). The out-of-range rate has
a distribution-free threshold of its own: if the window and the reference are
exchangeable, the chance that at least ``k`` of ``n`` window values fall outside
the ``m`` reference values' range is ``prod_{i<k} (n - i) / (n + m - i) *
(1 + m k / (n + m - k))``, whatever the distribution.

Rate signals are reported as changes: ``missing_rate`` is ``|window share -
reference share|`` of missing values, and likewise ``new_category_rate`` (values
outside the reference categories) and ``out_of_range_rate`` (outside the
reference [min, max]).

Dataset decision: with a calibration, every alerting statistic has a p-value
(empirical, from its null; exact for the out-of-range rate); a column's p-value
is the Bonferroni-adjusted smallest of them, and Benjamini-Hochberg (default) or
Bonferroni at ``alpha`` across columns names the drifted columns. Without a
calibration there are no p-values that mean anything at large windows, so the
dataset drifts when any column's status is "drift".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scipy.special import gammaln

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring import statistics as st
from mlcore.monitoring._frames import finite_values, to_table
from mlcore.monitoring.calibration import Calibration
from mlcore.monitoring.codec import json_float
from mlcore.monitoring.layout import NumericLayout
from mlcore.monitoring.profile import ReferenceProfile
from mlcore.monitoring.summary import CategoricalSummary, NumericSummary, WindowSummary

__all__ = [
    "DEFAULT_ALERT_ON",
    "DEFAULT_THRESHOLDS",
    "STATISTICS",
    "ColumnDrift",
    "DriftReport",
    "StatisticResult",
    "drift_matrix",
    "drift_report",
    "json_float",
    "matrix_of",
    "out_of_range_pvalue",
]

STATISTICS = {
    "numeric": (
        "psi",
        "ks",
        "jensen_shannon",
        "wasserstein",
        "wasserstein_normalised",
        "hellinger",
        "chi_square",
        "missing_rate",
        "out_of_range_rate",
    ),
    "categorical": (
        "psi",
        "jensen_shannon",
        "hellinger",
        "chi_square",
        "linf",
        "missing_rate",
        "new_category_rate",
    ),
}
DEFAULT_THRESHOLDS = {
    "psi": 0.2,
    "jensen_shannon": 0.1,
    "hellinger": 0.1,
    "wasserstein_normalised": 0.1,
    "linf": 0.1,
    "missing_rate": 0.05,
    "new_category_rate": 0.01,
}
DEFAULT_ALERT_ON = ("psi", "missing_rate", "out_of_range_rate", "new_category_rate")
DEFAULT_QUANTILE = 0.99
Status = Literal["ok", "drift", "no_data"]


@dataclass
class StatisticResult:
    """One statistic of one column.

    ``pvalue`` is calibrated (empirical null) or exact (out-of-range rate);
    ``test_pvalue`` the classical asymptotic test's (KS, chi-square), which
    tends to 0 at large windows and is for information. ``bound`` is the
    summary-mode error bound (KS, Wasserstein), 0 when computed exactly.
    """

    statistic: str
    value: float
    threshold: float | None = None
    pvalue: float | None = None
    test_pvalue: float | None = None
    bound: float | None = None
    alert: bool = False
    status: Status = "ok"


@dataclass
class ColumnDrift:
    """All statistics of one column, its status and (calibrated) p-value."""

    column: str
    kind: str
    rows: int
    statistics: dict[str, StatisticResult]
    status: Status = "ok"
    pvalue: float | None = None
    rejected: bool = False


@dataclass
class DriftReport:
    """Drift of one window against a reference profile; see the module docstring."""

    profile_id: str
    rows: int
    columns: list[ColumnDrift]
    drift: bool
    method: str
    alpha: float
    exact: bool = False
    unexpected_columns: tuple[str, ...] = ()
    drifted_columns: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnDrift:
        for col in self.columns:
            if col.column == name:
                return col
        raise NotFound("column", name, candidates=[c.column for c in self.columns])

    def to_frame(self) -> Any:
        """One row per (column, statistic), as a Polars DataFrame."""
        import polars as pl

        rows = [
            {"column": col.column, "kind": col.kind, **vars(res)}
            for col in self.columns
            for res in col.statistics.values()
        ]
        return pl.DataFrame(rows, schema=_FRAME_SCHEMA(pl), orient="row")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN and infinities become None."""
        return {
            "profile_id": self.profile_id,
            "rows": self.rows,
            "drift": self.drift,
            "method": self.method,
            "alpha": self.alpha,
            "exact": self.exact,
            "drifted_columns": list(self.drifted_columns),
            "unexpected_columns": list(self.unexpected_columns),
            "columns": [
                {
                    "column": c.column,
                    "kind": c.kind,
                    "rows": c.rows,
                    "status": c.status,
                    "pvalue": json_float(c.pvalue),
                    "rejected": c.rejected,
                    "statistics": {
                        name: {
                            k: json_float(v) if isinstance(v, float) else v
                            for k, v in vars(r).items()
                        }
                        for name, r in c.statistics.items()
                    },
                }
                for c in self.columns
            ],
        }


def _FRAME_SCHEMA(pl: Any) -> dict[str, Any]:
    return {
        "column": pl.String,
        "kind": pl.String,
        "statistic": pl.String,
        "value": pl.Float64,
        "threshold": pl.Float64,
        "pvalue": pl.Float64,
        "test_pvalue": pl.Float64,
        "bound": pl.Float64,
        "alert": pl.Boolean,
        "status": pl.String,
    }


def out_of_range_pvalue(count: int, n_window: int, n_reference: int) -> float:
    """P(at least ``count`` of ``n_window`` exchangeable values fall outside ``n_reference`` values' range)."""
    if n_window == 0 or n_reference == 0:
        return math.nan
    if count <= 0:
        return 1.0
    if count > n_window:
        return 0.0
    total = n_window + n_reference
    log_one_side = (
        gammaln(n_window + 1)
        - gammaln(n_window - count + 1)
        - gammaln(total + 1)
        + gammaln(total - count + 1)
    )
    return float(min(1.0, math.exp(log_one_side) * (1 + n_reference * count / (total - count))))


def _out_of_range_threshold(n_window: int, n_reference: int, quantile: float) -> float:
    """Largest out-of-range share that the exchangeability bound still accepts at ``quantile``."""
    # The smallest count k with p(k) <= 1 - quantile lies in (lo, hi]; it is
    # usually small, so bracket it by doubling before bisecting.
    lo, hi = 0, 1
    while hi <= n_window and out_of_range_pvalue(hi, n_window, n_reference) > 1 - quantile:
        lo, hi = hi, 2 * hi
    hi = min(hi, n_window + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if out_of_range_pvalue(mid, n_window, n_reference) <= 1 - quantile:
            hi = mid
        else:
            lo = mid
    return (hi - 1) / n_window


def drift_report(
    profile: ReferenceProfile,
    current: Any,
    *,
    reference: Any = None,
    calibration: Calibration | None = None,
    alert_on: Sequence[str] = DEFAULT_ALERT_ON,
    thresholds: Mapping[str, float] | None = None,
    method: Literal["bh", "bonferroni"] = "bh",
    alpha: float = 0.05,
) -> DriftReport:
    """Compare a window with the reference; see the module docstring.

    Parameters
    ----------
    profile
        The reference profile.
    current
        A :class:`WindowSummary` of the profile, or a raw frame to summarise.
    reference
        The raw reference frame. With raw ``current`` too, KS and Wasserstein
        are computed exactly (bounds 0); other statistics are exact anyway.
    calibration
        Null distributions from :func:`~mlcore.monitoring.calibration.calibrate`.
    alert_on
        Statistics that decide a column's status.
    thresholds
        Overrides, keyed ``"statistic"`` or ``"column/statistic"``.
    method, alpha
        Multiple-testing procedure across columns, and its level.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(3)
    >>> train = pl.DataFrame({"x": rng.normal(size=5_000), "y": rng.normal(size=5_000)})
    >>> profile = ReferenceProfile.fit(train)
    >>> window = pl.DataFrame({"x": rng.normal(1.0, 1.0, 2_000), "y": rng.normal(size=2_000)})
    >>> report = drift_report(profile, window)
    >>> report.drift, report.drifted_columns
    (True, ['x'])
    >>> res = report.column("x").statistics["psi"]
    >>> round(res.value, 3), res.threshold, res.status
    (1.041, 0.2, 'drift')
    """
    if method not in ("bh", "bonferroni"):
        raise InvalidInput(f"method {method!r} is not 'bh' or 'bonferroni'", field="method")
    if calibration is not None and calibration.profile_id != profile.id:
        raise InvalidInput(
            "the calibration was made for another profile",
            hint="Calibrate this profile with calibrate(profile, reference)",
        )
    exact = reference is not None and not isinstance(current, WindowSummary)
    raw_cur = to_table(current) if exact else None
    raw_ref = to_table(reference) if exact else None
    window = current if isinstance(current, WindowSummary) else profile.summarise(current)
    if window.profile_id != profile.id:
        raise InvalidInput(
            "the window was summarised with another profile",
            hint="Summarise it with this profile's summarise()",
        )
    quantile = calibration.quantile if calibration is not None else DEFAULT_QUANTILE
    columns = []
    for name, layout in profile.layouts.items():
        ref = profile.reference.columns[name]
        cur = window.columns[name]
        if isinstance(layout, NumericLayout):
            assert isinstance(ref, NumericSummary) and isinstance(cur, NumericSummary)
            raw = (
                (raw_ref.column(name), raw_cur.column(name))
                if raw_ref is not None and raw_cur is not None
                else None
            )
            results = _numeric(layout, ref, cur, raw, quantile)
        else:
            assert isinstance(ref, CategoricalSummary) and isinstance(cur, CategoricalSummary)
            results = _categorical(ref, cur)
        for res in results.values():
            _judge(res, name, calibration, thresholds or {}, alert_on)
        columns.append(_column(name, layout.kind, cur.rows, results))
    drifted, used = _decide(columns, method, alpha, calibration is not None)
    return DriftReport(
        profile.id, window.rows, columns, bool(drifted), used, alpha, exact,
        window.unexpected_columns, drifted,
    )  # fmt: skip


def _numeric(
    layout: NumericLayout,
    ref: NumericSummary,
    cur: NumericSummary,
    raw: tuple[Any, Any] | None,
    quantile: float,
) -> dict[str, StatisticResult]:
    ref_bins, cur_bins = layout.bin_counts(ref), layout.bin_counts(cur)
    if raw is not None:
        ref_values, cur_values = finite_values(raw[0]), finite_values(raw[1])
        ks = st.ks_exact(ref_values, cur_values)
        w = st.Wasserstein(st.wasserstein_exact(ref_values, cur_values), 0.0)
        ks_bound: float = 0.0
    else:
        ks = st.ks(ref, cur)
        w = st.wasserstein(layout, ref, cur)
        ks_bound = ks.bound
    chi = st.chi_square(ref_bins, cur_bins)
    n_cur = int(cur.cells.sum())
    n_ref = int(ref.cells.sum())
    oor_change = _rate_change(cur.out_of_range, n_cur, ref.out_of_range, n_ref)
    oor = StatisticResult("out_of_range_rate", oor_change)
    if n_cur and n_ref:
        oor.threshold = _out_of_range_threshold(n_cur, int(ref.moments[0]), quantile)
        oor.pvalue = out_of_range_pvalue(cur.out_of_range, n_cur, int(ref.moments[0]))
    return {
        "psi": StatisticResult("psi", float(st.psi(ref_bins, cur_bins))),
        "ks": StatisticResult("ks", ks.statistic, test_pvalue=ks.pvalue, bound=ks_bound),
        "jensen_shannon": StatisticResult(
            "jensen_shannon", float(st.jensen_shannon(ref_bins, cur_bins))
        ),
        "wasserstein": StatisticResult("wasserstein", w.distance, bound=w.bound),
        "wasserstein_normalised": StatisticResult(
            "wasserstein_normalised", float(st.normalised_wasserstein(w.distance, layout))
        ),
        "hellinger": StatisticResult("hellinger", float(st.hellinger(ref_bins, cur_bins))),
        "chi_square": StatisticResult("chi_square", chi.statistic, test_pvalue=chi.pvalue),
        "missing_rate": StatisticResult(
            "missing_rate", _rate_change(cur.missing, cur.rows, ref.missing, ref.rows)
        ),
        "out_of_range_rate": oor,
    }


def _categorical(ref: CategoricalSummary, cur: CategoricalSummary) -> dict[str, StatisticResult]:
    chi = st.chi_square(ref.counts, cur.counts)
    n_ref, n_cur = int(ref.counts.sum()), int(cur.counts.sum())
    return {
        "psi": StatisticResult("psi", float(st.psi(ref.counts, cur.counts))),
        "jensen_shannon": StatisticResult(
            "jensen_shannon", float(st.jensen_shannon(ref.counts, cur.counts))
        ),
        "hellinger": StatisticResult("hellinger", float(st.hellinger(ref.counts, cur.counts))),
        "chi_square": StatisticResult("chi_square", chi.statistic, test_pvalue=chi.pvalue),
        "linf": StatisticResult("linf", float(st.linf(ref.counts, cur.counts))),
        "missing_rate": StatisticResult(
            "missing_rate", _rate_change(cur.missing, cur.rows, ref.missing, ref.rows)
        ),
        "new_category_rate": StatisticResult(
            "new_category_rate", _rate_change(cur.unseen, n_cur, ref.unseen, n_ref)
        ),
    }


def _rate_change(count: int, total: int, ref_count: int, ref_total: int) -> float:
    if total == 0 or ref_total == 0:
        return math.nan
    return abs(count / total - ref_count / ref_total)


def _judge(
    res: StatisticResult,
    column: str,
    calibration: Calibration | None,
    thresholds: Mapping[str, float],
    alert_on: Sequence[str],
) -> None:
    stat = res.statistic
    calibrated = calibration is not None and stat in calibration.null.get(column, {})
    if f"{column}/{stat}" in thresholds:
        res.threshold = thresholds[f"{column}/{stat}"]
    elif stat in thresholds:
        res.threshold = thresholds[stat]
    elif calibrated:
        assert calibration is not None
        res.threshold = calibration.threshold(column, stat)
    elif res.threshold is None:
        res.threshold = DEFAULT_THRESHOLDS.get(stat)
    if calibrated:
        assert calibration is not None
        res.pvalue = calibration.pvalue(column, stat, res.value)
    res.alert = stat in alert_on
    if math.isnan(res.value):
        res.status = "no_data"
    elif res.threshold is not None and res.value > res.threshold:
        res.status = "drift"


def _column(name: str, kind: str, rows: int, results: dict[str, StatisticResult]) -> ColumnDrift:
    alerting = [r for r in results.values() if r.alert]
    if any(r.status == "drift" for r in alerting):
        status: Status = "drift"
    elif alerting and all(r.status == "no_data" for r in alerting):
        status = "no_data"
    else:
        status = "ok"
    pvalues = [r.pvalue for r in alerting if r.pvalue is not None and not math.isnan(r.pvalue)]
    # Bonferroni within the column: it drifts if any of its alerting statistics does.
    pvalue = (
        min(1.0, len(pvalues) * min(pvalues)) if pvalues and len(pvalues) == len(alerting) else None
    )
    return ColumnDrift(name, kind, rows, results, status, pvalue)


def _decide(
    columns: list[ColumnDrift], method: str, alpha: float, calibrated: bool
) -> tuple[list[str], str]:
    tested = [c for c in columns if c.pvalue is not None]
    if not calibrated or not tested:
        drifted = [c.column for c in columns if c.status == "drift"]
        return drifted, "any"
    m = len(tested)
    order = sorted(tested, key=lambda c: c.pvalue or 0.0)
    if method == "bonferroni":
        rejected = [c for c in order if (c.pvalue or 0.0) <= alpha / m]
    else:
        # Benjamini-Hochberg: reject the k smallest, k the largest with p_(k) <= k alpha / m.
        k = max(
            (i + 1 for i, c in enumerate(order) if (c.pvalue or 0.0) <= (i + 1) * alpha / m),
            default=0,
        )
        rejected = order[:k]
    for c in rejected:
        c.rejected = True
    return [c.column for c in columns if c.rejected], method


def drift_matrix(
    profile: ReferenceProfile,
    windows: Mapping[str, WindowSummary],
    *,
    statistic: str = "psi",
    value: Literal["value", "status"] = "value",
    calibration: Calibration | None = None,
) -> Any:
    """Columns x windows: one statistic's value (or status) per column and window, as Polars.

    The first column, ``column``, names the profiled columns; then one column per
    window label, in the order given.
    """
    reports = {
        label: drift_report(profile, window, calibration=calibration)
        for label, window in windows.items()
    }
    return matrix_of(profile.columns, reports, statistic=statistic, value=value)


def matrix_of(
    columns: Sequence[str],
    reports: Mapping[str, DriftReport],
    *,
    statistic: str = "psi",
    value: Literal["value", "status"] = "value",
) -> Any:
    """Columns x windows of reports already computed, keyed by window label (see :func:`drift_matrix`)."""
    import polars as pl

    data: dict[str, list[Any]] = {"column": list(columns)}
    for label, report in reports.items():
        cells = []
        for col in report.columns:
            res = col.statistics.get(statistic)
            cells.append(None if res is None else getattr(res, value))
        data[label] = cells
    return pl.DataFrame(data)
