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
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from mlcore.errors import InvalidInput, NotFound
from mlcore.features import _kernels
from mlcore.features._chunks import Batches, Chunk, FeatureData, micros, timestamps
from mlcore.features._runs import KeyIndex, Runs, key_runs, key_types
from mlcore.features.aggregations import Aggregation, WindowStats

__all__ = ["ViewSource", "latest", "point_in_time_join"]

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
        key_runs(batches.read(chunk, view.join_keys)).select(view.join_keys)
        for chunk in batches.plan(view.event_timestamp, None, micros(as_of))
    ]
    schema = batches.schema()
    empty = pl.DataFrame(schema={k: schema[k] if schema else pl.Null for k in view.join_keys})
    entities = pl.concat([empty, *keys]).unique().sort(view.join_keys)
    at = "__mlcore_as_of"
    entities = entities.with_columns(pl.lit(as_of).dt.convert_time_zone("UTC").alias(at))
    online = replace(view, entity_keys=view.join_keys, ttl=None, matched_timestamp=at + "_matched")
    out = point_in_time_join(entities, at, [online]).filter(pl.col(at + "_matched").is_not_null())
    return out.drop(at).rename({at + "_matched": view.event_timestamp})


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
                raise NotFound("entity column", key, candidates=entities.columns)
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


class _Searches:
    """What one pass over a view's chunks folds: as-of winners and window statistics.

    One winner search per distinct lookback: the join's ttl, and each ``last`` window
    (last over ``(t - w, t]`` is an as-of search with the inclusive bound
    ``t - (w - 1 µs)``); one set of statistics per (column, window).
    """

    def __init__(self, view: ViewSource, schema: pl.Schema, rows: int) -> None:
        ttl = view.ttl
        self.join = -1 if ttl is None else min(ttl // dt.timedelta(microseconds=1), _MAX_LOOKBACK)
        self.winners: dict[int, _Winners] = {}
        if view.features or view.matched_timestamp:
            self.winners[self.join] = _Winners(rows, self.join)
        self.stats: dict[tuple[str, int], WindowStats] = {}
        for agg in view.aggregations:
            if agg.function == "last":
                self.winners.setdefault(agg.window_us - 1, _Winners(rows, agg.window_us - 1))
                continue
            key = (agg.column, agg.window_us)
            if key not in self.stats:
                self.stats[key] = WindowStats(schema[agg.column], agg.window_us, rows, False)
            self.stats[key].with_m2 |= agg.function == "stddev"

    @property
    def value_columns(self) -> list[str]:
        return list(dict.fromkeys(column for column, _ in self.stats))

    @property
    def reach(self) -> list[int]:
        """How far back (µs) each search looks; -1: without limit."""
        return [*self.winners, *(window for _, window in self.stats)]

    def fold(
        self,
        runs: Runs,
        ts: np.ndarray,
        created: np.ndarray,
        row_map: np.ndarray,
        frame: pl.DataFrame,
        index: KeyIndex,
        grouped_ts: np.ndarray,
        chunk: int,
    ) -> None:
        for w in self.winners.values():
            _kernels.asof_winners(
                *runs,
                ts,
                created,
                row_map,
                index.starts,
                grouped_ts,
                w.lookback,
                chunk,
                w.ts,
                w.created,
                w.chunk,
                w.row,
            )
        for (column, _), group in self.stats.items():
            group.fold(runs, ts, frame[column], index.starts, grouped_ts)


def _join_view(
    entities: pl.DataFrame, entity_ts: np.ndarray, usable: np.ndarray, view: ViewSource
) -> pl.DataFrame:
    batches = Batches(view.files, view.name)
    schema = batches.schema()
    if schema is None:  # nothing ingested yet: every value is missing, of unknown type
        return _all_missing(view, entities.height)
    times = [view.event_timestamp, *([view.created_timestamp] if view.created_timestamp else [])]
    batches.require(
        [*view.join_keys, *times, *view.features, *(a.column for a in view.aggregations)]
    )
    for agg in view.aggregations:
        agg.check_type(schema[agg.column], view.name)
    types = key_types(view.name, view.join_keys, view.entity_keys, schema, entities.schema)
    index = KeyIndex(entities, usable, view.entity_keys, view.join_keys, types)
    grouped_ts = entity_ts[index.order]
    searches = _Searches(view, schema, index.order.size)
    chunks = _plan(batches, view, grouped_ts, searches.reach)
    columns = [*times, *searches.value_columns]
    seen = np.full(index.keys, -1, np.int64)
    for c, runs in index.runs(batches, chunks):
        frame = batches.read(chunks[c], columns)
        row_map = np.empty(0, np.int64)
        ts = _event_times(frame, view)
        if not _kernels.runs_are_sorted(*runs, ts, seen, c):
            frame, runs, row_map = index.sorted_chunk(
                batches, chunks[c], view.event_timestamp, columns
            )
            ts = _event_times(frame, view)
        created = (
            timestamps(frame[view.created_timestamp], f"view {view.name} created timestamp")
            if view.created_timestamp
            else np.zeros(ts.size, np.int64)
        )
        searches.fold(runs, ts, created, row_map, frame, index, grouped_ts, c)
    return _outputs(view, batches, chunks, schema, searches, index, entities.height)


def _outputs(
    view: ViewSource,
    batches: Batches,
    chunks: list[Chunk],
    schema: pl.Schema,
    searches: _Searches,
    index: KeyIndex,
    rows: int,
) -> pl.DataFrame:
    """The view's result columns, in entity order."""
    to_entities = np.full(rows, index.order.size, np.int64)
    to_entities[index.order] = np.arange(index.order.size)

    def gather(winners: _Winners, columns: list[str]) -> pl.DataFrame:
        return _gather(batches, chunks, winners, columns, schema, to_entities)

    out: dict[str, pl.Series] = {}
    if view.features:
        found = gather(searches.winners[searches.join], list(view.features))
        for feature, name in zip(view.features, view.output_names, strict=True):
            out[name] = found[feature]
    for agg in view.aggregations:
        if agg.function == "last":
            out[agg.name] = gather(searches.winners[agg.window_us - 1], [agg.column])[agg.column]
            continue
        values = _ungroup(
            searches.stats[(agg.column, agg.window_us)].result(agg.function), to_entities
        )
        out[agg.name] = values.fill_null(0) if agg.function == "count" else values
    if view.matched_timestamp:
        w = searches.winners[searches.join]
        matched = pl.Series(w.ts).cast(pl.Datetime("us", "UTC"))
        out[view.matched_timestamp] = _ungroup(
            matched.scatter(np.flatnonzero(w.chunk < 0), None), to_entities
        )
    return pl.DataFrame(out)


def _all_missing(view: ViewSource, rows: int) -> pl.DataFrame:
    out = pl.DataFrame({name: pl.repeat(None, rows, eager=True) for name in view.outputs})
    return out.with_columns(
        pl.lit(0, pl.Int64).alias(a.name) for a in view.aggregations if a.function == "count"
    )


def _plan(
    batches: Batches, view: ViewSource, grouped_ts: np.ndarray, reach: list[int]
) -> list[Chunk]:
    """The chunks whose event times can matter to some entity row."""
    if grouped_ts.size == 0:
        return []
    lo = None if -1 in reach else int(grouped_ts.min()) - max(reach)
    return batches.plan(view.event_timestamp, lo, int(grouped_ts.max()))


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
