from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_init_info_and_json(cli, store_path: Path) -> None:
    r = cli("--as", "ana", "init", str(store_path), store=None)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == str(store_path)
    info = cli("info", "--json", "--as", "ana").json()
    assert info["created_by"] == "ana" and info["actor_roles"] == ["admin"]
    assert info["schema"]["core"] >= 1


def test_global_options_anywhere(cli, store_path: Path) -> None:
    cli("--as", "ana", "init", str(store_path), store=None)
    assert cli("access", "list", "--json").json() == {"ana": ["admin"]}


def test_unknown_role_and_actor(cli, store_path: Path) -> None:
    cli("--as", "ana", "init", str(store_path), store=None)
    r = cli("--as", "ana", "access", "grant", "bob", "reviewr")
    assert r.exit_code == 3
    assert r.stderr == "mlcore: error: role 'reviewr' not found. Did you mean 'reviewer'?\n"
    r = cli("--as", "ana", "access", "revoke", "bobby", "reviewer")
    assert r.exit_code == 3 and "actor 'bobby' not found" in r.stderr


def test_denied_exits_5_and_is_audited(cli, store_path: Path) -> None:
    cli("--as", "ana", "init", str(store_path), store=None)
    r = cli("--as", "eve", "access", "grant", "eve", "admin")
    assert r.exit_code == 5
    assert r.stderr.startswith("mlcore: error: eve may not grant a role")
    log = cli("audit", "log", "--action", "access.denied", "--json").json()
    assert [(e["actor"], e["subject"]) for e in log] == [("eve", "actor:eve")]


def test_bad_store_paths(cli, tmp_path: Path) -> None:
    r = cli("info", store=tmp_path / "nope")
    assert r.exit_code == 3
    assert "store '" in r.stderr and "mlcore init" in r.stderr
    (tmp_path / "f").write_text("x")
    r = cli("init", str(tmp_path / "f"), store=None)
    assert r.exit_code == 2 and "not a folder" in r.stderr
    assert r.stdout == ""


def test_audit_verify_exit_codes(cli, store_path: Path) -> None:
    import duckdb

    cli("--as", "ana", "init", str(store_path), store=None)
    cli("--as", "ana", "access", "grant", "bob", "reviewer")
    ok = cli("audit", "verify", "--json")
    assert ok.exit_code == 0 and ok.json()["ok"] is True
    con = duckdb.connect(str(store_path / "catalog.duckdb"))
    con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    con.close()
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert "entry 2 was edited" in bad.stderr


def test_usage_error_exits_2(cli) -> None:
    r = cli("info", "--bogus")
    assert r.exit_code == 2


def test_gc_lists_then_removes(cli, store_path: Path) -> None:
    cli("--as", "ana", "init", str(store_path), store=None)
    junk = store_path / "data" / "features" / ".tmp-deadbeef.parquet"
    junk.parent.mkdir(parents=True, exist_ok=True)
    junk.write_bytes(b"half a file")
    listed = cli("gc", "--grace", "0", "--json").json()
    assert listed["removed"] is False
    assert [f["path"] for f in listed["files"]] == ["data/features/.tmp-deadbeef.parquet"]
    assert junk.exists()
    assert cli("--as", "ana", "gc", "--grace", "0", "--yes").exit_code == 0
    assert not junk.exists()


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from mlcore.cli.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ['duckdb', 'polars', 'numba', 'sklearn', 'textual', 'pyarrow', 'numpy']\n"
        "print('HEAVY=' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="
