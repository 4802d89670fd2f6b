from __future__ import annotations

import duckdb
import pytest

from mlcore.errors import PermissionDenied


def _populate(store, n: int = 6) -> None:
    for i in range(n):
        with store.storage.transaction() as tx:
            tx.audit("test.step", f"thing:{i}", {"i": i})


def _tamper(store, *statements: str) -> None:
    store.close()
    con = duckdb.connect(str(store.path / "catalog.duckdb"))
    for sql in statements:
        con.execute(sql)
    con.close()


def test_untouched_chain_verifies(store) -> None:
    _populate(store)
    result = store.verify_audit()
    assert result.ok and result.checked == 7
    assert result.head_seq == 7


@pytest.mark.parametrize(
    ("statements", "bad_seq", "words"),
    [
        (["UPDATE audit_log SET details = '{\"i\":99}' WHERE seq = 4"], 4, "edited"),
        (["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"], 2, "edited"),
        (["DELETE FROM audit_log WHERE seq = 3"], 4, "expected"),
        (
            # reorder: swap the contents of entries 3 and 5, keeping their seq
            [
                "CREATE TEMP TABLE s AS SELECT * FROM audit_log WHERE seq IN (3, 5)",
                "UPDATE audit_log SET subject = (SELECT subject FROM s WHERE seq = 5),"
                " details = (SELECT details FROM s WHERE seq = 5) WHERE seq = 3",
                "UPDATE audit_log SET subject = (SELECT subject FROM s WHERE seq = 3),"
                " details = (SELECT details FROM s WHERE seq = 3) WHERE seq = 5",
            ],
            3,
            "edited",
        ),
        (
            # insert: shift the tail up and slip a forged entry in as seq 4
            [
                "CREATE TEMP TABLE tail AS SELECT * FROM audit_log WHERE seq >= 4",
                "DELETE FROM audit_log WHERE seq >= 4",
                "INSERT INTO audit_log SELECT seq + 1, logged_at, actor, action, subject,"
                " details, prev_hash, hash FROM tail",
                "INSERT INTO audit_log SELECT 4, logged_at, 'mallory', 'models.approve',"
                " 'model:x', '{}', prev_hash, hash FROM tail WHERE seq = 4",
            ],
            4,
            "edited",
        ),
        (["DELETE FROM audit_log WHERE seq >= 6"], 6, "cut off"),
    ],
    ids=["edit-details", "edit-actor", "delete", "reorder", "insert", "truncate-tail"],
)
def test_tampering_is_detected(store, statements, bad_seq, words) -> None:
    _populate(store)
    _tamper(store, *statements)
    result = store.verify_audit()
    assert not result.ok
    assert result.bad_seq == bad_seq
    assert words in result.problem


def test_denied_action_is_rolled_back_and_audited(store) -> None:
    bob = store.as_actor("bob")
    with pytest.raises(PermissionDenied, match="bob may not grant a role"):
        bob.grant("bob", "admin")
    assert store.actors() == {"admin": ["admin"]}
    last = store.audit_log(newest_first=True, limit=1)[0]
    assert (last.actor, last.action) == ("bob", "access.denied")
    assert last.details["action"] == "grant a role to an actor"
    assert store.verify_audit().ok


def test_log_filters(store) -> None:
    _populate(store, 3)
    store.grant("ana", "reviewer")
    assert [e.subject for e in store.audit_log(subject="thing:*")] == [
        "thing:0",
        "thing:1",
        "thing:2",
    ]
    assert [e.action for e in store.audit_log(action="access.*")] == ["access.grant"]
    assert [e.subject for e in store.audit_log(subject="thing:1")] == ["thing:1"]
    assert [e.action for e in store.audit_log(actor="adm*", action="access.grant")] == [
        "access.grant"
    ]
    assert store.audit_log(actor="ad") == []
    assert [e.seq for e in store.audit_log(limit=2, newest_first=True)] == [5, 4]
