"""Frames in, Arrow buffers out: what the monitoring kernels read.

Any frame mlcore accepts (see :mod:`mlcore.frames`) becomes a
:class:`pyarrow.Table`, without copying where Arrow allows. Numeric columns are
then handed to the kernels as (float64 data, validity bitmap, bit offset) per
piece; columns that are not float64 are converted once (integers above 2**53
lose precision, as they would in any float statistic).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcore.errors import InvalidInput
from mlcore.frames import to_polars

Kind = Literal["numeric", "categorical"]

#: Values per kernel call: long columns are cut into pieces of this size so that
#: both cores work on them, and results do not depend on the number of cores.
PIECE = 1 << 20


def _readonly(array: np.ndarray) -> np.ndarray:
    # Arrow buffers are read-only; giving the kernels nothing else keeps them to
    # one compiled signature.
    array.setflags(write=False)
    return array


_EMPTY_BITMAP = _readonly(np.zeros(0, dtype=np.uint8))
_R = TypeVar("_R")
_pool: ThreadPoolExecutor | None = None


def to_table(frame: Any, *, what: str = "batch") -> pa.Table:
    """Return any frame :func:`mlcore.frames.to_polars` accepts as an Arrow table."""
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    return to_polars(frame, what=what).to_arrow()


def kind_of(dtype: pa.DataType) -> Kind | None:
    """The summary kind a column of ``dtype`` gets by default; None if unsupported."""
    if pa.types.is_floating(dtype) or pa.types.is_integer(dtype) or pa.types.is_boolean(dtype):
        return "numeric"
    if pa.types.is_decimal(dtype):
        return "numeric"
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
        or pa.types.is_dictionary(dtype)
    ):
        return "categorical"
    return None


def check_kind(name: str, dtype: pa.DataType, kind: Kind) -> None:
    """Raise InvalidInput unless a ``dtype`` column can be summarised as ``kind``."""
    if pa.types.is_null(dtype):  # an all-null column: every value is missing
        return
    natural = kind_of(dtype)
    if kind == "numeric" and natural != "numeric":
        raise InvalidInput(
            f"column '{name}' has type {dtype}, but its profile is numeric",
            hint="Cast it to a number, or profile it as categorical",
            field=name,
        )
    if kind == "categorical" and natural is None:
        raise InvalidInput(
            f"column '{name}' has type {dtype}, which cannot be summarised as categories",
            hint="Cast it to a string",
            field=name,
        )


def float_chunks(column: pa.ChunkedArray) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Yield ``(values, validity, bit_offset)`` for each piece of a numeric column.

    ``values`` views the Arrow float64 buffer when the column is float64;
    ``validity`` is empty when the piece has no nulls.
    """
    if pa.types.is_null(column.type):
        for chunk in column.chunks:
            if len(chunk):
                yield (
                    _readonly(np.zeros(len(chunk))),
                    _readonly(np.zeros((len(chunk) + 7) // 8, np.uint8)),
                    0,
                )
        return
    if column.type != pa.float64():
        column = pc.cast(column, pa.float64())
    for chunk in column.chunks:
        n = len(chunk)
        if n == 0:
            continue
        values = _float_buffer(chunk)
        validity_buf = chunk.buffers()[0]
        validity = (
            np.frombuffer(validity_buf, dtype=np.uint8)
            if validity_buf is not None and chunk.null_count > 0
            else _EMPTY_BITMAP
        )
        for start in range(0, n, PIECE):
            yield values[start : start + PIECE], validity, chunk.offset + start


def _float_buffer(chunk: pa.Array) -> np.ndarray:
    """The values of a float64 Arrow array, as a read-only view of its data buffer."""
    data = np.frombuffer(chunk.buffers()[1], dtype=np.float64, count=chunk.offset + len(chunk))
    return data[chunk.offset :]


def string_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A categorical column as large strings; NaN in a float column becomes null."""
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column.cast(pa.large_string())


def finite_values(column: pa.ChunkedArray) -> np.ndarray:
    """The finite values of a numeric column (nulls, NaN and ±inf dropped)."""
    if pa.types.is_null(column.type):
        return np.zeros(0)
    values = pc.cast(column, pa.float64()).to_numpy()
    return values[np.isfinite(values)]


def sample_finite(column: pa.ChunkedArray, size: int, seed: int, n_finite: int) -> np.ndarray:
    """Up to ``size`` finite values of a column, all of them if there are few.

    Large columns are sampled uniformly with replacement by a generator seeded
    with ``seed``, so the same column always gives the same sample.
    """
    if n_finite <= size:
        return finite_values(column)
    rng = np.random.default_rng(seed)
    index = np.sort(rng.integers(0, len(column), size=size))
    if column.num_chunks == 1 and column.null_count == 0 and column.type == pa.float64():
        values = _float_buffer(column.chunk(0))[index]
    else:
        values = _take(column, index)
    values = values[np.isfinite(values)]
    if len(values) >= max(1, min(n_finite, size) // 4):
        return values
    # A mostly-missing column: sample among its finite values instead.
    values = finite_values(column)
    return values[np.sort(rng.integers(0, len(values), size=size))]


def _take(column: pa.ChunkedArray, index: np.ndarray) -> np.ndarray:
    picked = pc.take(column, pa.array(index))
    return pc.cast(picked, pa.float64()).to_numpy(zero_copy_only=False)


def run_tasks(tasks: Sequence[Callable[[], _R]]) -> list[_R]:
    """Call each task, on all cores when there are several; results in task order.

    The kernels release the GIL, so threads run them truly in parallel; keeping
    the order keeps every merge of the results deterministic.
    """
    global _pool
    if len(tasks) < 2:
        return [task() for task in tasks]
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1, thread_name_prefix="mlcore-monitoring"
        )
    return list(_pool.map(_call, tasks))


def _call(task: Callable[[], _R]) -> _R:
    return task()
