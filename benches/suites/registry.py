"""Registry operations on a model with many versions, and batch scoring through the store.

Per operation, in one process on a warm catalog connection, mlcore against the
raw DuckDB statements the operation needs at least, run on a copy of the same
catalog in the same run (median of many calls each):

- register (a small LogisticRegression): mlcore's whole ``register`` against
  serialising with skops + hashing + writing the blob durably (file and folder
  fsynced) + the catalog inserts;
  ``overhead_ms`` is register minus serialisation (goal: <= 5 ms);
- alias move (goal <= 2 ms), resolve alias, search every version (goal <= 5 ms),
  load (the version's sha256 and the blob's registration from the catalog, read,
  hash check, skops);
- score: ``store.models.score`` against a bare ``predict_proba`` on the same
  frame (goal: ratio <= 1.2);
- at medium and large size, the same operations as separate ``mlcore``
  invocations, against ``python -c pass``.

The optional MLflow peer (sqlite backend) runs only where ``mlflow`` is
importable; it is not a dependency of mlcore and is skipped otherwise.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import skops.io
from sklearn.linear_model import LogisticRegression

from benches.harness import Case, Measurement

# size -> (versions of the model, calls per operation, rows scored)
_SIZES = {
    "small": (50, 15, 20_000),
    "medium": (1_000, 60, 200_000),
    "large": (1_000, 200, 1_000_000),
}
FEATURES = [f"x{i}" for i in range(8)]


def _median_ms(fn: Callable[[], Any], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _frame(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"id": np.arange(rows), **{f: rng.normal(size=rows) for f in FEATURES}})


class _Bench:
    """A store holding one model with ``versions`` versions, and a raw copy of its catalog."""

    def __init__(self, versions: int) -> None:
        import duckdb

        import mlcore

        self.dir = Path(tempfile.mkdtemp(prefix="mlcore-bench-registry-"))
        self.train = _frame(2_000, seed=1)
        label = (self.train["x0"] + self.train["x1"] > 0).to_numpy()
        self.model = LogisticRegression().fit(self.train.select(FEATURES), label)
        store = mlcore.open(self.dir / "store", create=True, actor="admin")
        first = store.models.register(
            "churn", self.model, training_data=self.train, metrics={"auc": 0.5}, code=[]
        )
        with store.storage.transaction() as tx:  # the other versions, copied in one statement
            tx.execute(
                "INSERT INTO model_versions SELECT model, v, state, state_at, created_at, "
                "created_by, artifact_sha256, artifact, trusted, signature, input_example, "
                "lineage, params, card, owner, risk_tier, MAP(['auc'], [v / ?]), tags, features "
                "FROM model_versions, range(2, ? + 1) r(v) WHERE version = 1",
                [versions, versions],
            )
            tx.execute("UPDATE models SET last_version = ?", [versions])
        store.models.set_alias("churn", "staging", 1)
        store.close()
        shutil.copy(self.dir / "store" / "catalog.duckdb", self.dir / "raw.duckdb")
        self.store = mlcore.open(self.dir / "store", actor="admin")
        self.store.storage.catalog.idle_release = 3600.0  # warm: held across the whole case
        self.raw = duckdb.connect(str(self.dir / "raw.duckdb"))
        self.raw.execute("SET TimeZone = 'UTC'")
        self.raw.execute("SET threads = 1")
        self.sha = first.artifact_sha256
        self.blob = self.store.storage.blobs.path(self.sha).read_bytes()
        self.versions = versions
        self._flip = 0
        self._raw_seq = 10_000_000

    def close(self) -> None:
        self.store.close()
        self.raw.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- mlcore's side ---------------------------------------------------------------

    def register(self) -> None:
        self.store.models.register("churn", self.model, metrics={"auc": 0.5}, code=[])

    def move_alias(self) -> None:
        self._flip = 1 - self._flip
        self.store.models.set_alias("churn", "staging", 1 + self._flip)

    def resolve(self) -> None:
        self.store.models.get("churn", alias="staging")

    def search(self) -> None:
        assert len(self.store.models.search(name="churn")) >= self.versions

    def search_filtered(self) -> None:
        self.store.models.search(name="churn", metrics="auc>=0.5", state="draft")

    def load(self) -> None:
        self.store.models.load("churn", 1)

    # -- the raw statements ------------------------------------------------------------

    def _raw_audit(self, subject: str) -> int:
        self._raw_seq += 1
        self.raw.execute(
            "INSERT INTO audit_log VALUES (?, ?, 'admin', 'bench', ?, '{}', ?, ?)",
            [self._raw_seq, datetime.now(UTC), subject, "0" * 64, "1" * 64],
        )
        self.raw.execute("UPDATE store_info SET value = ? WHERE key = 'audit_head'", ["x"])
        return self._raw_seq

    def raw_register(self) -> None:
        data = skops.io.dumps(self.model)
        sha = hashlib.sha256(data).hexdigest()
        path = self.dir / "raw-blobs" / sha
        path.parent.mkdir(exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        folder = os.open(path.parent, os.O_RDONLY)  # a durable new file needs its folder synced
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        now = datetime.now(UTC)
        con = self.raw
        con.execute("BEGIN")
        con.execute(
            "INSERT OR IGNORE INTO blobs VALUES (?, ?, NULL, ?, 'admin')", [sha, len(data), now]
        )
        (version,) = con.execute(
            "UPDATE models SET last_version = last_version + 1 WHERE name = 'churn' "
            "RETURNING last_version"
        ).fetchone()
        con.execute(
            "INSERT INTO model_versions SELECT model, ?, state, ?, ?, created_by, ?, artifact, "
            "trusted, NULL, NULL, lineage, params, card, owner, risk_tier, metrics, tags, "
            "features FROM model_versions WHERE model = 'churn' AND version = 1",
            [version, now, now, sha],
        )
        seq = self._raw_audit("model:churn")
        con.execute(
            "INSERT INTO model_events VALUES (?, 'churn', ?, 'register', NULL, 'draft', ?, "
            "'admin', [], NULL, NULL)",
            [seq, version, now],
        )
        con.execute("COMMIT")

    def raw_move_alias(self) -> None:
        self._flip = 1 - self._flip
        now = datetime.now(UTC)
        con = self.raw
        con.execute("BEGIN")
        con.execute(
            "SELECT state FROM model_versions WHERE model = 'churn' AND version = ?",
            [1 + self._flip],
        ).fetchone()
        con.execute(
            "SELECT version FROM model_pointers WHERE model = 'churn' AND alias = 'staging'"
        ).fetchone()
        seq = self._raw_audit("model:churn@staging")
        con.execute(
            "INSERT OR REPLACE INTO model_pointers VALUES ('churn', 'staging', ?, ?, 'admin')",
            [1 + self._flip, now],
        )
        con.execute(
            "INSERT INTO pointer_moves VALUES (?, 'churn', 'staging', 'alias', ?, ?, ?, 'admin', NULL, NULL)",
            [seq, 2 - self._flip, 1 + self._flip, now],
        )
        con.execute("COMMIT")

    def raw_resolve(self) -> None:
        self.raw.execute(
            "SELECT v.* FROM model_pointers p JOIN model_versions v ON v.model = p.model "
            "AND v.version = p.version WHERE p.model = 'churn' AND p.alias = 'staging'"
        ).fetchall()

    def raw_search(self) -> None:
        self.raw.execute(
            "SELECT model, version, state, created_at, created_by, owner, risk_tier, metrics, tags, "
            "features FROM model_versions WHERE model = ? ORDER BY model, version",
            ["churn"],
        ).fetchall()

    def raw_search_filtered(self) -> None:
        self.raw.execute(
            "SELECT model, version, state, created_at, created_by, owner, risk_tier, metrics, tags, "
            "features FROM model_versions WHERE model = ? AND metrics[?] >= ? AND state IN (?) "
            "ORDER BY model, version",
            ["churn", "auc", 0.5, "draft"],
        ).fetchall()

    def raw_load(self) -> None:
        (sha,) = self.raw.execute(
            "SELECT artifact_sha256 FROM model_versions WHERE model = 'churn' AND version = 1"
        ).fetchone()
        self.raw.execute("SELECT 1 FROM blobs WHERE sha256 = ?", [sha]).fetchone()
        data = self.store.storage.blobs.path(sha).read_bytes()
        assert hashlib.sha256(data).hexdigest() == self.sha
        skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))

    def serialize_ms(self, n: int) -> float:
        from mlcore.registry.artifacts import serialize

        return _median_ms(lambda: serialize(self.model), n) * 1e3


def _operation(bench: _Bench, op: str, calls: int, goal_ms: float | None) -> Measurement:
    mine = _median_ms(getattr(bench, op), calls)
    raw = _median_ms(getattr(bench, f"raw_{op}"), calls)
    extras: dict[str, Any] = {"ms": mine * 1e3, "raw_ms": raw * 1e3}
    if goal_ms is not None:
        extras["goal_ms"] = goal_ms
    if op == "register":
        extras["serialize_ms"] = bench.serialize_ms(calls)
        extras["overhead_ms"] = extras["ms"] - extras["serialize_ms"]
    return Measurement(mine, raw, extras)


def _cli(bench: _Bench, repeat: int) -> Measurement:
    store = str(bench.dir / "store")
    model_file = bench.dir / "model.skops"
    skops.io.dump(bench.model, model_file)
    bench.store.close()
    bench.store.storage.catalog.idle_release = 0.05
    commands = {
        "register": ["models", "register", "churn", str(model_file)],
        "alias": ["models", "alias", "churn", "staging", "2"],
        "show": ["models", "show", "churn"],
        "search": ["models", "search", "--name", "churn"],
        "load": ["models", "load", "churn", "--version", "1"],
    }

    def best(cmd: list[str]) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        return min(times)

    python = best([sys.executable, "-c", "pass"])
    cli = [sys.executable, "-m", "mlcore.cli.app", "--store", store, "--as", "admin", "--json"]
    extras = {f"{name}_ms": best([*cli, *args]) * 1e3 for name, args in commands.items()}
    extras["python_ms"] = python * 1e3
    return Measurement(extras["alias_ms"] / 1e3, python, extras)


def _mlflow_peer(versions: int, calls: int) -> Measurement:
    import mlflow
    from mlflow import MlflowClient

    folder = Path(tempfile.mkdtemp(prefix="mlcore-bench-mlflow-"))
    try:
        mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
        client = MlflowClient()
        client.create_registered_model("churn")
        for _ in range(versions):
            client.create_model_version("churn", source=str(folder / "m"))
        create = _median_ms(lambda: client.create_model_version("churn", source=str(folder)), calls)
        flip = [1]

        def move() -> None:
            flip[0] = 3 - flip[0]
            client.set_registered_model_alias("churn", "staging", str(flip[0]))

        alias = _median_ms(move, calls)
        search = _median_ms(
            lambda: client.search_model_versions("name='churn'"), max(3, calls // 10)
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Measurement(
        alias, None, {"create_ms": create * 1e3, "alias_ms": alias * 1e3, "search_ms": search * 1e3}
    )


def cases(size: str) -> list[Case]:
    versions, calls, rows = _SIZES[size]
    state: dict[str, Any] = {}

    def bench() -> _Bench:
        if "bench" not in state:
            state["bench"] = _Bench(versions)
        return state["bench"]

    def op(name: str, goal_ms: float | None = None, note: str = "") -> Case:
        return Case(
            name=f"{name}_{versions}_versions",
            measure=lambda: _operation(bench(), name, calls, goal_ms),
            reference_name="raw duckdb statements",
            note=note or f"median of {calls} calls, warm catalog",
        )

    frame = _frame(rows, seed=2)

    def score() -> Measurement:
        b = bench()
        model = b.model
        inputs = frame.select(FEATURES)
        n = {"small": 3, "medium": 5, "large": 9}[size]
        b.store.models.score("churn", frame, version=1)  # load once (cached afterwards)
        times_run, times_ref = [], []
        for _ in range(n):  # alternate, so that machine load hits both alike
            times_run.append(_median_ms(lambda: b.store.models.score("churn", frame, version=1), 1))
            times_ref.append(_median_ms(lambda: model.predict_proba(inputs), 1))
        return Measurement(min(times_run), min(times_ref), {"rows": rows})

    def teardown() -> None:
        if "bench" in state:
            state.pop("bench").close()

    out = [
        op("register", 5.0, note=f"median of {calls} registrations; goal: overhead_ms <= 5"),
        op("move_alias", 2.0),
        op("resolve"),
        op("search", 5.0, note=f"all {versions} versions as summaries"),
        op("search_filtered", 5.0, note="metric range and state filter"),
        op("load"),
        Case(
            name="score",
            measure=score,
            reference_name="predict_proba",
            # The goal is stated for 1M rows; on small batches the catalog lookup
            # (a millisecond) is a visible share of a sub-millisecond predict.
            max_ratio=1.2 if size == "large" else None,
            note=f"{rows:,} rows, store.models.score vs bare predict_proba",
        ),
    ]
    if size != "small":
        out.append(
            Case(
                name="cli_invocations",
                measure=lambda: _cli(bench(), 3),
                reference_name="python -c pass",
                note="each operation as its own mlcore process (best of 3); time = alias move",
            )
        )
    import importlib.util

    if importlib.util.find_spec("mlflow") is not None:
        out.append(
            Case(
                name="mlflow_peer",
                measure=lambda: _mlflow_peer(versions, calls),
                note="MLflow registry, sqlite backend (optional peer)",
            )
        )
    out[-1].teardown = teardown
    return out
