"""``mlcore audit log|verify``: read and check the tamper-evident audit chain."""

from __future__ import annotations

import typer

from mlcore.cli import output
from mlcore.cli.parsing import parse_since
from mlcore.errors import TamperDetected

app = typer.Typer(help="Read and verify the audit chain.", no_args_is_help=True)


@app.command("log")
def log(
    subject: str = typer.Option(
        None, help="Exact subject, or a prefix ending in '*' (model:churn*)."
    ),
    actor: str = typer.Option(None, help="Only this actor's entries."),
    action: str = typer.Option(None, help="Exact action, or a prefix ending in '*' (models.*)."),
    since: str = typer.Option(None, help="ISO-8601 time, or an age such as 30m, 12h, 7d."),
    limit: int = typer.Option(None, help="At most this many entries (newest)."),
) -> None:
    """Audit entries, oldest first."""
    store = output.open_store()
    entries = store.audit_log(
        subject=subject,
        actor=actor,
        action=action,
        since=parse_since(since) if since else None,
        limit=limit,
        newest_first=bool(limit),
    )
    if limit:
        entries.reverse()
    rows = [e.to_dict() for e in entries]

    def human(_: object) -> None:
        output.table(
            [{**r, "at": r["at"][:23] + "Z", "details": r["details"]} for r in rows],
            ["seq", "at", "actor", "action", "subject", "details"],
        )

    output.emit(rows, human)


@app.command()
def verify() -> None:
    """Check the hash chain; exit 1 naming the first bad entry."""
    store = output.open_store()
    result = store.verify_audit()
    if output.state.json:
        output.write_json(result)
    if not result.ok:
        raise TamperDetected(
            f"audit chain broken: {result.problem}",
            hint="Entries before it verify; restore the catalog from a backup to recover the rest",
        )
    if not output.state.json:
        output.print_value(
            f"ok: {result.checked} entries verify; head {result.head_seq}:{result.head_hash}"
        )
