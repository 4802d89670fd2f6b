from __future__ import annotations

import datetime as dt
import itertools
import json

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.bootstrap import resample_counts
from mlcore.evaluation.slices import slice_metrics

from .conftest import binary_data

METRICS = ["roc_auc", "pr_auc", "brier", "precision"]


@pytest.fixture
def frame() -> pl.DataFrame:
    y, p = binary_data(900, seed=21)
    rng = np.random.default_rng(99)
    return pl.DataFrame(
        {
            "y": y,
            "p": p,
            "origin": rng.choice(["EWR", "JFK", "LGA"], 900),
            "carrier": rng.choice(["AA", "B6", "DL", "UA"], 900),
            "hour": rng.integers(5, 9, 900),
        }
    )


def reference(part: pl.DataFrame) -> dict[str, float | None]:
    y, p = part["y"].to_numpy(), part["p"].to_numpy()
    both = 0 < y.sum() < len(y)
    pred = p >= 0.5
    return {
        "roc_auc": skm.roc_auc_score(y, p) if both else None,
        "pr_auc": skm.average_precision_score(y, p) if y.sum() else None,
        "brier": skm.brier_score_loss(y, p, labels=[0, 1]),
        "precision": skm.precision_score(y, pred) if pred.any() else None,
    }


def test_every_slice_and_pair_equals_sklearn_on_its_rows(frame: pl.DataFrame):
    columns = ["origin", "carrier", "hour"]
    report = slice_metrics("y", "p", columns, data=frame, metrics=METRICS)
    families = [(c,) for c in columns] + list(itertools.combinations(columns, 2))
    expected = {}
    for family in families:
        for part in frame.partition_by(list(family), maintain_order=False):
            key = tuple((c, part[c][0]) for c in family)
            expected[key] = (len(part), int(part["y"].sum()), reference(part))
    assert len(report.slices) == len(expected)
    for s in report.slices:
        n_rows, n_positive, want = expected[s.key]
        assert (s.n_rows, s.n_positive) == (n_rows, n_positive)
        for name, value in want.items():
            got = s.metrics[name].value
            assert (got is None) == (value is None)
            if value is not None:
                assert got == pytest.approx(value, abs=1e-12), (s.name, name)


def test_cross_three_lists_triples_and_cross_one_only_singles(frame: pl.DataFrame):
    cols = ["origin", "carrier", "hour"]
    singles = slice_metrics("y", "p", cols, data=frame, cross=1, metrics=["brier"])
    assert {s.columns for s in singles.slices} == {("origin",), ("carrier",), ("hour",)}
    triples = slice_metrics("y", "p", cols, data=frame, cross=3, metrics=["brier"])
    triple = triples.get(origin="JFK", carrier="AA", hour=6)
    part = frame.filter(
        (pl.col("origin") == "JFK") & (pl.col("carrier") == "AA") & (pl.col("hour") == 6)
    )
    assert triple.n_rows == len(part)
    assert sum(s.n_rows for s in triples.slices if len(s.columns) == 3) == len(frame)
    with pytest.raises(InvalidInput, match="crosses were computed up to 1"):
        singles.get(origin="JFK", carrier="AA")


def worst_by_brute_force(report, metric: str, min_support: int, higher_is_better: bool):
    eligible = [
        s for s in report.slices if s.n_rows >= min_support and s.metrics[metric].value is not None
    ]
    sign = 1 if higher_is_better else -1
    return min(eligible, key=lambda s: (sign * s.metrics[metric].value, -s.n_rows))


@pytest.mark.parametrize("min_support", [1, 30, 120])
def test_worst_slice_is_the_lowest_auc_among_supported_slices(frame, min_support):
    report = slice_metrics("y", "p", ["origin", "carrier"], data=frame, min_support=min_support)
    assert report.worst_by == "roc_auc"
    want = worst_by_brute_force(report, "roc_auc", min_support, higher_is_better=True)
    assert report.worst == want
    assert report.worst.n_rows >= min_support


def test_worst_by_a_loss_is_the_highest(frame):
    report = slice_metrics("y", "p", ["origin", "carrier"], data=frame, worst_by="brier")
    want = worst_by_brute_force(report, "brier", 30, higher_is_better=False)
    assert report.worst == want
    assert report.worst_slice("roc_auc", columns=["carrier"]).columns == ("carrier",)
    assert report.worst_slice(min_support=10**6) is None
    with pytest.raises(NotFound, match="Did you mean 'brier'"):
        report.worst_slice("breir")


def test_a_single_class_slice_has_auc_null_with_a_reason_and_is_never_worst(frame):
    frame = frame.with_columns(
        pl.when(pl.col("origin") == "EWR").then(0).otherwise(pl.col("y")).alias("y")
    )
    report = slice_metrics("y", "p", ["origin"], data=frame, metrics=METRICS, min_support=1)
    ewr = report.get(origin="EWR")
    assert ewr.n_positive == 0
    assert ewr.metrics["roc_auc"].value is None
    assert ewr.metrics["roc_auc"].reason == "only one class present"
    assert ewr.metrics["brier"].value is not None
    assert report.worst.name != "origin=EWR"


def test_zero_support_slices_from_enum_categories_and_lookups(frame):
    frame = frame.with_columns(pl.col("origin").cast(pl.Enum(["EWR", "JFK", "LGA", "SFO"])))
    report = slice_metrics("y", "p", ["origin", "carrier"], data=frame, metrics=METRICS)
    sfo = report.get(origin="SFO")
    assert sfo in report.slices  # a declared category is listed even with no row
    assert sfo.n_rows == 0 and sfo.n_positive == 0
    assert {e.reason for e in sfo.metrics.values()} == {"no rows"}
    absent = report.get(origin="JFK", carrier="ZZ")
    assert absent.n_rows == 0 and absent.name == "origin=JFK & carrier=ZZ"
    assert absent.metrics["roc_auc"].value is None


def test_null_is_a_slice_value_of_its_own(frame):
    frame = frame.with_columns(
        pl.when(pl.col("carrier") == "AA").then(None).otherwise(pl.col("carrier")).alias("carrier")
    )
    report = slice_metrics("y", "p", ["carrier"], data=frame, metrics=["brier"])
    null_slice = report.get(carrier=None)
    assert null_slice.name == "carrier=null"
    assert null_slice.n_rows == frame["carrier"].null_count()


def test_slice_columns_as_a_mapping_of_arrays_and_dates():
    y, p = binary_data(300, seed=5)
    day = np.array([dt.date(2013, 1, 1) + dt.timedelta(days=int(d)) for d in y * 2])
    report = slice_metrics(y, p, {"day": day, "flag": y == 1}, metrics=["brier"])
    assert report.get(day=dt.date(2013, 1, 3)).n_rows == int(y.sum())
    doc = json.loads(json.dumps(report.to_dict()))
    assert "day=2013-01-03" in {s["slice"] for s in doc["slices"]}


def test_slice_intervals_equal_a_sklearn_loop_over_the_slice_rows_of_each_resample(frame):
    report = slice_metrics(
        "y", "p", ["origin"], data=frame, metrics=["roc_auc"], n_resamples=25, seed=3
    )
    counts = resample_counts(len(frame), 25, seed=3)
    rows = frame.with_row_index("row").filter(pl.col("origin") == "LGA")["row"].to_numpy()
    y, p = frame["y"].to_numpy(), frame["p"].to_numpy()
    reps = []
    for c in counts:
        idx = np.repeat(rows, c[rows])
        reps.append(skm.roc_auc_score(y[idx], p[idx]))
    lga = report.get(origin="LGA").metrics["roc_auc"]
    assert lga.low == pytest.approx(np.percentile(reps, 2.5), abs=1e-12)
    assert lga.high == pytest.approx(np.percentile(reps, 97.5), abs=1e-12)


def test_regression_slices(frame):
    rng = np.random.default_rng(0)
    target = rng.normal(size=len(frame))
    frame = frame.with_columns(
        t=pl.Series(target), t_hat=pl.Series(target + rng.normal(size=len(frame)))
    )
    report = slice_metrics("t", "t_hat", ["origin"], task="regression", data=frame)
    part = frame.filter(pl.col("origin") == "JFK")
    jfk = report.get(origin="JFK")
    assert jfk.n_positive is None
    assert jfk.metrics["rmse"].value == pytest.approx(
        skm.root_mean_squared_error(part["t"], part["t_hat"]), abs=1e-12
    )
    assert report.worst_by == "mae"


def test_bad_slice_input(frame):
    with pytest.raises(NotFound, match=r"column 'orgin' not found. Did you mean 'origin'"):
        slice_metrics("y", "p", ["orgin"], data=frame)
    report = slice_metrics("y", "p", ["origin"], data=frame, metrics=["brier"])
    with pytest.raises(NotFound, match="slice column 'carier'"):
        report.get(carier="AA")
    with pytest.raises(InvalidInput, match="'p' has 900 distinct values"):
        slice_metrics(
            "y",
            "p",
            ["p"],
            data=frame.with_columns(pl.Series("p", np.linspace(0, 1, 900))),
            max_groups=100,
        )
    with pytest.raises(InvalidInput, match="has 3 rows, the labels 900"):
        slice_metrics("y", "p", {"short": [1, 2, 3]}, data=frame)
    with pytest.raises(NotFound, match="metric 'rocauc'"):
        slice_metrics("y", "p", ["origin"], data=frame, worst_by="rocauc")
    with pytest.raises(InvalidInput, match="cross must be at least 1"):
        slice_metrics("y", "p", ["origin"], data=frame, cross=0)


def test_an_all_null_column_is_one_null_slice(frame):
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("gate"))
    report = slice_metrics("y", "p", ["gate"], data=frame, metrics=["brier"])
    assert [(s.name, s.n_rows) for s in report.slices] == [("gate=null", len(frame))]


def test_to_frame_has_one_row_per_slice_and_metric(frame):
    report = slice_metrics("y", "p", ["origin", "carrier"], data=frame, metrics=METRICS)
    table = report.to_frame()
    assert table.height == len(report.slices) * len(METRICS)
    assert table.columns == [
        "slice",
        "n_rows",
        "n_positive",
        "metric",
        "value",
        "low",
        "high",
        "reason",
    ]
    row = table.filter((pl.col("slice") == "origin=JFK") & (pl.col("metric") == "brier"))
    assert row["value"][0] == report.get(origin="JFK").metrics["brier"].value
