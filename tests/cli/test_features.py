"""``mlcore apply`` and ``mlcore features ...``: results on stdout, one error line, exit codes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import polars as pl
import pytest

import mlcore

DEFS = textwrap.dedent(
    """
    from mlcore import Aggregation, Entity, FeatureView, Field

    driver = Entity("driver", join_keys=["driver_id"])
    stats = FeatureView(
        "driver_stats",
        entities=driver,
        schema=[Field("rate", "{rate_type}", description="acceptance rate"), Field("trips", "int64")],
        event_timestamp="ts",
        ttl="{ttl}",
        owner="ana",
        tags=["mobility"],
        aggregations=[Aggregation("trips", "sum", "1d")],
    )
    """
)

FEATURES_CSV = """driver_id,ts,rate,trips
1,2024-03-01T00:00:00Z,0.5,1
1,2024-03-01T02:00:00Z,0.7,2
2,2024-03-01T01:00:00Z,0.9,3
"""

ENTITIES_CSV = """driver_id,event_timestamp,label
1,2024-03-01T01:00:00Z,0
1,2024-03-01T03:00:00Z,1
2,2024-03-01T04:00:00Z,0
3,2024-03-01T01:00:00Z,1
"""


@pytest.fixture
def run(cli, store_path: Path):
    mlcore.open(store_path, create=True, actor="admin").close()
    return lambda *args: cli("--as", "admin", *args)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "defs": tmp_path / "defs.py",
        "breaking": tmp_path / "breaking.py",
        "features": tmp_path / "features.csv",
        "entities": tmp_path / "entities.csv",
    }
    paths["defs"].write_text(DEFS.format(rate_type="float64", ttl="2h"))
    paths["breaking"].write_text(DEFS.format(rate_type="float32", ttl="2h"))
    paths["features"].write_text(FEATURES_CSV)
    paths["entities"].write_text(ENTITIES_CSV)
    return paths


def _state(store_path: Path) -> tuple:
    with mlcore.open(store_path, actor="admin") as store:
        info = store.info()
    files = sorted(p.name for p in (store_path / "data").rglob("*") if p.is_file())
    return info["data_files"], info["audit_entries"], files


@pytest.fixture
def ready(run, files):
    assert run("apply", str(files["defs"])).exit_code == 0
    assert run("features", "ingest", "driver_stats", str(files["features"])).exit_code == 0
    return run


def test_apply_plans_then_applies(run, files, store_path) -> None:
    before = _state(store_path)
    planned = run("apply", str(files["defs"]), "--plan")
    assert planned.exit_code == 0
    assert "+ view driver_stats  new" in planned.stdout and "to apply" in planned.stdout
    assert _state(store_path) == before
    applied = run("apply", str(files["defs"]), "--json")
    assert applied.exit_code == 0
    result = applied.json()
    assert result["applied"] and result["versions"] == {"entity:driver": 1, "view:driver_stats": 1}


def test_breaking_apply_is_refused_then_forced(run, files, store_path) -> None:
    run("apply", str(files["defs"]))
    plan = run("apply", str(files["breaking"]), "--plan")
    assert plan.exit_code == 0 and "BREAKING" in plan.stdout
    assert "~ field rate: float64 -> float32 (breaking)" in plan.stdout
    before = _state(store_path)
    refused = run("apply", str(files["breaking"]))
    assert refused.exit_code == 4
    assert refused.stderr.startswith("mlcore: error: refused breaking change to view:driver_stats")
    assert _state(store_path) == before
    forced = run("apply", str(files["breaking"]), "--force", "--json")
    assert forced.exit_code == 0 and forced.json()["breaking"] == ["view:driver_stats"]


def test_broken_definitions_file(run, tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from mlcore import Entity\nEntity('has space')\n")
    result = run("apply", str(bad))
    assert result.exit_code == 2 and "entity name 'has space' is not a valid name" in result.stderr
    assert run("apply", str(tmp_path / "none.py")).exit_code == 3


def test_ingest_reports_and_ignores_unknown_columns(run, files, tmp_path) -> None:
    run("apply", str(files["defs"]))
    extra = tmp_path / "extra.csv"
    data = pl.read_csv(files["features"]).with_columns(note=pl.lit("x"))
    data.write_csv(extra)
    result = run("features", "ingest", "driver_stats", str(extra), "--json")
    assert result.exit_code == 0
    report = result.json()
    assert report["rows"] == 3 and report["ignored_columns"] == ["note"]
    assert "ignored columns the view does not define: note" in result.stderr


@pytest.mark.parametrize(
    ("content", "name", "code", "message"),
    [
        ("driver_id,ts,rate\n1,2024-03-01T00:00:00Z,0.5\n", "f.csv", 2, "no column 'trips'"),
        ("driver_id,ts,rate,trips\n1,2024-03-01 00:00:00,0.5,1\n", "f.csv", 2, "naive timestamps"),
        (
            "driver_id,ts,rate,trips\n1,2024-03-01T00:00:00Z,high,1\n",
            "f.csv",
            2,
            "is String, expected float64",
        ),
        ("driver_id,ts,rate,trips\n", "f.csv", 2, "has no rows"),
        ("driver_id,ts,rate,trips\nNaN,2024-03-01T00:00:00Z,0.5,1\n", "f.csv", 2, "NaN values"),
        ("driver_id,ts,rate,trips\n", "f.json", 2, "neither Parquet nor CSV"),
        ("not parquet", "f.parquet", 2, "not a Parquet file"),
    ],
)
def test_bad_ingestion_exits_2_and_changes_nothing(
    run, files, tmp_path, store_path, content, name, code, message
) -> None:
    run("apply", str(files["defs"]))
    path = tmp_path / name
    path.write_text(content)
    before = _state(store_path)
    result = run("features", "ingest", "driver_stats", str(path))
    assert result.exit_code == code
    assert result.stderr.startswith("mlcore: error: ") and message in result.stderr
    assert result.stdout == ""
    assert _state(store_path) == before


def test_not_found_exits_3(run, files, tmp_path, store_path) -> None:
    run("apply", str(files["defs"]))
    before = _state(store_path)
    unknown = run("features", "ingest", "driver_stat", str(files["features"]))
    assert unknown.exit_code == 3 and "Did you mean 'driver_stats'?" in unknown.stderr
    missing = run("features", "ingest", "driver_stats", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 3
    history = run(
        "features",
        "history",
        "--entities",
        str(files["entities"]),
        "-f",
        "driver_stats:rat",
        "-o",
        str(tmp_path / "o.parquet"),
    )
    assert history.exit_code == 3 and "Did you mean 'driver_stats:rate'?" in history.stderr
    assert _state(store_path) == before


def test_naive_timestamps_ingest_with_a_zone(run, files, tmp_path) -> None:
    run("apply", str(files["defs"]))
    naive = tmp_path / "naive.csv"
    naive.write_text("driver_id,ts,rate,trips\n1,2024-03-01 01:00:00,0.5,1\n")
    assert (
        run("features", "ingest", "driver_stats", str(naive), "--tz", "Europe/Paris").exit_code == 0
    )


def test_history_writes_the_point_in_time_result(ready, files, tmp_path, store_path) -> None:
    out = tmp_path / "train.parquet"
    result = ready(
        "features",
        "history",
        "--entities",
        str(files["entities"]),
        "-f",
        "driver_stats:rate,driver_stats:trips_sum_1d",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0
    summary = result.json()
    assert summary["rows"] == 4 and summary["versions"] == {"driver_stats": 1}
    frame = pl.read_parquet(out)
    assert frame.columns == ["driver_id", "event_timestamp", "label", "rate", "trips_sum_1d"]
    assert frame["rate"].to_list() == [
        0.5,
        0.7,
        None,
        None,
    ]  # 04:00 for driver 2 is past the 2 h ttl
    assert frame["trips_sum_1d"].to_list() == [1, 3, 3, None]
    with mlcore.open(store_path, actor="admin") as store:
        entities = pl.read_csv(files["entities"], try_parse_dates=True)
        api = store.features.historical(
            entities, ["driver_stats:rate", "driver_stats:trips_sum_1d"], as_of=summary["snapshot"]
        )
    assert api.equals(frame)


def test_history_refuses_bad_entity_files(ready, tmp_path) -> None:
    naive = tmp_path / "naive.csv"
    naive.write_text("driver_id,event_timestamp\n1,2024-03-01 01:00:00\n")
    out = tmp_path / "o.parquet"
    result = ready(
        "features", "history", "--entities", str(naive), "-f", "driver_stats:rate", "-o", str(out)
    )
    assert result.exit_code == 2 and "naive timestamps" in result.stderr and not out.exists()
    ok = ready(
        "features",
        "history",
        "--entities",
        str(naive),
        "-f",
        "driver_stats:rate",
        "-o",
        str(out),
        "--tz",
        "UTC",
    )
    assert ok.exit_code == 0 and pl.read_parquet(out)["rate"].to_list() == [0.5]
    bad_out = ready(
        "features",
        "history",
        "--entities",
        str(naive),
        "-f",
        "driver_stats:rate",
        "-o",
        str(tmp_path / "o.json"),
        "--tz",
        "UTC",
    )
    assert bad_out.exit_code == 2 and "neither .parquet nor .csv" in bad_out.stderr


def test_history_can_save_a_dataset_that_rebuilds(ready, files, tmp_path) -> None:
    out = tmp_path / "train.csv"
    saved = ready(
        "features",
        "history",
        "--entities",
        str(files["entities"]),
        "-f",
        "driver_stats:*",
        "-o",
        str(out),
        "--save",
        "train",
    )
    assert saved.exit_code == 0 and "saved as dataset train/1" in saved.stdout
    assert pl.read_csv(out).height == 4
    listed = ready("features", "datasets", "--json").json()
    assert [d["id"] for d in listed] == ["train/1"]
    rebuilt = ready("features", "datasets", "train", "--rebuild", "--json")
    assert rebuilt.exit_code == 0 and rebuilt.json()["rebuilt"] == "identical"
    assert ready("features", "datasets", "trian").exit_code == 3


def test_materialize_and_online(ready) -> None:
    done = ready("features", "materialize", "--json")
    assert done.exit_code == 0 and done.json()[0]["rows"] == 2
    rows = ready(
        "features",
        "online",
        "-f",
        "driver_stats:trips_sum_1d",
        "-k",
        "driver_id=1,2,9",
        "--age",
        "--json",
    ).json()
    assert [r["driver_id"] for r in rows] == [1, 2, 9]
    assert [r["trips_sum_1d"] for r in rows] == [None, None, None]  # no event in the last day
    assert rows[0]["trips_sum_1d__age_s"] >= 0
    assert ready("features", "online", "-f", "driver_stats:rate").exit_code == 2


def test_discovery_commands(ready) -> None:
    listed = ready("features", "list", "--json").json()
    assert listed[0]["view"] == "driver_stats" and listed[0]["rows"] == 3
    shown = ready("features", "show", "driver_stats")
    assert (
        shown.exit_code == 0
        and "driver_id (int64)" in shown.stdout
        and "sum(trips)" in shown.stdout
    )
    stats = ready("features", "stats", "driver_stats", "--json").json()
    rate = next(f for f in stats["features"] if f["name"] == "rate")
    assert (rate["count"], rate["min"], rate["max"]) == (3, 0.5, 0.9)
    hits = ready("features", "search", "rate", "--json").json()
    assert hits[0]["ref"] == "driver_stats:rate"
    human = ready("features", "search", "tag:mobility")
    assert "driver_stats:trips_sum_1d" in human.stdout
    assert json.loads(ready("features", "show", "driver_stats", "--json").stdout)["version"] == 1
