"""Golden point-in-time cases: one folder of tests/fixtures/pit per case (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mlcore.durations import parse_duration
from mlcore.features.aggregations import Aggregation
from mlcore.features.retrieval import ViewSource, point_in_time_join

from .conftest import brute_force_join

CASES = Path(__file__).parents[1] / "fixtures" / "pit"


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, try_parse_dates=True)


def load(folder: Path) -> tuple[pl.DataFrame, str, list[ViewSource]]:
    spec = json.loads((folder / "case.json").read_text())
    entities = read(folder / "entities.csv")
    if "entity_zone" in spec:
        entities = entities.with_columns(
            pl.col(spec["timestamp"]).dt.convert_time_zone(spec["entity_zone"])
        )
    views = []
    for v in spec["views"]:
        fields: dict[str, Any] = {k: tuple(x) if isinstance(x, list) else x for k, x in v.items()}
        fields["files"] = tuple(read(folder / f) for f in v["files"])
        fields["ttl"] = parse_duration(v["ttl"]) if v.get("ttl") else None
        fields["aggregations"] = tuple(Aggregation(**a) for a in v.get("aggregations", ()))
        views.append(ViewSource(**fields))
    return entities, spec["timestamp"], views


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_case(case: str) -> None:
    entities, timestamp, views = load(CASES / case)
    expected = read(CASES / case / "expected.csv")
    result = point_in_time_join(entities, timestamp, views)
    result = result.with_columns(pl.col(timestamp).dt.convert_time_zone("UTC"))
    assert_frame_equal(result, expected, check_dtypes=False, abs_tol=1e-12)
    # The brute-force reference of the property tests agrees with each hand-written case.
    reference = brute_force_join(entities, timestamp, views)
    assert_frame_equal(
        pl.DataFrame(reference), expected.drop(entities.columns), check_dtypes=False, abs_tol=1e-12
    )
