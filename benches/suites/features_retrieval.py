"""Point-in-time retrieval and as-of aggregations against raw DuckDB and raw Polars.

Data like a driver-stats table: 3 float features, hourly rows per driver with
jitter, whole days missing (gaps longer than the ttl), 1% of rows repeated at the
same event time with a later created time and other values; written as 4
ingestion batches (by time), each Parquet file sorted by (driver, event time) as
the store writes them. Entity rows: random drivers (5% unknown) at random times,
0.5% duplicated.

References on the same files, with the same tie resolution first (the latest
created row per driver and event time):

- (a) DuckDB: ``QUALIFY row_number() ... = 1``, ``ASOF LEFT JOIN``, ttl applied after;
- (b) Polars: the same de-duplication, ``join_asof(..., tolerance=ttl)``.

Neither reference returns rows in input order; mlcore does. Aggregations (sum,
mean, stddev and count over 24 h) are compared with a DuckDB range join grouped
per entity row. Peak RSS is measured in a child process at medium and large.

The 10M x 100M run is not a size: ``python -m benches.suites.features_retrieval
ENTITIES FEATURES`` runs mlcore alone on generated data and prints its time and RSS.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from benches.harness import Case, Measurement, best_of

SIZES = {
    "small": (10_000, 100_000),
    "medium": (100_000, 1_000_000),
    "large": (1_000_000, 10_000_000),
}
ROWS_PER_DRIVER = 1_000  # ~6 weeks of hourly rows
BATCHES = 4
TTL = dt.timedelta(hours=6)
WINDOW = "24h"
FEATURES = ("conv_rate", "acc_rate", "avg_daily_trips")
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
HOUR_US = 3_600_000_000


@dataclass
class Dataset:
    folder: Path
    files: list[str]
    entities: pl.DataFrame
    entities_path: str


def generate(folder: Path, n_entities: int, n_features: int, seed: int = 0) -> Dataset:
    """Write the driver-stats batches and the entity frame into ``folder``."""
    rng = np.random.default_rng(seed)
    drivers = max(1, n_features // ROWS_PER_DRIVER)
    hours = n_features // drivers
    start_us = (START - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for b in range(BATCHES):
        lo, hi = b * hours // BATCHES, (b + 1) * hours // BATCHES
        driver = np.repeat(np.arange(drivers, dtype=np.int64), hi - lo)
        hour = np.tile(np.arange(lo, hi, dtype=np.int64), drivers)
        keep = rng.random((drivers, hours // 24 + 1)) > 0.05  # ~5% of driver-days missing
        kept = keep[driver, hour // 24]
        driver, hour = driver[kept], hour[kept]
        ts = start_us + hour * HOUR_US + rng.integers(0, HOUR_US // 2, hour.size)
        tied = rng.random(ts.size) < 0.01
        driver = np.concatenate([driver, driver[tied]])
        created = np.concatenate([ts + 60_000_000, ts[tied] + HOUR_US])
        ts = np.concatenate([ts, ts[tied]])
        frame = pl.DataFrame(
            {
                "driver_id": driver,
                "event_timestamp": pl.Series(ts).cast(pl.Datetime("us", "UTC")),
                "created": pl.Series(created).cast(pl.Datetime("us", "UTC")),
                "conv_rate": rng.random(ts.size),
                "acc_rate": rng.random(ts.size),
                "avg_daily_trips": rng.integers(0, 1000, ts.size).astype(np.float64),
            }
        ).sort("driver_id", "event_timestamp")
        path = folder / f"batch_{b}.parquet"
        # As the store writes them (mlcore.store.files, mlcore.features.ingest).
        pq.write_table(frame.to_arrow(), path, compression="zstd", row_group_size=1 << 18)
        files.append(str(path))
    n_unique = n_entities - n_entities // 200
    known = rng.random(n_unique) >= 0.05
    entity_driver = np.where(
        known, rng.integers(0, drivers, n_unique), drivers + rng.integers(0, 1000, n_unique)
    )
    span = hours * HOUR_US
    entity_ts = start_us - 24 * HOUR_US + rng.integers(0, span + 24 * HOUR_US, n_unique)
    dup = rng.integers(0, n_unique, n_entities - n_unique)
    entities = pl.DataFrame(
        {
            "driver_id": np.concatenate([entity_driver, entity_driver[dup]]),
            "ts": pl.Series(np.concatenate([entity_ts, entity_ts[dup]])).cast(
                pl.Datetime("us", "UTC")
            ),
            "trip_id": np.arange(n_entities),
        }
    )
    entities_path = str(folder / "entities.parquet")
    entities.write_parquet(entities_path)
    return Dataset(folder, files, entities, entities_path)


def view(files: list[str], aggregations: bool = False) -> object:
    from mlcore.features.aggregations import Aggregation
    from mlcore.features.retrieval import ViewSource

    aggs = (
        tuple(Aggregation("conv_rate", f, WINDOW) for f in ("sum", "mean", "stddev", "count"))
        if aggregations
        else ()
    )
    return ViewSource(
        "driver_stats",
        join_keys=("driver_id",),
        event_timestamp="event_timestamp",
        created_timestamp="created",
        ttl=None if aggregations else TTL,
        features=() if aggregations else FEATURES,
        files=tuple(files),
        aggregations=aggs,
    )


def mlcore_join(data: Dataset) -> pl.DataFrame:
    from mlcore.features.retrieval import point_in_time_join

    return point_in_time_join(data.entities, "ts", [view(data.files)])  # type: ignore[list-item]


def mlcore_aggregations(data: Dataset) -> pl.DataFrame:
    from mlcore.features.retrieval import point_in_time_join

    return point_in_time_join(data.entities, "ts", [view(data.files, aggregations=True)])  # type: ignore[list-item]


def duckdb_join(data: Dataset) -> pl.DataFrame:
    import duckdb

    entities = data.entities  # noqa: F841 - read by DuckDB's replacement scan
    ttl = int(TTL.total_seconds())
    features = ", ".join(
        f"CASE WHEN f.fts >= e.ts - INTERVAL {ttl} SECOND THEN f.{c} END AS {c}" for c in FEATURES
    )
    with duckdb.connect() as con:
        return con.sql(f"""
            WITH f AS (
                SELECT driver_id, event_timestamp AS fts, {", ".join(FEATURES)}
                FROM read_parquet({data.files!r})
                QUALIFY row_number() OVER (PARTITION BY driver_id, event_timestamp ORDER BY created DESC) = 1
            )
            SELECT e.*, {features}
            FROM entities e ASOF LEFT JOIN f ON e.driver_id = f.driver_id AND e.ts >= f.fts
        """).pl()


def polars_join(data: Dataset) -> pl.DataFrame:
    features = (
        pl.scan_parquet(data.files)
        .sort("created", descending=True)
        .unique(["driver_id", "event_timestamp"], keep="first")
        .select("driver_id", "event_timestamp", *FEATURES)
        .sort("event_timestamp")
        .collect()
    )
    return data.entities.sort("ts").join_asof(
        features,
        left_on="ts",
        right_on="event_timestamp",
        by="driver_id",
        tolerance=TTL,
        check_sortedness=False,
    )


def duckdb_aggregations(data: Dataset) -> pl.DataFrame:
    import duckdb

    entities = data.entities.with_row_index("row")  # noqa: F841 - read by DuckDB
    with duckdb.connect() as con:
        return con.sql(f"""
            SELECT e.row, sum(f.conv_rate), avg(f.conv_rate), stddev_samp(f.conv_rate), count(f.conv_rate)
            FROM entities e LEFT JOIN read_parquet({data.files!r}) f
              ON e.driver_id = f.driver_id AND f.event_timestamp <= e.ts
             AND f.event_timestamp > e.ts - INTERVAL 24 HOUR
            GROUP BY e.row
        """).pl()


def peak_rss_mb(data: Dataset, which: str) -> float:
    """Peak resident memory of a child process that loads the entities and runs ``which``.

    Read from the child's own VmHWM: ``getrusage``'s maxrss survives ``exec`` and would
    report the (larger) parent's resident size at fork.
    """
    script = (
        "import json, sys; import polars as pl; "
        "from benches.suites import features_retrieval as s; "
        "d = s.Dataset(None, json.loads(sys.argv[1]), pl.read_parquet(sys.argv[2]), sys.argv[2]); "
        f"s.{which}(d); "
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(data.files), data.entities_path],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return int(out.stdout.split()[-1]) / 1024


def _with_memory(data: Dataset, size: str) -> Measurement:
    """mlcore vs DuckDB, alternating; at medium and large also each one's peak RSS (and Polars')."""
    runs, refs = [], []
    for _ in range(3):
        runs.append(best_of(lambda: mlcore_join(data), 1))
        refs.append(best_of(lambda: duckdb_join(data), 1))
    extras: dict[str, object] = {
        "entities": data.entities.height,
        "feature_rows": pl.scan_parquet(data.files).select(pl.len()).collect().item(),
    }
    if size != "small":
        for which in ("mlcore_join", "duckdb_join", "polars_join"):
            extras[f"peak_rss_mb_{which}"] = round(peak_rss_mb(data, which))
    return Measurement(min(runs), min(refs), extras)


def cases(size: str) -> list[Case]:
    n_entities, n_features = SIZES[size]
    folder = Path(tempfile.mkdtemp(prefix="mlcore-bench-pit-"))
    atexit.register(shutil.rmtree, folder, True)
    data = generate(folder, n_entities, n_features)
    agg_data = (
        data if size == "small" else generate(folder / "agg", n_entities // 10, n_features // 10)
    )
    goal = 0.2 if size == "large" else 1.0
    return [
        Case(
            "pit_join_vs_duckdb",
            measure=lambda: _with_memory(data, size),
            reference_name="duckdb qualify + asof join",
            max_ratio=goal,
            note=f"{n_entities} entities x {n_features} feature rows, {BATCHES} files, ttl {TTL}",
        ),
        Case(
            "pit_join_vs_polars",
            run=lambda: mlcore_join(data),
            reference=lambda: polars_join(data),
            reference_name="polars unique + join_asof",
            max_ratio=1.0,
        ),
        Case(
            "window_aggregations_vs_duckdb",
            run=lambda: mlcore_aggregations(agg_data),
            reference=lambda: duckdb_aggregations(agg_data),
            reference_name="duckdb range join + group by",
            max_ratio=1.0,
            note=f"sum, mean, stddev, count over {WINDOW}; {agg_data.entities.height} entities",
        ),
    ]


def main(argv: list[str]) -> None:
    """Run mlcore alone on ``ENTITIES x FEATURES`` generated rows; print time and peak RSS."""
    n_entities, n_features = int(argv[0]), int(argv[1])
    folder = Path(
        tempfile.mkdtemp(prefix="mlcore-bench-pit-big-", dir=argv[2] if len(argv) > 2 else None)
    )
    try:
        start = time.perf_counter()
        data = generate(folder, n_entities, n_features)
        print(f"generated in {time.perf_counter() - start:.1f} s", flush=True)
        start = time.perf_counter()
        rss = peak_rss_mb(data, "mlcore_join")
        print(
            f"mlcore_join {n_entities} x {n_features}: {time.perf_counter() - start:.1f} s in a child "
            f"process (imports and entity load included), peak RSS {rss:.0f} MB"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
