"""Everything the CLI prints, and the state its global options set.

stdout carries results only; progress, notes and errors go to stderr. With
``--json`` results are written with ``sys.stdout.write(json.dumps(...))`` —
never through a rich console, which wraps long lines when piped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcore.api import Store


@dataclasses.dataclass
class CliState:
    store: str | None = None
    actor: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: bool = False


state = CliState()


def open_store(*, create: bool = False, path: str | None = None) -> Store:
    import mlcore.api

    return mlcore.api.open(path or state.store, create=create, actor=state.actor)


def jsonable(value: Any) -> Any:
    """Turn results (dataclasses, datetimes, frames, paths) into JSON-ready values."""
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dicts"):  # a Polars DataFrame
        return jsonable(value.to_dicts())
    if hasattr(value, "item") and callable(value.item):  # NumPy scalars
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), ensure_ascii=False) + "\n")


def emit(value: Any, human: Callable[[Any], object] | None = None) -> None:
    """The command's result: JSON with ``--json``, else ``human(value)`` or a default."""
    if state.json:
        write_json(value)
    elif human is not None:
        human(value)
    else:
        print_value(jsonable(value))


def print_value(value: Any) -> None:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        table(value)
    elif isinstance(value, dict):
        width = max((len(str(k)) for k in value), default=0)
        for k, v in value.items():
            shown = json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
            sys.stdout.write(f"{k:<{width}}  {shown}\n")
    elif value is not None:
        sys.stdout.write(f"{value}\n")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(jsonable(v), ensure_ascii=False)
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds")
    return str(v)


def table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str | None = None
) -> None:
    """A plain aligned table on stdout (no colours, no wrapping: safe to pipe)."""
    if not rows:
        note("(none)")
        return
    cols = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    out = sys.stdout
    if title:
        out.write(f"{title}\n")
    out.write(
        "  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip() + "\n"
    )
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


def note(message: str) -> None:
    """Narration on stderr, silenced by ``-q``."""
    if not state.quiet:
        sys.stderr.write(message + "\n")


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Callable[[float], None]]:
    """A rich progress bar on stderr when it is a terminal; yields ``advance(n)``."""
    if state.quiet or state.json or not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
