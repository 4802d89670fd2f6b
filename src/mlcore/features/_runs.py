"""Key runs: the entity side of a view as dense key ids, and feature chunks cut into runs.

The kernels never compare keys. Entity keys (any number of integer or string
columns) are dictionary-encoded into dense ids, in key order; a chunk of feature
rows, sorted by key, is run-length encoded into one run per key, and the runs
are matched to the ids by a hash join on the (few) distinct keys, not on rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput
from mlcore.features import _chunks, _kernels
from mlcore.features._chunks import Batches, Chunk

_KEY_ID = "__mlcore_key_id"
_ROW = "__mlcore_row"
_CHUNK = "__mlcore_chunk"
_START = "__mlcore_start"
_STOP = "__mlcore_stop"

Runs = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Per run of a chunk: the entity key id, the first row and the row after the last."""


def key_runs(keys: pl.DataFrame) -> pl.DataFrame:
    """Runs of equal keys in a frame: the key columns, then each run's first row and end.

    The positions take internal column names, so that no key name can collide with them.
    """
    names = keys.columns
    single = len(names) == 1
    rle = keys.select((pl.col(names[0]) if single else pl.struct(names)).rle()).to_series()
    lengths = rle.struct.field("len").cast(pl.Int64)
    values = rle.struct.field("value")
    runs = values.to_frame(names[0]) if single else values.struct.unnest()
    stop = lengths.cum_sum()
    return runs.with_columns(stop.alias(_STOP), (stop - lengths).alias(_START))


def key_types(
    view: str,
    join_keys: Sequence[str],
    entity_keys: Sequence[str],
    features: pl.Schema,
    entities: pl.Schema,
) -> list[pl.DataType]:
    """One comparable type per key: Int64 for integers, String for strings and categoricals."""
    types: list[pl.DataType] = []
    for join_key, entity_key in zip(join_keys, entity_keys, strict=True):
        ours, theirs = features[join_key], entities[entity_key]
        if ours.is_integer() and theirs.is_integer():
            types.append(pl.Int64())
        elif _stringlike(ours) and _stringlike(theirs):
            types.append(pl.String())
        else:
            raise InvalidInput(
                f"view {view}: key {join_key} is {ours} in the feature data but entity column "
                f"{entity_key} is {theirs}",
                field=entity_key,
                hint="Join keys are integers or strings; cast the entity column to the view's key type",
            )
    return types


def _stringlike(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


class KeyIndex:
    """Entity rows grouped by dense key id, and the matching of feature chunks to those ids.

    Parameters
    ----------
    entities
        The entity frame.
    usable
        False for rows that can never match (null timestamp).
    entity_keys, join_keys
        The key columns on each side, in the same order.
    types
        The comparable type of each key (see :func:`key_types`).

    Attributes
    ----------
    order, starts
        The rows of key id ``k`` are ``order[starts[k]:starts[k + 1]]`` (input order);
        rows with a null key or timestamp are in no group.
    """

    def __init__(
        self,
        entities: pl.DataFrame,
        usable: np.ndarray,
        entity_keys: Sequence[str],
        join_keys: Sequence[str],
        types: Sequence[pl.DataType],
    ) -> None:
        self.join_keys = list(join_keys)
        self.types = list(types)
        keys = entities.select(
            pl.col(e).cast(t).alias(j)
            for e, j, t in zip(entity_keys, join_keys, types, strict=True)
        )
        complete = keys.select(pl.all_horizontal(pl.all().is_not_null())).to_series().to_numpy()
        complete &= usable
        # Ids in key order: the files are sorted by key, so chunk rows, runs and entity
        # groups are then all visited in one direction (sequential memory access).
        self.unique_keys = (
            keys.filter(complete)
            .unique()
            .sort(self.join_keys)
            .with_row_index(_KEY_ID)
            .with_columns(pl.col(_KEY_ID).cast(pl.Int64))
        )
        ids = keys.join(self.unique_keys, on=self.join_keys, how="left", maintain_order="left")
        key_id = np.where(complete, ids[_KEY_ID].fill_null(-1).to_numpy(), -1)
        self.order, self.starts = _kernels.group_rows(key_id, self.unique_keys.height)

    @property
    def keys(self) -> int:
        """The number of distinct usable entity keys."""
        return self.unique_keys.height

    def read_keys(self, batches: Batches, chunk: Chunk, extra: Sequence[str] = ()) -> pl.DataFrame:
        """The chunk's key columns (cast to the comparable types) and ``extra`` columns."""
        frame = batches.read(chunk, [*self.join_keys, *extra])
        return frame.with_columns(
            pl.col(k).cast(t) for k, t in zip(self.join_keys, self.types, strict=True)
        )

    def runs(self, batches: Batches, chunks: Sequence[Chunk]) -> Iterator[tuple[int, Runs]]:
        """Per chunk holding some entity key: its matched runs.

        The runs of several chunks are matched in one hash join, so that a large entity
        frame is probed once per ~million runs rather than once per chunk.
        """
        group_rows = max(self.keys, _chunks.CHUNK_ROWS)
        pending: list[pl.DataFrame] = []
        pending_rows = 0
        for c, chunk in enumerate(chunks):
            runs = key_runs(self.read_keys(batches, chunk)).with_columns(pl.lit(c).alias(_CHUNK))
            pending.append(runs)
            pending_rows += runs.height
            if pending_rows < group_rows and c + 1 < len(chunks):
                continue
            matched = self._match(pl.concat(pending))
            for (index,), part in matched.partition_by(
                _CHUNK, as_dict=True, maintain_order=True
            ).items():
                yield int(index), _arrays(part)  # type: ignore[call-overload]
            pending, pending_rows = [], 0

    def sorted_chunk(
        self, batches: Batches, chunk: Chunk, event_timestamp: str, columns: Sequence[str]
    ) -> tuple[pl.DataFrame, Runs, np.ndarray]:
        """A chunk that broke the sort promise, sorted stably: its ``columns``, runs and row map."""
        frame = self.read_keys(batches, chunk, columns).with_row_index(_ROW)
        frame = frame.sort([*self.join_keys, event_timestamp], maintain_order=True)
        runs = _arrays(self._match(key_runs(frame.select(self.join_keys))))
        return frame, runs, frame[_ROW].cast(pl.Int64).to_numpy()

    def _match(self, runs: pl.DataFrame) -> pl.DataFrame:
        return runs.join(self.unique_keys, on=self.join_keys, how="inner", maintain_order="left")


def _arrays(matched: pl.DataFrame) -> Runs:
    key, start, stop = (
        matched[c].to_numpy().astype(np.int64, copy=False) for c in (_KEY_ID, _START, _STOP)
    )
    return key, start, stop
