"""``mlcore monitor create|observe|labels|report|profile|list|matrix``: production monitoring.

``monitor observe`` exits with 1 when the batch drifted from the reference
(the dataset-level decision of its drift report), after printing the report,
so that a batch job can stop or branch on drift; 0 otherwise.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from mlcore.cli import output
from mlcore.cli.parsing import parse_since

app = typer.Typer(help="Production monitoring: drift, performance, alerts.", no_args_is_help=True)

_NAME = typer.Argument(..., help="Monitor name (or a model with exactly one monitor).")
_LAST = typer.Option(None, "--last", help="Only the newest N windows.", min=1)
_SINCE = typer.Option(None, "--since", help="Only windows ending after this (ISO time or 7d).")
_REPORT_COLUMNS = ["window", "column", "statistic", "value", "threshold", "status"]


def _monitors() -> Any:
    return output.open_store().monitors


@app.command()
def create(
    name: str = typer.Argument(..., help="Name of the new monitor."),
    reference: str = typer.Option(
        None, "--reference", "-r", help="Reference rows: Parquet/CSV file or dataset name."
    ),
    model: str = typer.Option(
        None, "--model", help="Attach to MODEL (production) or MODEL:VERSION."
    ),
    column: list[str] = typer.Option(
        None, "--column", "-c", help="Column to monitor (repeatable)."
    ),
    categorical: list[str] = typer.Option(
        None, "--categorical", help="Treat this column as categories (repeatable)."
    ),
    prediction: str = typer.Option(None, "--prediction", help="Column with the model's output."),
    label: str = typer.Option(None, "--label", help="Column with ground truth in label batches."),
    task: str = typer.Option(None, "--task", help="classification or regression."),
    request_id: str = typer.Option("request_id", "--request-id", help="Request id column."),
    timestamp: str = typer.Option(None, "--timestamp", help="Event time column of batches."),
    window: str = typer.Option("1d", "--window", help="1h, 1d, 7d... or batch."),
    rules: str = typer.Option(None, "--rules", help="Alert rules (TOML file)."),
    no_rules: bool = typer.Option(False, "--no-rules", help="No alert rules at all."),
    calibrate: bool = typer.Option(
        True, "--calibrate/--no-calibrate", help="Calibrate thresholds on the reference."
    ),
    detector: str = typer.Option("adwin", "--detector", help="adwin, page_hinkley or none."),
    threshold: float = typer.Option(0.5, "--threshold", help="Classification threshold."),
    method: str = typer.Option("bh", "--method", help="bh or bonferroni across columns."),
    alpha: float = typer.Option(0.05, "--alpha", help="Level of the dataset-level decision."),
    bins: int = typer.Option(20, "--bins", help="PSI bins per numeric column.", min=1),
) -> None:
    """Fit a reference profile (and its calibration) and store a monitor."""
    monitor = _monitors().create(
        name,
        model=model,
        reference=reference,
        columns=column or None,
        categorical=categorical or None,
        prediction=prediction,
        label=label,
        task=task,
        request_id=request_id,
        timestamp=timestamp,
        window=window,
        rules=[] if no_rules else rules,
        calibrate=calibrate,
        detector=None if detector == "none" else detector,
        threshold=threshold,
        method=method,
        alpha=alpha,
        bins=bins,
    )
    output.emit(monitor, _show_monitor)


@app.command()
def observe(
    name: str = _NAME,
    batch: str = typer.Argument(..., help="Batch of production rows (Parquet or CSV)."),
    timestamp_column: str = typer.Option(
        None, "--timestamp-column", help="Event time column (default: the monitor's, else now)."
    ),
    request_id: str = typer.Option(None, "--request-id", help="Request id column."),
    show_all: bool = typer.Option(False, "--all", help="Every statistic, not only alerting ones."),
) -> None:
    """Log a batch, update its windows, check alert rules; exit 1 if the batch drifted."""
    seen = _monitors().observe(
        name, batch, timestamp_column=timestamp_column, request_id=request_id
    )

    def human(o: Any) -> None:
        output.note(
            f"observed {o.rows} rows in {o.monitor}: windows {', '.join(map(str, o.windows)) or '-'}"
        )
        for what, cols in (("unknown", o.unexpected_columns), ("all-null", o.all_null_columns)):
            if cols:
                output.note(f"{what} columns: {', '.join(cols)}")
        if o.report is not None:
            _drift_table("batch", o.report, show_all)
        _alert_notes(o.alerts, o.resolved)

    output.emit(seen, human)
    if seen.drift:
        raise typer.Exit(1)


@app.command()
def labels(
    name: str = _NAME,
    batch: str = typer.Argument(..., help="Labels (Parquet or CSV): request id and label."),
    request_id: str = typer.Option("request_id", "--request-id", help="Request id column."),
    label: str = typer.Option(None, "--label", help="Label column (default: the monitor's)."),
) -> None:
    """Join ground truth to logged predictions; update performance and change detection."""
    done = _monitors().log_labels(name, batch, request_id=request_id, label=label)

    def human(r: Any) -> None:
        output.print_value(
            {
                "received": r.received,
                "labelled": r.labelled,
                "already labelled": r.already_labelled,
                "unmatched": r.unmatched,
                "windows": ", ".join(map(str, r.windows)) or "-",
                "changes": r.changes or "-",
            }
        )
        _alert_notes(r.alerts, r.resolved)

    output.emit(done, human)


@app.command()
def report(
    name: str = _NAME,
    last: int = _LAST,
    since: str = _SINCE,
    statistic: list[str] = typer.Option(
        None, "--statistic", "-s", help="Only this statistic (repeatable)."
    ),
    show_all: bool = typer.Option(False, "--all", help="Every statistic, not only alerting ones."),
) -> None:
    """Per window: drift per column and statistic (value, threshold, status) and performance."""
    result = _monitors().report(
        name, last=last, since=None if since is None else parse_since(since)
    )

    def human(r: Any) -> None:
        if not r.windows:
            output.note(f"{r.monitor} has no windows yet")
        for w in r.windows:
            drift = ", ".join(w.drift.drifted_columns) if w.drift.drift else "no"
            sys.stdout.write(
                f"window {w.label}  rows {w.rows}  labelled {w.labelled}  drift: {drift}\n"
            )
            for title, metrics in (("performance", w.performance), ("estimated", w.estimated)):
                if metrics:
                    shown = "  ".join(f"{k} {_number(v)}" for k, v in metrics.items())
                    sys.stdout.write(f"  {title}: {shown}\n")
            if w.changes:
                sys.stdout.write(f"  change alarms: {w.changes}\n")
            _drift_table(w.label, w.drift, show_all, statistic)
            sys.stdout.write("\n")

    output.emit(result, human)


@app.command()
def matrix(
    name: str = _NAME,
    statistic: str = typer.Option("psi", "--statistic", "-s", help="Statistic to tabulate."),
    status: bool = typer.Option(False, "--status", help="Statuses instead of values."),
    last: int = _LAST,
    since: str = _SINCE,
) -> None:
    """The drift matrix: one statistic per column (rows) and window (columns)."""
    frame = _monitors().drift_matrix(
        name,
        statistic,
        last=last,
        since=None if since is None else parse_since(since),
        value="status" if status else "value",
    )
    data = frame.to_dict(as_series=False)
    columns = data.pop("column")
    export = {
        "monitor": name,
        "statistic": statistic,
        "value": "status" if status else "value",
        "columns": columns,
        "windows": list(data),
        "values": [[data[w][i] for w in data] for i in range(len(columns))],
    }

    def human(m: Any) -> None:
        rows = [{"column": c, **dict(zip(m["windows"], v, strict=True))} for c, v in
                zip(m["columns"], m["values"], strict=True)]  # fmt: skip
        output.table(rows, ["column", *m["windows"]])

    output.emit(export, human)


@app.command()
def profile(name: str = _NAME) -> None:
    """The reference profile: per column its kind, bins, missing share, range or categories."""
    rows = _monitors().profile(name).describe()

    def human(r: Any) -> None:
        shown = [
            {**row, "categories": len(row["categories"]) if "categories" in row else None}
            for row in r
        ]
        output.table(
            shown, ["column", "kind", "bins", "rows", "missing_rate", "min", "max", "mean", "std",
                    "categories"],
        )  # fmt: skip

    output.emit(rows, human)


@app.command("list")
def list_() -> None:
    """Every monitor: its model, window, columns, calibration and rules."""
    rows = [
        {
            "name": m.name,
            "model": m.model_ref,
            "window": m.window,
            "columns": len(m.columns),
            "prediction": m.prediction,
            "task": m.task,
            "calibrated": m.calibration_sha256 is not None,
            "rules": len(m.rules),
            "created_at": m.created_at,
        }
        for m in _monitors().list()
    ]
    output.emit(rows, lambda r: output.table(r))


def _show_monitor(m: Any) -> None:
    output.print_value(
        {
            "monitor": m.name,
            "model": m.model_ref or "-",
            "columns": ", ".join(m.columns),
            "prediction": m.prediction or "-",
            "task": m.task or "-",
            "window": m.window,
            "calibrated": m.calibration_sha256 is not None,
            "rules": ", ".join(r["name"] for r in m.rules) or "-",
        }
    )


def _drift_table(
    window: str, report: Any, show_all: bool, statistics: list[str] | None = None
) -> None:
    rows = [
        {"window": window, "column": col.column, **vars(res)}
        for col in report.columns
        for res in col.statistics.values()
        if (show_all or res.alert or statistics) and (not statistics or res.statistic in statistics)
    ]
    output.table(rows, _REPORT_COLUMNS)


def _alert_notes(raised: list[Any], resolved: list[Any]) -> None:
    for a in raised:
        run = (
            f" (retrain {a.action_status}{' run ' + a.run_id if a.run_id else ''})"
            if a.action
            else ""
        )
        output.note(f"alert {a.id} [{a.severity}] {a.rule} on window {a.window}{run}")
    for a in resolved:
        output.note(f"alert {a.id} resolved: {a.resolution}")


def _number(value: float) -> str:
    return "-" if value != value else f"{value:.4g}"
