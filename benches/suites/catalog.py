"""Catalog transactions: warm latency, many writer processes, CLI start-up.

References, measured in the same run:
- a raw DuckDB transaction doing the same inserts on an open file connection;
- the same number of audited transactions done by one process alone;
- ``python -c pass`` for start-up.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benches.harness import Case, Measurement

_SIZES = {"small": (20, 2, 20), "medium": (500, 8, 100), "large": (2000, 8, 200)}

_WRITER = textwrap.dedent(
    """
    import json, sys, time, mlcore
    store = mlcore.open(sys.argv[1], actor="admin")
    lat = []
    for i in range(int(sys.argv[2])):
        t0 = time.perf_counter()
        with store.storage.transaction() as tx:
            tx.require("models.register")
            tx.audit("bench.write", "w", {"i": i})
        lat.append(time.perf_counter() - t0)
    print(json.dumps({"lat": lat, "opens": store.storage.catalog.stats["opens"]}))
    """
)


def _new_store() -> Path:
    import mlcore

    path = Path(tempfile.mkdtemp(prefix="mlcore-bench-")) / "store"
    mlcore.open(path, create=True, actor="admin").close()
    return path


def _latency(n: int) -> Measurement:
    import duckdb

    import mlcore
    from mlcore.store import audit

    path = _new_store()
    store = mlcore.open(path, actor="admin")
    storage = store.storage
    for _ in range(5):  # warm the connection
        with storage.transaction() as tx:
            tx.audit("bench.warm", "w")
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        with storage.transaction() as tx:
            tx.require("models.register")
            tx.audit("bench.write", "w", {"i": i})
        lat.append(time.perf_counter() - t0)
    store.close()

    raw_path = path.parent / "raw.duckdb"
    con = duckdb.connect(str(raw_path))
    con.execute(
        "CREATE TABLE audit_log (seq BIGINT, logged_at TIMESTAMPTZ, actor VARCHAR, action VARCHAR,"
        " subject VARCHAR, details VARCHAR, prev_hash VARCHAR, hash VARCHAR)"
    )
    con.execute("CREATE TABLE head (value VARCHAR)")
    con.execute("INSERT INTO head VALUES ('')")
    ref = []
    from datetime import UTC, datetime

    for i in range(n):
        t0 = time.perf_counter()
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                i,
                datetime.now(UTC),
                "admin",
                "bench.write",
                "w",
                audit.canonical_json({"i": i}),
                "0",
                "1",
            ],
        )
        con.execute("UPDATE head SET value = ?", [str(i)])
        con.execute("COMMIT")
        ref.append(time.perf_counter() - t0)
    con.close()
    shutil.rmtree(path.parent, ignore_errors=True)
    med, ref_med = statistics.median(lat), statistics.median(ref)
    return Measurement(
        med,
        ref_med,
        {
            "p50_ms": med * 1e3,
            "p99_ms": sorted(lat)[int(0.99 * (n - 1))] * 1e3,
            "raw_p50_ms": ref_med * 1e3,
        },
    )


def _concurrent(processes: int, per_process: int) -> Measurement:
    path = _new_store()

    def run(n_proc: int, n_tx: int) -> tuple[float, list[dict]]:
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, str(path), str(n_tx)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(n_proc)
        ]
        outs = [json.loads(p.communicate()[0]) for p in procs]
        return time.perf_counter() - t0, outs

    solo_s, _ = run(1, processes * per_process)
    many_s, outs = run(processes, per_process)
    lat = sorted(x for o in outs for x in o["lat"])
    shutil.rmtree(path.parent, ignore_errors=True)
    total = processes * per_process
    return Measurement(
        many_s,
        solo_s,
        {
            "tx_per_s": total / many_s,
            "solo_tx_per_s": total / solo_s,
            "max_wait_s": lat[-1],
            "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1e3,
            "handovers": sum(o["opens"] for o in outs),
        },
    )


def _startup(repeat: int) -> Measurement:
    def best(cmd: list[str]) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        return min(times)

    ref = best([sys.executable, "-c", "pass"])
    helps = best([sys.executable, "-m", "mlcore.cli.app", "--help"])
    return Measurement(helps, ref, {"help_ms": helps * 1e3, "python_ms": ref * 1e3})


def cases(size: str) -> list[Case]:
    n, procs, per = _SIZES[size]
    return [
        Case(
            "txn_latency",
            measure=lambda: _latency(n),
            reference_name="raw duckdb txn",
            max_ratio=4.0,
            note="median audited transaction on a warm connection",
        ),
        Case(
            f"writers_{procs}x{per}",
            measure=lambda: _concurrent(procs, per),
            reference_name="same txns, one process",
            note="wall time of N concurrent writer processes vs one process doing all",
        ),
        Case(
            "cli_help",
            measure=lambda: _startup(3 if size == "small" else 7),
            reference_name="python -c pass",
            note="mlcore --help start-up",
        ),
    ]
