"""``mlcore features ...``: list, inspect, ingest, retrieve, materialize and search features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mlcore.cli import output
from mlcore.cli.parsing import parse_assignments
from mlcore.errors import InvalidInput

app = typer.Typer(
    help="Feature views: data, retrieval, online table, discovery.", no_args_is_help=True
)

_FEATURES_HELP = "Features as view:feature or view:* (repeat, or separate with commas)."


def _refs(values: list[str]) -> list[str]:
    return [ref.strip() for value in values for ref in value.split(",") if ref.strip()]


@app.command("list")
def list_views() -> None:
    """Every feature view with its version, entities, size and owner."""
    rows = output.open_store().features.summary()
    columns = ["view", "version", "entities", "features", "aggregations", "rows", "files", "owner"]
    output.emit(rows, lambda r: output.table(r, columns))


@app.command()
def show(
    view: str = typer.Argument(..., help="Feature view name."),
) -> None:
    """A view's definition, versions, data files, online table and users."""
    info = output.open_store().features.describe(view)

    def human(d: dict[str, Any]) -> None:
        spec = d["spec"]
        keys = ", ".join(f"{k['name']} ({k['dtype']})" for k in spec["join_keys"])
        output.print_value(
            {
                "view": f"{d['name']} v{d['version']}",
                "entities": ", ".join(spec["entities"]),
                "join keys": keys,
                "event timestamp": spec["event_timestamp"],
                "created timestamp": spec["created_timestamp"] or "-",
                "ttl": "none" if spec["ttl_us"] is None else f"{spec['ttl_us'] / 1e6:g} s",
                "owner": spec["owner"] or "-",
                "tags": ", ".join(k + (f"={v}" if v else "") for k, v in spec["tags"].items()),
                "description": spec["description"],
                "data": f"{d['data']['rows']} rows in {d['data']['files']} files",
                "datasets": ", ".join(d["datasets"]) or "-",
                "used by": d["used_by"] if d["used_by"] is not None else "-",
            }
        )
        fields = [{**f, "kind": "field"} for f in spec["fields"]]
        aggs = [
            {"name": a["name"], "dtype": "", "kind": f"{a['function']}({a['column']})"}
            for a in spec["aggregations"]
        ]
        output.table([*fields, *aggs], ["name", "dtype", "kind", "description"])
        output.table(
            d["versions"], ["version", "status", "breaking", "forced", "created_at", "created_by"]
        )

    output.emit(info, human)


@app.command()
def ingest(
    view: str = typer.Argument(..., help="Feature view name."),
    file: str = typer.Argument(None, help="Parquet or CSV file (default: the view's source)."),
    tz: str = typer.Option(
        None, "--tz", help="Zone of naive timestamps, e.g. UTC or Europe/Paris."
    ),
) -> None:
    """Validate a file against the view and store it; a bad batch is rejected whole."""
    store = output.open_store()
    with output.progress(f"ingest {view}") as advance:
        report = store.features.ingest(
            view, file, assume_tz=tz, progress=lambda rows, _total: advance(rows)
        )
    if report.ignored_columns:
        output.note(
            f"ignored columns the view does not define: {', '.join(report.ignored_columns)}"
        )

    def human(r: Any) -> None:
        output.print_value(
            f"{r.rows} rows into {r.view} v{r.version} ({len(r.files)} file(s), snapshot "
            f"{r.snapshot}, {r.rows_per_second:,.0f} rows/s)"
        )

    output.emit(report, human)


def _check_out(out: Path) -> None:
    if out.suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise InvalidInput(f"--out {out} is neither .parquet nor .csv", field="--out")


def _write(frame: Any, out: Path) -> None:
    if out.suffix.lower() == ".csv":
        frame.write_csv(out)
    else:
        frame.write_parquet(out)


@app.command()
def history(
    entities: str = typer.Option(..., "--entities", help="Entity rows: a Parquet or CSV file."),
    features: list[str] = typer.Option(..., "--features", "-f", help=_FEATURES_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Result file (.parquet or .csv)."),
    timestamp: str = typer.Option(
        "event_timestamp", "--timestamp", help="Entity timestamp column."
    ),
    full_names: bool = typer.Option(False, "--full-names", help="Name columns view__feature."),
    as_of: int = typer.Option(None, "--as-of", help="Read the store as of this snapshot."),
    key: list[str] = typer.Option(None, "--key", help="JOIN_KEY=COLUMN when names differ."),
    tz: str = typer.Option(None, "--tz", help="Zone of naive entity timestamps."),
    save: str = typer.Option(None, "--save", help="Also save the result as a training dataset."),
) -> None:
    """Point-in-time correct features for every entity row, written to --out."""
    _check_out(out)
    store = output.open_store()
    refs = _refs(features)
    options = {
        "timestamp": timestamp,
        "full_names": full_names,
        "as_of": as_of,
        "key_map": parse_assignments(key, "--key"),
        "assume_tz": tz,
    }
    if save:
        dataset = store.features.save_dataset(save, entities, refs, **options)
        frame = store.features.load_dataset(save, dataset.version)
        snapshot, versions = dataset.snapshot, dataset.versions
    else:
        resolution = store.features.resolve(refs, as_of=as_of, full_names=full_names)
        options["as_of"] = resolution.snapshot
        frame = store.features.historical(entities, refs, **options)
        snapshot, versions = resolution.snapshot, resolution.versions
    _write(frame, out)
    result = {
        "out": str(out),
        "rows": frame.height,
        "columns": frame.columns,
        "snapshot": snapshot,
        "versions": versions,
        "dataset": f"{save}/{dataset.version}" if save else None,
    }

    def human(r: dict[str, Any]) -> None:
        used = ", ".join(f"{v} v{n}" for v, n in r["versions"].items())
        saved = f"; saved as dataset {r['dataset']}" if r["dataset"] else ""
        output.print_value(
            f"{r['rows']} rows to {r['out']} (snapshot {r['snapshot']}: {used}){saved}"
        )

    output.emit(result, human)


@app.command()
def materialize(
    views: list[str] = typer.Argument(None, help="Views to refresh (default: all)."),
) -> None:
    """Write the latest row per key (and current aggregations) to the online table."""
    done = output.open_store().features.materialize(views or None)
    output.emit(
        done,
        lambda r: output.table(
            [m.to_dict() for m in r], ["view", "version", "rows", "data_snapshot"]
        ),
    )


@app.command()
def online(
    features: list[str] = typer.Option(..., "--features", "-f", help=_FEATURES_HELP),
    key: list[str] = typer.Option(
        None, "--key", "-k", help="JOIN_KEY=VALUE[,VALUE...] (repeat per key)."
    ),
    keys: str = typer.Option(None, "--keys", help="Or a Parquet/CSV file of key rows."),
    full_names: bool = typer.Option(False, "--full-names", help="Name columns view__feature."),
    age: bool = typer.Option(False, "--age", help="Add <feature>__age_s columns."),
) -> None:
    """Latest feature values for keys from the online table (ttl enforced)."""
    if bool(key) == bool(keys):
        raise InvalidInput(
            "give either --key or --keys", field="--key", hint="e.g. --key driver_id=1001"
        )
    given: Any = keys
    if key:
        given = {name: value.split(",") for name, value in parse_assignments(key, "--key").items()}
    frame = output.open_store().features.online(
        given, _refs(features), full_names=full_names, with_age=age
    )
    output.emit(frame.to_dicts(), lambda rows: output.table(rows))


@app.command()
def stats(
    view: str = typer.Argument(..., help="Feature view name."),
    as_of: int = typer.Option(None, "--as-of", help="Statistics of the data at this snapshot."),
) -> None:
    """Per-feature count, null share, distinct, min, max, mean; freshness of the view."""
    result = output.open_store().features.stats(view, as_of=as_of)

    def human(r: dict[str, Any]) -> None:
        fresh = "-" if r["freshness_s"] is None else f"{r['freshness_s']:,.0f} s"
        output.print_value(
            f"{r['view']} v{r['version']}: {r['rows']} rows in {r['files']} files; newest event "
            f"{r['newest_event'] or '-'} (age {fresh})"
        )
        columns = ["name", "dtype", "count", "null_share", "distinct", "min", "max", "mean"]
        output.table(r["features"], columns)

    output.emit(result, human)


@app.command()
def search(
    query: list[str] = typer.Argument(..., help="Words; tag:T and owner:O filter."),
    limit: int = typer.Option(20, "--limit", help="At most this many results."),
) -> None:
    """Views and features matching every word (name, tags, owner, description), best first."""
    hits = output.open_store().features.search(" ".join(query), limit=limit)
    output.emit(
        hits, lambda r: output.table(r, ["ref", "kind", "dtype", "score", "matched", "owner"])
    )


@app.command()
def datasets(
    name: str = typer.Argument(None, help="A dataset to show (default: list them all)."),
    version: int = typer.Option(None, "--version", help="That version (default: the latest)."),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Recompute it and check it is byte-identical."
    ),
) -> None:
    """Saved training datasets; --rebuild checks one reproduces exactly (exit 1 if not)."""
    features = output.open_store().features
    if name is None:
        rows = [d.to_dict() for d in features.datasets()]
        output.emit(
            rows,
            lambda r: output.table(
                r, ["id", "rows", "snapshot", "versions", "sha256", "created_at"]
            ),
        )
        return
    dataset = features.dataset(name, version)
    result = dataset.to_dict()
    if rebuild:
        features.rebuild(name, dataset.version)
        result["rebuilt"] = "identical"
    output.emit(result)
