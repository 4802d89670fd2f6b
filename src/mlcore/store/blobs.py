"""Content-addressed blobs: models, reports, step outputs, addressed by sha256.

``artifacts/<first two hex digits>/<sha256>``: the address *is* the content's
hash, so a name from a user never becomes a path, identical content is stored
once, and every read can verify what it returns.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlcore.errors import CorruptArtifact, InvalidInput, NotFound
from mlcore.store.files import TMP_PREFIX, fsync_dir, sha256_file

if TYPE_CHECKING:
    import duckdb

ARTIFACTS_DIR = "artifacts"
_SHA = re.compile(r"[0-9a-f]{64}")


def check_address(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA.fullmatch(sha256):
        raise InvalidInput(
            f"{sha256!r} is not a sha256 address", hint="Use 64 lowercase hex digits"
        )
    return sha256


class Blobs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root) / ARTIFACTS_DIR

    def path(self, sha256: str) -> Path:
        check_address(sha256)
        return self.root / sha256[:2] / sha256

    def write(self, data: bytes | Path) -> tuple[str, int]:
        """Store the bytes (once) and return (sha256, size); not yet registered."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            if isinstance(data, (bytes, bytearray, memoryview)):
                digest = hashlib.sha256(data).hexdigest()
                with open(tmp, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            else:
                with open(data, "rb") as src, open(tmp, "wb") as f:
                    shutil.copyfileobj(src, f, 1 << 20)
                    f.flush()
                    os.fsync(f.fileno())
                digest = sha256_file(tmp)
            size = tmp.stat().st_size
            final = self.path(digest)
            if final.exists() and sha256_file(final) == digest:
                tmp.unlink()
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
                fsync_dir(final.parent)
            return digest, size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read(self, sha256: str) -> bytes:
        """The blob's bytes, verified against its address."""
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorruptArtifact(
                f"artifact {sha256[:12]} is recorded but its file is missing",
                hint="Restore the store's artifacts/ folder from a backup",
            ) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise CorruptArtifact(
                f"artifact {sha256[:12]} was modified: its bytes no longer match its sha256",
                hint="Restore it from a backup; never load it",
            )
        return data


def register(
    con: duckdb.DuckDBPyConnection, sha256: str, size: int, *, actor: str, media_type: str | None
) -> None:
    con.execute(
        "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?, ?)",
        [sha256, size, media_type, datetime.now(UTC), actor],
    )


def require_registered(con: duckdb.DuckDBPyConnection, sha256: str) -> None:
    check_address(sha256)
    if not con.execute("SELECT 1 FROM blobs WHERE sha256 = ?", [sha256]).fetchone():
        raise NotFound("artifact", sha256)


def referenced(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {s for (s,) in con.execute("SELECT sha256 FROM blobs").fetchall()}
