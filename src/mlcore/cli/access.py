"""``mlcore access grant|revoke|list``: who may do what in this store."""

from __future__ import annotations

import typer

from mlcore.cli import output

app = typer.Typer(help="Grant and revoke roles.", no_args_is_help=True)


@app.command()
def grant(actor: str, role: str) -> None:
    """Give ACTOR the ROLE (admins only)."""
    added = output.open_store().grant(actor, role)
    output.emit(
        {"actor": actor, "role": role, "changed": added},
        lambda r: output.note(f"{actor} {'now has' if added else 'already had'} role {role}"),
    )


@app.command()
def revoke(actor: str, role: str) -> None:
    """Take ROLE from ACTOR (admins only; the last admin stays)."""
    output.open_store().revoke(actor, role)
    output.emit(
        {"actor": actor, "role": role, "changed": True},
        lambda r: output.note(f"{actor} no longer has role {role}"),
    )


@app.command("list")
def list_(
    permissions: bool = typer.Option(
        False, "--permissions", help="Show which roles grant which actions."
    ),
) -> None:
    """Actors and their roles (or, with --permissions, the permission table)."""
    if permissions:
        from mlcore.store.access import PERMISSIONS

        rows = [
            {"permission": name, "roles": ", ".join(roles), "allows": what}
            for name, (roles, what) in PERMISSIONS.items()
        ]
        output.emit(rows)
        return
    actors = output.open_store().actors()
    rows = [{"actor": a, "roles": ", ".join(r)} for a, r in actors.items()]
    output.emit(rows if output.state.json is False else actors)
