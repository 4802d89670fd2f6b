"""``mlcore runs list|show|lineage``: the pipeline runs the store recorded.

A run is named by its id or any unique part of it: a prefix
(``20250301T1200``) or the random suffix (``3fa9c2``).
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from mlcore.cli import output

app = typer.Typer(help="Pipeline runs: list, show, lineage.", no_args_is_help=True)

_RUN = "The run: its id, or a unique prefix or suffix of it."


@app.command("list")
def list_runs(
    pipeline: str = typer.Option(None, "--pipeline", help="Only runs of this pipeline."),
    limit: int = typer.Option(20, "--limit", help="At most this many runs, newest first."),
) -> None:
    """Runs, newest first, with how many steps ran, hit the cache or failed."""
    runs = output.open_store().pipelines.runs(pipeline, limit=limit)
    rows = [_summary(r) for r in runs]
    columns = ["id", "pipeline", "status", "started_at", "seconds", "steps", "actor"]
    output.emit(rows, lambda r: output.table(r, columns))


@app.command()
def show(run_id: str = typer.Argument(..., help=_RUN)) -> None:
    """A run's parameters and, per step, status, cache hit, attempts, time and error."""
    from mlcore.cli.pipeline import step_rows

    record = output.open_store().pipelines.get(run_id).record

    def human(_: Any) -> None:
        summary = _summary(record)
        output.print_value(
            {
                "run": record.id,
                "pipeline": record.pipeline,
                "status": summary["status"],
                "source": record.source or "-",
                "params": record.params,
                "started": summary["started_at"],
                "seconds": summary["seconds"],
                "resumed from": record.resumed_from or "-",
            }
        )
        sys.stdout.write("\n")
        output.table(step_rows(record))

    output.emit(record, human)


@app.command()
def lineage(run_id: str = typer.Argument(..., help=_RUN)) -> None:
    """Where the run's results came from and went: inputs, step outputs, model versions."""
    chain = output.open_store().pipelines.lineage(run_id)

    def human(_: Any) -> None:
        out = sys.stdout
        run = chain.run
        out.write(f"run {run['id']} ({run['pipeline']}): {run['status']}\n")
        out.write("inputs\n")
        for item in chain.inputs:
            out.write(f"  {item['step']}.{item['input']}  {item['sha256'][:12]}\n")
        out.write("steps\n")
        for step in chain.steps:
            sources = ", ".join(
                f"{arg}<-{src['from'] or src['sha256'][:12]}" for arg, src in step["inputs"].items()
            )
            outputs = ", ".join(f"{k}={v['sha256'][:12]}" for k, v in step["outputs"].items())
            by = step["computed_by"]
            made = f"  (computed by run {by})" if by and by != run["id"] else ""
            out.write(f"  {step['name']} [{step['status']}] {sources} -> {outputs}{made}\n")
        out.write("models\n")
        for model in chain.models:
            evaluations = model.get("evaluations")
            shown = "n/a" if evaluations is None else str(len(evaluations))
            out.write(
                f"  {model['ref']} [{model.get('state', '?')}] made by run "
                f"{model.get('pipeline_run', '?')}; evaluations: {shown}\n"
            )
        if not chain.models:
            out.write("  (none registered)\n")

    output.emit(chain, human)


def _summary(record: Any) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for step in record.steps.values():
        counts[str(step.status)] = counts.get(str(step.status), 0) + 1
    seconds = None
    if record.finished_at is not None:
        seconds = round((record.finished_at - record.started_at).total_seconds(), 3)
    return {
        "id": record.id,
        "pipeline": record.pipeline,
        "status": str(record.status),
        "started_at": record.started_at.isoformat(timespec="seconds"),
        "seconds": seconds,
        "steps": ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
        "resumed_from": record.resumed_from,
        "actor": record.actor,
    }
