from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlcore.errors import StoreBusy
from mlcore.store.catalog import Catalog


def test_transaction_commits_and_rolls_back(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.duckdb")
    with cat.transaction() as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(ZeroDivisionError), cat.transaction() as con:
        con.execute("INSERT INTO t VALUES (1)")
        1 / 0  # noqa: B018
    with cat.transaction() as con:
        con.execute("INSERT INTO t VALUES (2)")
        assert cat.in_transaction()
    assert cat.query("SELECT list(x) FROM t") == [([2],)]
    assert not cat.in_transaction()
    cat.close()


def test_nested_transactions_join_the_outer_one(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.duckdb")
    with cat.transaction() as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), cat.transaction() as outer:
        outer.execute("INSERT INTO t VALUES (1)")
        with cat.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("abort the outer transaction")
    assert cat.query("SELECT count(*) FROM t") == [(0,)]


def test_connection_is_kept_warm_then_released_when_idle(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.duckdb", idle_release=0.05)
    for _ in range(20):
        cat.query("SELECT 1")
    assert cat.stats["opens"] == 1
    deadline = time.monotonic() + 5
    while cat._con is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cat._con is None, "the reaper did not let go of an idle catalog"
    cat.query("SELECT 1")
    assert cat.stats["opens"] == 2


def _hold_catalog(path: Path, seconds: float) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("held", flush=True)
        time.sleep({seconds})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_lock_conflict_times_out_naming_store_and_holder(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    Catalog(path).query("SELECT 1")
    holder = _hold_catalog(path, 30)
    try:
        cat = Catalog(path, lock_timeout=0.3)
        with pytest.raises(StoreBusy) as info:
            cat.query("SELECT 1")
        assert str(tmp_path) in str(info.value)
        assert f"pid {holder.pid}" in str(info.value)
        assert info.value.exit_code == 4
    finally:
        holder.kill()
        holder.wait()


def test_waiter_gets_in_once_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    Catalog(path).query("SELECT 1")
    holder = _hold_catalog(path, 0.5)
    try:
        cat = Catalog(path, lock_timeout=20)
        assert cat.query("SELECT 42") == [(42,)]
        assert cat.stats["max_wait_s"] > 0.1
    finally:
        holder.wait()
