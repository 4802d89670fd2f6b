"""Plan and apply definitions: what changes, whether it breaks, and the versions it records.

A plan compares the definitions given (a definitions file's entities and views)
with the latest recorded versions. Each entity or view is *added*, *changed*,
*removed* (recorded in the store, absent from the file) or unchanged. A change
is **breaking** when it can break a consumer or the stored data: a removed
field or aggregation, a field's type, the join keys, the entities, the event or
created timestamp column. Applying refuses a breaking change unless forced
(permission ``features.apply_breaking``, audited as such), and records removals
only with ``prune``: nothing disappears from the store by omission.

A change to keys, timestamps or a field's type also makes the view's stored data
unreadable under the new definition, so a forced one starts the view afresh:
retrieval reads only data ingested after it (``data_since``), while earlier
snapshots and datasets keep reading the earlier data under the earlier version.

Every apply that records something also writes one small definitions file to
the manifest, so that a manifest snapshot pins definitions exactly as it pins
data: the versions in force at snapshot S are the latest with ``def_seq <= S``.

Examples
--------
>>> old = {"name": "v", "join_keys": [{"name": "id", "dtype": "int64"}],
...        "fields": [{"name": "x", "dtype": "int64"}], "ttl_us": None}
>>> new = {**old, "fields": [{"name": "x", "dtype": "float64"}], "ttl_us": 3_600_000_000}
>>> lines, breaking, new_data = diff_view(old, new)
>>> lines
['~ field x: int64 -> float64 (breaking)', '~ ttl: none -> 1:00:00']
>>> breaking, new_data
(True, True)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlcore.errors import Conflict, InvalidInput, NotFound
from mlcore.features.definitions import Definition, Entity, FeatureView, fingerprint

if TYPE_CHECKING:
    from mlcore.store import Storage, Tx

__all__ = [
    "Change",
    "Plan",
    "apply",
    "current_view",
    "diff_entity",
    "diff_view",
    "in_force",
    "make_plan",
]

DEFINITIONS_OWNER = "_definitions"  # never a valid view name: data files of views can't clash

_COLUMNS = (
    "kind, name, version, status, spec, breaking, forced, data_since, def_seq, created_at, "
    "created_by"
)


@dataclass(frozen=True)
class Change:
    """What applying does to one entity or view."""

    kind: str  # "entity" | "view"
    name: str
    action: str  # "add" | "change" | "remove" | "unchanged"
    details: tuple[str, ...] = ()
    breaking: bool = False
    new_data: bool = False  # the stored data is unreadable under the new definition
    version: int | None = None  # the latest recorded version, if any
    spec: dict[str, Any] | None = None  # the desired spec (None for a removal)

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "breaking": self.breaking,
            "new_data": self.new_data,
            "version": self.version,
            "details": list(self.details),
        }


@dataclass
class Plan:
    """The changes applying would make (or made, once ``applied``)."""

    changes: list[Change]
    prune: bool = False
    applied: bool = False
    versions: dict[str, int] = field(default_factory=dict)  # subject -> new version

    def _with(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def pending(self) -> list[Change]:
        """The changes that applying records (removals only with ``prune``)."""
        return [
            c
            for c in self.changes
            if c.action in ("add", "change") or (c.action == "remove" and self.prune)
        ]

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.pending if c.breaking]

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "prune": self.prune,
            "added": [c.to_dict() for c in self._with("add")],
            "changed": [c.to_dict() for c in self._with("change")],
            "removed": [c.to_dict() for c in self._with("remove")],
            "unchanged": [c.subject for c in self._with("unchanged")],
            "breaking": [c.subject for c in self.breaking],
            "versions": self.versions,
        }

    def render(self) -> str:
        """The plan as a diff for people: ``+`` added, ``~`` changed, ``-`` removed."""
        lines = []
        marks = {"add": "+", "change": "~", "remove": "-"}
        for c in self.changes:
            if c.action == "unchanged":
                continue
            where = f"v{c.version} -> v{self.versions.get(c.subject, '?')}" if c.version else "new"
            if c.action == "remove":
                where = f"v{c.version}" + ("" if self.prune else " (kept: apply with --prune)")
            label = " BREAKING" if c.breaking else ""
            lines.append(f"{marks[c.action]} {c.kind} {c.name}  {where}{label}")
            lines.extend(f"    {d}" for d in c.details)
        n = {a: len(self._with(a)) for a in ("add", "change", "remove", "unchanged")}
        verb = "applied" if self.applied else "to apply" if self.pending else "nothing to apply"
        lines.append(
            f"{n['add']} added, {n['change']} changed, {n['remove']} removed, "
            f"{n['unchanged']} unchanged ({len(self.breaking)} breaking; {verb})"
        )
        return "\n".join(lines)


def _keys(spec: Mapping[str, Any]) -> list[str]:
    return [f"{k['name']}:{k['dtype']}" for k in spec.get("join_keys", [])]


def diff_entity(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], bool]:
    """Lines describing an entity's change, and whether it breaks."""
    lines, breaking = [], False
    if _keys(old) != _keys(new):
        lines.append(f"~ join keys: {', '.join(_keys(old))} -> {', '.join(_keys(new))} (breaking)")
        breaking = True
    if old.get("description") != new.get("description"):
        lines.append("~ description")
    return lines, breaking


def _ttl_text(us: int | None) -> str:
    return "none" if us is None else str(dt.timedelta(microseconds=us))


def diff_view(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], bool, bool]:
    """Lines describing a view's change, whether it breaks, whether it needs new data."""
    lines: list[str] = []
    breaking = new_data = False

    def note(text: str, *, breaks: bool = False, rewrites: bool = False) -> None:
        nonlocal breaking, new_data
        lines.append(text + (" (breaking)" if breaks else ""))
        breaking |= breaks
        new_data |= rewrites

    if old.get("entities") != new.get("entities"):
        note(f"~ entities: {old.get('entities')} -> {new.get('entities')}", breaks=True)
    if _keys(old) != _keys(new):
        note(
            f"~ join keys: {', '.join(_keys(old))} -> {', '.join(_keys(new))}",
            breaks=True,
            rewrites=True,
        )
    for what in ("event_timestamp", "created_timestamp"):
        if old.get(what) != new.get(what):
            note(
                f"~ {what.replace('_', ' ')}: {old.get(what)} -> {new.get(what)}",
                breaks=True,
                rewrites=True,
            )
    before = {f["name"]: f for f in old.get("fields", [])}
    after = {f["name"]: f for f in new.get("fields", [])}
    for name, f in after.items():
        if name not in before:
            note(f"+ field {name} ({f['dtype']})")
        elif before[name]["dtype"] != f["dtype"]:
            note(
                f"~ field {name}: {before[name]['dtype']} -> {f['dtype']}",
                breaks=True,
                rewrites=True,
            )
        elif before[name] != f:
            note(f"~ field {name}: description or tags")
    for name in before.keys() - after.keys():
        note(f"- field {name}", breaks=True)
    aggs_before = {a["name"]: a for a in old.get("aggregations", [])}
    aggs_after = {a["name"]: a for a in new.get("aggregations", [])}
    for name, a in aggs_after.items():
        if name not in aggs_before:
            note(f"+ aggregation {name}")
        elif aggs_before[name] != a:
            note(f"~ aggregation {name}: now {a['function']}({a['column']})", breaks=True)
    for name in aggs_before.keys() - aggs_after.keys():
        note(f"- aggregation {name}", breaks=True)
    if old.get("ttl_us") != new.get("ttl_us"):
        note(f"~ ttl: {_ttl_text(old.get('ttl_us'))} -> {_ttl_text(new.get('ttl_us'))}")
    for what in ("owner", "tags", "description", "source"):
        if old.get(what) != new.get(what):
            note(f"~ {what}: {old.get(what)!r} -> {new.get(what)!r}")
    return lines, breaking, new_data


def _row(row: tuple[Any, ...]) -> Definition:
    kind, name, version, status, spec, breaking, forced, since, seq, at, by = row
    return Definition(
        kind, name, version, status, json.loads(spec), breaking, forced, since, seq, at, by
    )


def in_force(
    tx: Tx, *, at: int | None = None, kind: str | None = None, removed: bool = False
) -> dict[tuple[str, str], Definition]:
    """The latest version of every definition recorded by snapshot ``at`` (default: now).

    Removed definitions are left out unless ``removed``.
    """
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM feature_definitions "
        "WHERE (? IS NULL OR def_seq <= ?) AND (? IS NULL OR kind = ?) "
        "QUALIFY row_number() OVER (PARTITION BY kind, name ORDER BY version DESC) = 1 "
        "ORDER BY kind, name",
        [at, at, kind, kind],
    )
    found = {(d.kind, d.name): d for d in map(_row, rows)}
    return {k: d for k, d in found.items() if removed or d.status == "active"}


def current_view(tx: Tx, name: str, *, at: int | None = None) -> Definition:
    """The view's version in force at snapshot ``at`` (default: now); NotFound suggests names."""
    views = in_force(tx, at=at, kind="view")
    if ("view", name) not in views:
        raise NotFound("feature view", name, candidates=[n for _, n in views])
    return views[("view", name)]


def versions(tx: Tx, kind: str, name: str) -> list[Definition]:
    """Every recorded version of one definition, oldest first."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM feature_definitions WHERE kind = ? AND name = ? ORDER BY version",
        [kind, name],
    )
    return [_row(r) for r in rows]


def version(tx: Tx, kind: str, name: str, number: int) -> Definition | None:
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM feature_definitions WHERE kind = ? AND name = ? AND version = ?",
        [kind, name, number],
    )
    return None if row is None else _row(row)


def _last_active(tx: Tx, kind: str, name: str) -> Definition | None:
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM feature_definitions WHERE kind = ? AND name = ? "
        "AND status = 'active' ORDER BY version DESC LIMIT 1",
        [kind, name],
    )
    return None if row is None else _row(row)


def make_plan(tx: Tx, objects: Sequence[Entity | FeatureView], *, prune: bool = False) -> Plan:
    """Compare ``objects`` with the recorded definitions (inside a read transaction)."""
    recorded = in_force(tx, removed=True)
    entities = {o.name: o for o in objects if isinstance(o, Entity)}
    views = {o.name: o for o in objects if isinstance(o, FeatureView)}
    for obj in objects:
        if not isinstance(obj, (Entity, FeatureView)):
            raise InvalidInput(f"{obj!r} is not an Entity or a FeatureView", field="definitions")
    # Entity names a view uses but the file does not define resolve to the store's.
    entity_specs = {
        name: d.spec
        for (kind, name), d in recorded.items()
        if kind == "entity" and d.status == "active"
    }
    entity_specs.update({name: e.spec() for name, e in entities.items()})
    desired = [("entity", e.name, e.spec()) for e in entities.values()]
    desired += [("view", v.name, v.spec(entity_specs)) for v in views.values()]

    changes = []
    for kind, name, spec in desired:
        current = recorded.get((kind, name))
        base = current if current is not None and current.status == "active" else None
        if base is None and current is not None:  # re-added after a prune: compare with its last
            base = _last_active(tx, kind, name)
        if base is None:
            changes.append(Change(kind, name, "add", spec=spec))
            continue
        if fingerprint(base.spec) == fingerprint(spec) and current is base:
            changes.append(Change(kind, name, "unchanged", version=base.version, spec=spec))
            continue
        if kind == "entity":
            lines, breaking = diff_entity(base.spec, spec)
            new_data = False
        else:
            lines, breaking, new_data = diff_view(base.spec, spec)
        action = "change" if current is base else "add"
        assert current is not None  # a base is only found for a recorded definition
        changes.append(
            Change(kind, name, action, tuple(lines), breaking, new_data, current.version, spec)
        )
    given = {(k, n) for k, n, _ in desired}
    for (kind, name), d in recorded.items():
        if d.status == "active" and (kind, name) not in given:
            changes.append(Change(kind, name, "remove", version=d.version))
    plan = Plan(changes, prune=prune)
    if prune:
        _check_removals(plan)
    return plan


def _check_removals(plan: Plan) -> None:
    """An entity cannot go while a view that stays still uses it."""
    gone = {c.name for c in plan.changes if c.kind == "entity" and c.action == "remove"}
    staying_views = {c.name: c.spec for c in plan.changes if c.kind == "view" and c.spec}
    for c in plan.changes:
        if c.kind == "view" and c.action == "remove":
            staying_views.pop(c.name, None)
    for view, spec in staying_views.items():
        used = gone & set(spec["entities"])  # type: ignore[index]
        if used:
            raise InvalidInput(
                f"cannot remove entity {', '.join(sorted(used))}: view {view} uses it",
                hint="Remove or change the view too",
            )


def apply(
    storage: Storage,
    objects: Sequence[Entity | FeatureView],
    *,
    force: bool = False,
    prune: bool = False,
    dry_run: bool = False,
) -> Plan:
    """Plan, then (unless ``dry_run``) record the changes as new versions."""
    with storage.transaction() as tx:
        plan = make_plan(tx, objects, prune=prune)
    pending = plan.pending
    plan.versions = {c.subject: (c.version or 0) + 1 for c in pending}
    if dry_run or not pending:
        return plan
    if plan.breaking and not force:
        first = plan.breaking[0]
        raise Conflict(
            f"refused breaking change to {', '.join(c.subject for c in plan.breaking)} ("
            + "; ".join(d for d in first.details if d.endswith("(breaking)"))
            + ")",
            hint="Review the plan (mlcore apply --plan); force it with --force (needs "
            "features.apply_breaking), then re-ingest the view's data if its keys, timestamps "
            "or types changed",
        )
    import polars as pl

    table = pl.DataFrame(
        {
            "kind": [c.kind for c in pending],
            "name": [c.name for c in pending],
            "version": [plan.versions[c.subject] for c in pending],
            "status": ["removed" if c.action == "remove" else "active" for c in pending],
            "spec": [json.dumps(c.spec, sort_keys=True) for c in pending],
        }
    )
    datafile = storage.files.write(table, "features")
    now = datetime.now(UTC)
    with storage.transaction() as tx:
        tx.require("features.apply")
        if plan.breaking:
            tx.require("features.apply_breaking")
        latest = in_force(tx, removed=True)
        for c in pending:
            seen = latest.get((c.kind, c.name))
            if (seen.version if seen else None) != c.version:
                raise Conflict(
                    f"{c.kind} {c.name} changed while planning (now v{seen.version if seen else 0})",
                    hint="Plan and apply again",
                )
        def_seq = tx.register_file(datafile, kind="features", owner=DEFINITIONS_OWNER).seq
        for c in pending:
            seen = latest.get((c.kind, c.name))
            since = def_seq if c.new_data or seen is None else seen.data_since
            status = "removed" if c.action == "remove" else "active"
            spec = c.spec if c.spec is not None else (seen.spec if seen else {})
            tx.execute(
                "INSERT INTO feature_definitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    c.kind,
                    c.name,
                    plan.versions[c.subject],
                    status,
                    json.dumps(spec),
                    fingerprint(spec),
                    c.breaking,
                    c.breaking and force,
                    since,
                    def_seq,
                    now,
                    tx.actor,
                ],
            )
            forced = c.breaking and force
            tx.audit(
                "features.apply_breaking" if forced else "features.apply",
                c.subject,
                {
                    "version": plan.versions[c.subject],
                    "action": c.action,
                    "breaking": c.breaking,
                    "forced": forced,
                    "fingerprint": fingerprint(spec),
                    "details": list(c.details),
                },
            )
    plan.applied = True
    return plan
