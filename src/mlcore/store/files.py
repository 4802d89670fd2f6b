"""Immutable data files and the manifest that makes them visible.

A file is written under a temporary name, fsynced and renamed into place, and
only then recorded in ``data_files`` by a short catalog transaction. Readers
only read files the manifest lists, so a writer that dies half-way leaves a
temporary file nobody reads, which ``mlcore gc`` removes.

Every recorded file gets the next manifest sequence number; a *snapshot* is
such a number, and the files visible at snapshot S are those with seq <= S
not retired by S. That is what lets retrieval reproduce an earlier answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.errors import CorruptArtifact

if TYPE_CHECKING:
    import duckdb

DATA_DIR = "data"
TMP_PREFIX = ".tmp-"
_KINDS = frozenset({"features", "datasets", "monitoring", "online", "evaluations", "pipelines"})


@dataclass(frozen=True)
class DataFile:
    """A finished Parquet file: where it is, what it holds, its content hash."""

    path: str  # relative to the store root, POSIX separators
    rows: int
    bytes: int
    sha256: str
    schema: dict[str, str] = field(default_factory=dict)
    seq: int | None = None
    kind: str | None = None
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows": self.rows,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "schema": self.schema,
            "seq": self.seq,
            "kind": self.kind,
            "owner": self.owner,
        }


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class DataFiles:
    """Write data files atomically; list the ones the manifest makes visible."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def absolute(self, rel: str) -> Path:
        return self.root / rel

    def temp_path(self, kind: str, suffix: str = ".parquet") -> Path:
        """A fresh temporary path to write a file of ``kind`` to, then :meth:`finalize`."""
        if kind not in _KINDS:
            raise ValueError(f"unknown data file kind {kind!r}")
        folder = self.root / DATA_DIR / kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{TMP_PREFIX}{uuid.uuid4().hex}{suffix}"

    def finalize(self, tmp: Path) -> DataFile:
        """fsync, rename into place, fsync the folder; return the file's facts."""
        import pyarrow.parquet as pq

        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        digest = sha256_file(tmp)
        final = tmp.with_name(f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{tmp.name[len(TMP_PREFIX) :]}")
        os.replace(tmp, final)
        fsync_dir(final.parent)
        meta = pq.read_metadata(final)
        schema = {f.name: str(f.type) for f in meta.schema.to_arrow_schema()}
        return DataFile(
            path=final.relative_to(self.root).as_posix(),
            rows=meta.num_rows,
            bytes=final.stat().st_size,
            sha256=digest,
            schema=schema,
        )

    def write_with(self, kind: str, writer: Callable[[Path], object]) -> DataFile:
        """``writer(path)`` writes a Parquet file of ``kind`` at a temporary path, which
        is then finalized; if anything fails the temporary file is removed."""
        tmp = self.temp_path(kind)
        try:
            writer(tmp)
            return self.finalize(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def write(self, data: Any, kind: str, *, row_group_size: int | None = None) -> DataFile:
        """Write a Polars DataFrame or Arrow table as a new immutable Parquet file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = data if isinstance(data, pa.Table) else data.to_arrow()
        return self.write_with(
            kind,
            lambda path: pq.write_table(
                table,
                path,
                compression="zstd",
                row_group_size=row_group_size or 1_048_576,
                write_statistics=True,
            ),
        )

    def verify(self, datafile: DataFile) -> None:
        """Raise CorruptArtifact when a file's bytes no longer match the manifest."""
        path = self.absolute(datafile.path)
        if not path.exists():
            raise CorruptArtifact(
                f"data file {datafile.path} is missing", hint="Restore it from a backup"
            )
        if sha256_file(path) != datafile.sha256:
            raise CorruptArtifact(
                f"data file {datafile.path} does not match its recorded sha256",
                hint="Restore it from a backup",
            )


def register(
    con: duckdb.DuckDBPyConnection, datafile: DataFile, *, kind: str, owner: str, actor: str
) -> DataFile:
    """Record a finished file in the manifest (inside the caller's transaction)."""
    (seq,) = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM data_files").fetchone()  # type: ignore[misc]
    con.execute(
        "INSERT INTO data_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        [
            seq,
            datafile.path,
            kind,
            owner,
            datafile.rows,
            datafile.bytes,
            datafile.sha256,
            json.dumps(datafile.schema),
            datetime.now(UTC),
            actor,
        ],
    )
    return DataFile(**{**datafile.__dict__, "seq": seq, "kind": kind, "owner": owner})


def snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The current manifest snapshot: the highest recorded file seq."""
    (seq,) = con.execute("SELECT coalesce(max(seq), 0) FROM data_files").fetchone()  # type: ignore[misc]
    return int(seq)


def visible(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    owners: Sequence[str] | None = None,
    *,
    at: int | None = None,
) -> list[DataFile]:
    """Files of ``kind`` (and ``owners``) visible at snapshot ``at``, in seq order."""
    sql = (
        "SELECT seq, path, kind, owner, rows, bytes, sha256, schema_json FROM data_files "
        "WHERE kind = ? AND (? IS NULL OR seq <= ?) "
        "AND (retired_seq IS NULL OR (? IS NOT NULL AND retired_seq > ?))"
    )
    params: list[Any] = [kind, at, at, at, at]
    if owners is not None:
        sql += " AND list_contains(?, owner)"
        params.append(list(owners))
    sql += " ORDER BY seq"
    return [
        DataFile(p, r, b, h, json.loads(sch), seq, k, o)
        for seq, p, k, o, r, b, h, sch in con.execute(sql, params).fetchall()
    ]


def retire(con: duckdb.DuckDBPyConnection, seqs: Sequence[int], *, replaced_by: int) -> None:
    """Hide files from snapshots from ``replaced_by`` on (compaction), in the
    transaction that registers the replacement; earlier snapshots keep them."""
    con.execute(
        "UPDATE data_files SET retired_seq = ? WHERE list_contains(?, seq) AND retired_seq IS NULL",
        [replaced_by, list(seqs)],
    )


def referenced_paths(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {p for (p,) in con.execute("SELECT path FROM data_files").fetchall()}
