"""The compact binary form of profiles, calibrations and window summaries.

Summaries are mostly arrays of counts (about 530 int64 cells per numeric
column); as JSON they would be ten times their size and slow to parse on every
report. :func:`pack` takes the JSON-ready dict an object's ``to_dict()``
returns, moves every list of numbers into one raw array (int64 if all are
integers, else float64), keeps the rest as a small JSON header, and compresses
the whole with zlib (counts are mostly zeros). :func:`unpack` gives back the
same dict with NumPy arrays where the number lists were, which every
``from_dict`` accepts. Floats round-trip exactly (binary, not decimal text).

Examples
--------
>>> data = {"cells": [0, 3, 0, 0], "moments": [3.0, 1.5, None], "names": ["a"]}
>>> blob = pack(data)
>>> back = unpack(blob)
>>> back["cells"].dtype.name, back["cells"].tolist(), back["moments"], back["names"]
('int64', [0, 3, 0, 0], [3.0, 1.5, None], ['a'])
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any

import numpy as np

from mlcore.errors import CorruptArtifact

__all__ = ["json_float", "pack", "unpack"]

_MAGIC = b"MLCS1"
_ARRAY = "__array__"


def json_float(value: float | None) -> float | None:
    """``value`` as JSON can hold it: NaN and infinities become None.

    >>> json_float(float("nan")), json_float(float("-inf")), json_float(0.5)
    (None, None, 0.5)
    """
    return None if value is None or not math.isfinite(value) else float(value)


def pack(data: Any) -> bytes:
    """Encode a JSON-ready tree; number lists become raw arrays (see the module docstring)."""
    arrays: list[np.ndarray] = []

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            array = _numbers(node)
            if array is None:
                return [strip(value) for value in node]
            arrays.append(array)
            return {_ARRAY: len(arrays) - 1, "dtype": array.dtype.str, "n": len(array)}
        return node

    header = json.dumps(strip(data), separators=(",", ":")).encode()
    body = b"".join(array.tobytes() for array in arrays)
    return _MAGIC + zlib.compress(struct.pack("<I", len(header)) + header + body, 1)


def unpack(blob: bytes) -> Any:
    """Decode what :func:`pack` made; CorruptArtifact if it is not such a blob."""
    if not blob.startswith(_MAGIC):
        raise CorruptArtifact(
            "a stored monitoring summary is not in mlcore's summary format",
            hint="The catalog was modified outside mlcore; restore it from a backup",
        )
    raw = zlib.decompress(blob[len(_MAGIC) :])
    (size,) = struct.unpack_from("<I", raw)
    header = json.loads(raw[4 : 4 + size])
    offset = 4 + size

    def restore(node: Any) -> Any:
        nonlocal offset
        if isinstance(node, dict):
            if _ARRAY in node:
                dtype = np.dtype(node["dtype"])
                array = np.frombuffer(raw, dtype=dtype, count=node["n"], offset=offset).copy()
                offset += dtype.itemsize * node["n"]
                return array
            return {key: restore(value) for key, value in node.items()}
        if isinstance(node, list):
            return [restore(value) for value in node]
        return node

    # Arrays were appended in the order strip() met them, which restore() repeats.
    return restore(header)


def _numbers(values: list[Any] | tuple[Any, ...]) -> np.ndarray | None:
    """The list as an int64 or float64 array, or None unless it holds only numbers."""
    if not values:
        return None
    if all(type(v) is int for v in values):
        return np.array(values, dtype=np.int64)
    if all(type(v) in (int, float) for v in values):
        return np.array(values, dtype=np.float64)
    return None
