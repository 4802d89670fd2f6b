"""Moments merge the same in plain Python (summaries) and compiled (kernels)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlcore.monitoring import kernels
from mlcore.monitoring.moments import merge_moments, new_moments


def moments_of(values: np.ndarray) -> tuple[float, float, float, float, float]:
    if not len(values):
        return (0.0, 0.0, 0.0, np.inf, -np.inf)
    mean = values.mean()
    return (len(values), mean, float(((values - mean) ** 2).sum()), values.min(), values.max())


@settings(deadline=None)  # the first call compiles or loads the kernel
@given(
    st.lists(
        arrays(np.float64, st.integers(0, 20), elements=st.floats(-1e6, 1e6)),
        min_size=1,
        max_size=6,
    )
)
def test_python_and_compiled_merges_agree_bit_for_bit(parts: list[np.ndarray]) -> None:
    python, compiled = new_moments(), new_moments()
    for part in parts:
        merge_moments(python, *moments_of(part))
        kernels.merge_moments(compiled, *moments_of(part))
    assert python.tobytes() == compiled.tobytes()
    everything = np.concatenate(parts)
    if len(everything):
        assert python[0] == len(everything)
        np.testing.assert_allclose(python[1], everything.mean(), rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(
            python[2], everything.var() * len(everything), rtol=1e-7, atol=1e-3
        )
