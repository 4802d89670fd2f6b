"""Builders for the feature-store tests: definitions, batches, and a snapshot of store state.

The brute-force reference here works on plain Python rows: for each entity row,
filter every ingested row of the view and take the maximum by (event time,
created time, ingestion order). It shares no code with mlcore.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from mlcore import Entity, FeatureView, Field

UTC = dt.UTC
BASE = dt.datetime(2024, 3, 1, tzinfo=UTC)


def hours(n: float) -> dt.datetime:
    return BASE + dt.timedelta(hours=n)


DRIVER = Entity("driver", join_keys=["driver_id"], description="A taxi driver")


def driver_stats(**overrides: Any) -> FeatureView:
    """The usual test view: driver_id, ts, rate (float64), trips (int64), ttl 2h."""
    options: dict[str, Any] = {
        "entities": DRIVER,
        "schema": [
            Field("rate", "float64", description="acceptance rate"),
            Field("trips", "int64"),
        ],
        "event_timestamp": "ts",
        "ttl": "2h",
        "owner": "ana",
        "tags": {"team": "mobility"},
        "description": "Hourly driver statistics",
    }
    options.update(overrides)
    return FeatureView("driver_stats", **options)


def batch(rows: Sequence[tuple[int, float, float | None, int | None]]) -> pl.DataFrame:
    """(driver_id, hour, rate, trips) tuples as a batch of driver_stats."""
    return pl.DataFrame(
        {
            "driver_id": [r[0] for r in rows],
            "ts": [hours(r[1]) for r in rows],
            "rate": [r[2] for r in rows],
            "trips": [r[3] for r in rows],
        },
        schema={
            "driver_id": pl.Int64,
            "ts": pl.Datetime("us", "UTC"),
            "rate": pl.Float64,
            "trips": pl.Int64,
        },
    )


def state(store: Any) -> tuple[Any, ...]:
    """What a rejected operation must leave unchanged: manifest, audit, files on disk."""
    info = store.info()
    data = Path(store.path) / "data"
    on_disk = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file())
    return info["data_files"], info["audit_entries"], on_disk


def brute_force(
    entities: Sequence[dict[str, Any]],
    timestamp: str,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    entity_keys: Sequence[str] | None = None,
    event: str,
    features: Sequence[str],
    created: str | None = None,
    ttl: dt.timedelta | None = None,
) -> list[dict[str, Any]]:
    """Per entity row, the expected feature values (``rows`` in ingestion order)."""
    entity_keys = entity_keys or keys
    out = []
    for e in entities:
        t = e[timestamp]
        best, best_rank = None, None
        for order, r in enumerate(rows):
            if any(r[k] != e[ek] for k, ek in zip(keys, entity_keys, strict=True)):
                continue
            if r[event] > t or (ttl is not None and r[event] < t - ttl):
                continue
            c = r[created] if created else None
            rank = (r[event], (0, BASE) if c is None else (1, c), order)
            if best_rank is None or rank > best_rank:
                best, best_rank = r, rank
        out.append({f: None if best is None else best[f] for f in features})
    return out
