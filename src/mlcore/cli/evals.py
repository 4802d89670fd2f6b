"""``mlcore eval ...``: evaluate model versions, show and export evaluations, waive rules, ask the gate."""

from __future__ import annotations

from typing import Any

import typer

from mlcore.cli import output

app = typer.Typer(
    help="Evaluations of model versions under the policies in force.", no_args_is_help=True
)

_TARGET = typer.Argument(..., help="MODEL or MODEL:VERSION (default: the newest version).")


def _evals() -> Any:
    return output.open_store().evals


def parse_target(text: str, *, need_version: bool = False) -> tuple[str, int | None]:
    """``churn`` -> ("churn", None); ``churn:3`` -> ("churn", 3)."""
    from mlcore.registry.capture import parse_ref

    return parse_ref(text, need_version=need_version)


def _render(evaluation: Any) -> None:
    e = evaluation
    write = typer.echo
    write(f"{e.id}  {e.ref}  {e.verdict.upper()}  ({e.n_rows} rows, {e.task}, by {e.created_by})")
    data = e.dataset
    source = data.get("id") or data.get("path") or "in-memory frame"
    where = f" where {data['where']}" if data.get("where") else ""
    write(f"data: {data['source']} {source}{where}, sha256 {data['sha256']}")
    used = ", ".join(f"{p['name']} v{p['version']}" for p in e.policies) or "none in force"
    write(f"policies: {used}")
    champion = e.results.get("champion") or {}
    write(f"champion: {'v' + str(e.champion) if e.champion else champion.get('reason')}")
    if e.rules:
        output.table(
            [r.to_dict() for r in e.rules],
            ["policy", "rule", "severity", "status", "value", "op", "threshold", "message"],
        )
    output.table(e.results["metrics"]["metrics"], ["metric", "value", "low", "high", "reason"])
    worst = (e.results.get("slices") or {}).get("worst")
    if worst:
        write(f"worst slice: {worst['slice']} ({worst['n_rows']} rows)")
    for warning in e.results.get("warnings", []):
        output.note(f"warning: {warning}")


@app.command()
def run(
    target: str = _TARGET,
    data: str = typer.Option(..., "--data", help="Parquet/CSV file, or dataset:NAME[/VERSION]."),
    label: str = typer.Option(..., "--label", help="The label column."),
    slice_: list[str] = typer.Option(None, "--slice", help="Slice column (repeatable)."),
    sensitive: list[str] = typer.Option(
        None, "--sensitive", help="Sensitive attribute for fairness (repeatable)."
    ),
    policy: list[str] = typer.Option(
        None, "--policy", help="Judge under this policy instead of those in force (repeatable)."
    ),
    where: str = typer.Option(None, "--where", help="SQL condition selecting rows (a split)."),
    reference: str = typer.Option(
        None, "--reference", help="Training data for drift rules (file or dataset:NAME)."
    ),
    task: str = typer.Option(None, "--task", help="binary, multiclass or regression."),
    threshold: float = typer.Option(0.5, help="Score at or above which a row is positive."),
    resamples: int = typer.Option(200, "--resamples", min=0, help="Bootstrap resamples."),
    seed: int = typer.Option(0, help="Seed of the resamples."),
    no_champion: bool = typer.Option(
        False, "--no-champion", help="Do not score the production version (champion rules fail)."
    ),
    trust: list[str] = typer.Option(None, "--trust", help="Trust this type in the artifact."),
) -> None:
    """Evaluate a version, judge it under the policies in force, and record it.

    Exits 1 when a block rule fails (the evaluation is still recorded and printed).
    """
    name, version = parse_target(target)
    evaluation = _evals().run(
        name,
        data,
        version=version,
        label=label,
        slices=slice_ or (),
        sensitive=sensitive or (),
        policy=policy or None,
        where=where,
        reference=reference,
        task=task,
        threshold=threshold,
        n_resamples=resamples,
        seed=seed,
        compare_champion=not no_champion,
        trusted=trust or None,
    )
    output.emit(evaluation, _render)
    if evaluation.verdict == "fail":
        raise typer.Exit(1)


@app.command()
def show(
    evaluation_id: str = typer.Argument(..., help="Evaluation id (or a unique prefix)."),
) -> None:
    """One evaluation: verdict, data, policies, rule results, metrics."""
    output.emit(_evals().get(evaluation_id), _render)


@app.command()
def report(
    evaluation_id: str = typer.Argument(..., help="Evaluation id (or a unique prefix)."),
    format_: str = typer.Option("html", "--format", help="html, md or json."),
    out: str = typer.Option(None, "--out", help="File to write (default: stdout)."),
) -> None:
    """Export an evaluation: a self-contained HTML evidence bundle, Markdown or JSON."""
    import os

    text = _evals().report(evaluation_id, format_)
    if out is None:
        typer.echo(text)
        return
    tmp = f"{out}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out)
    output.emit(
        {"evaluation": evaluation_id, "format": format_, "out": out, "bytes": len(text)},
        lambda r: output.note(f"wrote {r['format']} report of {r['evaluation']} to {r['out']}"),
    )


@app.command("list")
def list_(
    target: str = typer.Argument(None, help="MODEL or MODEL:VERSION (default: every model)."),
) -> None:
    """Evaluations, newest first."""
    name, version = parse_target(target) if target else (None, None)
    found = _evals().list(name, version)
    rows = [
        {
            "id": e.id,
            "model": e.model,
            "version": e.version,
            "created_at": e.created_at,
            "created_by": e.created_by,
            "rows": e.n_rows,
            "policies": ", ".join(f"{p['name']}/{p['version']}" for p in e.policies),
            "verdict": e.verdict,
        }
        for e in found
    ]
    output.emit(found, lambda _: output.table(rows))


@app.command()
def waive(
    target: str = typer.Argument(..., help="MODEL:VERSION the waiver is for."),
    rule: str = typer.Argument(..., help="RULE or POLICY/RULE to waive."),
    reason: str = typer.Option(..., "--reason", "-m", help="Justification (recorded, audited)."),
    expires: str = typer.Option(
        ..., "--expires", help="When it lapses: a duration (30d, 12w) or an ISO time."
    ),
) -> None:
    """Waive a rule of a policy in force for one version, until an expiry (risk officers)."""
    from mlcore.cli.parsing import parse_duration_or_time

    name, version = parse_target(target, need_version=True)
    until = parse_duration_or_time(expires, "--expires")
    waiver = _evals().waive(name, version, rule, reason, until)
    output.emit(
        waiver,
        lambda w: output.note(
            f"{w.id}: {w.policy}/{w.rule} waived for {w.model}/{w.version} until "
            f"{w.expires_at.isoformat(timespec='seconds')}"
        ),
    )


@app.command()
def gate(target: str = _TARGET) -> None:
    """Would a release pass the gate now? Exits 1 and lists the failures if not."""
    name, version = parse_target(target)
    decision = _evals().gate(name, version)

    def render(d: Any) -> None:
        used = ", ".join(f"{p['name']} v{p['version']}" for p in d.policies) or "none in force"
        typer.echo(f"{d.model}/{d.version}: {'PASS' if d.passed else 'BLOCKED'}")
        typer.echo(f"policies: {used}; evaluation: {d.evaluation or 'none'}")
        if d.problems:
            output.table(list(d.problems), ["rule", "value", "threshold", "message"])

    output.emit(decision, render)
    if not decision.passed:
        raise typer.Exit(1)
