"""The audit chain: an append-only log where each entry seals the one before.

``hash = sha256(prev_hash + canonical JSON of the entry)``, the first entry's
``prev_hash`` being 64 zeros. Editing, deleting, inserting or reordering any
entry breaks the chain at that entry; the head (last seq and hash) is also kept
in ``store_info`` so that cutting entries off the end is caught too.

On one machine the file system is the security boundary: whoever can write the
catalog file can rewrite the whole chain consistently. The chain makes
tampering *evident* to anyone who kept an earlier head (``mlcore audit verify
--json`` prints it), it does not make it impossible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

GENESIS = "0" * 64
_HEAD_KEY = "audit_head"


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, details: str
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": _timestamp(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": _timestamp(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": self.details,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "bad_seq": self.bad_seq,
            "problem": self.problem,
        }


def append(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    *,
    cache: dict[str, Any] | None = None,
) -> int:
    """Append one entry inside the caller's transaction; return its seq.

    ``cache`` (the catalog's, valid while this process holds the file) saves
    reading the head on every append.
    """
    head = cache.get(_HEAD_KEY) if cache is not None else None
    if head is None:
        row = con.execute("SELECT value FROM store_info WHERE key = ?", [_HEAD_KEY]).fetchone()
        head = row[0] if row else f"0:{GENESIS}"
    last_seq_txt, prev_hash = head.split(":", 1)
    seq = int(last_seq_txt) + 1
    at = datetime.now(UTC)
    details_json = canonical_json(details or {})
    digest = entry_hash(prev_hash, seq, at, actor, action, subject, details_json)
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject, details_json, prev_hash, digest],
    )
    new_head = f"{seq}:{digest}"
    if seq == 1:
        con.execute("INSERT INTO store_info VALUES (?, ?)", [_HEAD_KEY, new_head])
    else:
        con.execute("UPDATE store_info SET value = ? WHERE key = ?", [new_head, _HEAD_KEY])
    if cache is not None:
        cache[_HEAD_KEY] = new_head
    return seq


def entries(
    con: duckdb.DuckDBPyConnection,
    *,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[AuditEntry]:
    """Entries filtered by subject, actor and action (each exact, or a ``prefix*``) and time."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("subject", subject), ("actor", actor), ("action", action)):
        if not value:
            continue
        if value.endswith("*"):
            where.append(f"starts_with({column}, ?)")
            params.append(value[:-1])
        else:
            where.append(f"{column} = ?")
            params.append(value)
    if since:
        where.append("logged_at >= ?")
        params.append(since)
    sql = "SELECT seq, logged_at, actor, action, subject, details, hash FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [
        AuditEntry(s, at, a, act, subj, json.loads(det), h)
        for s, at, a, act, subj, det, h in con.execute(sql, params).fetchall()
    ]


def _rows(con: duckdb.DuckDBPyConnection, batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
    cur = con.execute(
        "SELECT seq, logged_at, actor, action, subject, details, prev_hash, hash "
        "FROM audit_log ORDER BY seq"
    )
    while chunk := cur.fetchmany(batch):
        yield from chunk


def verify(con: duckdb.DuckDBPyConnection) -> Verification:
    """Walk the chain in seq order; report the first entry that does not seal."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    last_hash = GENESIS
    for seq, at, actor, action, subject, details, prev_hash, digest in _rows(con):
        bad = None
        if seq != expected_seq:
            bad = f"entry {seq} found where entry {expected_seq} was expected (deleted, inserted or reordered)"
        elif prev_hash != expected_prev:
            bad = f"entry {seq} does not follow entry {seq - 1} (its prev_hash differs)"
        elif entry_hash(prev_hash, seq, at, actor, action, subject, details) != digest:
            bad = f"entry {seq} was edited (its content no longer matches its hash)"
        if bad:
            return Verification(False, checked, expected_seq - 1, last_hash, seq, bad)
        checked += 1
        expected_prev = last_hash = digest
        expected_seq += 1
    head = con.execute("SELECT value FROM store_info WHERE key = ?", [_HEAD_KEY]).fetchone()
    recorded = head[0] if head else f"0:{GENESIS}"
    if recorded != f"{checked}:{last_hash}":
        head_seq = int(recorded.split(":", 1)[0])
        return Verification(
            False,
            checked,
            checked,
            last_hash,
            checked + 1 if head_seq > checked else head_seq,
            f"the chain ends at entry {checked} but the recorded head is entry {head_seq} "
            "(entries were cut off the end, or the head was edited)",
        )
    return Verification(True, checked, checked, last_hash)
