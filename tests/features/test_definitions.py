"""Definitions as code: types, validation, specs and loading a definitions file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from mlcore import Aggregation, Entity, FeatureView, Field, InvalidInput, NotFound
from mlcore.features.definitions import dtype_name, fingerprint, load_definitions, polars_dtype

from ._store_helpers import DRIVER, driver_stats


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (int, "int64"),
        (float, "float64"),
        (str, "string"),
        (bool, "bool"),
        (dt.datetime, "datetime"),
        ("Float32", "float32"),
        ("utf8", "string"),
        ("timestamp", "datetime"),
        (pl.Int16, "int16"),
        (pl.UInt8(), "uint8"),
        (pl.Datetime("ms", "Europe/Paris"), "datetime"),
        (pl.Categorical, "string"),
    ],
)
def test_types_have_one_canonical_name(given: object, expected: str) -> None:
    assert dtype_name(given) == expected


def test_every_canonical_type_maps_to_a_polars_type_and_back() -> None:
    from mlcore.features.definitions import DTYPES

    for name in DTYPES:
        assert dtype_name(polars_dtype(name)) == name


@pytest.mark.parametrize("bad", ["complex", list, "decimal(3)", 3])
def test_unknown_types_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput, match="is not a feature type"):
        Field("x", bad)  # type: ignore[arg-type]


def test_entity_keys_default_to_its_name_and_must_be_integers_or_strings() -> None:
    assert [k.name for k in Entity("customer").join_keys] == ["customer"]
    assert Entity("trip", {"city": "string", "n": "int32"}).spec()["join_keys"] == [
        {"name": "city", "dtype": "string"},
        {"name": "n", "dtype": "int32"},
    ]
    with pytest.raises(InvalidInput, match="join key x is float64"):
        Entity("e", {"x": float})


@pytest.mark.parametrize("name", ["1view", "a b", "../x", "view:x", ""])
def test_view_names_are_validated(name: str) -> None:
    with pytest.raises(InvalidInput, match="view name"):
        driver_stats().__class__(name, entities=DRIVER, schema={"x": float})


def test_columns_may_not_clash() -> None:
    with pytest.raises(InvalidInput, match="feature ts is also the event timestamp"):
        driver_stats(schema={"ts": float})
    with pytest.raises(InvalidInput, match="feature driver_id is also a join key"):
        driver_stats(schema={"driver_id": float})
    with pytest.raises(InvalidInput, match="created and event timestamps are the same"):
        driver_stats(created_timestamp="ts")
    with pytest.raises(InvalidInput, match="names 'rate' twice"):
        driver_stats(schema=[Field("rate", float), Field("rate", int)])


def test_aggregations_are_checked_against_the_schema() -> None:
    view = driver_stats(aggregations=[Aggregation("trips", "sum", "24h")])
    assert view.aggregations[0].name == "trips_sum_24h"
    with pytest.raises(NotFound, match="Did you mean 'trips'"):
        driver_stats(aggregations=[Aggregation("trip", "sum", "1h")])
    with pytest.raises(InvalidInput, match="cannot take mean"):
        driver_stats(schema={"city": str}, aggregations=[Aggregation("city", "mean", "1h")])
    with pytest.raises(InvalidInput, match="already a column"):
        driver_stats(aggregations=[Aggregation("trips", "sum", "1h", name="rate")])


def test_ttl_accepts_text_and_timedelta() -> None:
    assert driver_stats(ttl="1d").ttl == dt.timedelta(days=1)
    assert driver_stats(ttl=dt.timedelta(minutes=5)).ttl == dt.timedelta(minutes=5)
    assert driver_stats(ttl=None).ttl is None
    with pytest.raises(InvalidInput):
        driver_stats(ttl="soon")


def test_spec_resolves_join_keys_and_is_stable() -> None:
    view = driver_stats(tags=["b", "a"])
    spec = view.spec({"driver": DRIVER.spec()})
    assert spec["join_keys"] == [{"name": "driver_id", "dtype": "int64"}]
    assert spec["ttl_us"] == 2 * 3600 * 10**6
    assert list(spec["tags"]) == ["a", "b"]
    assert fingerprint(spec) == fingerprint(
        driver_stats(tags=["a", "b"]).spec({"driver": DRIVER.spec()})
    )
    with pytest.raises(NotFound, match="entity of view driver_stats 'rider'"):
        driver_stats(entities="rider").spec({"driver": DRIVER.spec()})


def test_load_definitions_collects_module_level_objects(tmp_path: Path) -> None:
    defs = tmp_path / "defs.py"
    defs.write_text(
        "from mlcore import Entity, FeatureView\n"
        "rider = Entity('rider')\n"
        "views = FeatureView('trips', Entity('city', {'city': 'string'}), {'n': int},"
        " source='data/trips.csv')\n"
        "helper = 42\n"
    )
    found = load_definitions(defs)
    assert sorted((type(o).__name__, o.name) for o in found) == [
        ("Entity", "city"),
        ("Entity", "rider"),
        ("FeatureView", "trips"),
    ]
    view = next(o for o in found if isinstance(o, FeatureView))
    assert view.source == str(tmp_path / "data" / "trips.csv")


def test_load_definitions_reports_bad_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_definitions(tmp_path / "missing.py")
    (tmp_path / "defs.txt").write_text("x = 1\n")
    with pytest.raises(InvalidInput, match=r"not a \.py file"):
        load_definitions(tmp_path / "defs.txt")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(InvalidInput, match="failed: RuntimeError: boom"):
        load_definitions(broken)
    twice = tmp_path / "twice.py"
    twice.write_text("from mlcore import Entity\na = Entity('e')\nb = Entity('e', ['other'])\n")
    with pytest.raises(InvalidInput, match="defines entity e twice"):
        load_definitions(twice)
