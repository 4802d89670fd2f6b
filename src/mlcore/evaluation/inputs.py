"""Evaluation data in, with a record of exactly what it was.

An evaluation reads a frame (Polars, pandas, Arrow), a Parquet or CSV file, or a
feature-store dataset named ``dataset:NAME`` or ``dataset:NAME/VERSION``, optionally
narrowed by ``where``, a SQL condition on its columns: ``"event_timestamp >= DATE
'2024-06-01'"`` for a time split (times compare with dates or with
``'2024-06-01T00:00:00Z'::timestamptz``, never with a naive string). The record names
the source and its sha256 -- the file's bytes, the dataset's recorded hash, or a frame's
Arrow IPC stream -- plus the condition and the rows kept, so that the same rows can be
found again.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"x": [1, 2, 3, 4], "split": ["a", "a", "b", "b"]})
>>> rows, record = load_data(frame, where="split = 'b'")
>>> rows["x"].to_list(), record["source"], record["rows"], record["where"]
([3, 4], 'frame', 2, "split = 'b'")
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput

if TYPE_CHECKING:
    import polars as pl

__all__ = ["DATASET_PREFIX", "load_data"]

DATASET_PREFIX = "dataset:"


def _dataset(text: str, features: Any) -> tuple[pl.DataFrame, dict[str, Any]]:
    name, _, number = text[len(DATASET_PREFIX) :].partition("/")
    if features is None:
        raise InvalidInput(
            f"cannot read {text}: no feature store is available here",
            hint="Pass the rows as a frame or a file",
            field="data",
        )
    if number and not number.isdigit():
        raise InvalidInput(
            f"{text!r} names no dataset version", hint="Write dataset:NAME or dataset:NAME/3"
        )
    record = features.dataset(name, int(number) if number else None)
    frame = features.load_dataset(record.name, record.version)
    about = {"source": "dataset", "name": record.name, "version": record.version}
    return frame, about | {"id": f"{record.name}/{record.version}", "sha256": record.sha256}


def load_data(
    data: Any, *, where: str | None = None, features: Any = None, what: str = "evaluation data"
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The rows to evaluate and the record of where they came from.

    Parameters
    ----------
    data
        A frame, a Parquet/CSV path, or ``dataset:NAME[/VERSION]``.
    where
        A SQL condition on the columns; only rows meeting it are kept.
    features
        The feature store (``store.features``), to read saved datasets.
    what
        How errors name the data.

    Returns
    -------
    (polars.DataFrame, dict)
        The rows, and ``source`` (frame, file or dataset), ``sha256``, ``rows``,
        ``where`` and the path or dataset name and version.
    """
    import polars as pl

    from mlcore.frames import data_sha256, to_polars

    if isinstance(data, str) and data.startswith(DATASET_PREFIX):
        frame, about = _dataset(data, features)
    elif isinstance(data, str | os.PathLike):
        frame = to_polars(data, what=what)
        about = {"source": "file", "path": str(data), "sha256": data_sha256(data, frame)}
    else:
        frame = to_polars(data, what=what)
        about = {"source": "frame", "sha256": data_sha256(data, frame)}
    if where:
        try:
            frame = frame.filter(pl.sql_expr(where))
        except Exception as exc:  # Polars raises several types for a bad condition
            raise InvalidInput(
                f"cannot filter {what} by {where!r}: {str(exc).splitlines()[0]}",
                hint="Write a SQL condition on its columns; compare times with "
                "DATE '2024-06-01' or '2024-06-01T00:00:00Z'::timestamptz",
                field="where",
            ) from None
    if frame.height == 0:
        raise InvalidInput(
            f"{what} has no rows" + (f" where {where}" if where else ""),
            hint="Pass rows to evaluate",
            field="data",
        )
    return frame, about | {"rows": frame.height, "where": where}
