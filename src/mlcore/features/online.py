"""The online table: the latest values per key, served from memory in microseconds.

:func:`materialize` computes, per view, the latest row of every key and the
view's aggregations as of now (the engine's :func:`~mlcore.features.retrieval.latest`)
and writes them as an immutable Parquet file of kind ``online``, recorded in the
manifest like any data. :class:`OnlineTable` serves lookups from an in-process
index (a dict from key to row) loaded once per materialization.

Reads enforce the ttl: a value whose event is older than the view's ttl *now*
comes back null (its age stays available with ``with_age``). Aggregations are
as of the materialization; their age is the time since it.

Freshness: a lookup never waits for the catalog except when it checks for a
newer materialization, which it does at most once per ``refresh_s`` seconds
(default 1 s) and only when the catalog files changed since the last check. So
a process sees another process's materialization at most ``refresh_s`` after
it commits, and its own (through the same ``store.features``) at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, NotFound
from mlcore.features import plan as plans
from mlcore.features.ingest import write_file
from mlcore.features.store import (
    ResolvedView,
    check_snapshot,
    parse_refs,
    view_files,
    view_source,
)
from mlcore.store import CATALOG_FILE

if TYPE_CHECKING:
    import polars as pl

    from mlcore.features.definitions import Definition
    from mlcore.store import DataFile, Storage

__all__ = ["Materialization", "OnlineTable", "materialize"]

AGE_SUFFIX = "__age_s"
_FEW_ROWS = 8


@dataclass(frozen=True)
class Materialization:
    """One view's refresh of the online table."""

    view: str
    version: int
    rows: int
    path: str | None  # None: the view has no data yet, nothing was written
    materialized_at: datetime
    data_snapshot: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "version": self.version,
            "rows": self.rows,
            "path": self.path,
            "materialized_at": self.materialized_at,
            "data_snapshot": self.data_snapshot,
        }


def materialize(
    storage: Storage, views: str | Sequence[str] | None = None
) -> list[Materialization]:
    """Write the online rows of ``views`` (default: every view) and record them."""
    from mlcore.features.retrieval import latest

    wanted = [views] if isinstance(views, str) else views
    with storage.transaction() as tx:
        tx.require("features.materialize")
        snapshot = check_snapshot(tx, None)
        known = {name: d for (_, name), d in plans.in_force(tx, kind="view").items()}
        for name in wanted or ():
            if name not in known:
                raise NotFound("feature view", name, candidates=known)
        chosen = [known[n] for n in (wanted or known)]
        files = view_files(tx, chosen)
    now = datetime.now(UTC)
    written: list[tuple[Definition, DataFile | None]] = []
    for d in chosen:
        if not files[d.name]:
            written.append((d, None))
            continue
        every = ResolvedView(
            d,
            tuple(files[d.name]),
            tuple(d.features),
            tuple(d.features),
            tuple((a, a) for a in d.aggregation_names),
        )
        rows = latest(view_source(storage, every), as_of=now)
        written.append((d, write_file(storage, rows, "online")))
    out = []
    try:
        with storage.transaction() as tx:
            tx.require("features.materialize")
            for d, f in written:
                if f is None:
                    out.append(Materialization(d.name, d.version, 0, None, now, snapshot))
                    continue
                seq = tx.register_file(f, kind="online", owner=d.name).seq
                tx.execute(
                    "INSERT INTO feature_online VALUES (?, ?, ?, ?, ?)",
                    [d.name, seq, d.version, now, snapshot],
                )
                tx.audit(
                    "features.materialize",
                    f"view:{d.name}",
                    {"version": d.version, "rows": f.rows, "path": f.path, "snapshot": snapshot},
                )
                out.append(Materialization(d.name, d.version, f.rows, f.path, now, snapshot))
    except BaseException:
        for _, f in written:
            if f is not None:
                storage.files.absolute(f.path).unlink(missing_ok=True)
        raise
    return out


class _ViewIndex:
    """One materialized view in memory: key -> row tuple (values..., event epoch seconds)."""

    def __init__(self, frame: pl.DataFrame, definition: Definition, materialized_at: datetime):
        event = definition.spec["event_timestamp"]
        self.keys = definition.join_keys
        self.columns = [c for c in frame.columns if c not in self.keys and c != event]
        self.position = {c: i for i, c in enumerate(self.columns)}
        self.aggregations = set(definition.aggregation_names)
        # as in retrieval, a count over no events is 0, also for a key never seen
        self.absent = {a.name: 0 for a in definition.aggregations() if a.function == "count"}
        self.dtypes = {c: frame.schema[c] for c in frame.columns}
        epoch = frame[event].dt.epoch("us").cast(float) / 1e6
        values = frame.select(self.columns).with_columns(epoch.alias("__event_s")).rows()
        keys = (
            frame[self.keys[0]].to_list() if len(self.keys) == 1 else frame.select(self.keys).rows()
        )
        self.rows: dict[Any, tuple[Any, ...]] = dict(zip(keys, values, strict=True))
        ttl = definition.ttl
        self.ttl_s = math.inf if ttl is None else ttl.total_seconds()
        self.materialized_s = materialized_at.timestamp()


@dataclass(frozen=True)
class _Plan:
    """A cached lookup recipe: per view, its index, its key columns and its steps
    (position in the index row, result column, is an aggregation, value for an absent key)."""

    steps: tuple[tuple[_ViewIndex, Sequence[str], tuple[tuple[int, str, bool, Any], ...]], ...]
    key_columns: tuple[str, ...]
    schema: dict[str, Any]
    with_age: bool
    integer_keys: tuple[str, ...]  # text given for them is read as a number (CLI input)


class OnlineTable:
    """Lookups of the latest feature values by key (see the module docs)."""

    def __init__(self, storage: Storage, *, refresh_s: float = 1.0) -> None:
        self.storage = storage
        self.refresh_s = refresh_s
        self._checked = -math.inf
        self._stamp: tuple[Any, ...] | None = None
        self._latest: dict[str, tuple[int, Definition, datetime]] = {}
        self._indexes: dict[str, tuple[int, _ViewIndex]] = {}
        self._paths: dict[int | None, str] = {}
        self._plans: dict[Any, _Plan] = {}

    def invalidate(self) -> None:
        """Check for a new materialization at the next lookup."""
        self._checked = -math.inf
        self._stamp = None

    def _catalog_stamp(self) -> tuple[Any, ...]:
        stamp: list[tuple[int, int] | None] = []
        for name in (CATALOG_FILE, CATALOG_FILE + ".wal"):
            try:
                st = (self.storage.root / name).stat()
                stamp.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                stamp.append(None)
        return tuple(stamp)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.refresh_s:
            return
        self._checked = now
        stamp = self._catalog_stamp()
        if stamp == self._stamp:
            return
        with self.storage.transaction() as tx:
            rows = tx.fetchall(
                "SELECT view, seq, version, materialized_at FROM feature_online "
                "QUALIFY row_number() OVER (PARTITION BY view ORDER BY seq DESC) = 1"
            )
            latest = {}
            for view, seq, version, at in rows:
                definition = plans.version(tx, "view", view, version)
                if definition is not None:
                    latest[view] = (seq, definition, at)
            paths = {f.seq: f.path for f in tx.visible_files("online", list(latest))}
        self._stamp = stamp
        if latest != self._latest:
            self._latest = latest
            self._paths = paths
            self._plans.clear()

    def _index(self, view: str) -> _ViewIndex:
        import polars as pl

        if view not in self._latest:
            raise NotFound(
                "online table of view",
                view,
                candidates=self._latest,
                hint=f"Materialize it first: mlcore features materialize {view}",
            )
        seq, definition, at = self._latest[view]
        cached = self._indexes.get(view)
        if cached is None or cached[0] != seq:
            frame = pl.read_parquet(self.storage.files.absolute(self._paths[seq]))
            cached = (seq, _ViewIndex(frame, definition, at))
            self._indexes[view] = cached
        return cached[1]

    def _plan(self, features: tuple[str, ...], full_names: bool, with_age: bool) -> _Plan:
        import polars as pl

        steps: dict[str, list[tuple[int, str, bool, Any]]] = {}
        indexes: dict[str, _ViewIndex] = {}
        seen: dict[str, str] = {}
        for view, feature in parse_refs(list(features)):
            index = indexes.setdefault(view, self._index(view))
            for name in index.columns if feature == "*" else [feature]:
                if name not in index.position:
                    candidates = [f"{view}:{c}" for c in index.columns]
                    raise NotFound("feature", f"{view}:{name}", candidates=candidates)
                column = f"{view}__{name}" if full_names else name
                if seen.setdefault(column, f"{view}:{name}") != f"{view}:{name}":
                    raise InvalidInput(
                        f"feature names collide: {seen[column]} and {view}:{name} -> {column}",
                        field="features",
                        hint="Pass full_names=True for view__feature columns",
                    )
                step = (
                    index.position[name],
                    column,
                    name in index.aggregations,
                    index.absent.get(name),
                )
                if step not in steps.setdefault(view, []):
                    steps[view].append(step)
        keys = tuple(dict.fromkeys(k for v in steps for k in indexes[v].keys))
        schema: dict[str, pl.DataType | type[pl.DataType]] = {
            k: next(indexes[v].dtypes[k] for v in steps if k in indexes[v].keys) for k in keys
        }
        for view, cols in steps.items():
            for position, column, _, _ in cols:
                schema[column] = indexes[view].dtypes[indexes[view].columns[position]]
                if with_age:
                    schema[column + AGE_SUFFIX] = pl.Float64
        plan = tuple((indexes[v], indexes[v].keys, tuple(cols)) for v, cols in steps.items())
        integer_keys = tuple(k for k in keys if schema[k].is_integer())
        return _Plan(plan, keys, schema, with_age, integer_keys)

    def lookup(
        self,
        keys: Any,
        features: str | Sequence[str],
        *,
        full_names: bool = False,
        with_age: bool = False,
    ) -> pl.DataFrame:
        """One row per key row, in order: the key columns and the requested features."""
        import polars as pl

        self._refresh()
        wanted = (features,) if isinstance(features, str) else tuple(features)
        plan = self._plans.get((wanted, full_names, with_age))
        if plan is None:
            plan = self._plans[(wanted, full_names, with_age)] = self._plan(
                wanted, full_names, with_age
            )
        columns = _key_columns(keys, plan.key_columns)
        for key in plan.integer_keys:
            if str in set(map(type, columns[key])):
                columns[key] = [_integer(v, key) if type(v) is str else v for v in columns[key]]
        now = time.time()
        out: dict[str, list[Any]] = dict(columns)
        # Column by column, with list comprehensions: the per-key Python work is a dict
        # lookup and a few indexings, so Polars' frame construction is most of the cost.
        for index, key_columns, steps in plan.steps:
            ids = (
                columns[key_columns[0]]
                if len(key_columns) == 1
                else list(zip(*(columns[k] for k in key_columns), strict=True))
            )
            found = [index.rows.get(k) for k in ids]
            ttl = index.ttl_s
            fresh = found if ttl == math.inf else [
                f if f is not None and now - f[-1] <= ttl else None for f in found
            ]  # fmt: skip
            for position, column, is_aggregation, absent in steps:
                source = found if is_aggregation else fresh
                out[column] = [absent if f is None else f[position] for f in source]
                if with_age:
                    since = now - index.materialized_s
                    out[column + AGE_SUFFIX] = [
                        None if f is None else since if is_aggregation else now - f[-1]
                        for f in found
                    ]
        if (
            len(columns[plan.key_columns[0]]) <= _FEW_ROWS
        ):  # Polars builds a short frame fastest from row dicts
            names = list(out)
            rows = [
                dict(zip(names, values, strict=True)) for values in zip(*out.values(), strict=True)
            ]
            return pl.DataFrame(rows, schema=plan.schema)
        # ...and a longer one from columns; our own values need no type checks, keys do
        return pl.DataFrame(
            [
                pl.Series(name, out[name], dtype, strict=name in columns)
                for name, dtype in plan.schema.items()
            ]
        )


def _key_columns(keys: Any, columns: tuple[str, ...]) -> dict[str, list[Any]]:
    """Key columns as lists: from a dict of columns (or of scalars), a list of dicts, or a frame."""
    if isinstance(keys, dict):
        out = {}
        for c in columns:
            value = keys[c] if c in keys else _missing(c, keys)
            out[c] = list(value) if isinstance(value, (list, tuple)) else [value]
        if len({len(v) for v in out.values()}) > 1:
            raise InvalidInput("key columns differ in length", field="keys")
        return out
    if isinstance(keys, list):
        for row in keys:
            if not isinstance(row, dict):
                raise InvalidInput("keys must be dicts of key columns", field="keys")
            for c in columns:
                if c not in row:
                    _missing(c, row)
        return {c: [row[c] for row in keys] for c in columns}
    from mlcore.frames import to_polars

    frame = to_polars(keys, what="keys")
    for c in columns:
        if c not in frame.columns:
            _missing(c, frame.columns)
    return frame.select(columns).to_dict(as_series=False)


def _integer(text: str, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            f"key {column}={text!r} is not an integer", field=column, hint="The key is an integer"
        ) from None


def _missing(column: str, given: Any) -> Any:
    raise InvalidInput(
        f"the keys have no column '{column}'",
        field=column,
        hint=f"Give every join key of the requested views; given: {', '.join(map(str, given))}",
    )
