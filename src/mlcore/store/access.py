"""Actors, roles and the one permission check every capability calls.

An actor is a name: ``--as NAME``, else ``MLCORE_ACTOR``, else the OS user.
Roles are granted per store; whoever creates the store is its first admin.

On one machine the file system is the security boundary: anyone who can write
the store directory can claim any actor name. Roles enforce *process* — who
may approve, who may release, that nobody approves their own work — and the
audit chain makes a bypass evident. For a hard boundary, give each role its
own OS account and restrict the store directory's permissions.

The permission table below is data: a permission name, the roles that hold it
and what it lets them do. It is rendered by ``mlcore access list --permissions``.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mlcore import names
from mlcore.errors import InvalidInput, NotFound, PermissionDenied

if TYPE_CHECKING:
    import duckdb

ROLES: tuple[str, ...] = (
    "admin",
    "data-engineer",
    "data-scientist",
    "ml-engineer",
    "reviewer",
    "risk-officer",
)

_BUILD = ("admin", "data-engineer", "data-scientist", "ml-engineer")
_REVIEW = ("admin", "reviewer", "risk-officer")

# permission -> (roles, what it allows)
PERMISSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "access.grant": (("admin",), "grant a role to an actor"),
    "access.revoke": (("admin",), "revoke a role from an actor"),
    "store.gc": (("admin",), "delete unreferenced files"),
    "features.apply": (_BUILD, "add or change entity and feature view definitions"),
    "features.apply_breaking": (("admin", "data-engineer"), "force a breaking definition change"),
    "features.ingest": (("admin", "data-engineer", "data-scientist"), "ingest feature data"),
    "features.materialize": (_BUILD, "refresh the online table"),
    "features.save_dataset": (_BUILD, "save a training dataset"),
    "models.register": (("admin", "data-scientist", "ml-engineer"), "register a model version"),
    "models.submit": (("admin", "data-scientist", "ml-engineer"), "submit a version for review"),
    "models.approve": (_REVIEW, "approve a version (never one's own)"),
    "models.reject": (_REVIEW, "reject a version"),
    "models.release": (("admin", "ml-engineer"), "move production to an approved version"),
    "models.rollback": (("admin", "ml-engineer"), "restore the previous production version"),
    "models.alias": (("admin", "ml-engineer", "data-scientist"), "point an alias at a version"),
    "models.archive": (("admin", "ml-engineer"), "archive a version"),
    "evals.run": ((*_BUILD, "reviewer", "risk-officer"), "record an evaluation"),
    "evals.waive": (("admin", "risk-officer"), "waive a policy rule for a version"),
    "policies.apply": (("admin", "risk-officer"), "add or change a policy"),
    "pipelines.run": (_BUILD, "run a pipeline"),
    "monitors.create": (("admin", "data-scientist", "ml-engineer"), "create or change a monitor"),
    "monitors.observe": (_BUILD, "log production batches and labels"),
    "alerts.ack": (_BUILD + _REVIEW[1:], "acknowledge an alert"),
}


def resolve_actor(explicit: str | None = None) -> str:
    """``--as``, else ``MLCORE_ACTOR``, else the OS user."""
    name = explicit or os.environ.get("MLCORE_ACTOR") or _os_user()
    return names.validate_actor(name)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise NotFound("role", role, candidates=ROLES, hint=None)
    return role


def roles_of(con: duckdb.DuckDBPyConnection, actor: str) -> set[str]:
    rows = con.execute("SELECT role FROM role_grants WHERE actor = ?", [actor]).fetchall()
    return {r for (r,) in rows}


def actors(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for actor, role in con.execute(
        "SELECT actor, role FROM role_grants ORDER BY actor, role"
    ).fetchall():
        out.setdefault(actor, []).append(role)
    return out


def check(
    con: duckdb.DuckDBPyConnection, actor: str, permission: str, *, held: set[str] | None = None
) -> None:
    """Raise PermissionDenied unless ``actor`` holds a role granting ``permission``."""
    allowed, what = PERMISSIONS[permission]
    held = roles_of(con, actor) if held is None else held
    if held & set(allowed):
        return
    if not held:
        reason = "they have no role in this store"
    else:
        reason = (
            f"it needs one of the roles {', '.join(allowed)} (they have {', '.join(sorted(held))})"
        )
    suggested = next((r for r in allowed if r != "admin"), "admin")
    raise PermissionDenied(
        actor,
        what,
        reason=reason,
        hint=f"An admin can grant it: mlcore access grant {actor} {suggested}",
    )


def grant(con: duckdb.DuckDBPyConnection, by: str, actor: str, role: str) -> bool:
    """Grant ``role``; return False when the actor already had it."""
    names.validate_actor(actor)
    _check_role(role)
    if role in roles_of(con, actor):
        return False
    con.execute("INSERT INTO role_grants VALUES (?, ?, ?, ?)", [actor, role, datetime.now(UTC), by])
    return True


def revoke(con: duckdb.DuckDBPyConnection, actor: str, role: str) -> None:
    _check_role(role)
    known = actors(con)
    if actor not in known:
        raise NotFound("actor", actor, candidates=known)
    if role not in known[actor]:
        raise InvalidInput(
            f"{actor} does not hold the role {role}",
            hint=f"Their roles: {', '.join(known[actor])}",
        )
    if role == "admin" and sum("admin" in r for r in known.values()) == 1:
        raise InvalidInput(
            f"{actor} is the last admin of this store",
            hint="Grant admin to someone else first",
        )
    con.execute("DELETE FROM role_grants WHERE actor = ? AND role = ?", [actor, role])
