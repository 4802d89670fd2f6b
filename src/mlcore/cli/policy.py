"""``mlcore policy ...``: apply, compare, list and show evaluation policies (TOML files)."""

from __future__ import annotations

from typing import Any

import typer

from mlcore.cli import output

app = typer.Typer(help="Evaluation policies as code: versioned TOML files.", no_args_is_help=True)

_FILE = typer.Argument(..., help="Policy file (TOML).")


def _evals() -> Any:
    return output.open_store().evals


def _changes(diff: Any) -> None:
    for line in diff.changes:
        typer.echo(line)


@app.command("list")
def list_() -> None:
    """Every policy at its latest version."""
    found = _evals().policies()
    rows = [
        {
            "name": p.name,
            "version": p.version,
            "rules": len(p.policy.rules),
            "scope": p.policy.scope.describe(),
            "applied_at": p.applied_at,
            "applied_by": p.applied_by,
        }
        for p in found
    ]
    output.emit(found, lambda _: output.table(rows))


@app.command()
def show(
    name: str = typer.Argument(..., help="Policy name."),
    version: int = typer.Option(None, "--version", min=1, help="This version (default: latest)."),
    source: bool = typer.Option(False, "--source", help="Print the TOML as applied."),
) -> None:
    """A policy version: scope and rules, or its TOML source."""
    found = _evals().policy(name, version)
    if source and not output.state.json:
        typer.echo(found.source.rstrip("\n"))
        return

    def render(p: Any) -> None:
        typer.echo(f"{p.name} v{p.version}  (applied {p.applied_at:%Y-%m-%d %H:%M:%S}Z by "
                   f"{p.applied_by}; sha256 {p.sha256[:12]})")  # fmt: skip
        if p.policy.description:
            typer.echo(p.policy.description)
        typer.echo(f"scope: {p.policy.scope.describe()}")
        output.table(
            [r.spec() for r in p.policy.rules],
            ["id", "kind", "severity", "description", "citation"],
        )

    output.emit(found, render)


@app.command()
def diff(file: str = _FILE) -> None:
    """What applying FILE would change (nothing is stored)."""
    change = _evals().diff_policy(file)

    def render(d: Any) -> None:
        if not d.changed:
            output.note(f"{d.name} is unchanged at v{d.current}")
            return
        output.note(f"{d.name}: v{d.current or 0} -> v{d.version}")
        _changes(d)

    output.emit(change, render)


@app.command()
def apply(file: str = _FILE) -> None:
    """Validate FILE and store it as the policy's next version (unchanged content: no-op)."""
    evals = _evals()
    change = evals.diff_policy(file)
    applied = evals.apply_policy(file)
    result = applied.to_dict() | {"changed": change.changed, "changes": list(change.changes)}

    def render(r: dict[str, Any]) -> None:
        if not r["changed"]:
            output.note(f"{r['name']} is unchanged at v{r['version']}; nothing applied")
            return
        output.note(f"applied {r['name']} v{r['version']}")
        _changes(change)

    output.emit(result, render)
