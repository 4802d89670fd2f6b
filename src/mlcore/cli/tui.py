"""``mlcore tui``: the operator's terminal UI over a store.

Only typer and the output helpers load here; Textual loads when the command runs.
"""

from __future__ import annotations

import typer

from mlcore.cli import output


def tui(
    read_only: bool = typer.Option(
        False, "--read-only", help="Look only: every action (approve, release...) is off."
    ),
    interval: float = typer.Option(
        2.0, "--interval", min=0.2, help="Seconds between live refreshes."
    ),
) -> None:
    """Open the operator TUI: overview, features, models, runs, monitoring, audit.

    Keys: 1-6 or :NAME switch view, / filters, Enter opens, Esc goes back, ? lists
    every key. The TUI holds the store only while it reads, so jobs keep writing.
    """
    from mlcore.tui.app import run

    run(output.open_store(), read_only=read_only, interval=interval)
