"""Several processes, crashes: version numbers stay consecutive, production stays single.

Each test starts real processes (the catalog is one DuckDB file that one
process holds at a time); they wait for a start file so that they really run
at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import mlcore
from mlcore.registry.artifacts import deserialize

from .conftest import fit, training_frame

_PRELUDE = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    import mlcore
    store_path, go = sys.argv[1], Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.005)
    """
)

_REGISTER = _PRELUDE + textwrap.dedent(
    """
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    store = mlcore.open(store_path, actor="admin")
    count = int(sys.argv[3])  # 0: until killed
    i = 0
    while count == 0 or i < count:
        v = store.models.register("churn", model, tags={"worker": sys.argv[4]}, code=[])
        print(v.version, flush=True)
        i += 1
    """
)

_RELEASE = _PRELUDE + textwrap.dedent(
    """
    store = mlcore.open(store_path, actor=sys.argv[3])
    v = store.models.release("churn", int(sys.argv[4]), reason=f"by {sys.argv[3]}")
    print(json.dumps({"version": v.version, "state": v.state}))
    """
)

_CRASH_IN_TRANSACTION = textwrap.dedent(
    """
    import os, signal, sys
    import mlcore
    from mlcore.store import storage
    from sklearn.linear_model import LogisticRegression
    audit = storage.Tx.audit
    def audit_then_die(self, action, subject, details=None):
        seq = audit(self, action, subject, details)
        if action == "models.register":
            os.kill(os.getpid(), signal.SIGKILL)  # blob written, version row inserted, no commit
        return seq
    storage.Tx.audit = audit_then_die
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    mlcore.open(sys.argv[1], actor="admin").models.register("churn", model, code=[])
    """
)


def spawn(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow  # eight interpreters importing scikit-learn: start-up dominates
def test_eight_processes_register_consecutive_versions(store, tmp_path: Path) -> None:
    store.close()
    go = tmp_path / "go"
    workers, each = 8, 3
    procs = [spawn(_REGISTER, store.path, go, each, w) for w in range(workers)]
    go.touch()
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    returned = [int(line) for out, _ in outputs for line in out.split()]
    assert sorted(returned) == list(range(1, workers * each + 1))
    versions = mlcore.open(store.path, actor="admin").models.versions("churn")
    assert [v.version for v in versions] == list(range(1, workers * each + 1))
    by_worker = {}
    for v in versions:
        by_worker.setdefault(v.tags["worker"], []).append(v.version)
    assert sorted(len(vs) for vs in by_worker.values()) == [each] * workers


def test_two_processes_releasing_at_once_leave_one_production(team, model, tmp_path) -> None:
    for _ in range(2):
        version = team["dana"].models.register("churn", model).version
        team["dana"].models.submit("churn", version)
        team["rita"].models.approve("churn", version)
    team["admin"].close()
    go = tmp_path / "go"
    procs = [
        spawn(_RELEASE, team["admin"].path, go, actor, v)
        for actor, v in (("emil", 1), ("admin", 2))
    ]
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    check = mlcore.open(team["admin"].path, actor="admin")
    states = {v.version: v.state for v in check.models.versions("churn")}
    assert sorted(states.values()) == ["archived", "production"]
    winner = next(v for v, s in states.items() if s == "production")
    moves = check.models.pointer_history("churn")
    first, second = moves
    assert (first.from_version, second.from_version, second.to_version) == (
        None,
        first.to_version,
        winner,
    )
    assert {first.to_version, second.to_version} == {1, 2}
    assert first.seq < second.seq
    assert check.verify_audit().ok


def test_kill_during_register_leaves_no_half_version(store, tmp_path: Path) -> None:
    store.close()
    go = tmp_path / "go"
    go.touch()
    proc = spawn(_REGISTER, store.path, go, 0, "k")
    assert proc.stdout is not None
    for _ in range(3):  # let a few versions commit, then kill it mid-flight
        assert proc.stdout.readline().strip()
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    check = mlcore.open(store.path, actor="admin")
    versions = check.models.versions("churn")
    numbers = [v.version for v in versions]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3
    with check.storage.transaction() as tx:
        (last,) = tx.fetchone("SELECT last_version FROM models WHERE name = 'churn'")
        events = tx.fetchone("SELECT count(*) FROM model_events WHERE action = 'register'")
    assert last == len(numbers) and events == (len(numbers),)
    for v in versions:  # every recorded version loads, hash checked
        record = check.models.get("churn", v.version)
        model = deserialize(check.storage.read_blob(record.artifact_sha256))
        assert model.predict([[3.0]]).tolist() == [1]
    assert check.verify_audit().ok
    leftovers = check.gc(grace=0).files
    assert all(f["path"].startswith("artifacts/") for f in leftovers)
    assert len(leftovers) <= 1


def test_kill_inside_the_register_transaction_records_nothing(store, tmp_path: Path) -> None:
    store.close()
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH_IN_TRANSACTION, str(store.path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    check = mlcore.open(store.path, actor="admin")
    assert check.models.list() == []
    assert check.models.search() == []
    (leftover,) = check.gc(grace=0).files  # the blob written before the crash
    assert leftover["reason"] == "unreferenced" and leftover["path"].startswith("artifacts/")
    assert check.verify_audit().ok
    # The next registration gets version 1: the crashed one consumed no number.
    model = fit(training_frame())
    assert check.models.register("churn", model).version == 1
    assert json.loads(json.dumps(check.info()["artifacts"]))["count"] == 1
