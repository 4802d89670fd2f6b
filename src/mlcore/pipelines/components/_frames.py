"""Input handling shared by the components: any frame in, Polars out, columns checked.

DESIGN.md accepts Polars, pandas, Arrow (anything with the Arrow C stream interface)
or a path to Parquet/CSV wherever a frame goes in; every component starts here so
they all accept the same things and fail with the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mlcore.errors import InvalidInput, NotFound
from mlcore.frames import to_polars

if TYPE_CHECKING:
    import polars as pl

Option = TypeVar("Option", bound=str)


def as_polars(frame: Any, *, allow_empty: bool = False) -> pl.DataFrame:
    """Return ``frame`` as an eager Polars DataFrame: anything
    :func:`mlcore.frames.to_polars` accepts, with at least one row unless ``allow_empty``.

    >>> import polars as pl
    >>> as_polars(pl.DataFrame({"x": [1, 2]})).shape
    (2, 1)
    >>> as_polars(pl.DataFrame({"x": []}))
    Traceback (most recent call last):
    ...
    mlcore.errors.InvalidInput: the frame has no rows. Pass a frame with at least one row.
    """
    frame = to_polars(frame, what="frame")
    if not allow_empty and frame.height == 0:
        raise InvalidInput("the frame has no rows", hint="Pass a frame with at least one row")
    return frame


def require_columns(frame: pl.DataFrame, columns: Iterable[str], *, kind: str = "column") -> None:
    """Raise NotFound, suggesting the closest name, for the first absent column.

    >>> import polars as pl
    >>> require_columns(pl.DataFrame({"income": [1]}), ["incme"])
    Traceback (most recent call last):
    ...
    mlcore.errors.NotFound: column 'incme' not found. Did you mean 'income'?
    """
    present = set(frame.columns)
    for name in columns:
        if name not in present:
            raise NotFound(kind, name, candidates=frame.columns)


def as_list(columns: str | Sequence[str] | None) -> list[str]:
    """One column name or several, as a list (``None`` gives an empty list)."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def choose(value: str, options: Sequence[Option], *, what: str) -> Option:
    """Return ``value`` if it is one of ``options``; otherwise raise InvalidInput.

    >>> choose("randm", ["random", "time"], what="split method")
    Traceback (most recent call last):
    ...
    mlcore.errors.InvalidInput: unknown split method 'randm'. Did you mean 'random'? Choose one of: random, time.
    """
    # The matching option, not ``value``: options may be typed as literals.
    for option in options:
        if value == option:
            return option
    from mlcore.errors import closest

    near = closest(str(value), options)
    guess = f"Did you mean '{near}'? " if near else ""
    raise InvalidInput(
        f"unknown {what} '{value}'", hint=f"{guess}Choose one of: {', '.join(options)}"
    )


def as_comparable(value: Any, dtype: pl.DataType, *, column: str) -> Any:
    """``value`` made comparable with a column of ``dtype``: ISO strings become times.

    A naive time against a time-zone-aware column is refused rather than guessed.

    >>> import polars as pl
    >>> as_comparable("2024-03-01T00:00:00+00:00", pl.Datetime("us", "UTC"), column="ts")
    datetime.datetime(2024, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> as_comparable("2024-03-01", pl.Datetime("us", "UTC"), column="ts")
    Traceback (most recent call last):
    ...
    mlcore.errors.InvalidInput: '2024-03-01' for 'ts' has no time zone but the column is in UTC. Name the zone, e.g. 2024-03-01T00:00:00+00:00.
    """
    import polars as pl

    if not dtype.is_temporal() or not isinstance(value, str | datetime | date):
        return value
    given = value
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if dtype == pl.Date else datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(
                f"'{value}' for '{column}' is not an ISO-8601 time",
                hint="Write e.g. 2024-01-31T00:00:00+00:00",
            ) from exc
    zone = getattr(dtype, "time_zone", None)
    if zone is not None and isinstance(value, datetime) and value.tzinfo is None:
        raise InvalidInput(
            f"'{given}' for '{column}' has no time zone but the column is in {zone}",
            hint="Name the zone, e.g. 2024-03-01T00:00:00+00:00",
        )
    return value
