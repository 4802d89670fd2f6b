"""``mlcore pipeline run|show|resume``: run pipelines defined in Python files.

A pipeline is named ``FILE[:NAME]`` (NAME may be left out when the file
defines one pipeline). While it runs, one line per step event goes to stderr
(a live bar as well when stderr is a terminal); the table of steps, or the
run record with ``--json``, goes to stdout. A failed step exits 1 after the
table is printed; bad parameters exit 2, an unknown file or run 3.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from mlcore.cli import output

app = typer.Typer(help="Run, show and resume pipelines.", no_args_is_help=True)

_SPEC = "The pipeline as FILE[:NAME]; NAME may be left out when FILE defines one pipeline."
_WORKERS = "Worker processes for independent steps (1: run steps in this process)."


@app.command()
def run(
    spec: str = typer.Argument(..., help=_SPEC),
    param: list[str] = typer.Option(None, "--param", "-p", help="A parameter as NAME=VALUE."),
    config: str = typer.Option(None, "--config", help="A TOML file of parameter values."),
    workers: int = typer.Option(1, "--workers", "-w", help=_WORKERS),
    no_cache: bool = typer.Option(False, "--no-cache", help="Execute every step again."),
) -> None:
    """Run a pipeline and record it in the store; --param overrides --config."""
    from mlcore.cli.parsing import parse_assignments

    params = parse_assignments(param)
    store = output.open_store()
    pipeline = store.pipelines.load(spec)
    with _progress(len(pipeline.nodes)) as on_event:
        result = store.pipelines.run(
            pipeline,
            params,
            config=config,
            workers=workers,
            no_cache=no_cache,
            on_event=on_event,
        )
    _report(result)


@app.command()
def resume(
    run_id: str = typer.Argument(..., help="The failed run (its id, or a unique part of it)."),
    workers: int = typer.Option(1, "--workers", "-w", help=_WORKERS),
) -> None:
    """Finish a failed run: a new run reuses the outputs of its succeeded steps."""
    store = output.open_store()
    previous = store.pipelines.get(run_id).record
    with _progress(len(previous.steps)) as on_event:
        result = store.pipelines.resume(previous.id, workers=workers, on_event=on_event)
    _report(result)


@app.command()
def show(spec: str = typer.Argument(..., help=_SPEC)) -> None:
    """The pipeline's parameters and steps, each with where its inputs come from."""
    from mlcore.pipelines import load_pipeline

    pipeline = load_pipeline(spec)
    output.emit(pipeline, lambda p: sys.stdout.write(p.describe() + "\n"))


# -- rendering ---------------------------------------------------------------------


def step_rows(record: Any) -> list[dict[str, Any]]:
    """One table row per step of a run record (shared with ``mlcore runs show``)."""
    rows = []
    for step in record.steps.values():
        detail = step.note
        if step.error is not None:
            detail = f"{step.error.type}: {step.error.message}"
        seconds = step.seconds
        rows.append(
            {
                "step": step.name,
                "status": str(step.status),
                "cached": "yes" if step.cache_hit else "",
                "attempts": step.attempts or "",
                "seconds": f"{seconds:.3f}" if seconds is not None else "",
                "detail": detail,
            }
        )
    return rows


def _report(result: Any) -> None:
    from mlcore.errors import EXIT_CHECK_FAILED

    record = result.record

    def human(_: Any) -> None:
        output.table(
            step_rows(record), title=f"run {record.id} ({record.pipeline}): {record.status}"
        )

    output.emit(record, human)
    if str(record.status) != "succeeded":
        failed = [n for n, s in record.steps.items() if str(s.status) == "failed"]
        output.note(
            f"run {record.id} failed at step {', '.join(failed) or '?'}; "
            f"fix it and continue with `mlcore pipeline resume {record.id}`"
        )
        raise typer.Exit(EXIT_CHECK_FAILED)


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """An event handler showing progress on stderr: a rich bar on a terminal, else lines."""
    if output.state.quiet:
        yield None
        return
    if output.state.json or not sys.stderr.isatty() or os.environ.get("CI"):
        yield _plain_line
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("steps", total=total)

        def on_event(event: Any) -> None:
            if event.step is None:
                return
            style = _STYLES.get(event.status, "")
            console.print(_line(event), style=style, highlight=False)
            if event.status in _FINAL:
                bar.advance(task)
            elif event.status == "running":
                bar.update(task, description=f"running {event.step}")

        yield on_event


_FINAL = {"succeeded", "cached", "failed", "skipped"}
_STYLES = {"failed": "red", "retrying": "yellow", "cached": "dim", "skipped": "dim"}


def _line(event: Any) -> str:
    what = event.step if event.step is not None else f"run {event.run_id}"
    text = f"{time.strftime('%H:%M:%S')} {what} {event.status}"
    if event.attempt > 1 or event.status == "retrying":
        text += f" (attempt {event.attempt})"
    return text + (f": {event.message}" if event.message else "")


def _plain_line(event: Any) -> None:
    sys.stderr.write(_line(event) + "\n")
    sys.stderr.flush()
