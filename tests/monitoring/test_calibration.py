"""Thresholds calibrated on reference blocks: reproducible, honest, and checked by hand."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring import statistics as st
from mlcore.monitoring.calibration import CALIBRATED, Calibration, calibrate
from mlcore.monitoring.profile import ReferenceProfile


@pytest.fixture(scope="module")
def reference() -> pl.DataFrame:
    rng = np.random.default_rng(11)
    n = 20_000
    return pl.DataFrame(
        {"x": rng.normal(size=n), "y": rng.exponential(size=n), "c": rng.choice(["a", "b", "c"], n)}
    )


@pytest.fixture(scope="module")
def profile(reference: pl.DataFrame) -> ReferenceProfile:
    return ReferenceProfile.fit(reference)


def test_every_statistic_gets_a_sorted_null_of_replicates(
    profile: ReferenceProfile, reference: pl.DataFrame
) -> None:
    cal = calibrate(profile, reference, window_rows=2_000, replicates=300)
    assert cal.window_blocks == 2 and cal.window_rows == 2_000 and cal.replicates == 300
    for name, layout in profile.layouts.items():
        assert set(cal.null[name]) == set(CALIBRATED[layout.kind])
        for scores in cal.null[name].values():
            assert len(scores) == 300 and np.all(np.diff(scores) >= 0)


def test_same_seed_same_thresholds_and_json_round_trip(
    profile: ReferenceProfile, reference: pl.DataFrame
) -> None:
    a = calibrate(profile, reference, replicates=100, seed=4)
    b = calibrate(profile, reference, replicates=100, seed=4)
    again = Calibration.from_dict(json.loads(json.dumps(a.to_dict())))
    for cal in (b, again):
        for column, by in a.null.items():
            for stat, scores in by.items():
                np.testing.assert_array_equal(cal.null[column][stat], scores)


def test_two_blocks_give_the_two_hand_computed_scores(
    profile: ReferenceProfile, reference: pl.DataFrame
) -> None:
    cal = calibrate(profile, reference, blocks=2, window_rows=1, replicates=50)
    half = reference.height // 2
    first, second = profile.summarise(reference[:half]), profile.summarise(reference[half:])
    layout = profile.layouts["x"]
    expected = set()
    for window, rest in ((first, second), (second, first)):
        bins = layout.bin_counts(rest.columns["x"]), layout.bin_counts(window.columns["x"])
        expected.add(round(st.psi(*bins), 12))
    assert {round(v, 12) for v in cal.null["x"]["psi"]} <= expected
    ks = {
        round(st.ks(second.columns["x"], first.columns["x"]).statistic, 12),
        round(st.ks(first.columns["x"], second.columns["x"]).statistic, 12),
    }
    assert {round(v, 12) for v in cal.null["x"]["ks"]} <= ks


def test_thresholds_rarely_fire_on_fresh_windows_from_the_same_distribution(
    profile: ReferenceProfile, reference: pl.DataFrame
) -> None:
    cal = calibrate(profile, reference, window_rows=2_000, replicates=400)
    rng = np.random.default_rng(12)
    alarms = {stat: 0 for stat in ("psi", "ks", "jensen_shannon", "wasserstein_normalised")}
    trials = 100
    for _ in range(trials):
        window = profile.summarise(
            pl.DataFrame(
                {
                    "x": rng.normal(size=2_000),
                    "y": rng.exponential(size=2_000),
                    "c": rng.choice(["a", "b", "c"], 2_000),
                }
            )
        )
        r, w = profile.reference.columns["x"], window.columns["x"]
        layout = profile.layouts["x"]
        scores = {
            "psi": st.psi(layout.bin_counts(r), layout.bin_counts(w)),
            "ks": st.ks(r, w).statistic,
            "jensen_shannon": st.jensen_shannon(layout.bin_counts(r), layout.bin_counts(w)),
            "wasserstein_normalised": st.normalised_wasserstein(
                st.wasserstein(layout, r, w).distance, layout
            ),
        }
        for stat, value in scores.items():
            alarms[stat] += value > cal.threshold("x", stat)
    # A 0.99 quantile should fire about 1 % of the time; blocks vs the rest is a
    # little conservative for windows scored against the whole reference.
    assert all(count <= 6 for count in alarms.values()), alarms


def test_pvalues_use_the_plus_one_rule(profile: ReferenceProfile, reference: pl.DataFrame) -> None:
    cal = calibrate(profile, reference, replicates=99)
    assert cal.pvalue("x", "psi", 1e9) == pytest.approx(1 / 100)
    assert cal.pvalue("x", "psi", -1.0) == 1.0
    median = float(np.median(cal.null["x"]["psi"]))
    assert 0.4 < cal.pvalue("x", "psi", median) < 0.6
    with pytest.raises(
        NotFound, match=r"calibrated statistic 'x/psy' not found\. Did you mean 'x/psi'"
    ):
        cal.threshold("x", "psy")


def test_new_categories_of_one_block_enter_the_null() -> None:
    values = ["a", "b"] * 500
    values[10] = "rare"  # only in the first block
    frame = pl.DataFrame({"c": values})
    profile = ReferenceProfile.fit(frame)
    cal = calibrate(profile, frame, blocks=10, window_rows=100, replicates=200)
    scores = cal.null["c"]["new_category_rate"]
    assert scores.max() == pytest.approx(1 / 100) and scores.min() == 0.0


@pytest.mark.parametrize(
    ("kwargs", "text"), [({"blocks": 1}, "cannot cut"), ({"quantile": 1.0}, "quantile 1.0")]
)
def test_bad_arguments(
    profile: ReferenceProfile, reference: pl.DataFrame, kwargs: dict, text: str
) -> None:
    with pytest.raises(InvalidInput, match=text):
        calibrate(profile, reference, **kwargs)
    with pytest.raises(InvalidInput, match="cannot cut 10 reference rows into 20 blocks"):
        calibrate(profile, reference[:10])
