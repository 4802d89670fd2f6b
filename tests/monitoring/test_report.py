"""Drift reports: statuses, exact mode, degenerate windows, and the dataset decision."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring.calibration import calibrate
from mlcore.monitoring.profile import ReferenceProfile
from mlcore.monitoring.report import STATISTICS, drift_matrix, drift_report, out_of_range_pvalue

RNG = np.random.default_rng(31)
N = 6_000
REFERENCE = pl.DataFrame(
    {
        "a": RNG.normal(size=N),
        "b": RNG.normal(size=N),
        "k": RNG.poisson(3, N),
        "c": RNG.choice(["x", "y", "z"], N),
        "flat": np.full(N, 1.0),
    }
)
PROFILE = ReferenceProfile.fit(REFERENCE)


def window(n: int = 3_000, **shifts: float) -> pl.DataFrame:
    rng = np.random.default_rng(int(n + 100 * sum(shifts.values())))
    return pl.DataFrame(
        {
            "a": rng.normal(shifts.get("a", 0.0), 1.0, n),
            "b": rng.normal(shifts.get("b", 0.0), 1.0, n),
            "k": rng.poisson(3, n),
            "c": rng.choice(["x", "y", "z"], n),
            "flat": np.full(n, 1.0),
        }
    )


def test_every_column_gets_every_statistic_of_its_kind() -> None:
    report = drift_report(PROFILE, window())
    for col in report.columns:
        assert tuple(col.statistics) == STATISTICS[col.kind]
        assert all(
            res.alert == (name in ("psi", "missing_rate", "out_of_range_rate", "new_category_rate"))
            for name, res in col.statistics.items()
        )
    assert not report.drift and report.drifted_columns == [] and report.method == "any"


def test_a_shifted_column_drifts_and_the_others_do_not() -> None:
    report = drift_report(PROFILE, window(a=0.8))
    assert report.drift and report.drifted_columns == ["a"]
    a = report.column("a")
    assert a.status == "drift" and a.statistics["psi"].status == "drift"
    assert a.statistics["ks"].test_pvalue < 1e-12
    assert report.column("b").status == "ok"


def test_exact_mode_uses_raw_values_and_equals_scipy() -> None:
    current = window(a=0.3)
    report = drift_report(PROFILE, current, reference=REFERENCE)
    assert report.exact
    ks = report.column("a").statistics["ks"]
    assert (
        ks.value == pytest.approx(stats.ks_2samp(REFERENCE["a"], current["a"]).statistic, abs=1e-12)
        and ks.bound == 0
    )
    w = report.column("a").statistics["wasserstein"]
    assert w.value == pytest.approx(
        stats.wasserstein_distance(REFERENCE["a"], current["a"]), abs=1e-9
    )
    summary = drift_report(PROFILE, PROFILE.summarise(current))
    approx = summary.column("a").statistics["wasserstein"]
    assert abs(approx.value - w.value) <= approx.bound
    assert summary.column("a").statistics["psi"].value == report.column("a").statistics["psi"].value


def test_an_all_nan_column_is_a_missing_rate_alert_not_a_crash() -> None:
    current = window().with_columns(pl.lit(None, dtype=pl.Float64).alias("a"))
    report = drift_report(PROFILE, current)
    a = report.column("a")
    assert a.status == "drift"
    assert (
        a.statistics["missing_rate"].value == 1.0 and a.statistics["missing_rate"].status == "drift"
    )
    for name in (
        "psi",
        "ks",
        "jensen_shannon",
        "wasserstein",
        "wasserstein_normalised",
        "hellinger",
        "chi_square",
    ):
        assert math.isnan(a.statistics[name].value) and a.statistics[name].status == "no_data", name
    json.dumps(report.to_dict(), allow_nan=False)


def test_an_empty_window_has_no_data_and_no_drift() -> None:
    report = drift_report(PROFILE, window(0))
    assert report.rows == 0 and not report.drift
    assert {col.status for col in report.columns} == {"no_data"}


def test_constant_reference_column_is_sane() -> None:
    same = drift_report(PROFILE, window())
    flat = same.column("flat")
    assert flat.status == "ok" and flat.statistics["psi"].value < 1e-3  # PSI pseudo-counts only
    assert flat.statistics["wasserstein_normalised"].value == 0.0
    moved = drift_report(PROFILE, window().with_columns(pl.lit(1.5).alias("flat")))
    flat = moved.column("flat")
    assert flat.status == "drift" and flat.statistics["out_of_range_rate"].value == 1.0
    assert (
        flat.statistics["wasserstein"].value == pytest.approx(0.5)
        and flat.statistics["wasserstein_normalised"].value == math.inf
    )
    assert moved.to_dict()["columns"][4]["statistics"]["wasserstein_normalised"]["value"] is None


def test_new_categories_and_out_of_range_values_are_signals_of_their_own() -> None:
    current = window().with_columns(
        pl.when(pl.int_range(pl.len()) < 300).then(pl.lit("new")).otherwise(pl.col("c")).alias("c"),
        pl.when(pl.int_range(pl.len()) < 30).then(pl.lit(99.0)).otherwise(pl.col("b")).alias("b"),
    )
    report = drift_report(PROFILE, current)
    assert report.column("c").statistics["new_category_rate"].value == pytest.approx(0.1)
    assert report.column("c").statistics["new_category_rate"].status == "drift"
    oor = report.column("b").statistics["out_of_range_rate"]
    assert oor.value >= 0.01 and oor.status == "drift" and oor.pvalue < 1e-10


def test_out_of_range_pvalue_matches_enumeration() -> None:
    n_window, n_reference = 4, 5
    total = n_window + n_reference
    counts = []
    # Exchangeable: every placement of the window values among the ranks is equally likely.
    for ranks in itertools.combinations(range(total), n_window):
        reference_ranks = sorted(set(range(total)) - set(ranks))
        counts.append(sum(r < reference_ranks[0] or r > reference_ranks[-1] for r in ranks))
    for k in range(n_window + 1):
        expected = sum(c >= k for c in counts) / len(counts)
        assert out_of_range_pvalue(k, n_window, n_reference) == pytest.approx(expected, abs=1e-12)


def test_out_of_range_threshold_follows_window_and_reference_sizes() -> None:
    small = drift_report(PROFILE, window(200)).column("a").statistics["out_of_range_rate"]
    large = drift_report(PROFILE, window(20_000)).column("a").statistics["out_of_range_rate"]
    for res, n in ((small, 200), (large, 20_000)):
        k = round(res.threshold * n) + 1  # the smallest count that alerts
        assert out_of_range_pvalue(k, n, N) <= 0.01 < out_of_range_pvalue(k - 1, n, N)


def test_calibrated_report_decides_with_benjamini_hochberg() -> None:
    cal = calibrate(PROFILE, REFERENCE, window_rows=3_000, replicates=200)
    quiet = drift_report(PROFILE, window(), calibration=cal)
    assert quiet.method == "bh" and not quiet.drift
    loud = drift_report(PROFILE, window(a=0.5, b=0.1), calibration=cal)
    assert loud.drift and "a" in loud.drifted_columns
    for col in loud.columns:
        assert col.pvalue is not None
        psi = col.statistics["psi"]
        assert psi.threshold == pytest.approx(cal.threshold(col.column, "psi"))
        assert psi.pvalue == pytest.approx(cal.pvalue(col.column, "psi", psi.value))
    # Benjamini-Hochberg by its definition, on the report's own column p-values
    pvalues = sorted((c.pvalue, c.column) for c in loud.columns)
    m = len(pvalues)
    k = max([i + 1 for i, (p, _) in enumerate(pvalues) if p <= (i + 1) * 0.05 / m], default=0)
    assert sorted(loud.drifted_columns) == sorted(name for _, name in pvalues[:k])
    strict = drift_report(PROFILE, window(a=0.5, b=0.1), calibration=cal, method="bonferroni")
    assert sorted(strict.drifted_columns) == sorted(c for p, c in pvalues if p <= 0.05 / m)


def test_threshold_overrides_and_alert_choice() -> None:
    current = window(b=0.15)
    report = drift_report(
        PROFILE, current, thresholds={"psi": 1e-9, "b/hellinger": 0.5}, alert_on=("hellinger",)
    )
    assert (
        report.column("a").statistics["psi"].status == "drift" and report.column("a").status == "ok"
    )
    assert report.column("b").statistics["hellinger"].threshold == 0.5


def test_report_frames_and_json() -> None:
    report = drift_report(PROFILE, window(a=1.0))
    frame = report.to_frame()
    assert frame.height == sum(len(STATISTICS[c.kind]) for c in report.columns)
    assert frame.columns == [
        "column",
        "kind",
        "statistic",
        "value",
        "threshold",
        "pvalue",
        "test_pvalue",
        "bound",
        "alert",
        "status",
    ]
    assert (
        frame.filter((pl.col("column") == "a") & (pl.col("statistic") == "psi"))["status"].item()
        == "drift"
    )
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["drift"] is True and data["columns"][0]["statistics"]["psi"]["status"] == "drift"


def test_drift_matrix_is_columns_by_windows() -> None:
    windows = {"mon": PROFILE.summarise(window()), "tue": PROFILE.summarise(window(a=1.0))}
    values = drift_matrix(PROFILE, windows)
    assert values.columns == ["column", "mon", "tue"] and values["column"].to_list() == list(
        PROFILE.columns
    )
    assert values["tue"][0] > 0.2 > values["mon"][0]
    statuses = drift_matrix(PROFILE, windows, value="status")
    assert statuses["tue"][0] == "drift" and statuses["mon"][0] == "ok"


def test_mismatched_inputs_are_refused() -> None:
    other = ReferenceProfile.fit(REFERENCE.select("a"))
    with pytest.raises(InvalidInput, match="summarised with another profile"):
        drift_report(PROFILE, other.summarise(window()))
    with pytest.raises(InvalidInput, match="calibration was made for another profile"):
        drift_report(other, window(), calibration=calibrate(PROFILE, REFERENCE, replicates=10))
    with pytest.raises(InvalidInput, match="method 'fdr'"):
        drift_report(PROFILE, window(), method="fdr")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="column 'zz' not found"):
        drift_report(PROFILE, window()).column("zz")
