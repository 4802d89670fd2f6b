"""Versioned catalog schemas, one component at a time, migrated forward on open.

Each capability owns a :class:`Component` (its tables) in its own ``schema.py``;
the store applies every component's missing migrations in one transaction and
refuses — without modifying anything — a store whose recorded version of any
component is newer than this mlcore knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mlcore.errors import StoreIncompatible

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Component:
    """A named set of tables and the ordered SQL scripts that build them."""

    name: str
    migrations: tuple[str, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)


_VERSIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_versions (
    component  VARCHAR PRIMARY KEY,
    version    INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)
"""


def recorded_versions(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_versions'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    return dict(con.execute("SELECT component, version FROM schema_versions").fetchall())


def check_compatible(recorded: dict[str, int], components: Sequence[Component], store: str) -> None:
    known = {c.name: c.version for c in components}
    for name, version in sorted(recorded.items()):
        if name in known and version > known[name]:
            raise StoreIncompatible(
                f"store {store} was written by a newer mlcore ({name} schema v{version}; "
                f"this mlcore knows v{known[name]}); it was not modified",
                hint="Upgrade mlcore to open it",
            )


def migrate(
    con: duckdb.DuckDBPyConnection, components: Sequence[Component], store: str
) -> list[tuple[str, int]]:
    """Apply missing migrations inside the caller's transaction; return what ran."""
    recorded = recorded_versions(con)
    check_compatible(recorded, components, store)
    applied: list[tuple[str, int]] = []
    if all(recorded.get(c.name, 0) == c.version for c in components):
        return applied
    con.execute(_VERSIONS_DDL)
    now = datetime.now(UTC)
    for comp in components:
        current = recorded.get(comp.name, 0)
        for number in range(current, comp.version):
            con.execute(comp.migrations[number])
            applied.append((comp.name, number + 1))
        if comp.version != current:
            con.execute(
                "INSERT OR REPLACE INTO schema_versions VALUES (?, ?, ?)",
                [comp.name, comp.version, now],
            )
    return applied
