"""A brute-force point-in-time reference, and builders shared by the retrieval tests.

The reference is deliberately naive: for every entity row it filters all feature
rows of the view with plain Python comparisons and takes the maximum, and it
computes each aggregation from the list of events in the window with the
``statistics`` module. It shares no code with mlcore's engine.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest

from mlcore.features.retrieval import ViewSource

UTC = dt.UTC
BASE = dt.datetime(2024, 3, 1, tzinfo=UTC)


def minutes(n: float) -> dt.datetime:
    return BASE + dt.timedelta(minutes=n)


def _rows_of(view: ViewSource) -> list[dict[str, Any]]:
    """Every stored row of the view, tagged with its ingestion order (batch, row)."""
    rows = []
    for b, item in enumerate(view.files):
        frame = item if isinstance(item, pl.DataFrame) else pl.read_parquet(item)
        for r, row in enumerate(frame.to_dicts()):
            rows.append({**row, "__order": (b, r)})
    return rows


def _keys_equal(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return all(
        x is not None and y is not None and str(x) == str(y) for x, y in zip(a, b, strict=True)
    )


def _aggregate(function: str, events: list[dict[str, Any]], column: str, view: ViewSource) -> Any:
    if function == "last":
        if not events:
            return None
        return max(events, key=lambda r: _rank(r, view))[column]
    values = [r[column] for r in events if r[column] is not None]
    if function == "count":
        return len(values)
    if not values:
        return None
    has_nan = any(isinstance(v, float) and math.isnan(v) for v in values)
    if function == "stddev":
        if len(values) < 2:
            return None
        return math.nan if has_nan else statistics.stdev(float(v) for v in values)
    if has_nan:
        return math.nan
    if function == "sum":
        return sum(values)
    if function == "mean":
        return statistics.fmean(values)
    return min(values) if function == "min" else max(values)


def _rank(row: dict[str, Any], view: ViewSource) -> tuple[Any, ...]:
    created = row[view.created_timestamp] if view.created_timestamp else None
    # (0, None) < (1, created): a missing created time loses, and None is never ordered
    return (
        row[view.event_timestamp],
        (0, None) if created is None else (1, created),
        row["__order"],
    )


def brute_force_join(
    entities: pl.DataFrame, timestamp: str, views: Sequence[ViewSource]
) -> dict[str, list[Any]]:
    """Per output column, the expected values in entity order."""
    out: dict[str, list[Any]] = {}
    for view in views:
        data = _rows_of(view)
        for name in view.outputs:
            out[name] = []
        for entity in entities.iter_rows(named=True):
            t = entity[timestamp]
            keys = [entity[k] for k in view.entity_keys]
            usable = t is not None and all(k is not None for k in keys)
            mine = [r for r in data if usable and _keys_equal([r[k] for k in view.join_keys], keys)]
            seen = [r for r in mine if r[view.event_timestamp] <= t]
            if view.ttl is not None:
                seen = [r for r in seen if r[view.event_timestamp] >= t - view.ttl]
            best = max(seen, key=lambda r: _rank(r, view), default=None)
            for feature, name in zip(view.features, view.output_names, strict=True):
                out[name].append(None if best is None else best[feature])
            for agg in view.aggregations:
                window = [r for r in mine if t - agg.window < r[view.event_timestamp] <= t]
                out[agg.name].append(_aggregate(agg.function, window, agg.column, view))
            if view.matched_timestamp:
                out[view.matched_timestamp].append(
                    None if best is None else best[view.event_timestamp]
                )
    return out


def assert_matches_reference(
    result: pl.DataFrame, entities: pl.DataFrame, timestamp: str, views: Sequence[ViewSource]
) -> None:
    """The engine's result equals the entity frame plus the reference's columns."""
    assert result.columns[: entities.width] == entities.columns
    assert result.select(entities.columns).equals(entities)
    expected = brute_force_join(entities, timestamp, views)
    for name, values in expected.items():
        got = result[name].to_list()
        assert len(got) == len(values), name
        for i, (g, e) in enumerate(zip(got, values, strict=True)):
            assert same_value(g, e), f"{name}[{i}]: engine {g!r}, reference {e!r}"


def same_value(got: Any, expected: Any) -> bool:
    """Equal, or both null, or both NaN, or floats within 1e-9."""
    if got is None or expected is None:
        return got is None and expected is None
    if isinstance(expected, float) or isinstance(got, float):
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        return math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)
    return got == expected


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make every chunk a few rows, so that tiny data crosses chunk boundaries."""
    monkeypatch.setattr("mlcore.features._chunks.CHUNK_ROWS", 3)
    return 3
