"""Many processes, one store: nothing lost, nothing surfaced as an error."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import mlcore

_WRITER = textwrap.dedent(
    """
    import json, sys, mlcore
    store = mlcore.open(sys.argv[1], actor="admin")
    worker = int(sys.argv[2])
    for i in range(int(sys.argv[3])):
        with store.storage.transaction() as tx:
            tx.require("models.register")
            tx.audit("test.write", f"worker:{worker}", {"i": i})
    print(json.dumps(store.storage.catalog.stats))
    """
)

_READER = textwrap.dedent(
    """
    import json, subprocess, sys, time
    stop, store = sys.argv[1], sys.argv[2]
    polls = 0
    import pathlib
    while not pathlib.Path(stop).exists():
        out = subprocess.run(
            [sys.executable, "-m", "mlcore.cli.app", "--store", store, "audit", "log", "--limit", "3", "--json"],
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            print("FAILED", out.returncode, out.stderr, flush=True)
            sys.exit(1)
        json.loads(out.stdout)
        polls += 1
    print(polls)
    """
)


def test_eight_writers_and_a_polling_reader(store, tmp_path: Path) -> None:
    store.close()
    writers_n, per_writer = 8, 200
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(stop), str(store.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(store.path), str(w), str(per_writer)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers_n)
    ]
    results = [w.communicate(timeout=300) for w in writers]
    stop.touch()
    reader_out, reader_err = reader.communicate(timeout=120)

    for w, (out, err) in zip(writers, results, strict=True):
        assert w.returncode == 0, err
        json.loads(out)
    assert reader.returncode == 0, reader_out + reader_err
    assert int(reader_out.strip()) >= 1

    check = mlcore.open(store.path, actor="admin")
    entries = check.audit_log(action="test.write")
    assert len(entries) == writers_n * per_writer
    for w in range(writers_n):
        mine = [e.details["i"] for e in entries if e.subject == f"worker:{w}"]
        assert mine == list(range(per_writer))  # each writer's order preserved, none lost
    assert check.verify_audit().ok
