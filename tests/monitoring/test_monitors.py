"""``store.monitors``: creating monitors, observing batches, windows, reports, the scoring hook."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

import mlcore
from mlcore.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlcore.monitoring.profile import ReferenceProfile
from mlcore.monitoring.report import drift_report
from mlcore.monitoring.summary import merge_all

from .conftest import batch

T0 = datetime(2024, 3, 4, 6, tzinfo=UTC)  # a Monday


def stamped(frame: pl.DataFrame, hours: list[float]) -> pl.DataFrame:
    times = [T0 + timedelta(hours=h) for h in hours]
    return frame.with_columns(ts=pl.Series(times, dtype=pl.Datetime("us", "UTC")))


def window_state(store, name: str) -> list[tuple]:
    return [(w.window_id, w.rows, w.summary.to_dict()) for w in store.monitors.windows(name)]


def assert_same_counts(a, b) -> None:
    """Equal counts (exact) and moments (to rounding: they depend on the order rows are merged)."""
    assert (a.profile_id, a.rows) == (b.profile_id, b.rows)
    for name, left in a.columns.items():
        right = b.columns[name]
        if left.kind == "numeric":
            assert np.array_equal(left.cells, right.cells)
            assert np.array_equal(left.specials, right.specials)
            np.testing.assert_allclose(left.moments, right.moments, rtol=1e-12)
            np.testing.assert_allclose(left.tails, right.tails, rtol=1e-12)
        else:
            assert left.same_as(right)


def monitoring_files(store_path: Path) -> list[str]:
    folder = store_path / "data" / "monitoring"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_create_stores_the_profile_and_its_calibration(store, reference) -> None:
    monitor = store.monitors.create("churn", reference=reference, window="1d")
    assert monitor.columns == ("age", "plan")
    assert monitor.window == "1d" and monitor.created_by == "admin"
    profile = store.monitors.profile("churn")
    assert profile.id == ReferenceProfile.fit(reference).id == monitor.profile_id
    assert store.monitors.calibration("churn").profile_id == profile.id
    assert [m.name for m in store.monitors.list()] == ["churn"]
    (entry,) = store.audit_log(action="monitor.create")
    assert entry.subject == "monitor:churn" and entry.details["reference_rows"] == 3_000


def test_create_refuses_a_taken_name_and_actors_without_the_permission(store, reference) -> None:
    store.monitors.create("churn", reference=reference, calibrate=False)
    with pytest.raises(Conflict, match="already exists"):
        store.monitors.create("churn", reference=reference, calibrate=False)
    store.grant("rita", "reviewer")
    with pytest.raises(PermissionDenied, match="create or change a monitor"):
        store.as_actor("rita").monitors.create("other", reference=reference)
    assert store.audit_log(action="access.denied")


def test_create_rejects_reserved_column_names_and_small_references(store, reference) -> None:
    with pytest.raises(InvalidInput, match="reserve"):
        store.monitors.create("m", reference=reference.with_columns(_timestamp=1))
    with pytest.raises(InvalidInput, match="calibrate=False"):
        store.monitors.create("m", reference=reference.head(20))


def test_observe_merges_windows_exactly_and_logs_every_row(store, reference, rng) -> None:
    store.monitors.create("churn", reference=reference, timestamp="ts", calibrate=False)
    batches = [
        stamped(batch(rng, 400, start=0), list(np.linspace(0, 20, 400))),  # Monday
        stamped(batch(rng, 300, start=400), list(np.linspace(10, 30, 300))),  # Mon + Tue
        stamped(batch(rng, 200, start=700), list(np.linspace(30, 40, 200))),  # Tuesday
    ]
    seen = [store.monitors.observe("churn", b) for b in batches]
    assert [s.rows for s in seen] == [400, 300, 200]
    assert seen[1].windows == [seen[0].windows[0], seen[2].windows[0]]
    everything = pl.concat(batches)
    profile = store.monitors.profile("churn")
    stored = store.monitors.windows("churn")
    assert [w.starts_at for w in stored] == [T0 - timedelta(hours=6), T0 + timedelta(hours=18)]
    for window in stored:
        rows = everything.filter(
            (pl.col("ts") >= window.starts_at) & (pl.col("ts") < window.ends_at)
        )
        assert window.rows == rows.height
        assert window.summary.same_as(profile.summarise(rows.select("age", "plan")))
    # The logs hold every observed row, sorted by time within each file.
    logged = store.monitors.logs("churn")
    assert logged.height == 900
    assert sorted(logged["_request_id"]) == sorted(everything["request_id"])
    for _, part in logged.group_by("_file_seq"):
        assert part["_timestamp"].is_sorted()
    # ... and summarising the logs per window gives the stored windows.
    for window in stored:
        rows = logged.filter(
            (pl.col("_timestamp") >= window.starts_at) & (pl.col("_timestamp") < window.ends_at)
        )
        assert_same_counts(window.summary, profile.summarise(rows.select("age", "plan")))


def test_batch_windows_are_the_observed_batches(store, reference, rng) -> None:
    store.monitors.create("m", reference=reference, window="batch", calibrate=False)
    first = store.monitors.observe("m", batch(rng, 50))
    second = store.monitors.observe("m", batch(rng, 70))
    stored = store.monitors.windows("m")
    assert [w.rows for w in stored] == [50, 70]
    assert first.windows[0] < second.windows[0]
    assert store.monitors.report("m", last=1).windows[0].window == second.windows[0]


def test_a_failure_before_commit_changes_nothing(store, store_path, reference, rng, monkeypatch):
    store.monitors.create("m", reference=reference, calibrate=False)
    store.monitors.observe("m", batch(rng, 100))
    before, files = window_state(store, "m"), monitoring_files(store_path)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("mlcore.monitoring.observing.merge_into", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store.monitors.observe("m", batch(rng, 100))
    assert window_state(store, "m") == before
    assert monitoring_files(store_path) == files  # the unregistered log file was removed
    assert store.monitors.logs("m").height == 100
    assert store.audit_log(action="monitor.observe").__len__() == 1


@pytest.mark.slow
def test_a_process_killed_mid_observe_leaves_logs_and_summaries_consistent(
    store, store_path, reference, rng
) -> None:
    store.monitors.create("m", reference=reference, calibrate=False)
    store.monitors.observe("m", batch(rng, 100))
    before = window_state(store, "m")
    batch(rng, 100).write_parquet(store_path.parent / "b.parquet")
    store.close()
    script = textwrap.dedent(
        f"""
        import os, signal, mlcore
        import mlcore.monitoring.observing as observing
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        observing.merge_into = die
        store = mlcore.open({str(store_path)!r}, actor="admin")
        store.monitors.observe("m", {str(store_path.parent / "b.parquet")!r})
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(mlcore.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()
    again = mlcore.open(store_path, actor="admin")
    try:
        assert window_state(again, "m") == before
        assert again.monitors.logs("m").height == 100
        orphans = again.gc(grace=0).files
        assert [f["reason"] for f in orphans] == ["unreferenced"]
        assert orphans[0]["path"].startswith("data/monitoring/")
    finally:
        again.close()


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda b: b.drop("age"), NotFound, "column 'age' not found"),
        (lambda b: b.with_columns(age=pl.lit("old")), InvalidInput, "its profile is numeric"),
        (lambda b: b.with_columns(ts=pl.col("ts").dt.replace_time_zone(None)), InvalidInput, "ts"),
        (lambda b: b.with_columns(ts=pl.lit(None, pl.Datetime("us", "UTC"))), InvalidInput, "null"),
        (lambda b: b.with_columns(score=pl.lit(1.5)), InvalidInput, r"outside \[0, 1\]"),
        (lambda b: b.drop("score"), NotFound, "prediction column 'score'"),
        (lambda b: b.with_columns(score=pl.lit("high")), InvalidInput, "not a number"),
    ],
)
def test_bad_batches_are_rejected_and_nothing_is_stored(
    store, store_path, reference, rng, change, error, message
) -> None:
    ref = reference.with_columns(label=pl.Series(rng.integers(0, 2, reference.height)))
    store.monitors.create(
        "m", reference=ref, prediction="score", label="label", timestamp="ts", calibrate=False
    )
    good = stamped(batch(rng, 60), [0.0] * 60).with_columns(score=pl.lit(0.3))
    store.monitors.observe("m", good)
    before, files = window_state(store, "m"), monitoring_files(store_path)
    with pytest.raises(error, match=message):
        store.monitors.observe("m", change(good))
    assert window_state(store, "m") == before
    assert monitoring_files(store_path) == files


def test_empty_new_null_and_infinite_inputs_are_counted_not_fatal(store, reference, rng) -> None:
    store.monitors.create("m", reference=reference, window="batch", calibrate=False)
    empty = store.monitors.observe("m", batch(rng, 0))
    assert (empty.rows, empty.windows, empty.report) == (0, [], None)
    assert store.monitors.windows("m") == []
    odd = batch(rng, 10, extra=["x"] * 10).with_columns(
        age=pl.Series([None] * 10, dtype=pl.Float64)
    )
    seen = store.monitors.observe("m", odd)
    assert seen.unexpected_columns == ("extra",) and seen.all_null_columns == ["age"]
    assert seen.report.column("age").status == "drift"  # missing rate 100 %
    (window,) = store.monitors.windows("m")
    assert window.summary.columns["age"].missing == 10
    assert window.summary.unexpected_columns == ("extra",)
    inf = batch(rng, 4).with_columns(age=pl.Series([np.inf, -np.inf, 40.0, np.nan]))
    store.monitors.observe("m", inf)
    last = store.monitors.windows("m")[-1].summary.columns["age"]
    assert (last.out_of_range, last.missing, last.rows) == (2, 1, 4)


def test_report_is_recomputed_from_stored_summaries(store, reference, rng) -> None:
    store.monitors.create("m", reference=reference, window="batch")
    batches = [batch(rng, 500, shift=s) for s in (0.0, 8.0)]
    for b in batches:
        store.monitors.observe("m", b)
    report = store.monitors.report("m")
    profile, cal = store.monitors.profile("m"), store.monitors.calibration("m")
    for window, raw in zip(report.windows, batches, strict=True):
        direct = drift_report(
            profile, profile.summarise(raw.select("age", "plan")), calibration=cal
        )
        assert window.drift.to_dict() == direct.to_dict()
    assert [w.drift.drift for w in report.windows] == [False, True]
    matrix = store.monitors.drift_matrix("m", "psi")
    assert matrix["column"].to_list() == ["age", "plan"]
    assert (
        matrix[report.windows[1].label][0]
        == report.windows[1].drift.column("age").statistics["psi"].value
    )
    status = store.monitors.drift_matrix("m", "psi", value="status", last=1)
    assert status.columns == ["column", report.windows[1].label]
    with pytest.raises(NotFound, match="Did you mean 'psi'"):
        store.monitors.drift_matrix("m", "pis")


@pytest.fixture
def released(store, rng):
    """A released logistic regression 'churn' on x, y and the frame it was trained on."""
    train = pl.DataFrame({"x": rng.normal(size=2_000), "y": rng.normal(size=2_000)})
    label = (train["x"] + train["y"] > 0).to_numpy()
    model = LogisticRegression().fit(train, label)
    store.models.register("churn", model, training_data=train)
    store.grant("rev", "reviewer")
    store.models.submit("churn", 1)
    store.as_actor("rev").models.approve("churn", 1)
    store.models.release("churn", 1, reason="first")
    scores = model.predict_proba(train)[:, 1]
    return train.with_columns(score=pl.Series(scores), label=pl.Series(label.astype(int)))


def test_scoring_logs_to_the_models_monitors(store, released, rng) -> None:
    monitor = store.monitors.create(
        "churn_watch", model="churn", reference=released, prediction="score", label="label"
    )
    assert monitor.columns == ("x", "y", "score")  # the signature's inputs, then the prediction
    assert (monitor.model, monitor.model_version, monitor.pinned, monitor.task) == (
        "churn", 1, False, "classification",
    )  # fmt: skip
    scored = pl.DataFrame(
        {"request_id": ["a", "b", "c"], "x": rng.normal(size=3), "y": rng.normal(size=3)}
    )
    out = store.models.score("churn", scored)
    (window,) = store.monitors.windows("churn_watch")
    assert window.rows == 3
    logged = store.monitors.logs("churn_watch")
    assert logged["_request_id"].to_list() == ["a", "b", "c"]
    assert logged["score"].to_list() == out["score"].to_list()
    assert store.monitors.log_scoring("other", 1, inputs=scored, outputs=out) == []


def test_a_pinned_monitor_ignores_other_versions(store, released) -> None:
    store.monitors.create("v1", model="churn:1", reference=released, calibrate=False)
    frame = released.head(5)
    assert [
        o.monitor for o in store.monitors.log_scoring("churn", 1, inputs=frame, outputs=frame)
    ] == ["v1"]
    assert store.monitors.log_scoring("churn", 2, inputs=frame, outputs=frame) == []


def test_observe_by_model_name_needs_a_single_monitor(store, released) -> None:
    store.monitors.create("first", model="churn", reference=released, calibrate=False)
    assert store.monitors.observe("churn", released.head(10)).monitor == "first"
    store.monitors.create("second", model="churn", reference=released, calibrate=False)
    with pytest.raises(InvalidInput, match="several monitors: first, second"):
        store.monitors.observe("churn", released.head(10))
    with pytest.raises(NotFound, match="Did you mean 'first'"):
        store.monitors.observe("firts", released.head(10))


def test_windows_merge_like_one_summary_of_all_rows(store, reference, rng) -> None:
    store.monitors.create("m", reference=reference, calibrate=False)
    parts = [batch(rng, n) for n in (1, 17, 250)]
    for part in parts:
        store.monitors.observe("m", part)
    (window,) = store.monitors.windows("m")
    profile = store.monitors.profile("m")
    alone = [profile.summarise(p.select("age", "plan")) for p in parts]
    assert window.summary.same_as(merge_all(profile.empty_summary(), alone))  # bit for bit
    assert_same_counts(window.summary, profile.summarise(pl.concat(parts).select("age", "plan")))


def test_a_dataset_name_as_reference_goes_through_the_feature_store(store, reference) -> None:
    from mlcore.monitoring.monitors import Monitors

    class Features:
        def load_dataset(self, name: str, version: int | None = None) -> pl.DataFrame:
            assert (name, version) == ("training_rows", None)
            return reference

    class Store:
        features = Features()

    monitors = Monitors(store.storage, store=Store())
    monitor = monitors.create("m", reference="training_rows", calibrate=False)
    assert monitor.settings["reference_source"] == "dataset:training_rows"
    assert monitor.settings["reference_rows"] == reference.height
    with pytest.raises(NotFound, match="reference file"):
        Monitors(store.storage).create("n", reference="training_rows")
