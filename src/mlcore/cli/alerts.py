"""``mlcore alerts list|show|ack|resolve|retrain``: alerts raised by monitors' rules."""

from __future__ import annotations

from typing import Any

import typer

from mlcore.cli import output

app = typer.Typer(help="Alerts raised by monitors: list, show, acknowledge.", no_args_is_help=True)

_ID = typer.Argument(..., help="Alert id (see `mlcore alerts list`).", min=1)
_COMMENT = typer.Option(..., "--comment", "-m", help="What was checked or done (audited).")
_COLUMNS = ["id", "monitor", "rule", "window_start", "statistic", "value", "threshold",
            "severity", "status", "action_status", "run_id"]  # fmt: skip


def _monitors() -> Any:
    return output.open_store().monitors


@app.command("list")
def list_(
    monitor: str = typer.Option(None, "--monitor", help="Only this monitor's alerts."),
    status: str = typer.Option(None, "--status", help="open, acknowledged or resolved."),
    severity: str = typer.Option(None, "--severity", help="info, warning or critical."),
    requested: bool = typer.Option(
        False, "--requested", help="Only alerts whose retrain is requested and waiting."
    ),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first.", min=1),
) -> None:
    """Alerts, newest first."""
    found = _monitors().alerts(
        monitor,
        status=status,
        severity=severity,
        action_status="requested" if requested else None,
        limit=limit,
    )
    output.emit(found, lambda rows: output.table([a.to_dict() for a in rows], _COLUMNS))


@app.command()
def show(alert_id: int = _ID) -> None:
    """One alert in full: the breach, its columns, the action and who acknowledged it."""
    output.emit(_monitors().alert(alert_id), lambda a: output.print_value(output.jsonable(a)))


@app.command()
def ack(alert_id: int = _ID, comment: str = _COMMENT) -> None:
    """Acknowledge an open alert with a comment."""
    done = _monitors().ack(alert_id, comment)
    output.emit(done, lambda a: output.note(f"alert {a.id} {a.status} by {a.acked_by}"))


@app.command()
def resolve(alert_id: int = _ID, comment: str = _COMMENT) -> None:
    """Resolve an open or acknowledged alert with a comment."""
    done = _monitors().resolve(alert_id, comment)
    output.emit(done, lambda a: output.note(f"alert {a.id} {a.status} by {a.resolved_by}"))


@app.command()
def retrain(alert_id: int = _ID) -> None:
    """Run an alert's retrain pipeline now (a requested or failed one) and record the run."""
    done = _monitors().run_action(alert_id)
    output.emit(
        done, lambda a: output.note(f"alert {a.id}: retrain {a.action_status}, run {a.run_id}")
    )
    if done.action_status != "succeeded":
        raise typer.Exit(1)
