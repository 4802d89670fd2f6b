"""``mlcore apply DEFS.py``: plan and apply entity and feature view definitions."""

from __future__ import annotations

import typer

from mlcore.cli import output


def apply(
    definitions: str = typer.Argument(
        ..., help="Python file defining Entity and FeatureView objects."
    ),
    plan: bool = typer.Option(False, "--plan", help="Only show what would change."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Apply breaking changes too (needs features.apply_breaking; audited).",
    ),
    prune: bool = typer.Option(
        False, "--prune", help="Also remove stored definitions the file no longer has."
    ),
) -> None:
    """Show the diff between a definitions file and the store, then apply it.

    Each change is added, changed or removed, compatible or BREAKING (a removed
    field, a type, keys, entities or timestamps changed). Breaking changes are
    refused unless --force; removals are recorded only with --prune, and never
    delete data.
    """
    store = output.open_store()
    features = store.features
    result = features.plan(definitions, prune=prune) if plan else None
    if result is None:
        result = features.apply(definitions, force=force, prune=prune)
    output.emit(result, lambda r: output.print_value(r.render()))
