"""``mlcore models ...``: register, review, release, roll back, inspect and find model versions."""

from __future__ import annotations

import json
from typing import Any

import typer

from mlcore.cli import output
from mlcore.cli.parsing import parse_assignments

app = typer.Typer(help="Model versions and their lifecycle.", no_args_is_help=True)

_VERSION = typer.Argument(..., help="Version number.", min=1)
_REASON = typer.Option(None, "--reason", "-m", help="Why (recorded in the history and audit log).")
_TRUST = typer.Option(
    None, "--trust", help="Trust this type in the artifact (repeatable); see `models show`."
)


def _models() -> Any:
    return output.open_store().models


def _done(record: Any, verb: str) -> None:
    output.emit(record, lambda r: output.note(f"{r.ref} {verb}: now {r.state}"))


@app.command("list")
def list_() -> None:
    """Every model: versions, newest version and its state, what serves production."""
    rows = _models().list()
    output.emit(
        rows,
        lambda rs: output.table(
            [r.to_dict() for r in rs],
            [
                "name",
                "versions",
                "latest_version",
                "latest_state",
                "production",
                "owner",
                "updated_at",
            ],
        ),
    )


@app.command()
def show(
    name: str,
    version: int = typer.Argument(None, help="Show this version in full instead.", min=1),
) -> None:
    """Which version serves production, since when, released and approved by whom, on
    what evidence; the pointers; every version. With VERSION: that version in full."""
    models = _models()
    if version is not None:
        output.emit(models.get(name, version), lambda r: output.print_value(output.jsonable(r)))
        return
    output.emit(models.show(name), _render_model)


_PAST = {"release": "released", "rollback": "restored by rollback"}


def _render_model(info: Any) -> None:
    write = typer.echo
    write(f"{info.name}  (created {info.created_at:%Y-%m-%d %H:%M:%S}Z by {info.created_by})")
    prod = info.production
    if prod is None:
        write("production: none")
    else:
        approved = ", ".join(prod.approved_by) or "nobody"
        write(
            f"production: version {prod.version} since {prod.since:%Y-%m-%d %H:%M:%S}Z, "
            f"{_PAST.get(prod.action, prod.action)} by {prod.released_by}; approved by {approved}; "
            f"evidence {prod.evidence or 'none'}"
            + (f"; reason: {prod.reason}" if prod.reason else "")
        )
    pointers = ", ".join(f"{a} -> {p['version']}" for a, p in info.pointers.items())
    write(f"pointers: {pointers or 'none'}")
    output.table(
        [
            {**v.to_dict(), "metrics": ", ".join(f"{k}={x:.4g}" for k, x in v.metrics.items())}
            for v in info.versions
        ],
        ["version", "state", "created_at", "created_by", "owner", "risk_tier", "metrics"],
    )


@app.command()
def register(
    name: str,
    artifact: str = typer.Argument(
        ..., help="A skops file, or the sha256 of a stored artifact (a pipeline output)."
    ),
    training_data: str = typer.Option(
        None, "--training-data", help="Training frame (Parquet/CSV): signature and example."
    ),
    dataset: str = typer.Option(None, help="Feature-store dataset it was trained on."),
    param: list[str] = typer.Option(None, "--param", help="Training parameter KEY=VALUE."),
    metric: list[str] = typer.Option(None, "--metric", help="Metric NAME=VALUE."),
    tag: list[str] = typer.Option(None, "--tag", help="Tag KEY or KEY=VALUE."),
    feature: list[str] = typer.Option(None, "--feature", help="Feature used, VIEW:FEATURE."),
    pipeline_run: str = typer.Option(None, "--pipeline-run", help="Run that trained it."),
    code: list[str] = typer.Option(None, "--code", help="Training code file or folder to hash."),
    owner: str = typer.Option(None, help="Owner (default: you)."),
    description: str = typer.Option(None, help="What it predicts."),
    intended_use: str = typer.Option(None, "--intended-use", help="What it is for."),
    limitations: str = typer.Option(None, help="Where it must not be relied on."),
    risk_tier: str = typer.Option(None, "--risk-tier", help="low, medium, high or critical."),
    trust: list[str] = _TRUST,
) -> None:
    """Register a fitted model as the next version of NAME (in draft)."""
    from pathlib import Path

    from mlcore.errors import InvalidInput, NotFound
    from mlcore.registry.artifacts import deserialize

    store = output.open_store()
    if Path(artifact).is_file():
        data = Path(artifact).read_bytes()
    elif len(artifact) == 64 and all(c in "0123456789abcdef" for c in artifact):
        data = store.storage.read_blob(artifact)
    else:
        raise NotFound("artifact", artifact, hint="Name a skops file or a stored artifact's sha256")
    model = deserialize(data, trusted=trust or ())
    metrics = {}
    for key, value in parse_assignments(metric, "--metric").items():
        try:
            metrics[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {key}={value!r} is not a number", field=key) from None
    card = {
        "owner": owner,
        "description": description,
        "intended_use": intended_use,
        "limitations": limitations,
        "risk_tier": risk_tier,
    }
    record = store.models.register(
        name,
        model,
        training_data=training_data,
        dataset=dataset,
        params={k: _value(v) for k, v in parse_assignments(param).items()},
        metrics=metrics,
        tags=tag or None,
        card={k: v for k, v in card.items() if v is not None},
        trusted=trust or None,
        pipeline_run=pipeline_run,
        features=feature or None,
        code=code or [],
    )
    output.emit(record, lambda r: output.note(f"registered {r.ref} ({r.artifact_sha256[:12]})"))


def _value(text: str) -> Any:
    """A --param value: JSON when it parses (numbers, booleans, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@app.command()
def submit(name: str, version: int = _VERSION, reason: str = _REASON) -> None:
    """draft -> in_review."""
    _done(_models().submit(name, version, reason=reason), "submitted")


@app.command()
def approve(name: str, version: int = _VERSION, reason: str = _REASON) -> None:
    """Approve a version in review (not your own)."""
    _done(_models().approve(name, version, reason=reason), "approved")


@app.command()
def reject(
    name: str,
    version: int = _VERSION,
    reason: str = typer.Option(..., "--reason", "-m", help="Why it is rejected."),
) -> None:
    """Reject a version in review or approved (not your own)."""
    _done(_models().reject(name, version, reason=reason), "rejected")


@app.command()
def release(
    name: str,
    version: int = _VERSION,
    reason: str = _REASON,
    evidence: str = typer.Option(None, help="Evaluation id the release relies on."),
    check: bool = typer.Option(
        False, "--check", help="Only report what would block the release (exit 1 if anything)."
    ),
) -> None:
    """Move production to an approved version (gate checked); the previous one is archived."""
    if check:
        from mlcore.errors import GateFailed

        failures = _models().check_release(name, version, evidence=evidence)

        def human(report: dict[str, Any]) -> None:
            if report["ready"]:  # else the GateFailed raised below lists the failures
                output.note(f"{name}/{version} can be released")

        output.emit(
            {"name": name, "version": version, "ready": not failures, "failures": failures},
            human,
        )
        if failures:
            raise GateFailed(f"model:{name}/{version}", failures)
        return
    _done(_models().release(name, version, reason=reason, evidence=evidence), "released")


@app.command()
def rollback(
    name: str,
    reason: str = typer.Option(..., "--reason", "-m", help="Why production is rolled back."),
) -> None:
    """Restore the previous production version in one step."""
    _done(_models().rollback(name, reason=reason), "restored to production")


@app.command()
def archive(name: str, version: int = _VERSION, reason: str = _REASON) -> None:
    """Archive a version that does not serve production."""
    _done(_models().archive(name, version, reason=reason), "archived")


@app.command()
def alias(
    name: str,
    alias: str = typer.Argument(..., help="Pointer name: staging, champion, challenger..."),
    version: int = typer.Argument(None, help="Version to point at.", min=1),
    delete: bool = typer.Option(False, "--delete", help="Remove the pointer."),
    reason: str = _REASON,
) -> None:
    """Point ALIAS of NAME at VERSION (or --delete it); production moves only by release."""
    from mlcore.errors import InvalidInput

    models = _models()
    if delete == (version is not None):
        raise InvalidInput(
            "give either VERSION or --delete", hint="e.g. models alias churn staging 4"
        )
    move = (
        models.remove_alias(name, alias, reason=reason)
        if delete
        else models.set_alias(name, alias, version, reason=reason)
    )
    output.emit(
        move,
        lambda m: output.note(f"{name}@{alias}: {m.from_version or '-'} -> {m.to_version or '-'}"),
    )


@app.command()
def history(name: str) -> None:
    """The timeline: every lifecycle event and pointer move, in order."""
    entries = _models().history(name)

    def human(rows: Any) -> None:
        output.table(
            [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "what": f"version {e.version}" if e.kind == "version" else e.alias,
                    "change": f"{e.from_state or '-'} -> {e.to_state}"
                    if e.kind == "version"
                    else f"{e.from_version or '-'} -> {e.to_version or '-'}",
                    "reason": e.reason,
                    "evidence": e.evidence,
                }
                for e in rows
            ]
        )

    output.emit(entries, human)


@app.command()
def load(
    name: str,
    version: int = typer.Option(
        None, help="Version number (default: what --alias points at).", min=1
    ),
    alias: str = typer.Option("production", help="Pointer to follow."),
    trust: list[str] = _TRUST,
    out: str = typer.Option(None, help="Also write the verified artifact to this file."),
) -> None:
    """Load a version (hash verified, trusted types only) and describe it."""
    from pathlib import Path

    models = _models()
    record = models.resolve(name, version, alias=alias)
    model = models.load(name, record.version, trusted=trust or None)
    if out:
        Path(out).write_bytes(output.open_store().storage.read_blob(record.artifact_sha256))
    result = {
        "name": name,
        "version": record.version,
        "state": record.state,
        "sha256": record.artifact_sha256,
        "verified": True,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
    }
    if out:
        result["out"] = out
    output.emit(result)


@app.command()
def search(
    text: str = typer.Argument(None, help="Words in the model name or description."),
    name: str = typer.Option(None, help="Model name; '*' matches any text (churn*)."),
    tag: list[str] = typer.Option(None, "--tag", help="KEY or KEY=VALUE (repeatable)."),
    state: list[str] = typer.Option(None, "--state", help="Lifecycle state (repeatable)."),
    owner: str = typer.Option(None, help="Card owner."),
    metric: list[str] = typer.Option(None, "--metric", help="Condition such as auc>=0.8."),
    feature: str = typer.Option(None, help="Feature view or VIEW:FEATURE used."),
    limit: int = typer.Option(None, help="At most this many versions.", min=1),
) -> None:
    """Versions matching every condition given."""
    found = _models().search(
        text,
        name=name,
        tags=tag or None,
        state=state or None,
        owner=owner,
        metrics=metric or None,
        feature=feature,
        limit=limit,
    )
    output.emit(
        found,
        lambda rows: output.table(
            [{**v.to_dict(), "ref": v.ref} for v in rows],
            ["ref", "state", "owner", "risk_tier", "metrics", "tags", "created_at"],
        ),
    )
