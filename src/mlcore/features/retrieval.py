"""Point-in-time retrieval: join feature views onto an entity frame without leaking the future.

Contract
--------
:func:`point_in_time_join` is a pure function of an entity frame and the data of
some feature views (:class:`ViewSource`: Parquet files or frames); it never
touches the catalog, so a partition of entities and a partition of feature data
could be shipped to another worker. It returns the entity frame -- all its
columns, every row exactly once and in input order, duplicates included -- with
one column per requested feature and aggregation. Per view and entity row:

- the chosen feature row has the same join keys and the greatest event
  timestamp ``e <= t`` (the entity timestamp), and ``e >= t - ttl`` when the
  view has a ttl: both ends inclusive;
- ties on ``e`` go to the greater created timestamp (a missing created
  timestamp loses to any), then to the later ingestion: a later batch in
  ``files`` wins, and within one batch the later row; the answer is never
  arbitrary;
- no such row -> null features; null join keys or a null entity timestamp
  never match;
- a null value in the chosen row is returned as null, not skipped in favour of
  an older row (Feast's behaviour: the latest row *is* the state);
- aggregations follow :mod:`mlcore.features.aggregations`, over events in
  ``(t - window, t]``.

Entity timestamps must be timezone-aware (any zone; compared as instants) and
feature timestamps too; keys are integers (any width) or strings
(categoricals compare as strings), composite keys allowed.

How
---
The store writes every data file sorted by (join keys, event timestamp), so no
feature row is ever sorted here. Entity keys are dictionary-encoded into dense
ids and the entity rows grouped by id (a counting sort); each chunk of feature
data (a few row groups) is cut into runs of one key with a run-length encoding,
the runs are matched to entity ids by one hash join per group of chunks, and a
Numba kernel binary-searches each entity row's timestamp within its key's run,
*reducing* into per-row winners (greatest event time, created time, ingestion
order) and window statistics. Because the reduction is associative, chunks
stream through bounded memory and batches combine for free. Only then are the
feature columns read, for the chunks that hold a winner, and gathered. A chunk
that turns out not to be sorted is sorted on the fly (stably), so the answer
never depends on that promise -- only the speed does.

Examples
--------
>>> import datetime as dt
>>> import polars as pl
>>> utc = dt.timezone.utc
>>> stats = pl.DataFrame({
...     "driver": [1, 1, 2],
...     "ts": [dt.datetime(2024, 1, 1, h, tzinfo=utc) for h in (8, 10, 9)],
...     "rate": [0.5, 0.7, 0.9],
... })
>>> view = ViewSource("driver_stats", join_keys=("driver",), event_timestamp="ts",
...                   features=("rate",), files=(stats,), ttl=dt.timedelta(hours=1))
>>> entities = pl.DataFrame({
...     "driver": [1, 1, 2, 3],
...     "at": [dt.datetime(2024, 1, 1, h, tzinfo=utc) for h in (9, 11, 11, 9)],
... })
>>> point_in_time_join(entities, "at", [view])["rate"].to_list()
[0.5, 0.7, None, None]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput, NotFound
from mlcore.features import _kernels
from mlcore.features._chunks import Batches, Chunk, FeatureData, timestamps
from mlcore.features.aggregations import Aggregation, WindowStats

__all__ = ["ViewSource", "latest", "point_in_time_join"]

_KEY_ID = "__mlcore_key_id"
_ROW = "__mlcore_row"
_MAX_LOOKBACK = 1 << 62  # µs; longer ttls mean "no bound" and would overflow t - ttl


@dataclass(frozen=True)
class ViewSource:
    """What retrieval needs to know about one feature view: columns, rules and data.

    Parameters
    ----------
    name
        The view's name (for error messages).
    join_keys
        Key columns as named in the feature data.
    event_timestamp
        The event-time column of the feature data.
    features
        Feature columns to return (may be empty when only aggregations are wanted).
    files
        The view's data in ingestion order: Parquet paths (each sorted by join keys and
        event timestamp, as the store writes them) or frames.
    entity_keys
        The matching entity-frame columns, same order; defaults to ``join_keys``.
    created_timestamp
        The created-time column breaking ties on event time, if the view has one.
    ttl
        How old a feature row may be, relative to the entity timestamp; None: no limit.
    output_names
        Result column per feature; defaults to ``features``. The caller resolves
        collisions (e.g. full ``view__feature`` names).
    aggregations
        As-of windowed aggregations over the same data; their ``name`` is their column.
    matched_timestamp
        When set, also return the event timestamp of the joined row under this name.
    """

    name: str
    join_keys: tuple[str, ...]
    event_timestamp: str
    features: tuple[str, ...]
    files: tuple[FeatureData, ...]
    entity_keys: tuple[str, ...] = ()
    created_timestamp: str | None = None
    ttl: dt.timedelta | None = None
    output_names: tuple[str, ...] = ()
    aggregations: tuple[Aggregation, ...] = ()
    matched_timestamp: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "join_keys",
            "features",
            "files",
            "entity_keys",
            "output_names",
            "aggregations",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.entity_keys:
            object.__setattr__(self, "entity_keys", self.join_keys)
        if not self.output_names:
            object.__setattr__(self, "output_names", self.features)
        if not self.join_keys or len(self.entity_keys) != len(self.join_keys):
            raise InvalidInput(
                f"view {self.name}: {len(self.join_keys)} join keys but {len(self.entity_keys)} entity keys",
                hint="Name one entity column per join key, in the same order",
            )
        if len(self.output_names) != len(self.features):
            raise InvalidInput(
                f"view {self.name}: {len(self.features)} features but {len(self.output_names)} output names",
                hint="Give one output name per feature",
            )
        if self.ttl is not None and self.ttl < dt.timedelta(0):
            raise InvalidInput(
                f"view {self.name}: negative ttl {self.ttl}", hint="Use a ttl >= 0 or None"
            )

    @property
    def outputs(self) -> tuple[str, ...]:
        """Every column this view adds to the result, in order."""
        extra = (self.matched_timestamp,) if self.matched_timestamp else ()
        return (*self.output_names, *(a.name for a in self.aggregations), *extra)


def point_in_time_join(
    entities: pl.DataFrame, timestamp: str, views: Sequence[ViewSource]
) -> pl.DataFrame:
    """Join each view's point-in-time correct features onto ``entities`` (see the module doc).

    Parameters
    ----------
    entities
        Entity rows: the key columns of every view and a timezone-aware ``timestamp``.
    timestamp
        The entity frame's timestamp column.
    views
        The views to join.

    Returns
    -------
    pl.DataFrame
        ``entities`` (all columns, input order) followed by every view's outputs.
    """
    if timestamp not in entities.columns:
        raise NotFound("entity column", timestamp, candidates=entities.columns)
    _check_outputs(entities, views)
    at = entities[timestamp]
    entity_ts = timestamps(at, f"entity timestamp column {timestamp}")
    usable = at.is_not_null().to_numpy()
    parts = [_join_view(entities, entity_ts, usable, view) for view in views]
    return pl.concat([entities, *parts], how="horizontal")


def latest(view: ViewSource, as_of: dt.datetime | None = None) -> pl.DataFrame:
    """The online rows of a view: per key, the latest features and the aggregations as of ``as_of``.

    One row per key with an event at or before ``as_of`` (default: now): the join keys,
    the features, the aggregations over windows ending at ``as_of``, and the event
    timestamp of the returned row (named like the view's event timestamp column) so
    that the online read can enforce the ttl, which is *not* applied here. Sorted by key.
    """
    as_of = dt.datetime.now(dt.UTC) if as_of is None else as_of
    if as_of.tzinfo is None:
        raise InvalidInput("as_of is a naive datetime", hint="Give a timezone-aware datetime")
    batches = Batches(view.files, view.name)
    keys = [
        _key_runs(batches.read(chunk, view.join_keys)).select(view.join_keys)
        for chunk in batches.plan(view.event_timestamp, None, _micros(as_of))
    ]
    schema = batches.schema()
    empty = pl.DataFrame(schema={k: schema[k] for k in view.join_keys} if schema else {})
    entities = pl.concat([empty, *keys]).unique().sort(view.join_keys)
    at = "__mlcore_as_of"
    entities = entities.with_columns(pl.lit(as_of).dt.convert_time_zone("UTC").alias(at))
    online = replace(view, entity_keys=view.join_keys, ttl=None, matched_timestamp=at + "_matched")
    out = point_in_time_join(entities, at, [online]).filter(pl.col(at + "_matched").is_not_null())
    return out.drop(at).rename({at + "_matched": view.event_timestamp})


def _micros(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _check_outputs(entities: pl.DataFrame, views: Sequence[ViewSource]) -> None:
    seen = set(entities.columns)
    clashes = []
    for view in views:
        for name in view.outputs:
            if name in seen:
                clashes.append(name)
            seen.add(name)
        for key in view.entity_keys:
            if key not in entities.columns:
                raise NotFound(
                    "entity column",
                    key,
                    candidates=entities.columns,
                    hint=None if len(entities.columns) > 0 else f"View {view.name} joins on it",
                )
    if clashes:
        raise InvalidInput(
            f"result columns collide: {', '.join(sorted(set(clashes)))}",
            hint="Rename them (output_names, aggregation names), e.g. with full view__feature names",
        )


class _Winners:
    """The as-of winner of every grouped entity row, for one lookback."""

    def __init__(self, rows: int, lookback: int) -> None:
        self.lookback = lookback
        self.ts = np.zeros(rows, np.int64)
        self.created = np.zeros(rows, np.int64)
        self.chunk = np.full(rows, -1, np.int64)
        self.row = np.zeros(rows, np.int64)

    def fold(
        self,
        runs: tuple[np.ndarray, ...],
        ts: np.ndarray,
        created: np.ndarray,
        row_map: np.ndarray,
        key_starts: np.ndarray,
        entity_ts: np.ndarray,
        chunk: int,
    ) -> None:
        _kernels.asof_winners(
            *runs,
            ts,
            created,
            row_map,
            key_starts,
            entity_ts,
            self.lookback,
            chunk,
            self.ts,
            self.created,
            self.chunk,
            self.row,
        )


def _join_view(
    entities: pl.DataFrame, entity_ts: np.ndarray, usable: np.ndarray, view: ViewSource
) -> pl.DataFrame:
    batches = Batches(view.files, view.name)
    schema = batches.schema()
    if schema is None:  # nothing ingested yet: every value is missing, of unknown type
        return _all_missing(view, entities.height)
    time_columns = [
        view.event_timestamp,
        *([view.created_timestamp] if view.created_timestamp else []),
    ]
    batches.require(
        [*view.join_keys, *time_columns, *view.features, *(a.column for a in view.aggregations)]
    )
    for agg in view.aggregations:
        agg.check_type(schema[agg.column], view.name)

    key_types = _key_types(entities, view, schema)
    key_id, unique_keys = _encode(entities, view, key_types, usable)
    order, key_starts = _kernels.group_rows(key_id, unique_keys.height)
    grouped_ts = entity_ts[order]

    # One winner search per distinct lookback: the join's ttl, and each `last` window
    # (last over (t - w, t] is an as-of search with the inclusive bound t - (w - 1 µs)).
    join_lookback = (
        -1 if view.ttl is None else min(view.ttl // dt.timedelta(microseconds=1), _MAX_LOOKBACK)
    )
    winners: dict[int, _Winners] = {}
    if view.features or view.matched_timestamp:
        winners[join_lookback] = _Winners(order.size, join_lookback)
    stats: dict[tuple[str, int], WindowStats] = {}
    for agg in view.aggregations:
        if agg.function == "last":
            winners.setdefault(agg.window_us - 1, _Winners(order.size, agg.window_us - 1))
            continue
        group = stats.get((agg.column, agg.window_us))
        if group is None:
            group = WindowStats(schema[agg.column], agg.window_us, order.size, False)
            stats[(agg.column, agg.window_us)] = group
        group.with_m2 |= agg.function == "stddev"

    chunks = _plan(batches, view, grouped_ts, winners, stats)
    value_columns = list(dict.fromkeys(column for column, _ in stats))
    seen = np.full(unique_keys.height, -1, np.int64)
    for c, runs in _matched_runs(batches, chunks, view, key_types, unique_keys):
        frame = batches.read(chunks[c], [*time_columns, *value_columns])
        row_map = np.empty(0, np.int64)
        ts = _event_times(frame, view)
        if not _kernels.runs_are_sorted(*runs, ts, seen, c):
            frame, runs, row_map = _sorted_chunk(
                batches, chunks[c], view, key_types, unique_keys, [*time_columns, *value_columns]
            )
            ts = _event_times(frame, view)
        created = (
            timestamps(frame[view.created_timestamp], f"view {view.name} created timestamp")
            if view.created_timestamp
            else np.zeros(ts.size, np.int64)
        )
        for w in winners.values():
            w.fold(runs, ts, created, row_map, key_starts, grouped_ts, c)
        for (column, _), group in stats.items():
            group.fold(runs, ts, frame[column], key_starts, grouped_ts)

    to_entities = np.full(entities.height, order.size, np.int64)
    to_entities[order] = np.arange(order.size)
    columns: dict[str, pl.Series] = {}
    if view.features:
        found = _gather(
            batches, chunks, winners[join_lookback], list(view.features), schema, to_entities
        )
        for feature, name in zip(view.features, view.output_names, strict=True):
            columns[name] = found[feature]
    for agg in view.aggregations:
        if agg.function == "last":
            last = winners[agg.window_us - 1]
            found = _gather(batches, chunks, last, [agg.column], schema, to_entities)
            columns[agg.name] = found[agg.column]
        else:
            result = stats[(agg.column, agg.window_us)].result(agg.function)
            columns[agg.name] = _ungroup(result, to_entities)
    if view.matched_timestamp:
        w = winners[join_lookback]
        matched = pl.Series(w.ts).cast(pl.Datetime("us", "UTC"))
        columns[view.matched_timestamp] = _ungroup(
            matched.scatter(np.flatnonzero(w.chunk < 0), None), to_entities
        )
    out = pl.DataFrame(columns)
    return out.with_columns(
        pl.col(a.name).fill_null(0) for a in view.aggregations if a.function == "count"
    )


def _all_missing(view: ViewSource, rows: int) -> pl.DataFrame:
    out = pl.DataFrame({name: pl.repeat(None, rows, eager=True) for name in view.outputs})
    return out.with_columns(
        pl.lit(0, pl.Int64).alias(a.name) for a in view.aggregations if a.function == "count"
    )


def _key_types(entities: pl.DataFrame, view: ViewSource, schema: pl.Schema) -> list[pl.DataType]:
    """One comparable type per key: Int64 for integers, String for strings and categoricals."""
    types: list[pl.DataType] = []
    for join_key, entity_key in zip(view.join_keys, view.entity_keys, strict=True):
        ours, theirs = schema[join_key], entities.schema[entity_key]
        if ours.is_integer() and theirs.is_integer():
            types.append(pl.Int64())
        elif _stringlike(ours) and _stringlike(theirs):
            types.append(pl.String())
        else:
            raise InvalidInput(
                f"view {view.name}: key {join_key} is {ours} in the feature data but entity column "
                f"{entity_key} is {theirs}",
                field=entity_key,
                hint="Join keys are integers or strings; cast the entity column to the view's key type",
            )
    return types


def _stringlike(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def _encode(
    entities: pl.DataFrame, view: ViewSource, key_types: list[pl.DataType], usable: np.ndarray
) -> tuple[np.ndarray, pl.DataFrame]:
    """Dense key ids (-1: never matches) for the entity rows, and the distinct keys with their id."""
    keys = entities.select(
        pl.col(e).cast(t).alias(j)
        for e, j, t in zip(view.entity_keys, view.join_keys, key_types, strict=True)
    )
    complete = (
        keys.select(pl.all_horizontal(pl.all().is_not_null())).to_series().to_numpy() & usable
    )
    # Ids in key order: the files are sorted by key, so chunk rows, runs and entity groups
    # are then all visited in one direction (sequential memory access).
    unique_keys = (
        keys.filter(complete)
        .unique()
        .sort(view.join_keys)
        .with_row_index(_KEY_ID)
        .with_columns(pl.col(_KEY_ID).cast(pl.Int64))
    )
    ids = keys.join(unique_keys, on=list(view.join_keys), how="left", maintain_order="left")[
        _KEY_ID
    ]
    return np.where(complete, ids.fill_null(-1).to_numpy(), -1), unique_keys


def _plan(
    batches: Batches,
    view: ViewSource,
    grouped_ts: np.ndarray,
    winners: dict[int, _Winners],
    stats: dict[tuple[str, int], WindowStats],
) -> list[Chunk]:
    """The chunks whose event times can matter to some entity row."""
    if grouped_ts.size == 0:
        return []
    reach = [*winners, *(window for _, window in stats)]
    lo = None if -1 in reach else int(grouped_ts.min()) - max(reach)
    return batches.plan(view.event_timestamp, lo, int(grouped_ts.max()))


def _key_runs(keys: pl.DataFrame) -> pl.DataFrame:
    """Runs of equal keys in a chunk: the key columns, ``start`` and ``stop`` (row positions)."""
    names = keys.columns
    single = len(names) == 1
    runs = keys.select(
        (pl.col(names[0]) if single else pl.struct(names)).rle().alias("run")
    ).unnest("run")
    runs = runs.rename({"value": names[0]}) if single else runs.unnest("value")
    stop = runs["len"].cast(pl.Int64).cum_sum()
    return runs.with_columns(stop=stop, start=stop - runs["len"].cast(pl.Int64)).drop("len")


def _chunk_keys(
    batches: Batches,
    chunk: Chunk,
    view: ViewSource,
    key_types: list[pl.DataType],
    extra: Sequence[str] = (),
) -> pl.DataFrame:
    frame = batches.read(chunk, [*view.join_keys, *extra])
    return frame.with_columns(
        pl.col(k).cast(t) for k, t in zip(view.join_keys, key_types, strict=True)
    )


def _run_arrays(matched: pl.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(
        matched[c].to_numpy().astype(np.int64, copy=False) for c in (_KEY_ID, "start", "stop")
    )


def _matched_runs(
    batches: Batches,
    chunks: list[Chunk],
    view: ViewSource,
    key_types: list[pl.DataType],
    unique_keys: pl.DataFrame,
) -> Iterator[tuple[int, tuple[np.ndarray, ...]]]:
    """Per chunk holding some entity key: its runs ``(key id, start, stop)``.

    The runs of several chunks are matched to entity ids in one hash join, so that a
    large entity frame is probed once per ~million runs rather than once per chunk.
    """
    batch_rows = max(unique_keys.height, 1 << 20)
    pending: list[pl.DataFrame] = []
    pending_rows = 0
    on = list(view.join_keys)
    for c, chunk in enumerate(chunks):
        runs = _key_runs(_chunk_keys(batches, chunk, view, key_types)).with_columns(chunk=pl.lit(c))
        pending.append(runs)
        pending_rows += runs.height
        if pending_rows < batch_rows and c + 1 < len(chunks):
            continue
        matched = pl.concat(pending).join(unique_keys, on=on, how="inner", maintain_order="left")
        by_chunk = matched.partition_by("chunk", as_dict=True, maintain_order=True)
        for (index,), part in by_chunk.items():
            yield int(index), _run_arrays(part)  # type: ignore[call-overload]
        pending, pending_rows = [], 0


def _sorted_chunk(
    batches: Batches,
    chunk: Chunk,
    view: ViewSource,
    key_types: list[pl.DataType],
    unique_keys: pl.DataFrame,
    columns: list[str],
) -> tuple[pl.DataFrame, tuple[np.ndarray, ...], np.ndarray]:
    """A chunk that broke the sort promise, sorted stably, with its runs and original rows."""
    frame = _chunk_keys(batches, chunk, view, key_types, columns).with_row_index(_ROW)
    frame = frame.sort([*view.join_keys, view.event_timestamp], maintain_order=True)
    matched = _key_runs(frame.select(view.join_keys)).join(
        unique_keys, on=list(view.join_keys), how="inner", maintain_order="left"
    )
    return frame, _run_arrays(matched), frame[_ROW].cast(pl.Int64).to_numpy()


def _event_times(frame: pl.DataFrame, view: ViewSource) -> np.ndarray:
    column = frame[view.event_timestamp]
    if column.null_count():
        raise InvalidInput(
            f"view {view.name} has rows without an event timestamp",
            field=view.event_timestamp,
            hint="Every feature row needs its event time; the store rejects such batches at ingestion",
        )
    return timestamps(column, f"view {view.name} event timestamp")


def _gather(
    batches: Batches,
    chunks: list[Chunk],
    winners: _Winners,
    columns: list[str],
    schema: pl.Schema,
    to_entities: np.ndarray,
) -> pl.DataFrame:
    """The winners' ``columns`` in entity order (null rows where none won)."""
    by_chunk, starts = _kernels.group_rows(winners.chunk, len(chunks))
    pieces = [pl.DataFrame(schema={c: schema[c] for c in columns})]
    for c, chunk in enumerate(chunks):
        owners = by_chunk[starts[c] : starts[c + 1]]
        if owners.size:
            pieces.append(batches.read(chunk, columns)[winners.row[owners]])
    found = pl.concat([*pieces, pieces[0].clear(1)])
    # by_chunk lists the grouped rows with a winner in the order `found` holds them;
    # the extra last slot (rows outside every group) and rows without one get the null row.
    index = np.full(winners.chunk.size + 1, found.height - 1, np.int64)
    index[by_chunk] = np.arange(by_chunk.size)
    return found[index[to_entities]]


def _ungroup(values: pl.Series, to_entities: np.ndarray) -> pl.Series:
    """Grouped-order values back in entity order; rows outside every group get null."""
    return values.append(pl.Series([None], dtype=values.dtype))[to_entities]
