"""Plan and apply: added / changed / removed, breaking refused unless forced, versions kept."""

from __future__ import annotations

import pytest

from mlcore import Aggregation, Conflict, Entity, FeatureView, Field, InvalidInput, PermissionDenied
from mlcore.features.plan import diff_view

from ._store_helpers import DRIVER, batch, driver_stats, state


def _actions(plan) -> dict[str, str]:
    return {c.subject: c.action for c in plan.changes}


def test_first_apply_adds_and_a_second_is_a_no_op(store) -> None:
    plan = store.features.plan([driver_stats()])
    assert _actions(plan) == {"entity:driver": "add", "view:driver_stats": "add"}
    assert not plan.applied
    assert store.features.views() == []  # planning changes nothing

    applied = store.features.apply([driver_stats()])
    assert applied.applied and applied.versions == {"entity:driver": 1, "view:driver_stats": 1}
    before = state(store)
    again = store.features.apply([driver_stats()])
    assert _actions(again) == {"entity:driver": "unchanged", "view:driver_stats": "unchanged"}
    assert (
        again.render()
        == "0 added, 0 changed, 0 removed, 2 unchanged (0 breaking; nothing to apply)"
    )
    assert state(store) == before
    assert [v.version for v in store.features.versions("driver_stats")] == [1]


def test_compatible_changes_make_new_versions_and_keep_old_ones(store) -> None:
    store.features.apply([driver_stats()])
    changed = driver_stats(
        schema=[Field("rate", "float64"), Field("trips", "int64"), Field("tips", "float32")],
        ttl="3h",
        description="now with tips",
        aggregations=[Aggregation("trips", "sum", "1d")],
    )
    plan = store.features.apply([changed])
    change = next(c for c in plan.changes if c.kind == "view")
    assert change.action == "change" and not change.breaking
    assert "+ field tips (float32)" in change.details
    assert "+ aggregation trips_sum_1d" in change.details
    assert any(d.startswith("~ ttl: 2:00:00 -> 3:00:00") for d in change.details)
    history = store.features.versions("driver_stats")
    assert [(v.version, v.spec["ttl_us"]) for v in history] == [
        (1, 7_200_000_000),
        (2, 10_800_000_000),
    ]
    assert store.features.view("driver_stats").version == 2
    assert store.features.view("driver_stats", version=1).features == ["rate", "trips"]


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (
            driver_stats(schema={"rate": "float32", "trips": "int64"}),
            "field rate: float64 -> float32",
        ),
        (driver_stats(schema={"rate": "float64"}), "- field trips"),
        (driver_stats(event_timestamp="event_ts"), "event timestamp: ts -> event_ts"),
        (driver_stats(created_timestamp="written"), "created timestamp: None -> written"),
        (driver_stats(entities=Entity("driver", {"driver_id": "string"})), "join keys"),
        (driver_stats(entities=Entity("cab", ["driver_id"])), "entities"),
    ],
)
def test_breaking_changes_are_refused_without_force(
    store, changed: FeatureView, reason: str
) -> None:
    store.features.apply([driver_stats()])
    plan = store.features.plan([changed])
    view = next(c for c in plan.changes if c.subject == "view:driver_stats")
    assert view.breaking
    assert any(reason in d for d in view.details)
    before = state(store)
    with pytest.raises(Conflict, match=r"refused breaking change to .*view:driver_stats"):
        store.features.apply([changed])
    assert state(store) == before


def test_forcing_needs_the_permission_and_is_audited(store) -> None:
    store.features.apply([driver_stats()])
    store.grant("dana", "data-scientist")
    changed = driver_stats(schema={"rate": "float32", "trips": "int64"})
    with pytest.raises(PermissionDenied):
        store.as_actor("dana").features.apply([changed], force=True)
    assert store.audit_log(action="access.denied")[-1].actor == "dana"
    assert store.features.view("driver_stats").version == 1

    plan = store.features.apply([changed], force=True)
    assert plan.applied and plan.versions["view:driver_stats"] == 2
    current = store.features.view("driver_stats")
    assert current.breaking and current.forced
    entry = store.audit_log(action="features.apply_breaking")[-1]
    assert entry.subject == "view:driver_stats"
    assert entry.details["forced"] is True
    assert "~ field rate: float64 -> float32 (breaking)" in entry.details["details"]


def test_removals_need_prune_and_keep_the_data(store) -> None:
    other = FeatureView("driver_rank", DRIVER, {"rank": int}, event_timestamp="ts")
    store.features.apply([driver_stats(), other])
    store.features.ingest("driver_stats", batch([(1, 0, 0.5, 1)]))
    plan = store.features.apply([other])
    removed = [c.subject for c in plan.changes if c.action == "remove"]
    assert removed == ["view:driver_stats"]
    assert "kept: apply with --prune" in plan.render()
    assert {v.name for v in store.features.views()} == {"driver_stats", "driver_rank"}

    rows_before = store.info()["data_files"]["rows"]
    plan = store.features.apply([other], prune=True)
    assert plan.applied and plan.versions == {"view:driver_stats": 2}
    assert {v.name for v in store.features.views()} == {"driver_rank"}
    assert [v.status for v in store.features.versions("driver_stats")] == ["active", "removed"]
    assert store.info()["data_files"]["rows"] >= rows_before  # nothing deleted

    # Re-adding compares with the last active version; its data comes back.
    plan = store.features.apply([driver_stats(), other])
    change = next(c for c in plan.changes if c.subject == "view:driver_stats")
    assert change.action == "add" and change.version == 2 and not change.breaking
    assert store.features.view("driver_stats").version == 3
    assert store.features.stats("driver_stats")["rows"] == 1


def test_an_entity_in_use_cannot_be_pruned(store) -> None:
    store.features.apply([driver_stats()])
    with pytest.raises(
        InvalidInput, match="cannot remove entity driver: view driver_stats uses it"
    ):
        store.features.apply([driver_stats(entities="driver")], prune=True)


def test_views_may_name_entities_already_in_the_store(store) -> None:
    store.features.apply([DRIVER])
    plan = store.features.apply([driver_stats(entities="driver")])
    assert _actions(plan) == {"view:driver_stats": "add", "entity:driver": "remove"}
    assert store.features.view("driver_stats").join_keys == ["driver_id"]


def test_an_entity_key_change_breaks_its_views(store) -> None:
    store.features.apply([driver_stats()])
    recast = Entity("driver", {"driver_id": "string"})
    plan = store.features.plan([recast, driver_stats(entities=recast)])
    assert {c.subject for c in plan.breaking} == {"entity:driver", "view:driver_stats"}


def test_diff_lists_each_change() -> None:
    old = driver_stats().spec({"driver": DRIVER.spec()})
    new = driver_stats(schema=[Field("rate", "float64", "acceptance rate")], owner="bo")
    new = new.spec({"driver": DRIVER.spec()})
    lines, breaking, new_data = diff_view(old, new)
    assert lines == ["- field trips (breaking)", "~ owner: 'ana' -> 'bo'"]
    assert breaking and not new_data


def test_definitions_file_round_trip(store, tmp_path) -> None:
    defs = tmp_path / "defs.py"
    defs.write_text(
        "from mlcore import Entity, FeatureView, Field\n"
        "driver = Entity('driver', ['driver_id'])\n"
        "stats = FeatureView('driver_stats', driver, [Field('rate', 'float64')], event_timestamp='ts')\n"
    )
    plan = store.features.apply(defs)
    assert plan.versions == {"entity:driver": 1, "view:driver_stats": 1}
    assert store.audit_log(action="features.apply")[-1].subject == "view:driver_stats"
