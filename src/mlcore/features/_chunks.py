"""Feature data read in bounded chunks: a few Parquet row groups, or a slice of a frame.

Retrieval never loads a whole view. It plans chunks once (skipping row groups
whose event-time statistics show they cannot match), then reads only the columns
each pass needs, one chunk at a time; memory stays bounded by the chunk size,
whatever the size of the data.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias, Union

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from mlcore.errors import InvalidInput, NotFound
from mlcore.features._kernels import NO_CREATED

FeatureData: TypeAlias = Union[str, "os.PathLike[str]", pl.DataFrame, pa.Table]
"""One ingestion batch: a Parquet path, or (for tests and workers) a frame in memory."""

CHUNK_ROWS = 1 << 20
"""Rows per chunk, unless one row group is larger (a row group is never split)."""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Chunk:
    """Rows ``offset .. offset + length`` of batch ``batch`` (whole row groups, for Parquet)."""

    batch: int
    offset: int
    length: int


class Batches:
    """The ingestion batches of one view, read chunk by chunk.

    Parameters
    ----------
    data
        Batches in ingestion order.
    view
        The view's name, for error messages.
    """

    def __init__(self, data: Sequence[FeatureData], view: str) -> None:
        self.view = view
        self._data: list[pq.ParquetFile | pl.DataFrame] = []
        self._paths: list[str] = []
        for item in data:
            self._paths.append("" if isinstance(item, pl.DataFrame | pa.Table) else os.fspath(item))
            if isinstance(item, pl.DataFrame):
                self._data.append(item)
            elif isinstance(item, pa.Table):
                self._data.append(pl.DataFrame(item))
            else:
                try:
                    self._data.append(pq.ParquetFile(self._paths[-1]))
                except (OSError, pa.ArrowInvalid) as exc:
                    raise InvalidInput(
                        f"view {view}: cannot read {os.fspath(item)!r} as Parquet ({exc})",
                        hint="Pass the Parquet data files of the view, in ingestion order",
                    ) from exc

    def schema(self) -> pl.Schema | None:
        """The columns and types of the first batch; None when there is no batch."""
        if not self._data:
            return None
        first = self._data[0]
        if isinstance(first, pl.DataFrame):
            return first.schema
        return pl.DataFrame(first.schema_arrow.empty_table()).schema

    def require(self, columns: Sequence[str]) -> None:
        """Raise NotFound when a batch lacks one of ``columns``."""
        for item in self._data:
            names = item.columns if isinstance(item, pl.DataFrame) else item.schema_arrow.names
            for name in columns:
                if name not in names:
                    raise NotFound(f"view {self.view} column", name, candidates=names)

    def plan(self, event_timestamp: str, lo: int | None, hi: int) -> list[Chunk]:
        """Chunks covering every row whose event time may fall in ``[lo, hi]`` (µs)."""
        chunks: list[Chunk] = []
        for b, item in enumerate(self._data):
            if isinstance(item, pl.DataFrame):
                for offset in range(0, item.height, CHUNK_ROWS):
                    chunks.append(Chunk(b, offset, min(CHUNK_ROWS, item.height - offset)))
                continue
            meta = item.metadata
            column = item.schema_arrow.get_field_index(event_timestamp)
            offset, start = 0, None  # start: first row of the chunk being gathered
            for g in range(meta.num_row_groups):
                rows = meta.row_group(g).num_rows
                keep = rows > 0 and _may_overlap(
                    meta.row_group(g).column(column).statistics, lo, hi
                )
                if keep and start is None:
                    start = offset
                elif not keep and start is not None:  # chunks hold consecutive rows only
                    chunks.append(Chunk(b, start, offset - start))
                    start = None
                offset += rows
                if start is not None and offset - start >= CHUNK_ROWS:
                    chunks.append(Chunk(b, start, offset - start))
                    start = None
            if start is not None:
                chunks.append(Chunk(b, start, offset - start))
        return chunks

    def read(self, chunk: Chunk, columns: Sequence[str]) -> pl.DataFrame:
        """The chunk's ``columns`` as a Polars frame."""
        item = self._data[chunk.batch]
        if isinstance(item, pl.DataFrame):
            return item.select(columns).slice(chunk.offset, chunk.length)
        # Polars decodes these files faster than pyarrow and its slice reads only the
        # row groups it covers; pyarrow stays the reader of the footer statistics.
        scan = pl.scan_parquet(self._paths[chunk.batch]).select(columns)
        return scan.slice(chunk.offset, chunk.length).collect()


def _may_overlap(stats: pq.Statistics | None, lo: int | None, hi: int) -> bool:
    """False only when row-group statistics prove no event time lies in ``[lo, hi]``."""
    if stats is None or not stats.has_min_max:
        return True
    low, high = stats.min, stats.max
    if not isinstance(low, dt.datetime) or not isinstance(high, dt.datetime):
        return True
    return micros(low) <= hi and (lo is None or micros(high) >= lo)


def micros(value: dt.datetime) -> int:
    """Microseconds since the epoch; a naive value (as Parquet statistics give) is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - _EPOCH) // _MICROSECOND


def timestamps(series: pl.Series, what: str) -> np.ndarray:
    """Microseconds since the epoch (int64) of a timezone-aware Datetime series.

    Nulls come back as :data:`~mlcore.features._kernels.NO_CREATED`, before every
    instant (what a missing created timestamp means); callers that forbid them check first.
    """
    dtype = series.dtype
    if not isinstance(dtype, pl.Datetime):
        raise InvalidInput(
            f"{what} must be a timezone-aware Datetime, got {dtype}",
            field=series.name,
            hint="Convert it with pl.col(...).str.to_datetime() or .dt.replace_time_zone(...)",
        )
    if dtype.time_zone is None:
        raise InvalidInput(
            f"{what} has naive timestamps (no time zone)",
            field=series.name,
            hint="Name their zone with .dt.replace_time_zone('UTC') or the zone they were recorded in",
        )
    physical = series.dt.cast_time_unit("us").to_physical()
    return physical.fill_null(NO_CREATED).to_numpy()
