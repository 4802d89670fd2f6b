"""The feature store of a store directory: ``store.features``.

:class:`FeatureStore` is the one object front ends use. It plans and applies
definitions, ingests batches, joins features onto entity frames point in time
correctly, saves reproducible training datasets, serves the online table and
answers discovery questions. Catalog work happens in short transactions; the
heavy work (validating and sorting batches, the point-in-time join, statistics)
runs outside them, over files the manifest lists.

References name features as ``"view:feature"`` (a field or an aggregation of the
view) or ``"view:*"`` (all of them). Result columns are the feature names, or
``view__feature`` with ``full_names=True``; two features giving the same column
is an error naming them.

A *snapshot* is a manifest sequence number. ``as_of=S`` reads exactly the data
files and the definition versions the store held at snapshot S, so an earlier
answer comes back unchanged after later ingestion and later applies.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore import settings
from mlcore.capabilities import capability
from mlcore.errors import InvalidInput, NotFound
from mlcore.features import plan as plans
from mlcore.features.definitions import Definition, Entity, FeatureView, load_definitions

if TYPE_CHECKING:
    import polars as pl

    from mlcore.features.datasets import Dataset
    from mlcore.features.ingest import IngestReport, Progress
    from mlcore.features.online import Materialization
    from mlcore.features.retrieval import ViewSource
    from mlcore.store import DataFile, Storage, Tx

__all__ = ["FeatureStore", "Resolution", "ResolvedView"]

_ENTITY_TS = "__mlcore_entity_ts"

Definitions = str | os.PathLike[str] | Entity | FeatureView | Sequence[Entity | FeatureView]


@dataclass(frozen=True)
class ResolvedView:
    """One view of a retrieval: its definition version, data files and requested columns."""

    definition: Definition
    files: tuple[DataFile, ...]
    features: tuple[str, ...]  # requested fields
    outputs: tuple[str, ...]  # their result columns
    aggregations: tuple[tuple[str, str], ...]  # (aggregation name, result column)

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass(frozen=True)
class Resolution:
    """What a retrieval reads: a snapshot, view versions, files; and the columns it returns."""

    snapshot: int
    views: tuple[ResolvedView, ...]
    columns: tuple[str, ...]  # result columns, in the requested order
    refs: tuple[str, ...]  # "view:feature", one per result column

    @property
    def versions(self) -> dict[str, int]:
        return {v.name: v.definition.version for v in self.views}

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "versions": self.versions,
            "columns": dict(zip(self.columns, self.refs, strict=True)),
            "files": {v.name: [f.path for f in v.files] for v in self.views},
        }


def check_snapshot(tx: Tx, as_of: int | None) -> int:
    """``as_of`` checked against the store, or the current snapshot."""
    current = tx.snapshot()
    if as_of is None:
        return current
    if isinstance(as_of, bool) or not isinstance(as_of, int) or not 0 <= as_of <= current:
        raise InvalidInput(
            f"as_of={as_of!r} is not a snapshot of this store",
            field="as_of",
            hint=f"Give a snapshot number from 0 to {current} (the current one)",
        )
    return as_of


def view_files(
    tx: Tx, views: Sequence[Definition], *, at: int | None = None
) -> dict[str, list[DataFile]]:
    """Per view, the data files retrieval reads at snapshot ``at``, in ingestion order:
    those visible then and ingested after the view's last forced restart."""
    since = {d.name: d.data_since for d in views}
    found: dict[str, list[DataFile]] = {name: [] for name in since}
    for f in tx.visible_files("features", list(since), at=at):
        if f.owner in since and (f.seq or 0) > since[f.owner]:
            found[f.owner].append(f)
    return found


def parse_refs(features: str | Sequence[str]) -> list[tuple[str, str]]:
    refs = [features] if isinstance(features, str) else list(features)
    if not refs:
        raise InvalidInput("no features requested", field="features", hint="Name 'view:feature'")
    out = []
    for ref in refs:
        view, sep, feature = ref.partition(":") if isinstance(ref, str) else ("", "", "")
        if not sep or not view or not feature:
            raise InvalidInput(
                f"feature reference {ref!r} is not 'view:feature'",
                field="features",
                hint="Write view:feature, or view:* for all of a view's features",
            )
        out.append((view, feature))
    return out


def resolve(
    tx: Tx,
    features: str | Sequence[str],
    *,
    as_of: int | None = None,
    full_names: bool = False,
    versions: Mapping[str, int] | None = None,
) -> Resolution:
    """Resolve references against the definitions and files of a snapshot (in ``tx``)."""
    snapshot = check_snapshot(tx, as_of)
    refs = parse_refs(features)
    known = {name: d for (_, name), d in plans.in_force(tx, at=snapshot, kind="view").items()}
    chosen: dict[str, Definition] = {}
    requested: dict[str, dict[str, None]] = {}
    for view, feature in refs:
        if view not in chosen:
            pinned = (versions or {}).get(view)
            found = known.get(view) if pinned is None else plans.version(tx, "view", view, pinned)
            if found is None:
                raise NotFound("feature view", view, candidates=known)
            chosen[view] = found
        definition = chosen[view]
        names = [*definition.features, *definition.aggregation_names]
        if feature == "*":
            requested.setdefault(view, {}).update(dict.fromkeys(names))
        elif feature in names:
            requested.setdefault(view, {})[feature] = None
        else:
            candidates = [f"{view}:{n}" for n in names]
            raise NotFound("feature", f"{view}:{feature}", candidates=candidates)
    files = view_files(tx, list(chosen.values()), at=snapshot)
    views, columns, column_refs = [], [], []
    owner_of: dict[str, list[str]] = {}
    for name, definition in chosen.items():
        wanted = list(requested[name])
        fields = [f for f in wanted if f in definition.features]
        aggs = [a for a in wanted if a not in definition.features]
        for f in wanted:
            owner_of.setdefault(_column(name, f, full_names), []).append(f"{name}:{f}")
        views.append(
            ResolvedView(
                definition,
                tuple(files[name]),
                tuple(fields),
                tuple(_column(name, f, full_names) for f in fields),
                tuple((a, _column(name, a, full_names)) for a in aggs),
            )
        )
    clashes = {c: owners for c, owners in owner_of.items() if len(owners) > 1}
    if clashes:
        listed = "; ".join(f"{' and '.join(o)} -> {c}" for c, o in sorted(clashes.items()))
        raise InvalidInput(
            f"feature names collide: {listed}",
            field="features",
            hint="Pass full_names=True (--full-names) for view__feature columns",
        )
    for view, feature in refs:
        expand = requested[view] if feature == "*" else [feature]
        for f in expand:
            column = _column(view, f, full_names)
            if column not in columns:
                columns.append(column)
                column_refs.append(f"{view}:{f}")
    return Resolution(snapshot, tuple(views), tuple(columns), tuple(column_refs))


def _column(view: str, feature: str, full_names: bool) -> str:
    return f"{view}__{feature}" if full_names else feature


def view_source(
    storage: Storage, view: ResolvedView, entity_keys: Sequence[str] | None = None
) -> ViewSource:
    """The engine's description of one resolved view.

    Files written before a field was added lack its column: they are handed to
    the engine as frames with that column null (every other file as its path).
    """
    import polars as pl

    from mlcore.features.definitions import polars_dtype
    from mlcore.features.retrieval import ViewSource

    d = view.definition
    spec = d.spec
    created = spec["created_timestamp"]
    aggs = {a.name: a for a in d.aggregations()}
    needed = {k["name"]: k["dtype"] for k in spec["join_keys"]}
    needed[spec["event_timestamp"]] = "datetime"
    if created:
        needed[created] = "datetime"
    types = d.field_types
    for column in [*view.features, *(aggs[a].column for a, _ in view.aggregations)]:
        needed[column] = types[column]
    data: list[Any] = []
    for f in view.files:
        path = storage.files.absolute(f.path)
        absent = [c for c in needed if c not in f.schema]
        if not absent:
            data.append(str(path))
            continue
        frame = pl.read_parquet(path, columns=[c for c in needed if c in f.schema])
        data.append(
            frame.with_columns(pl.lit(None, polars_dtype(needed[c])).alias(c) for c in absent)
        )
    from dataclasses import replace

    return ViewSource(
        d.name,
        join_keys=tuple(d.join_keys),
        entity_keys=tuple(entity_keys or d.join_keys),
        event_timestamp=spec["event_timestamp"],
        created_timestamp=created,
        ttl=d.ttl,
        features=view.features,
        output_names=view.outputs,
        files=tuple(data),
        aggregations=tuple(replace(aggs[a], name=out) for a, out in view.aggregations),
    )


def _entity_keys(
    view: ResolvedView, key_map: Mapping[str, Any] | None, columns: list[str]
) -> list[str]:
    mapping = (key_map or {}).get(view.name)
    if not isinstance(mapping, Mapping):
        mapping = {k: v for k, v in (key_map or {}).items() if isinstance(v, str)}
    keys = [mapping.get(k, k) for k in view.definition.join_keys]
    for key, column in zip(view.definition.join_keys, keys, strict=True):
        if column not in columns:
            raise InvalidInput(
                f"the entity frame has no column '{column}' (join key of view {view.name})",
                field=column,
                hint=f"Add it, or map it: key_map={{'{key}': '<column>'}} (--key {key}=COLUMN)",
            )
    return keys


class FeatureStore:
    """Feature definitions, data and retrieval of one store (see the module docs).

    Parameters
    ----------
    storage
        The open store.
    store
        The :class:`mlcore.api.Store`, when available: discovery asks
        ``store.models.using_features`` which models use a feature.
    """

    def __init__(self, storage: Storage, store: Any = None) -> None:
        self.storage = storage
        self._store = store
        self._online: Any = None

    def __repr__(self) -> str:
        return f"<FeatureStore {str(self.storage.root)!r}>"

    # -- definitions ----------------------------------------------------------------

    def _objects(self, definitions: Definitions) -> list[Entity | FeatureView]:
        if isinstance(definitions, (str, os.PathLike)):
            return load_definitions(definitions)
        if isinstance(definitions, (Entity, FeatureView)):
            return [definitions]
        objects = list(definitions)
        for view in [o for o in objects if isinstance(o, FeatureView)]:
            objects.extend(e for e in view.entities if isinstance(e, Entity) and e not in objects)
        return objects

    def plan(self, definitions: Definitions, *, prune: bool = False) -> plans.Plan:
        """What :meth:`apply` would change; changes nothing."""
        return plans.apply(self.storage, self._objects(definitions), prune=prune, dry_run=True)

    def apply(
        self, definitions: Definitions, *, force: bool = False, prune: bool = False
    ) -> plans.Plan:
        """Record new versions of the given definitions (a file path, objects or a list).

        Breaking changes need ``force``; removing definitions the input lacks needs ``prune``.
        """
        return plans.apply(self.storage, self._objects(definitions), force=force, prune=prune)

    def views(self, *, as_of: int | None = None) -> list[Definition]:
        """The current (or as of a snapshot) version of every feature view."""
        with self.storage.transaction() as tx:
            return list(plans.in_force(tx, at=check_snapshot(tx, as_of), kind="view").values())

    def entities(self) -> list[Definition]:
        with self.storage.transaction() as tx:
            return list(plans.in_force(tx, kind="entity").values())

    def view(self, name: str, version: int | None = None) -> Definition:
        """One view's current definition, or a given version of it."""
        with self.storage.transaction() as tx:
            if version is not None:
                found = plans.version(tx, "view", name, version)
                if found is not None:
                    return found
                known = [f"{name} v{d.version}" for d in plans.versions(tx, "view", name)]
                raise NotFound("feature view version", f"{name} v{version}", candidates=known)
            return plans.current_view(tx, name)

    def versions(self, name: str, *, kind: str = "view") -> list[Definition]:
        """Every recorded version of a view (or entity), oldest first."""
        with self.storage.transaction() as tx:
            found = plans.versions(tx, kind, name)
            if not found:
                known = [n for _, n in plans.in_force(tx, kind=kind, removed=True)]
                raise NotFound(
                    f"feature {kind}" if kind == "view" else kind, name, candidates=known
                )
        return found

    def snapshot(self) -> int:
        """The current manifest snapshot (pass it as ``as_of`` to read this state later)."""
        with self.storage.transaction() as tx:
            return tx.snapshot()

    # -- ingestion and retrieval ------------------------------------------------------

    def ingest(
        self,
        view: str | FeatureView,
        data: Any = None,
        *,
        assume_tz: str | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Validate a batch against the view and store it (see :mod:`mlcore.features.ingest`).

        ``data`` defaults to the view's source. ``assume_tz`` names the zone of
        naive timestamps (otherwise an error); ``progress(rows, total)`` is called
        after each stored chunk.
        """
        from mlcore.features import ingest

        name = view.name if isinstance(view, FeatureView) else view
        with self.storage.transaction() as tx:
            tx.require("features.ingest")
            definition = plans.current_view(tx, name)
        if data is None:
            data = view.source if isinstance(view, FeatureView) else definition.spec.get("source")
            if data is None:
                raise InvalidInput(
                    f"view {name} has no source to ingest from",
                    field="data",
                    hint="Pass the data (a frame or a Parquet/CSV path)",
                )
        return ingest.ingest(self.storage, definition, data, assume_tz=assume_tz, progress=progress)

    def resolve(
        self,
        features: str | Sequence[str],
        *,
        as_of: int | None = None,
        full_names: bool = False,
        versions: Mapping[str, int] | None = None,
    ) -> Resolution:
        """The snapshot, definition versions, files and columns a retrieval would use."""
        with self.storage.transaction() as tx:
            return resolve(tx, features, as_of=as_of, full_names=full_names, versions=versions)

    def historical(
        self,
        entities: Any,
        features: str | Sequence[str],
        *,
        timestamp: str = "event_timestamp",
        full_names: bool = False,
        as_of: int | None = None,
        key_map: Mapping[str, Any] | None = None,
        assume_tz: str | None = None,
        versions: Mapping[str, int] | None = None,
    ) -> pl.DataFrame:
        """Join features onto ``entities`` point in time correctly.

        Every entity row comes back once, in input order, with all its columns;
        per view, the feature row with the same keys and the greatest event time
        at or before the row's ``timestamp`` (and not older than the view's ttl),
        ties going to the greater created time, then the later ingestion; none:
        null. ``key_map`` renames keys (``{"driver_id": "driver"}``, or per view
        ``{"view": {...}}``); ``versions`` pins view versions (as datasets do).
        """
        frame, _ = self._historical(
            entities,
            features,
            timestamp=timestamp,
            full_names=full_names,
            as_of=as_of,
            key_map=key_map,
            assume_tz=assume_tz,
            versions=versions,
        )
        return frame

    def _historical(
        self,
        entities: Any,
        features: str | Sequence[str],
        *,
        timestamp: str,
        full_names: bool,
        as_of: int | None,
        key_map: Mapping[str, Any] | None,
        assume_tz: str | None,
        versions: Mapping[str, int] | None,
    ) -> tuple[pl.DataFrame, Resolution]:
        from mlcore.features.retrieval import point_in_time_join
        from mlcore.frames import ensure_utc, to_polars

        frame = to_polars(entities, what="entity frame")
        resolution = self.resolve(features, as_of=as_of, full_names=full_names, versions=versions)
        clash = [c for c in resolution.columns if c in frame.columns]
        if clash:
            raise InvalidInput(
                f"the entity frame already has column(s) {', '.join(clash)}",
                field=clash[0],
                hint="Rename them, or pass full_names=True for view__feature columns",
            )
        moment = ensure_utc(frame, timestamp, assume_tz=assume_tz, what="entity frame")[timestamp]
        sources = [
            view_source(self.storage, v, _entity_keys(v, key_map, frame.columns))
            for v in resolution.views
        ]
        joined = point_in_time_join(
            frame.with_columns(moment.alias(_ENTITY_TS)), _ENTITY_TS, sources
        )
        return joined.select(*frame.columns, *resolution.columns), resolution

    # -- datasets ---------------------------------------------------------------------

    def save_dataset(
        self,
        name: str,
        entities: Any,
        features: str | Sequence[str],
        *,
        description: str = "",
        timestamp: str = "event_timestamp",
        full_names: bool = False,
        as_of: int | None = None,
        key_map: Mapping[str, Any] | None = None,
        assume_tz: str | None = None,
    ) -> Dataset:
        """Retrieve and store a training dataset with everything needed to rebuild it."""
        from mlcore.features import datasets

        return datasets.save(
            self,
            name,
            entities,
            features,
            description=description,
            timestamp=timestamp,
            full_names=full_names,
            as_of=as_of,
            key_map=key_map,
            assume_tz=assume_tz,
        )

    def dataset(self, name: str, version: int | None = None) -> Dataset:
        """A saved dataset's record (latest version by default)."""
        from mlcore.features import datasets

        return datasets.get(self.storage, name, version)

    def datasets(self) -> list[Dataset]:
        """The latest version of every saved dataset."""
        from mlcore.features import datasets

        return datasets.listing(self.storage)

    def load_dataset(self, name: str, version: int | None = None) -> pl.DataFrame:
        """A saved dataset's rows, checked against their recorded sha256."""
        from mlcore.features import datasets

        return datasets.load(self.storage, self.dataset(name, version))

    def rebuild(self, name: str, version: int | None = None) -> pl.DataFrame:
        """Recompute a dataset from its recorded snapshot; CheckFailed unless byte-identical."""
        from mlcore.features import datasets

        return datasets.rebuild(self, self.dataset(name, version))

    # -- online -----------------------------------------------------------------------

    def materialize(self, views: str | Sequence[str] | None = None) -> list[Materialization]:
        """Write the latest row per key (and current aggregations) of views to the online table."""
        from mlcore.features import online

        done = online.materialize(self.storage, views)
        if self._online is not None:
            self._online.invalidate()
        return done

    def online(
        self,
        keys: Any,
        features: str | Sequence[str],
        *,
        full_names: bool = False,
        with_age: bool = False,
    ) -> pl.DataFrame:
        """Latest values for entity keys from the online table (ttl enforced on read).

        ``keys``: a dict of columns (``{"driver_id": [1, 2]}``), a list of such
        row dicts, or a frame. Values older than the view's ttl come back null;
        ``with_age`` adds ``<column>__age_s``, the age of each value in seconds.
        """
        if self._online is None:
            from mlcore.features.online import OnlineTable

            self._online = OnlineTable(self.storage, refresh_s=settings.get("online_refresh"))
        return self._online.lookup(keys, features, full_names=full_names, with_age=with_age)

    # -- discovery --------------------------------------------------------------------

    def summary(self) -> list[dict[str, Any]]:
        """One line per view: version, entities, features, owner, rows, files, last ingestion."""
        from mlcore.features import discovery

        return discovery.summary(self.storage)

    def describe(self, name: str) -> dict[str, Any]:
        """Everything about one view: definition, versions, data, and the models using it."""
        from mlcore.features import discovery

        return discovery.describe(self.storage, name, models=self._models_using)

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Views and features matching words of ``query``, best first (see discovery)."""
        from mlcore.features import discovery

        return discovery.search(self.storage, query, limit=limit)

    def stats(self, view: str, *, as_of: int | None = None) -> dict[str, Any]:
        """Per-feature statistics of a view's data (cached per data snapshot)."""
        from mlcore.features import discovery

        return discovery.stats(self.storage, view, as_of=as_of, models=self._models_using)

    def _models_using(self, refs: Sequence[str]) -> Any:
        """The registry's answer to "which models use these features", if it has the hook."""
        hook: Callable[[Sequence[str]], Any] | None = getattr(
            capability(self._store, "models"), "using_features", None
        )
        return None if hook is None else hook(refs)
