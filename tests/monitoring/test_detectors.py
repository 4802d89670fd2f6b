"""ADWIN and Page-Hinkley detect at exactly River's indices, batch after batch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from river import drift

from mlcore.errors import InvalidInput
from mlcore.monitoring.detectors import ADWIN, PageHinkley

RNG = np.random.default_rng(2024)
STREAMS = {
    "mean_shifts": np.concatenate(
        [RNG.normal(0, 1, 2500), RNG.normal(1, 1, 2500), RNG.normal(-1, 2, 2500)]
    ),
    "error_rate": (RNG.random(12_000) < np.repeat([0.1, 0.3, 0.05], 4000)).astype(float),
    "integers": np.concatenate([RNG.integers(0, 2, 1000), RNG.integers(4, 8, 1000)]).astype(float),
    "heavy_tailed": RNG.standard_cauchy(8000),
    "constant": np.ones(3000),
}
ADWIN_PARAMS = [
    {},
    {"delta": 0.01, "clock": 1, "grace_period": 5, "min_window_length": 3},
    {"delta": 0.0001, "clock": 7, "max_buckets": 3},
]
PH_PARAMS = [
    {},
    {"threshold": 10.0, "mode": "up"},
    {"threshold": 5.0, "delta": 0.05, "mode": "down", "min_instances": 10, "alpha": 0.99},
]


def river_indices(detector: drift.ADWIN | drift.PageHinkley, stream: np.ndarray) -> list[int]:
    found = []
    for i, x in enumerate(stream.tolist()):
        detector.update(x)
        if detector.drift_detected:
            found.append(i)
    return found


def batched_indices(
    detector: ADWIN | PageHinkley, stream: np.ndarray, cuts: list[int]
) -> list[int]:
    found: list[int] = []
    for start, stop in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        found += (detector.update(stream[start:stop]) + start).tolist()
    return found


@pytest.mark.parametrize("stream", list(STREAMS))
@pytest.mark.parametrize("params", ADWIN_PARAMS, ids=str)
def test_adwin_matches_river(stream: str, params: dict) -> None:
    values = STREAMS[stream]
    expected = river_indices(drift.ADWIN(**params), values)
    cuts = sorted(RNG.choice(len(values), 4, replace=False).tolist())
    assert batched_indices(ADWIN(**params), values, cuts) == expected
    if stream != "constant":
        assert expected  # the stream is worth testing on


@pytest.mark.parametrize("stream", list(STREAMS))
@pytest.mark.parametrize("params", PH_PARAMS, ids=str)
def test_page_hinkley_matches_river(stream: str, params: dict) -> None:
    values = STREAMS[stream]
    expected = river_indices(drift.PageHinkley(**params), values)
    cuts = sorted(RNG.choice(len(values), 4, replace=False).tolist())
    assert batched_indices(PageHinkley(**params), values, cuts) == expected


def test_adwin_window_statistics_follow_river() -> None:
    values = STREAMS["mean_shifts"][:4000]
    ours, theirs = ADWIN(), drift.ADWIN()
    found = ours.update(values)
    for x in values.tolist():
        theirs.update(x)
    assert ours.width == theirs.width
    assert ours.estimation == pytest.approx(theirs.estimation, rel=1e-12)
    assert ours.drift_detected == theirs.drift_detected
    # River counts detections since its last reset; we count them over the stream.
    assert ours.n_detections == len(found) >= 1


@pytest.mark.parametrize("make", [ADWIN, PageHinkley])
def test_state_survives_a_json_round_trip(make: type) -> None:
    values = STREAMS["mean_shifts"]
    whole = make()
    expected = whole.update(values).tolist()
    first = make()
    found = first.update(values[:3100]).tolist()
    resumed = make.from_dict(json.loads(json.dumps(first.to_dict())))
    found += (resumed.update(values[3100:]) + 3100).tolist()
    assert found == expected
    assert resumed.n_seen == len(values)


def test_empty_batches_and_bad_modes() -> None:
    assert ADWIN().update([]).tolist() == []
    assert PageHinkley().update(np.array([])).tolist() == []
    with pytest.raises(InvalidInput, match="mode 'sideways'"):
        PageHinkley(mode="sideways")
