"""The Numba kernels against plain NumPy twins, and their on-disk cache."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

from mlcore.monitoring import kernels
from mlcore.monitoring.layout import NumericLayout

from .conftest import numeric_profile

# Moments of values beyond ~1e154 overflow (their squares do), so data stays below.
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e150, -1e150, 5e-324]


def twin(layout: NumericLayout, values: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
    """What the kernels should produce, computed the obvious way in NumPy."""
    x = values[valid]
    finite = x[np.isfinite(x)]
    _, _, a, b, _ = layout.bounds
    moments = kernels.new_moments()
    if len(finite):
        moments = np.array(
            [
                len(finite),
                finite.mean(),
                ((finite - finite.mean()) ** 2).sum(),
                finite.min(),
                finite.max(),
            ]
        )
    return {
        "cells": layout.exact_cells(x),
        "specials": np.array(
            [(~valid).sum(), np.isnan(x).sum(), (x == -np.inf).sum(), (x == np.inf).sum()]
        ),
        "moments": moments,
        "tails": np.array([(a - finite[finite < a]).sum(), (finite[finite > b] - b).sum()]),
    }


def check_against_twin(
    layout: NumericLayout, values: np.ndarray, valid: np.ndarray, offset: int
) -> None:
    padded = np.concatenate([np.zeros(offset), values])
    mask = ~np.concatenate([np.ones(offset, bool), valid])
    column = pa.chunked_array([pa.array(padded, mask=mask).slice(offset)])
    got = layout.count(column)
    want = twin(layout, values, valid)
    np.testing.assert_array_equal(got.cells, want["cells"])
    np.testing.assert_array_equal(got.specials, want["specials"])
    count, mean, m2, lo, hi = want["moments"]
    assert got.moments[0] == count and got.moments[3] == lo and got.moments[4] == hi
    scale = max(abs(lo), abs(hi), 1.0) if count else 1.0
    assert abs(got.moments[1] - mean) <= 1e-9 * abs(mean) + 1e-12 * scale
    assert abs(got.moments[2] - m2) <= 1e-9 * m2 + 1e-12 * count * scale**2
    np.testing.assert_allclose(got.tails, want["tails"], rtol=1e-9, atol=1e-12 * scale)


# A small layout so that both kernel paths run: straight to cells for short
# chunks, through fine scratch counts for chunks of >= 2 * (resolution + 5).
LAYOUT = numeric_profile(
    np.random.default_rng(1).normal(size=500), bins=5, grid=8, quantile_grid=8, resolution=32
).layouts["x"]

values_strategy = hnp.arrays(
    np.float64,
    hs.integers(0, 300),
    elements=hs.one_of(hs.floats(-4, 4), hs.sampled_from(SPECIAL), hs.floats(-1e150, 1e150)),
)


@settings(max_examples=150, deadline=None)
@given(values=values_strategy, data=hs.data())
def test_kernel_equals_numpy_twin(values: np.ndarray, data: hs.DataObject) -> None:
    valid = data.draw(hnp.arrays(np.bool_, len(values), elements=hs.booleans()))
    offset = data.draw(hs.integers(0, 13))
    check_against_twin(LAYOUT, values, valid, offset)


def test_long_chunks_use_the_scratch_path_and_agree(rng: np.random.Generator) -> None:
    values = np.concatenate([rng.normal(size=5_000), SPECIAL * 10, rng.standard_cauchy(3_000)])
    valid = rng.random(len(values)) < 0.9
    check_against_twin(LAYOUT, values, valid, 5)
    check_against_twin(LAYOUT, values, np.ones(len(values), bool), 0)


def test_default_layout_bins_match_searchsorted_semantics(rng: np.random.Generator) -> None:
    ref = rng.normal(size=20_000)
    layout = numeric_profile(ref).layouts["x"]
    cur = rng.normal(0.3, 1.2, 30_000)
    summary = layout.count(pa.chunked_array([cur]))
    # A bin is the values between two consecutive fine-slot boundaries; recompute
    # it from the slot formula alone, independently of the cell machinery.
    _, _, a, b, inv = layout.bounds
    slot = np.where(
        cur < a, -1, np.where(cur > b, layout.resolution + 1, ((cur - a) * inv).astype(np.int64))
    )
    expected = np.bincount(
        np.searchsorted(layout.bin_starts, slot, side="right"), minlength=layout.n_bins
    )
    np.testing.assert_array_equal(layout.bin_counts(summary), expected)


def test_moments_stay_exact_far_from_zero(rng: np.random.Generator) -> None:
    values = 1e9 + rng.normal(size=100_000)
    moments = kernels.new_moments()
    kernels.finite_range(values, np.zeros(0, np.uint8), 0, moments)
    assert moments[0] == len(values)
    assert abs(moments[1] - values.mean()) < 1e-6
    assert abs(moments[2] / len(values) - values.var()) < 1e-6 * values.var()


CALL_EVERY_KERNEL = textwrap.dedent(
    """
    import json
    import numpy as np
    from mlcore.monitoring import kernels
    from mlcore.monitoring.detectors import adwin, page_hinkley

    # The argument types of the real call sites: Arrow buffers are read-only.
    values = np.linspace(0.0, 1.0, 100_000)
    values.setflags(write=False)
    bitmap = np.zeros(0, np.uint8)
    bitmap.setflags(write=False)
    moments = kernels.new_moments()
    kernels.finite_range(values, bitmap, 0, moments)
    cells, fine = np.zeros(9, np.int64), np.zeros(13, np.int32)
    kernels.count_column(
        values, bitmap, 0, np.array([0.0, 1.0, 0.1, 0.9, 10.0]), np.minimum(np.arange(13), 8),
        fine, cells, np.zeros(4, np.int64), moments, np.zeros(2), True,
    )
    adwin.ADWIN().update(values[:1000])
    page_hinkley.PageHinkley().update(values[:1000])
    dispatchers = {
        "finite_range": kernels.finite_range,
        "count_column": kernels.count_column,
        "adwin": adwin._run,
        "page_hinkley": page_hinkley._run,
    }
    print(json.dumps({
        name: [sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())]
        for name, d in dispatchers.items()
    }))
    """
)


def test_kernels_load_from_the_disk_cache_in_a_fresh_process() -> None:
    # Populate the cache here (a fresh checkout compiles once), then a new
    # process must find every kernel on disk.
    exec(CALL_EVERY_KERNEL, {"print": lambda *_: None})
    run = subprocess.run(
        [sys.executable, "-c", CALL_EVERY_KERNEL], capture_output=True, text=True, check=True
    )
    for name, (hits, misses) in json.loads(run.stdout).items():
        assert misses == 0, f"{name} was compiled again in a fresh process"
        assert hits >= 1, name
