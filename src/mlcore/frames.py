"""Frames in, frames out: what mlcore accepts as data, and its one notion of time.

In: a Polars DataFrame or LazyFrame, a pandas DataFrame, an Arrow table or
anything exporting the Arrow C stream interface, or a path to a Parquet or CSV
file. Out: a Polars DataFrame. Time: timezone-aware UTC with microsecond
precision; a naive timestamp is an error unless the caller names its zone.

>>> import polars as pl
>>> df = to_polars({"a": [1, 2]}, what="batch")
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: batch is a dict, not a frame. Pass a Polars, pandas or Arrow frame, or a path to a Parquet or CSV file.
>>> from datetime import datetime
>>> naive = pl.DataFrame({"ts": [datetime(2024, 1, 1, 12)]})
>>> ensure_utc(naive, "ts", assume_tz="Europe/Paris")["ts"][0]
datetime.datetime(2024, 1, 1, 11, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
>>> text = pl.DataFrame({"ts": ["2024-01-01T12:00:00+02:00", "2024-01-01T12:00:00Z"]})
>>> ensure_utc(text, "ts")["ts"].dt.hour().to_list()
[10, 12]
>>> ensure_utc(pl.DataFrame({"ts": ["2024-01-01T12:00:00"]}), "ts")
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: data column 'ts' holds naive timestamps (no timezone). Make them timezone-aware, or name their zone (assume_tz='UTC', --tz UTC).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, NotFound, did_you_mean

if TYPE_CHECKING:
    import polars as pl

__all__ = ["UTC_DTYPE", "data_sha256", "ensure_utc", "file_format", "read_path", "to_polars"]

UTC_DTYPE = "Datetime(time_unit='us', time_zone='UTC')"
_PARQUET = {".parquet", ".pq", ".parq"}
_CSV = {".csv", ".tsv"}
_ZONE_SUFFIX = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def file_format(path: str | os.PathLike[str], *, what: str = "data") -> str:
    """``"parquet"`` (known by its content), ``"csv"`` or ``"tsv"`` (by suffix), or an error
    saying why ``path`` is none of them."""
    p = Path(path)
    if not p.exists():
        raise NotFound("file", str(p), hint="Check the path")
    if p.is_dir():
        raise InvalidInput(f"{what} {p} is a folder, not a file", hint="Name a Parquet or CSV file")
    with open(p, "rb") as f:
        magic = f.read(4)
    suffix = p.suffix.lower()
    if magic == b"PAR1":
        return "parquet"
    if suffix in _PARQUET:
        raise InvalidInput(f"{what} {p} is not a Parquet file (wrong magic bytes)")
    if suffix in _CSV:
        return suffix[1:]
    raise InvalidInput(f"{what} {p} is neither Parquet nor CSV", hint="Use a .parquet or .csv file")


def read_path(path: str | os.PathLike[str], *, what: str = "data") -> pl.DataFrame:
    """Read a Parquet or CSV file (see :func:`file_format`)."""
    import polars as pl

    kind = file_format(path, what=what)
    path = os.fspath(path)  # Polars reads a str or a Path, not any other os.PathLike
    if kind == "parquet":
        try:
            return pl.read_parquet(path)
        except Exception as exc:  # a torn or foreign file
            raise InvalidInput(f"{what} {path} is not a readable Parquet file ({exc})") from None
    try:
        return pl.read_csv(path, separator="\t" if kind == "tsv" else ",", try_parse_dates=True)
    except Exception as exc:
        raise InvalidInput(f"{what} {path} is not a readable CSV file ({exc})") from None


def to_polars(data: Any, *, what: str = "data") -> pl.DataFrame:
    """Accept any supported frame or file path; return a Polars DataFrame."""
    import polars as pl

    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, (str, os.PathLike)):
        return read_path(data, what=what)
    module = type(data).__module__.split(".")[0]
    try:
        if module == "pandas":
            return pl.from_pandas(data)
        if module == "pyarrow":
            out = pl.from_arrow(data)
            return out if isinstance(out, pl.DataFrame) else out.to_frame()
        if hasattr(data, "__arrow_c_stream__"):  # from_arrow would read it as one struct column
            return pl.DataFrame(data)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot read {what}: {exc}") from None
    raise InvalidInput(
        f"{what} is a {type(data).__name__}, not a frame",
        hint="Pass a Polars, pandas or Arrow frame, or a path to a Parquet or CSV file",
    )


def data_sha256(data: Any, frame: pl.DataFrame) -> str:
    """What mlcore records as the hash of ``data``: a file's bytes as given, else the
    sha256 of ``frame`` (the data as read) as an uncompressed Arrow IPC stream, so that
    equal frames hash equal however they were handed over."""
    if isinstance(data, (str, os.PathLike)):
        from mlcore.store.files import sha256_file

        return sha256_file(Path(data))
    return hashlib.sha256(frame.write_ipc(None, compression="uncompressed").getvalue()).hexdigest()


def ensure_utc(
    frame: pl.DataFrame, column: str, *, assume_tz: str | None = None, what: str = "data"
) -> pl.DataFrame:
    """Return ``frame`` with ``column`` as Datetime(us, UTC).

    Aware timestamps are converted; naive ones are an error unless ``assume_tz``
    names their zone; ISO-8601 strings with an offset are parsed.
    """
    import polars as pl

    if column not in frame.columns:
        raise InvalidInput(
            f"{what} has no column '{column}'",
            field=column,
            hint=did_you_mean(column, frame.columns, f"Its columns: {', '.join(frame.columns)}"),
        )
    dtype = frame.schema[column]
    col = pl.col(column)
    if dtype == pl.String:
        bare = col.str.replace(_ZONE_SUFFIX, "").str.to_datetime(time_unit="us", strict=False)
        checks = frame.select(
            unparsed=(bare.is_null() & col.is_not_null()).any(),
            zoned=col.str.contains(_ZONE_SUFFIX).fill_null(True),
        )
        if checks["unparsed"][0]:
            raise InvalidInput(
                f"{what} column '{column}' holds text that is not ISO-8601 timestamps",
                field=column,
                hint="Use e.g. 2024-03-01T12:00:00Z",
            )
        zoned = bool(checks["zoned"].all())
        if not zoned and checks["zoned"].any():
            raise InvalidInput(
                f"{what} column '{column}' mixes timestamps with and without a timezone",
                field=column,
                hint="Give every timestamp an offset (Z, +02:00)",
            )
        parsed = frame.select(
            col.str.to_datetime(time_unit="us", time_zone="UTC" if zoned else None)
        )
        frame = frame.with_columns(parsed[column])
        dtype = frame.schema[column]
    if dtype == pl.Date:
        dtype = pl.Datetime("us")
        frame = frame.with_columns(col.cast(dtype))
    if not isinstance(dtype, pl.Datetime):
        raise InvalidInput(f"{what} column '{column}' is {dtype}, not a timestamp", field=column)
    if dtype.time_zone is None:
        if assume_tz is None:
            raise InvalidInput(
                f"{what} column '{column}' holds naive timestamps (no timezone)",
                field=column,
                hint="Make them timezone-aware, or name their zone (assume_tz='UTC', --tz UTC)",
            )
        try:
            col = col.dt.replace_time_zone(assume_tz, ambiguous="earliest", non_existent="null")
            frame = frame.with_columns(col)
        except Exception as exc:
            raise InvalidInput(
                f"unknown time zone {assume_tz!r} ({exc})", field="assume_tz"
            ) from None
        col = pl.col(column)
    return frame.with_columns(col.dt.convert_time_zone("UTC").dt.cast_time_unit("us"))


def is_utc(frame: pl.DataFrame, column: str) -> bool:
    import polars as pl

    return frame.schema.get(column) == pl.Datetime("us", "UTC")
