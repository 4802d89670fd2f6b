"""Labels joined to logged predictions: performance per window, CBPE, change detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring.detectors import ADWIN
from mlcore.monitoring.performance import ClassificationWindow

T0 = datetime(2024, 3, 4, tzinfo=UTC)


def scored(rng: np.random.Generator, n: int, start: int, day: int, p: np.ndarray | None = None):
    """A batch of ``n`` requests on day ``day`` with scores ``p`` (random if None)."""
    return pl.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(start, start + n)],
            "x": rng.normal(size=n),
            "score": rng.random(n) if p is None else p,
            "ts": [T0 + timedelta(days=day, seconds=i) for i in range(n)],
        }
    )


@pytest.fixture
def classifier(store, rng):
    ref = pl.DataFrame({"x": rng.normal(size=2_000), "score": rng.random(2_000)})
    ref = ref.with_columns(label=(pl.col("score") > 0.5).cast(pl.Int64))
    store.monitors.create(
        "clf", reference=ref, prediction="score", label="label", timestamp="ts",
        calibrate=False, rules=[],
    )  # fmt: skip
    return store


def test_labels_give_the_metrics_scikit_learn_computes_on_the_joined_rows(classifier, rng):
    store = classifier
    days = [scored(rng, 300, 0, 0), scored(rng, 200, 300, 1)]
    for b in days:
        store.monitors.observe("clf", b)
    logged = pl.concat(days)
    truth = pl.DataFrame(
        {
            "request_id": [*logged["request_id"].sample(400, seed=1), "nope-1", "nope-2"],
        }
    ).with_columns(label=pl.Series(rng.integers(0, 2, 402)))
    done = store.monitors.log_labels("clf", truth)
    assert (done.received, done.labelled, done.unmatched) == (402, 400, 2)
    assert done.unmatched_ids == ["nope-1", "nope-2"]
    joined = logged.join(truth, on="request_id").with_columns(day=pl.col("ts").dt.date())
    report = store.monitors.report("clf")
    assert [w.labelled for w in report.windows] == [
        joined.filter(pl.col("day") == d).height for d in sorted(set(joined["day"]))
    ]
    for window, day in zip(report.windows, sorted(set(joined["day"])), strict=True):
        rows = joined.filter(pl.col("day") == day)
        y, p = rows["label"].to_numpy(), rows["score"].to_numpy()
        got = window.performance
        assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5), abs=1e-12)
        assert got["precision"] == pytest.approx(skm.precision_score(y, p >= 0.5), abs=1e-12)
        assert got["recall"] == pytest.approx(skm.recall_score(y, p >= 0.5), abs=1e-12)
        assert got["f1"] == pytest.approx(skm.f1_score(y, p >= 0.5), abs=1e-12)
        assert got["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-9)
        assert got["brier"] == pytest.approx(skm.brier_score_loss(y, p), rel=1e-9)
        assert abs(got["roc_auc"] - skm.roc_auc_score(y, p)) <= got["roc_auc_bound"] + 1e-12
        # CBPE covers every prediction of the window, labelled or not.
        day_rows = logged.filter(pl.col("ts").dt.date() == day)
        expected = ClassificationWindow.observe(day_rows["score"].to_numpy()).estimate()
        assert window.estimated == pytest.approx(expected, rel=1e-12)
    # Sending the same labels again changes nothing.
    again = store.monitors.log_labels("clf", truth)
    assert (again.labelled, again.already_labelled, again.unmatched) == (0, 400, 2)
    assert [w.labelled for w in store.monitors.report("clf").windows] == [
        w.labelled for w in report.windows
    ]
    assert store.monitors.logs("clf", labels=True).height == 400


def test_regression_metrics_match_scikit_learn(store, rng) -> None:
    ref = pl.DataFrame({"x": rng.normal(size=1_000), "y_hat": rng.normal(size=1_000)})
    ref = ref.with_columns(y=pl.col("y_hat") + rng.normal(size=1_000))
    monitor = store.monitors.create(
        "reg", reference=ref, prediction="y_hat", label="y", calibrate=False, rules=[]
    )
    assert monitor.task == "regression"
    b = pl.DataFrame(
        {"request_id": [str(i) for i in range(500)], "x": rng.normal(size=500),
         "y_hat": rng.normal(size=500)}
    )  # fmt: skip
    store.monitors.observe("reg", b)
    truth = b.select("request_id", y=pl.col("y_hat") + rng.normal(0.3, 1.0, 500))
    store.monitors.log_labels("reg", truth.with_columns(pl.col("request_id").cast(pl.String)))
    (window,) = store.monitors.report("reg").windows
    y, p = truth["y"].to_numpy(), b["y_hat"].to_numpy()
    got = window.performance
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(y, p), rel=1e-12)
    assert got["r2"] == pytest.approx(skm.r2_score(y, p), rel=1e-9)
    assert got["mean_error"] == pytest.approx(np.mean(p - y), rel=1e-9)
    assert window.estimated is None


def test_the_change_detector_fires_on_a_degradation(store, rng) -> None:
    ref = pl.DataFrame({"x": rng.normal(size=1_000), "score": rng.random(1_000)})
    store.monitors.create(
        "clf", reference=ref, prediction="score", label="label", task="classification",
        timestamp="ts", calibrate=False,
        rules=[{"name": "degraded", "statistic": "changes", "severity": "critical"}],
    )  # fmt: skip
    n = 1_500
    p = rng.random(2 * n)
    good = (rng.random(n) < p[:n]).astype(int)  # calibrated: mostly right
    bad = (rng.random(n) > p[n:]).astype(int)  # inverted: mostly wrong
    days = [scored(rng, n, 0, 0, p[:n]), scored(rng, n, n, 1, p[n:])]
    for b in days:
        store.monitors.observe("clf", b)
    truth = (
        pl.concat(days)
        .select("request_id")
        .with_columns(label=pl.Series(np.concatenate([good, bad])))
    )
    done = store.monitors.log_labels("clf", truth.sample(fraction=1.0, shuffle=True, seed=3))
    # The same detector on the same error stream (oldest prediction first).
    errors = ((p >= 0.5) != (np.concatenate([good, bad]) == 1)).astype(float)
    hits = ADWIN().update(errors)
    assert len(hits) and all(h >= n for h in hits)
    windows = store.monitors.windows("clf")
    assert done.changes == {windows[1].window_id: len(hits)}
    assert [w.changes for w in windows] == [0, len(hits)]
    assert [(a.rule, a.window, a.severity) for a in done.alerts] == [
        ("degraded", windows[1].window_id, "critical")
    ]
    stored = store.monitors.get("clf").detector_state
    assert stored["n_seen"] == 2 * n


def test_bad_label_batches_are_rejected(classifier, rng) -> None:
    store = classifier
    store.monitors.observe("clf", scored(rng, 10, 0, 0))
    good = pl.DataFrame({"request_id": ["r1", "r2"], "label": [1, 0]})
    with pytest.raises(InvalidInput, match="0/1"):
        store.monitors.log_labels("clf", good.with_columns(label=pl.lit(2)))
    with pytest.raises(NotFound, match="label column 'label'"):
        store.monitors.log_labels("clf", good.drop("label"))
    with pytest.raises(InvalidInput, match="two different labels"):
        store.monitors.log_labels(
            "clf", pl.DataFrame({"request_id": ["r1", "r1"], "label": [1, 0]})
        )
    with pytest.raises(InvalidInput, match="lack a request id"):
        store.monitors.log_labels("clf", good.with_columns(label=pl.Series([1, None])))
    assert store.monitors.windows("clf")[0].labelled == 0
    plain = store.monitors.create("plain", reference=pl.DataFrame({"x": rng.normal(size=100)}),
                                  calibrate=False)  # fmt: skip
    with pytest.raises(InvalidInput, match="no prediction column"):
        store.monitors.log_labels(plain.name, good)


def test_labels_logged_meanwhile_by_another_job_are_not_counted_twice(
    classifier, rng, monkeypatch
) -> None:
    store = classifier
    store.monitors.observe("clf", scored(rng, 100, 0, 0))
    truth = pl.DataFrame({"request_id": [f"r{i}" for i in range(100)], "label": [1] * 100})
    from mlcore.monitoring import logs

    real = logs.join_labels
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # another job labels half of them while we join
            monkeypatch.setattr(logs, "join_labels", real)
            store.monitors.log_labels("clf", truth.head(50))
            monkeypatch.setattr(logs, "join_labels", racing)
        return real(*args, **kwargs)

    monkeypatch.setattr(logs, "join_labels", racing)
    done = store.monitors.log_labels("clf", truth)
    assert (done.labelled, done.already_labelled) == (50, 50)
    assert store.monitors.windows("clf")[0].labelled == 100
    assert len(calls) == 2  # joined again after seeing the other job's labels
