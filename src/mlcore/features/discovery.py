"""Discovery: what features exist, what they look like, who owns and who uses them.

- :func:`summary` lists the views with their size;
- :func:`describe` tells everything about one view, including its versions, its
  online table, the datasets built from it and, when the registry provides
  ``using_features``, the models using it;
- :func:`search` ranks views and features by how well each word of a query
  matches their name (exact > prefix > substring), tags, owner and description;
  ``tag:T`` and ``owner:O`` words filter instead. Every word must match;
- :func:`stats` computes per-feature count, null share, distinct count, min,
  max and mean over the view's visible data, and the freshness (age of the
  newest event). Statistics are computed outside any catalog transaction and
  cached in the catalog per view version and data snapshot, so a second call
  after no new ingestion reads the cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from mlcore.features import plan as plans
from mlcore.features.store import check_snapshot, view_files

if TYPE_CHECKING:
    import polars as pl

    from mlcore.features.definitions import Definition
    from mlcore.store import DataFile, Storage

__all__ = ["describe", "search", "stats", "summary"]

ModelsHook = Callable[[Sequence[str]], Any]


def summary(storage: Storage) -> list[dict[str, Any]]:
    """One entry per view: version, entities, features, owner, tags, rows and files."""
    with storage.transaction() as tx:
        views = list(plans.in_force(tx, kind="view").values())
        files = view_files(tx, views)
    return [
        {
            "view": d.name,
            "version": d.version,
            "entities": d.spec["entities"],
            "features": len(d.features),
            "aggregations": len(d.aggregation_names),
            "owner": d.spec.get("owner"),
            "tags": d.spec.get("tags", {}),
            "rows": sum(f.rows for f in files[d.name]),
            "files": len(files[d.name]),
            "description": d.spec.get("description", ""),
        }
        for d in views
    ]


def describe(storage: Storage, name: str, *, models: ModelsHook | None = None) -> dict[str, Any]:
    """A view's definition, versions, data, online table, datasets and users."""
    with storage.transaction() as tx:
        current = plans.current_view(tx, name)
        history = plans.versions(tx, "view", name)
        files = view_files(tx, [current])[name]
        online = tx.records(
            "SELECT seq, version, materialized_at, data_snapshot FROM feature_online "
            "WHERE view = ? ORDER BY seq DESC LIMIT 1",
            [name],
        )
        datasets = [
            f"{n}/{v}"
            for n, v, used in tx.fetchall("SELECT name, version, versions FROM feature_datasets")
            if name in json.loads(used)
        ]
    refs = [f"{name}:{f}" for f in [*current.features, *current.aggregation_names]]
    return {
        **current.to_dict(),
        "versions": [
            {
                k: v.to_dict()[k]
                for k in ("version", "status", "breaking", "forced", "created_at", "created_by")
            }
            for v in history
        ],
        "data": {
            "files": len(files),
            "rows": sum(f.rows for f in files),
            "paths": [f.path for f in files],
        },
        "online": online[0] if online else None,
        "datasets": datasets,
        "used_by": models(refs) if models is not None else None,
    }


def _candidates(views: Sequence[Definition]) -> list[dict[str, Any]]:
    out = []
    for d in views:
        spec = d.spec
        owner, view_tags = spec.get("owner"), spec.get("tags", {})
        out.append(
            {
                "kind": "view",
                "ref": d.name,
                "name": d.name,
                "tags": view_tags,
                "owner": owner,
                "description": spec.get("description", ""),
                "dtype": None,
            }
        )
        for f in spec["fields"]:
            out.append(
                {
                    "kind": "feature",
                    "ref": f"{d.name}:{f['name']}",
                    "name": f["name"],
                    "tags": {**view_tags, **f.get("tags", {})},
                    "owner": owner,
                    "description": f.get("description") or "",
                    "dtype": f["dtype"],
                }
            )
        for a in spec.get("aggregations", []):
            out.append(
                {
                    "kind": "aggregation",
                    "ref": f"{d.name}:{a['name']}",
                    "name": a["name"],
                    "tags": view_tags,
                    "owner": owner,
                    "description": f"{a['function']} of {a['column']}",
                    "dtype": None,
                }
            )
    return out


def _score(term: str, c: dict[str, Any]) -> tuple[int, list[str]]:
    """How well one lower-case word matches a candidate, and where."""
    name = c["name"].lower()
    score, where = 0, []
    if term == name:
        score, where = 10, ["name"]
    elif name.startswith(term):
        score, where = 6, ["name"]
    elif term in name:
        score, where = 4, ["name"]
    if any(term in (k.lower(), v.lower()) for k, v in c["tags"].items()):
        score, where = score + 3, [*where, "tags"]
    if c["owner"] and term == c["owner"].lower():
        score, where = score + 3, [*where, "owner"]
    if term in c["description"].lower():
        score, where = score + 1, [*where, "description"]
    return score, where


def search(storage: Storage, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Views, features and aggregations matching every word of ``query``, best first."""
    with storage.transaction() as tx:
        views = list(plans.in_force(tx, kind="view").values())
    words = [w.lower() for w in query.split()]
    hits = []
    for c in _candidates(views):
        total, matched = 0, set()
        for word in words:
            key, sep, value = word.partition(":")
            if sep and key == "tag":
                ok = any(value in (k.lower(), v.lower()) for k, v in c["tags"].items())
                score, where = (1, ["tags"]) if ok else (0, [])
            elif sep and key == "owner":
                ok = (c["owner"] or "").lower() == value
                score, where = (1, ["owner"]) if ok else (0, [])
            else:
                score, where = _score(word, c)
            if score == 0:
                break
            total += score
            matched.update(where)
        else:
            if words:
                hits.append({**c, "score": total, "matched": sorted(matched)})
    hits.sort(key=lambda h: (-h["score"], h["ref"]))
    return hits[:limit]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def _compute(storage: Storage, view: Definition, files: Sequence[DataFile]) -> dict[str, Any]:
    import polars as pl

    from mlcore.features.definitions import polars_dtype

    event = view.spec["event_timestamp"]
    types = view.field_types
    columns = {event: "datetime", **types}
    if not files:
        frame = pl.LazyFrame(schema={c: polars_dtype(t) for c, t in columns.items()})
    else:
        parts = []
        for f in files:
            present = [c for c in columns if c in f.schema]
            missing = [
                pl.lit(None, polars_dtype(columns[c])).alias(c)
                for c in columns
                if c not in f.schema
            ]
            parts.append(
                pl.scan_parquet(storage.files.absolute(f.path))
                .select(present)
                .with_columns(missing)
            )
        frame = pl.concat(parts, how="diagonal_relaxed")
    aggs: list[pl.Expr] = [
        pl.len().alias("__rows"),
        pl.col(event).min().alias("__oldest"),
        pl.col(event).max().alias("__newest"),
    ]
    for name, dtype in types.items():
        col = pl.col(name)
        aggs += [
            col.count().alias(f"{name}.count"),
            col.drop_nulls().n_unique().alias(f"{name}.distinct"),
            col.min().alias(f"{name}.min"),
            col.max().alias(f"{name}.max"),
        ]
        if dtype not in ("string", "date", "datetime"):
            aggs.append(col.cast(pl.Float64).mean().alias(f"{name}.mean"))
    row = frame.select(aggs).collect(engine="streaming").row(0, named=True)
    rows = row["__rows"]
    features = []
    for name, dtype in types.items():
        count = row[f"{name}.count"]
        features.append(
            {
                "name": name,
                "dtype": dtype,
                "count": count,
                "nulls": rows - count,
                "null_share": (rows - count) / rows if rows else None,
                "distinct": row[f"{name}.distinct"],
                "min": _jsonable(row[f"{name}.min"]),
                "max": _jsonable(row[f"{name}.max"]),
                "mean": _jsonable(row.get(f"{name}.mean")),
            }
        )
    return {
        "rows": rows,
        "files": len(files),
        "oldest_event": _jsonable(row["__oldest"]),
        "newest_event": _jsonable(row["__newest"]),
        "features": features,
    }


def stats(
    storage: Storage, name: str, *, as_of: int | None = None, models: ModelsHook | None = None
) -> dict[str, Any]:
    """Per-feature statistics of a view's data at a snapshot (default: now)."""
    with storage.transaction() as tx:
        snapshot = check_snapshot(tx, as_of)
        view = plans.current_view(tx, name, at=snapshot)
        files = view_files(tx, [view], at=snapshot)[name]
        data_snapshot = max((f.seq or 0 for f in files), default=0)
        cached = tx.fetchone(
            "SELECT stats FROM feature_stats WHERE view = ? AND version = ? AND data_snapshot = ?",
            [name, view.version, data_snapshot],
        )
    if cached is not None:
        computed = json.loads(cached[0])
    else:
        computed = _compute(storage, view, files)
        with storage.transaction() as tx:  # a cache: derived data, so not audited
            tx.execute(
                "INSERT OR REPLACE INTO feature_stats VALUES (?, ?, ?, ?, ?)",
                [name, view.version, data_snapshot, json.dumps(computed), datetime.now(UTC)],
            )
    newest = computed["newest_event"]
    freshness = None
    if newest is not None:
        freshness = (datetime.now(UTC) - datetime.fromisoformat(newest)).total_seconds()
    result = {
        "view": name,
        "version": view.version,
        "snapshot": snapshot,
        "data_snapshot": data_snapshot,
        **computed,
        "freshness_s": freshness,
    }
    if models is not None:
        used = models([f"{name}:{f['name']}" for f in computed["features"]])
        result["used_by"] = used
    return result
