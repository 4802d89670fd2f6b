"""A store directory: catalog, immutable data files and content-addressed blobs.

:class:`Storage` is what every capability is given. Its one way to change the
catalog is :meth:`Storage.transaction`, which yields a :class:`Tx`: SQL on the
catalog plus the store's cross-cutting duties done *in the same transaction* —
the permission check, the audit entry, registering files and blobs.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore import settings
from mlcore.errors import InvalidInput, NotFound, PermissionDenied, StoreIncompatible
from mlcore.store import access, audit, blobs, files
from mlcore.store.catalog import Catalog
from mlcore.store.migrations import Component, migrate
from mlcore.store.migrations.core import CORE

if TYPE_CHECKING:
    import duckdb

CATALOG_FILE = "catalog.duckdb"
DISCOVERY_DIR = ".mlcore"


class Tx:
    """One catalog transaction, seen through the store's duties."""

    def __init__(self, storage: Storage, con: duckdb.DuckDBPyConnection) -> None:
        self.storage = storage
        self.con = con
        self.actor = storage.actor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params or [])

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        return self.con.execute(sql, params or []).fetchone()

    def records(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def require(self, permission: str) -> None:
        """Raise PermissionDenied (audited by :meth:`Storage.transaction`) if not allowed."""
        access.check(self.con, self.actor, permission, held=self.roles())

    def roles(self, actor: str | None = None) -> set[str]:
        """Roles of ``actor`` (default: the acting one), cached while the catalog is held."""
        who = actor or self.actor
        cache = self.storage.catalog.cache.setdefault("roles", {})
        if who not in cache:
            cache[who] = frozenset(access.roles_of(self.con, who))
        return set(cache[who])

    def audit(self, action: str, subject: str, details: dict[str, Any] | None = None) -> int:
        return audit.append(
            self.con, self.actor, action, subject, details, cache=self.storage.catalog.cache
        )

    def register_file(self, datafile: files.DataFile, *, kind: str, owner: str) -> files.DataFile:
        return files.register(self.con, datafile, kind=kind, owner=owner, actor=self.actor)

    def put_blob(self, data: bytes | Path, *, media_type: str | None = None) -> str:
        """Store bytes content-addressed and register them in this transaction.

        Writing (and fsyncing) happens while the catalog is held: fine for small
        blobs. For a large one, ``storage.blobs.write`` it first, outside the
        transaction, then :meth:`register_blob`.
        """
        sha, size = self.storage.blobs.write(data)
        self.register_blob(sha, size, media_type=media_type)
        return sha

    def register_blob(self, sha256: str, size: int, *, media_type: str | None = None) -> str:
        """Record a blob already written with ``storage.blobs.write``."""
        blobs.register(self.con, sha256, size, actor=self.actor, media_type=media_type)
        return sha256

    def snapshot(self) -> int:
        return files.snapshot(self.con)

    def visible_files(
        self, kind: str, owners: Sequence[str] | None = None, *, at: int | None = None
    ) -> list[files.DataFile]:
        return files.visible(self.con, kind, owners, at=at)


@dataclass
class GcReport:
    removed: bool
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(f["bytes"] for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "removed": self.removed,
            "count": len(self.files),
            "bytes": self.bytes,
            "files": self.files,
        }


class Storage:
    """An open store directory. Create with :func:`open_storage`."""

    def __init__(self, root: Path, catalog: Catalog, actor: str) -> None:
        self.root = root
        self.catalog = catalog
        self.actor = actor
        self.files = files.DataFiles(root)
        self.blobs = blobs.Blobs(root)

    def __repr__(self) -> str:
        return f"Storage({str(self.root)!r}, actor={self.actor!r})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A short catalog transaction; a denied action is rolled back *and* audited."""
        try:
            with self.catalog.transaction() as con:
                yield Tx(self, con)
        except PermissionDenied as denied:
            if not self.catalog.in_transaction():
                with self.transaction() as tx:
                    tx.audit(
                        "access.denied",
                        f"actor:{self.actor}",
                        {"action": denied.action, "reason": denied.reason},
                    )
            raise

    def read_blob(self, sha256: str) -> bytes:
        """A registered blob's bytes, verified against its hash."""
        with self.transaction() as tx:
            blobs.require_registered(tx.con, sha256)
        return self.blobs.read(sha256)

    def with_actor(self, actor: str) -> Storage:
        """The same store seen by another actor (shares the catalog connection)."""
        return Storage(self.root, self.catalog, access.resolve_actor(actor))

    # -- actors, roles, audit ---------------------------------------------------

    def grant(self, actor: str, role: str) -> bool:
        """Grant ``role`` to ``actor`` (admins only); False if they already had it."""
        with self.transaction() as tx:
            tx.require("access.grant")
            added = access.grant(tx.con, self.actor, actor, role)
            if added:
                tx.audit("access.grant", f"actor:{actor}", {"role": role})
            self.catalog.cache.pop("roles", None)
        return added

    def revoke(self, actor: str, role: str) -> None:
        with self.transaction() as tx:
            tx.require("access.revoke")
            access.revoke(tx.con, actor, role)
            tx.audit("access.revoke", f"actor:{actor}", {"role": role})
            self.catalog.cache.pop("roles", None)

    def actors(self) -> dict[str, list[str]]:
        """Every actor holding a role, with their roles."""
        with self.transaction() as tx:
            return access.actors(tx.con)

    def audit_log(self, **filters: Any) -> list[audit.AuditEntry]:
        """Audit entries; filters as :func:`mlcore.store.audit.entries`."""
        with self.transaction() as tx:
            return audit.entries(tx.con, **filters)

    def verify_audit(self) -> audit.Verification:
        with self.transaction() as tx:
            return audit.verify(tx.con)

    # -- store-wide operations -------------------------------------------------

    def info(self) -> dict[str, Any]:
        with self.transaction() as tx:
            facts = dict(tx.fetchall("SELECT key, value FROM store_info"))
            versions = dict(tx.fetchall("SELECT component, version FROM schema_versions"))
            n_files, n_rows, n_bytes = tx.fetchone(
                "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0) "
                "FROM data_files WHERE retired_seq IS NULL"
            ) or (0, 0, 0)
            n_blobs, blob_bytes = tx.fetchone(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM blobs"
            ) or (0, 0)
            (n_audit,) = tx.fetchone("SELECT count(*) FROM audit_log") or (0,)
            roles = access.actors(tx.con)
        return {
            "path": str(self.root),
            "store_id": facts.get("store_id"),
            "created_at": facts.get("created_at"),
            "created_by": facts.get("created_by"),
            "actor": self.actor,
            "actor_roles": roles.get(self.actor, []),
            "schema": versions,
            "data_files": {"count": n_files, "rows": int(n_rows), "bytes": int(n_bytes)},
            "artifacts": {"count": n_blobs, "bytes": int(blob_bytes)},
            "audit_entries": n_audit,
            "actors": roles,
        }

    def gc(self, *, remove: bool = False, grace: float | None = None) -> GcReport:
        """Files on disk that no committed transaction references.

        Only files older than ``grace`` seconds count: a writer still running may
        have finished a file it has not yet recorded.
        """
        if remove:
            with self.transaction() as tx:
                tx.require("store.gc")
        grace = settings.get("gc_grace") if grace is None else grace
        with self.transaction() as tx:
            used_paths = files.referenced_paths(tx.con)
            used_blobs = blobs.referenced(tx.con)
        cutoff = time.time() - grace
        found: list[dict[str, Any]] = []
        for area in (files.DATA_DIR, blobs.ARTIFACTS_DIR):
            base = self.root / area
            if not base.exists():
                continue
            for dirpath, _dirs, names in os.walk(base):
                for name in names:
                    path = Path(dirpath) / name
                    rel = path.relative_to(self.root).as_posix()
                    referenced = rel in used_paths if area == files.DATA_DIR else name in used_blobs
                    if referenced:
                        continue
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue
                    if st.st_mtime > cutoff:
                        continue
                    reason = (
                        "unfinished write" if name.startswith(files.TMP_PREFIX) else "unreferenced"
                    )
                    found.append({"path": rel, "bytes": st.st_size, "reason": reason})
        found.sort(key=lambda f: f["path"])
        if remove:
            for f in found:
                (self.root / f["path"]).unlink(missing_ok=True)
            with self.transaction() as tx:
                tx.audit(
                    "store.gc",
                    "store",
                    {"removed": len(found), "bytes": sum(f["bytes"] for f in found)},
                )
        return GcReport(removed=remove, files=found)

    def close(self) -> None:
        self.catalog.close()


def discover(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """``--store``, else ``MLCORE_STORE``, else the nearest ``.mlcore`` upwards."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    env = settings.get("store")
    if env:
        return Path(env).expanduser().absolute()
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DISCOVERY_DIR
        if (candidate / CATALOG_FILE).exists():
            return candidate
    raise NotFound(
        "store",
        f"{here}/{DISCOVERY_DIR}",
        hint="No .mlcore store here or in any parent folder; create one with `mlcore init`, "
        "or name one with --store PATH or MLCORE_STORE",
    )


def open_storage(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = False,
    actor: str | None = None,
    components: Sequence[Component] = (),
) -> Storage:
    """Open (or create) the store at ``path`` and migrate its catalog forward."""
    root = discover(path)
    who = access.resolve_actor(actor)
    catalog_path = root / CATALOG_FILE
    if not catalog_path.exists():
        if not create:
            if root.exists() and any(root.iterdir()):
                raise StoreIncompatible(
                    f"{root} is not an mlcore store (it has no {CATALOG_FILE})",
                    hint="Point --store at a store folder, or create one with `mlcore init PATH`",
                )
            raise NotFound("store", str(root), hint=f"Create it with `mlcore init {root}`")
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"{root} exists and is not a folder", hint="Choose another path")
        root.mkdir(parents=True, exist_ok=True)
    elif create and not catalog_path.is_file():
        raise InvalidInput(f"{catalog_path} is not a file", hint="Choose another path")
    for sub in (files.DATA_DIR, blobs.ARTIFACTS_DIR):
        (root / sub).mkdir(exist_ok=True)
    catalog = Catalog.shared(
        catalog_path,
        lock_timeout=settings.get("lock_timeout"),
        idle_release=settings.get("idle_release"),
        max_hold=settings.get("max_hold"),
    )
    storage = Storage(root, catalog, who)
    with catalog.transaction() as con:
        migrate(con, (CORE, *components), str(root))
        if not con.execute("SELECT 1 FROM store_info WHERE key = 'store_id'").fetchone():
            now = datetime.now(UTC).isoformat(timespec="seconds")
            con.executemany(
                "INSERT INTO store_info VALUES (?, ?)",
                [["store_id", uuid.uuid4().hex], ["created_at", now], ["created_by", who]],
            )
            access.grant(con, who, who, "admin")
            audit.append(con, who, "store.create", "store", {"path": str(root)})
    return storage
