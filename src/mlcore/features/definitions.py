"""Entities and feature views, defined as code and applied with a plan.

An :class:`Entity` names what features describe (a driver, a customer) and the
key columns that identify one. A :class:`FeatureView` is a table of features of
one or more entities over time: its :class:`Field` schema, the event-time column
saying when each value became true, an optional created-time column breaking
ties, an optional ttl, the aggregations computed over its events, and who owns
it. Definitions live in a Python file; ``mlcore apply DEFS.py --plan`` shows
what would change in the store and ``mlcore apply DEFS.py`` records it.

Types are named by strings (``"int64"``, ``"float64"``, ``"string"``,
``"datetime"`` ...; see :data:`DTYPES`) or given as Python or Polars types.

Examples
--------
>>> driver = Entity("driver", join_keys=["driver_id"])
>>> driver.join_keys
(Field(name='driver_id', dtype='int64', description='', tags={}),)
>>> stats = FeatureView(
...     "driver_stats", entities=driver,
...     schema={"conv_rate": float, "trips_today": "int32"},
...     event_timestamp="ts", ttl="2h", owner="ana", tags=["core"],
... )
>>> [f.name for f in stats.schema], stats.ttl
(['conv_rate', 'trips_today'], datetime.timedelta(seconds=7200))
>>> stats.spec({"driver": driver.spec()})["join_keys"]
[{'name': 'driver_id', 'dtype': 'int64'}]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import runpy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.durations import parse_duration
from mlcore.errors import InvalidInput, MlcoreError, NotFound

if TYPE_CHECKING:
    import polars as pl

    from mlcore.features.aggregations import Aggregation

__all__ = [
    "DTYPES",
    "Aggregation",
    "Definition",
    "Entity",
    "FeatureView",
    "Field",
    "dtype_name",
    "fingerprint",
    "load_definitions",
    "polars_dtype",
]

DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "string",
    "date",
    "datetime",
)
"""Feature types. ``datetime`` is always timezone-aware UTC, microsecond precision."""

KEY_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "string")
_ALIASES = {
    "int": "int64",
    "integer": "int64",
    "float": "float64",
    "double": "float64",
    "str": "string",
    "utf8": "string",
    "text": "string",
    "categorical": "string",
    "boolean": "bool",
    "timestamp": "datetime",
}
_PY_TYPES = {int: "int64", float: "float64", str: "string", bool: "bool", dt.datetime: "datetime"}


def __getattr__(name: str) -> Any:
    # Aggregation lives with the engine; importing it loads Numba, so only on use.
    if name == "Aggregation":
        from mlcore.features.aggregations import Aggregation

        return Aggregation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def dtype_name(dtype: object, *, what: str = "type") -> str:
    """The canonical name of a type given as a string, a Python type or a Polars type.

    >>> dtype_name(float), dtype_name("Int32"), dtype_name("utf8")
    ('float64', 'int32', 'string')
    """
    if isinstance(dtype, type) and dtype in _PY_TYPES:
        return _PY_TYPES[dtype]
    text = dtype if isinstance(dtype, str) else None
    module = dtype.__module__ if isinstance(dtype, type) else type(dtype).__module__
    if text is None and module.startswith("polars"):  # pl.Int64 or pl.Datetime("us", "UTC")
        text = str(dtype).split("(")[0]
    if text is not None:
        key = text.strip().lower()
        key = _ALIASES.get(key, key)
        if key in DTYPES:
            return key
    raise InvalidInput(
        f"{what} {dtype!r} is not a feature type",
        field=what,
        hint=f"Use one of {', '.join(DTYPES)}",
    )


def polars_dtype(name: str) -> pl.DataType:
    """The Polars type stored for a canonical type name."""
    import polars as pl

    if name == "datetime":
        return pl.Datetime("us", "UTC")
    table = {
        "bool": pl.Boolean,
        "string": pl.String,
        "date": pl.Date,
        "float32": pl.Float32,
        "float64": pl.Float64,
        **{n: getattr(pl, n.capitalize().replace("Uint", "UInt")) for n in KEY_DTYPES[:-1]},
    }
    return table[name]()


def _tags(value: Mapping[str, str] | Sequence[str] | None, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = [value]
    pairs = value.items() if isinstance(value, Mapping) else ((t, "") for t in value)
    out = {}
    for key, val in pairs:
        if not isinstance(key, str) or not key or not isinstance(val, str):
            raise InvalidInput(
                f"{what} tags must be text, got {key!r}: {val!r}",
                field="tags",
                hint="Give a list of tags or a dict of tag -> value",
            )
        out[key] = val
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class Field:
    """One typed column of a feature view (or a join key of an entity)."""

    name: str
    dtype: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names.validate("feature name", self.name)
        object.__setattr__(self, "dtype", dtype_name(self.dtype, what=f"type of {self.name}"))
        object.__setattr__(self, "tags", _tags(self.tags, f"field {self.name}"))

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "description": self.description,
            "tags": self.tags,
        }


def _fields(value: Any, what: str, *, default_dtype: str | None = None) -> tuple[Field, ...]:
    """Fields from a list of Field/names or a ``{name: dtype}`` dict; names unique."""
    if isinstance(value, (str, Field)):
        value = [value]
    if isinstance(value, Mapping):
        items = [Field(n, t) for n, t in value.items()]
    else:
        items = []
        for item in value or ():
            if isinstance(item, Field):
                items.append(item)
            elif isinstance(item, str) and default_dtype:
                items.append(Field(item, default_dtype))
            else:
                raise InvalidInput(
                    f"{what} entry {item!r} is not a Field",
                    field=what,
                    hint="Use Field(name, dtype) or a {name: dtype} dict",
                )
    seen: set[str] = set()
    for f in items:
        if f.name in seen:
            raise InvalidInput(f"{what} names {f.name!r} twice", field=f.name)
        seen.add(f.name)
    return tuple(items)


@dataclass(frozen=True)
class Entity:
    """What features describe, and the key columns identifying one.

    Parameters
    ----------
    name
        The entity's name, e.g. ``driver``.
    join_keys
        Key column names (type ``int64``), :class:`Field` objects, or a
        ``{name: dtype}`` dict; integer or string types. Default: ``[name]``.
    description
        Free text, searched by discovery.
    """

    name: str
    join_keys: tuple[Field, ...] = ()
    description: str = ""

    if TYPE_CHECKING:
        # The generated __init__ would take the fields' types, which only __post_init__
        # produces; callers give any of the forms above.
        def __init__(
            self,
            name: str,
            join_keys: Field | str | Sequence[Field | str] | Mapping[str, object] = ...,
            description: str = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        names.validate("entity name", self.name)
        keys = _fields(
            self.join_keys or [self.name], f"entity {self.name} join_keys", default_dtype="int64"
        )
        for key in keys:
            if key.dtype not in KEY_DTYPES:
                raise InvalidInput(
                    f"entity {self.name}: join key {key.name} is {key.dtype}",
                    field=key.name,
                    hint="Join keys are integers or strings",
                )
        object.__setattr__(self, "join_keys", keys)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "join_keys": [{"name": k.name, "dtype": k.dtype} for k in self.join_keys],
            "description": self.description,
        }


def _ttl(value: dt.timedelta | str | None) -> dt.timedelta | None:
    return None if value is None else parse_duration(value, field="ttl")


@dataclass(frozen=True, eq=False)
class FeatureView:
    """A table of features of some entities over time.

    Parameters
    ----------
    name
        The view's name, used in references ``view:feature``.
    entities
        One :class:`Entity` (or entity name) or several; the view's join keys are
        their keys, in order.
    schema
        The feature columns: a list of :class:`Field` or a ``{name: dtype}`` dict.
    source
        Where :meth:`FeatureStore.ingest` reads when given no data: a Parquet or
        CSV path (relative paths resolve against the definitions file) or a frame.
    event_timestamp
        The column saying when each row's values became true.
    created_timestamp
        Optional column saying when a row was written; the later one wins a tie
        on event time.
    ttl
        How old a value may be relative to the entity timestamp (``"24h"``, a
        timedelta); None means no limit.
    owner, tags, description
        For discovery; tags are a list or a ``{tag: value}`` dict.
    aggregations
        :class:`Aggregation` objects over the view's events, computed as of each
        entity timestamp at retrieval and as of now when materialized.
    """

    name: str
    entities: tuple[Entity | str, ...]
    schema: tuple[Field, ...]
    source: Any = None
    event_timestamp: str = "event_timestamp"
    created_timestamp: str | None = None
    ttl: dt.timedelta | None = None
    owner: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    aggregations: tuple[Aggregation, ...] = ()

    if TYPE_CHECKING:
        # As for Entity: __post_init__ normalises what callers give to the fields' types.
        def __init__(
            self,
            name: str,
            entities: Entity | str | Sequence[Entity | str],
            schema: Field | Sequence[Field] | Mapping[str, object],
            source: Any = ...,
            event_timestamp: str = ...,
            created_timestamp: str | None = ...,
            ttl: dt.timedelta | str | None = ...,
            owner: str | None = ...,
            tags: Mapping[str, str] | Sequence[str] | None = ...,
            description: str = ...,
            aggregations: Sequence[Aggregation] = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        names.validate("view name", self.name)
        ents = self.entities
        ents = (ents,) if isinstance(ents, (Entity, str)) else tuple(ents or ())
        if not ents:
            raise InvalidInput(f"view {self.name} has no entity", field="entities")
        for e in ents:
            if isinstance(e, str):
                names.validate("entity name", e)
            elif not isinstance(e, Entity):
                raise InvalidInput(f"view {self.name}: {e!r} is not an Entity", field="entities")
        object.__setattr__(self, "entities", ents)
        object.__setattr__(self, "schema", _fields(self.schema, f"view {self.name} schema"))
        names.validate("event timestamp column", self.event_timestamp)
        if self.created_timestamp is not None:
            names.validate("created timestamp column", self.created_timestamp)
        object.__setattr__(self, "ttl", _ttl(self.ttl))
        object.__setattr__(self, "tags", _tags(self.tags, f"view {self.name}"))
        if isinstance(self.source, (str, os.PathLike)):
            object.__setattr__(self, "source", os.fspath(self.source))
        aggs = tuple(self.aggregations or ())
        object.__setattr__(self, "aggregations", aggs)
        self._check_columns()

    def _check_columns(self) -> None:
        taken: dict[str, str] = {self.event_timestamp: "the event timestamp"}
        if self.created_timestamp:
            if self.created_timestamp in taken:
                raise InvalidInput(
                    f"view {self.name}: created and event timestamps are the same column",
                    field=self.created_timestamp,
                )
            taken[self.created_timestamp] = "the created timestamp"
        for e in self.entities:
            if isinstance(e, str):  # known by name only: spec() checks its keys once resolved
                continue
            for key in e.join_keys:
                if key.name in taken:
                    raise InvalidInput(
                        f"view {self.name}: join key {key.name} is also {taken[key.name]}",
                        field=key.name,
                    )
                taken[key.name] = f"a join key of {e.name}"
        by_name = {f.name: f for f in self.schema}
        for f in self.schema:
            if f.name in taken:
                raise InvalidInput(
                    f"view {self.name}: feature {f.name} is also {taken[f.name]}", field=f.name
                )
        for agg in self.aggregations:
            if not all(hasattr(agg, a) for a in ("column", "function", "window", "name")):
                raise InvalidInput(
                    f"view {self.name}: {agg!r} is not an Aggregation", field="aggregations"
                )
            names.validate("aggregation name", agg.name)
            if agg.column not in by_name:
                raise NotFound(
                    f"column of aggregation {agg.name} in view {self.name}",
                    agg.column,
                    candidates=by_name,
                )
            agg.check_type(polars_dtype(by_name[agg.column].dtype), self.name)
            if agg.name in by_name or agg.name in taken:
                raise InvalidInput(
                    f"view {self.name}: aggregation name {agg.name} is already a column",
                    field=agg.name,
                    hint="Name it with Aggregation(..., name=...)",
                )
            taken[agg.name] = f"aggregation {agg.name}"

    @property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(e if isinstance(e, str) else e.name for e in self.entities)

    def spec(self, entities: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The canonical, JSON-ready form stored in the catalog.

        ``entities`` maps entity names to their specs (the view's join keys are
        resolved from them, so that an entity's change shows in its views).
        """
        join_keys: list[dict[str, str]] = []
        for name in self.entity_names:
            if name not in entities:
                raise NotFound(f"entity of view {self.name}", name, candidates=entities)
            join_keys.extend(entities[name]["join_keys"])
        clash = {k["name"] for k in join_keys} & (
            {f.name for f in self.schema} | {self.event_timestamp, self.created_timestamp}
        )
        if clash or len({k["name"] for k in join_keys}) != len(join_keys):
            raise InvalidInput(
                f"view {self.name}: join key columns clash ({', '.join(sorted(clash)) or 'twice'})",
                field="entities",
            )
        source = self.source if isinstance(self.source, str) else None
        return {
            "name": self.name,
            "entities": list(self.entity_names),
            "join_keys": join_keys,
            "event_timestamp": self.event_timestamp,
            "created_timestamp": self.created_timestamp,
            "ttl_us": None if self.ttl is None else self.ttl // dt.timedelta(microseconds=1),
            "fields": [f.spec() for f in self.schema],
            "aggregations": [
                {
                    "name": a.name,
                    "column": a.column,
                    "function": a.function,
                    "window_us": a.window // dt.timedelta(microseconds=1),
                }
                for a in self.aggregations
            ],
            "owner": self.owner,
            "tags": self.tags,
            "description": self.description,
            "source": source,
        }


def fingerprint(spec: Mapping[str, Any]) -> str:
    """sha256 of a spec's canonical JSON: equal specs, equal fingerprints."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Definition:
    """One recorded version of an entity or a feature view, as the catalog keeps it."""

    kind: str  # "entity" | "view"
    name: str
    version: int
    status: str  # "active" | "removed"
    spec: dict[str, Any]
    breaking: bool = False
    forced: bool = False
    data_since: int = 0
    def_seq: int = 0
    created_at: dt.datetime | None = None
    created_by: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.name}/{self.version}"

    @property
    def join_keys(self) -> list[str]:
        return [k["name"] for k in self.spec["join_keys"]]

    @property
    def features(self) -> list[str]:
        return [f["name"] for f in self.spec.get("fields", [])]

    @property
    def field_types(self) -> dict[str, str]:
        return {f["name"]: f["dtype"] for f in self.spec.get("fields", [])}

    @property
    def ttl(self) -> dt.timedelta | None:
        us = self.spec.get("ttl_us")
        return None if us is None else dt.timedelta(microseconds=us)

    def aggregations(self) -> list[Aggregation]:
        from mlcore.features.aggregations import Aggregation

        return [
            Aggregation(
                a["column"], a["function"], dt.timedelta(microseconds=a["window_us"]), a["name"]
            )
            for a in self.spec.get("aggregations", [])
        ]

    @property
    def aggregation_names(self) -> list[str]:
        return [a["name"] for a in self.spec.get("aggregations", [])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "breaking": self.breaking,
            "forced": self.forced,
            "data_since": self.data_since,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "spec": self.spec,
        }


def load_definitions(path: str | os.PathLike[str]) -> list[Entity | FeatureView]:
    """Run a definitions file and collect every Entity and FeatureView it defines.

    Module-level objects are collected, and so are the entities their views
    refer to. A relative ``source`` path resolves against the file's folder.
    """
    p = Path(path)
    if not p.is_file():
        raise NotFound(
            "definitions file", str(p), hint="Name a Python file defining entities and views"
        )
    if p.suffix != ".py":
        raise InvalidInput(
            f"definitions file {p} is not a .py file", hint="Definitions are Python code"
        )
    try:
        namespace = runpy.run_path(str(p), run_name="__mlcore_definitions__")
    except MlcoreError:
        raise
    except Exception as exc:  # the user's code: report it as bad input, not a crash
        raise InvalidInput(
            f"definitions file {p} failed: {type(exc).__name__}: {exc}",
            hint="Fix the file; run it with python to see the traceback",
        ) from exc
    found: dict[tuple[str, str], Entity | FeatureView] = {}

    def add(obj: Entity | FeatureView) -> None:
        key = ("entity" if isinstance(obj, Entity) else "view", obj.name)
        seen = found.get(key)
        if seen is not None and seen is not obj and (isinstance(obj, FeatureView) or seen != obj):
            raise InvalidInput(
                f"definitions file {p} defines {key[0]} {obj.name} twice, differently",
                hint="Give each definition its own name",
            )
        found.setdefault(key, obj)

    for value in namespace.values():
        if isinstance(value, FeatureView):
            if isinstance(value.source, str) and not os.path.isabs(value.source):
                value = replace(value, source=str((p.parent / value.source).resolve()))
            for e in value.entities:
                if isinstance(e, Entity):
                    add(e)
            add(value)
        elif isinstance(value, Entity):
            add(value)
    return list(found.values())
