"""``mlcore score NAME --data FILE --out FILE``: batch scoring with a registered version."""

from __future__ import annotations

import typer

from mlcore.cli import output


def score(
    name: str = typer.Argument(..., help="Model name."),
    data: str = typer.Option(..., "--data", help="Batch to score (Parquet or CSV)."),
    out: str = typer.Option(..., "--out", help="Where to write predictions (Parquet)."),
    alias: str = typer.Option("production", help="Pointer to follow."),
    version: int = typer.Option(None, help="Score with this version instead.", min=1),
    feature: list[str] = typer.Option(
        None, "--feature", help="Fetch VIEW:FEATURE from the online table by entity key."
    ),
    passthrough: list[str] = typer.Option(
        None, "--keep", help="Columns to copy into the output (default: every non-input column)."
    ),
    trust: list[str] = typer.Option(None, "--trust", help="Trust this type in the artifact."),
) -> None:
    """Score a batch: verify the artifact, check the signature, predict, write Parquet."""
    models = output.open_store().models
    record = models.resolve(name, version, alias=alias)
    result = models.score(
        name,
        data,
        version=record.version,
        out=out,
        entity_features=feature or None,
        passthrough=passthrough or None,
        trusted=trust or None,
    )
    summary = {
        "name": name,
        "version": record.version,
        "rows": result.height,
        "columns": result.columns,
        "out": out,
    }
    output.emit(
        summary,
        lambda s: output.note(f"scored {s['rows']} rows with {name}/{s['version']} -> {out}"),
    )
