"""The compact binary form: every tree of numbers, text and lists round-trips exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.errors import CorruptArtifact
from mlcore.monitoring.codec import pack, unpack

_scalars = (
    st.none()
    | st.booleans()
    | st.text(max_size=5)
    | st.integers(-(2**63), 2**63 - 1)
    | (st.floats(allow_nan=False))
)
_trees = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
)


def plain(value):
    """``unpack``'s arrays back to lists, to compare with the input."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@given(_trees)
def test_round_trip(tree) -> None:
    back = plain(unpack(pack(tree)))
    expected = plain(unpack(pack(back)))
    assert back == expected
    # Numbers keep their values: integers exactly, floats bit for bit.
    assert _numbers(back) == _numbers(tree)


def _numbers(value) -> list:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        # A list mixing ints and floats is stored as float64, so compare as floats.
        return [float(value).hex()]
    items = value.values() if isinstance(value, dict) else value
    return [n for v in items for n in _numbers(v)]


def test_number_lists_become_typed_arrays() -> None:
    data = {"cells": [0, 5, 2**62], "sums": [1, 0.5, math.inf], "mixed": [1, "a"], "flags": [True]}
    back = unpack(pack(data))
    assert back["cells"].dtype == np.int64 and back["cells"].tolist() == [0, 5, 2**62]
    assert back["sums"].dtype == np.float64 and back["sums"].tolist() == [1.0, 0.5, math.inf]
    assert back["mixed"] == [1, "a"] and back["flags"] == [True]


def test_counts_compress_well() -> None:
    assert len(pack({"cells": [0] * 530})) < 120  # from 4240 bytes of int64


def test_a_foreign_blob_is_refused() -> None:
    with pytest.raises(CorruptArtifact, match="summary format"):
        unpack(b'{"cells": [1]}')
