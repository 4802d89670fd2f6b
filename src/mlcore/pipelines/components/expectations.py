"""Expectations: what a frame must satisfy, as data.

Each kind is a small dataclass that knows which Polars aggregates measure it, so
that :func:`~mlcore.pipelines.components.validate.validate` can evaluate every
expectation of a suite in one ``select`` over the data. Expectations are written
as dicts (``{"kind": "range", "column": "age", "min": 0, "max": 120}``), as these
dataclasses, or in a TOML/JSON file (``[[expect]]`` tables in TOML; a list, or an
object with an ``expect`` list, in JSON).

Nulls are the business of ``null_share`` alone: the other kinds skip them.

Examples
--------
>>> parse_expectations([{"kind": "range", "column": "age", "min": 0}])
[InRange(column='age', min=0, max=None)]
>>> parse_expectations([{"kind": "ranges", "column": "age"}])
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: unknown expectation kind 'ranges'. Did you mean 'range'? Known kinds: allowed, column, null_share, range, regex, row_count, unique.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mlcore.errors import InvalidInput, NotFound, closest
from mlcore.pipelines.components._frames import as_comparable

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "AllowedValues",
    "ColumnExists",
    "Expectation",
    "InRange",
    "MatchesRegex",
    "NullShare",
    "RowCount",
    "Unique",
    "load_expectations",
    "parse_expectations",
]

# Dtype families accepted by ``ColumnExists(dtype=...)`` besides exact names.
_FAMILIES = {
    "integer": lambda dt: dt.is_integer(),
    "float": lambda dt: dt.is_float(),
    "numeric": lambda dt: dt.is_numeric(),
    "temporal": lambda dt: dt.is_temporal(),
}


@dataclass
class Verdict:
    """The outcome of one expectation before example rows are attached."""

    passed: bool
    observed: Any
    count: int | None
    message: str


@dataclass
class Expectation:
    """Base of every expectation kind; subclasses set ``kind`` and the measures."""

    kind: ClassVar[str] = ""

    def columns(self) -> list[str]:
        """The columns this expectation reads."""
        column = getattr(self, "column", None)
        return [column] if isinstance(column, str) else list(column or [])

    def threshold(self) -> Any:
        """What the data is held to, for the report."""
        return None

    def check_schema(self, schema: pl.Schema) -> Verdict | None:
        """A verdict decided by the schema alone, or None when the data must be read."""
        for name in self.columns():
            if name not in schema:
                near = closest(name, schema.names())
                guess = f" (did you mean '{near}'?)" if near else ""
                return Verdict(False, "absent", None, f"column '{name}' is absent{guess}")
        return None

    def measures(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        """Named scalar aggregates over the frame that :meth:`judge` needs."""
        return {}

    def follow_up(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        """Costlier aggregates that only a failed expectation needs, to explain itself."""
        return {}

    def judge(self, measured: dict[str, Any], n_rows: int) -> Verdict:
        """Decide from the aggregates of :meth:`measures` (and, once failed, of
        :meth:`follow_up`)."""
        raise NotImplementedError

    def offending(self, schema: pl.Schema) -> pl.Expr | None:
        """A row predicate selecting offending rows, for examples; None if not row-based."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """The expectation as data, the form :func:`parse_expectations` reads."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass
class ColumnExists(Expectation):
    """The column is present, optionally with a dtype.

    ``dtype`` is a Polars dtype name (``"Int64"``, ``"String"``, ``"Datetime"``;
    case-insensitive, time unit and zone optional) or a family: ``integer``,
    ``float``, ``numeric``, ``temporal``.
    """

    kind: ClassVar[str] = "column"
    column: str
    dtype: str | None = None

    def threshold(self) -> Any:
        return self.dtype

    def check_schema(self, schema: pl.Schema) -> Verdict | None:
        absent = super().check_schema(schema)
        if absent is not None:
            return absent
        actual = schema[self.column]
        if self.dtype is None or _dtype_matches(actual, self.dtype):
            return Verdict(True, str(actual), None, f"column '{self.column}' is {actual}")
        return Verdict(
            False, str(actual), None, f"column '{self.column}' is {actual}, not {self.dtype}"
        )


def _dtype_matches(actual: pl.DataType, wanted: str) -> bool:
    wanted = wanted.strip().lower()
    family = _FAMILIES.get(wanted)
    if family is not None:
        return bool(family(actual))
    return wanted in (type(actual).__name__.lower(), str(actual).lower())


@dataclass
class InRange(Expectation):
    """Every non-null value lies within ``[min, max]`` (inclusive; NaN lies outside).

    Bounds on a temporal column may be ISO-8601 strings; a time-zone-aware column
    needs bounds that name their zone.
    """

    kind: ClassVar[str] = "range"
    column: str
    min: Any = None
    max: Any = None

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise InvalidInput(
                f"range expectation on '{self.column}' has no bound", hint="Give min, max or both"
            )

    def threshold(self) -> Any:
        return {"min": self.min, "max": self.max}

    def check_schema(self, schema: pl.Schema) -> Verdict | None:
        absent = super().check_schema(schema)
        if absent is not None:
            return absent
        dtype = schema[self.column]
        if dtype.is_numeric() or dtype.is_temporal():
            return None
        return Verdict(
            False,
            str(dtype),
            None,
            f"column '{self.column}' is {dtype}; a range needs numbers or times",
        )

    def offending(self, schema: pl.Schema) -> pl.Expr:
        import polars as pl

        col = pl.col(self.column)
        dtype = schema[self.column]
        outside = pl.lit(False)
        if self.min is not None:
            outside = outside | (col < as_comparable(self.min, dtype, column=self.column))
        if self.max is not None:
            outside = outside | (col > as_comparable(self.max, dtype, column=self.column))
        return outside

    def measures(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        import polars as pl

        col = pl.col(self.column)
        return {"bad": self.offending(schema).sum(), "min": col.min(), "max": col.max()}

    def judge(self, measured: dict[str, Any], n_rows: int) -> Verdict:
        bad = int(measured["bad"])
        observed = {"min": measured["min"], "max": measured["max"]}
        low = "-inf" if self.min is None else self.min
        high = "inf" if self.max is None else self.max
        return Verdict(
            bad == 0,
            observed,
            bad,
            f"{bad} values of '{self.column}' outside [{low}, {high}]"
            f" (observed min {observed['min']}, max {observed['max']})",
        )


@dataclass
class NullShare(Expectation):
    """At most ``max`` (a share in [0, 1]) of the values are null (or NaN)."""

    kind: ClassVar[str] = "null_share"
    column: str
    max: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.max) <= 1.0:
            raise InvalidInput(
                f"null_share max for '{self.column}' is {self.max}", hint="Give a share in [0, 1]"
            )

    def threshold(self) -> Any:
        return self.max

    def offending(self, schema: pl.Schema) -> pl.Expr:
        import polars as pl

        col = pl.col(self.column)
        return col.is_null() | col.is_nan() if schema[self.column].is_float() else col.is_null()

    def measures(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        return {"nulls": self.offending(schema).sum()}

    def judge(self, measured: dict[str, Any], n_rows: int) -> Verdict:
        nulls = int(measured["nulls"])
        share = nulls / n_rows if n_rows else 0.0
        return Verdict(
            share <= self.max,
            share,
            nulls,
            f"'{self.column}' is {share:.2%} null ({nulls} rows), above {self.max:.2%}",
        )


@dataclass
class Unique(Expectation):
    """No two rows share a value of ``column`` (one name or a list: a composite key).

    The count is the number of rows whose key occurs more than once; null is a
    value like any other here.
    """

    kind: ClassVar[str] = "unique"
    column: str | list[str]

    def _key(self) -> pl.Expr:
        import polars as pl

        names = self.columns()
        return pl.col(names[0]) if len(names) == 1 else pl.struct(names)

    def offending(self, schema: pl.Schema) -> pl.Expr:
        return self._key().is_duplicated()

    def measures(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        # Counting distinct keys is much cheaper than marking duplicated rows,
        # which only a failed check needs.
        return {"distinct": self._key().n_unique()}

    def follow_up(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        return {"dup": self.offending(schema).sum()}

    def judge(self, measured: dict[str, Any], n_rows: int) -> Verdict:
        dup = int(measured.get("dup", n_rows - measured["distinct"]))
        key = ", ".join(self.columns())
        return Verdict(dup == 0, dup, dup, f"{dup} rows share their ({key}) with another row")


@dataclass
class AllowedValues(Expectation):
    """Every non-null value of ``column`` is one of ``values``.

    Numeric and boolean columns compare as they are; other columns compare as
    text, so dates can be listed as ISO strings.
    """

    kind: ClassVar[str] = "allowed"
    column: str
    values: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.values:
            raise InvalidInput(
                f"allowed expectation on '{self.column}' lists no values", hint="Give values=[...]"
            )

    def threshold(self) -> Any:
        return list(self.values)

    def check_schema(self, schema: pl.Schema) -> Verdict | None:
        absent = super().check_schema(schema)
        if absent is not None:
            return absent
        dtype = schema[self.column]
        native = dtype.is_numeric() or str(dtype) == "Boolean"
        wanted = (int, float) if dtype.is_numeric() else bool
        if native and not all(isinstance(v, wanted) for v in self.values):
            return Verdict(
                False,
                str(dtype),
                None,
                f"column '{self.column}' is {dtype} but the allowed values are not",
            )
        return None

    def offending(self, schema: pl.Schema) -> pl.Expr:
        import polars as pl

        dtype = schema[self.column]
        if dtype.is_numeric() or str(dtype) == "Boolean":
            col, values = pl.col(self.column), pl.Series(self.values, dtype=dtype, strict=False)
        else:
            col, values = (
                pl.col(self.column).cast(pl.String),
                pl.Series([str(v) for v in self.values]),
            )
        return col.is_not_null() & ~col.is_in(values.implode())

    def measures(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        return {"bad": self.offending(schema).sum()}

    def follow_up(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        import polars as pl

        unexpected = pl.col(self.column).filter(self.offending(schema)).unique().sort().head(10)
        return {"unexpected": unexpected.implode()}

    def judge(self, measured: dict[str, Any], n_rows: int) -> Verdict:
        bad, unexpected = int(measured["bad"]), list(measured.get("unexpected") or [])
        return Verdict(
            bad == 0,
            unexpected,
            bad,
            f"{bad} values of '{self.column}' not allowed (e.g. {', '.join(repr(v) if isinstance(v, str) else str(v) for v in unexpected[:5])})",
        )


@dataclass
class RowCount(Expectation):
    """The frame has between ``min`` and ``max`` rows (inclusive)."""

    kind: ClassVar[str] = "row_count"
    min: int | None = None
    max: int | None = None

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise InvalidInput("row_count expectation has no bound", hint="Give min, max or both")

    def threshold(self) -> Any:
        return {"min": self.min, "max": self.max}

    def judge(self, measured: dict[str, Any], n_rows: int) -> Verdict:
        ok = (self.min is None or n_rows >= self.min) and (self.max is None or n_rows <= self.max)
        low = 0 if self.min is None else self.min
        high = "inf" if self.max is None else self.max
        return Verdict(ok, n_rows, None, f"{n_rows} rows, expected [{low}, {high}]")


@dataclass
class MatchesRegex(Expectation):
    """Every non-null value of a text column fully matches ``pattern``.

    The pattern runs in Polars' regex engine (Rust ``regex`` syntax: no look-around
    or back-references).
    """

    kind: ClassVar[str] = "regex"
    column: str
    pattern: str = ""

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise InvalidInput(
                f"regex for '{self.column}' does not compile: {exc}", hint="Fix the pattern"
            ) from exc

    def threshold(self) -> Any:
        return self.pattern

    def check_schema(self, schema: pl.Schema) -> Verdict | None:
        absent = super().check_schema(schema)
        if absent is not None:
            return absent
        dtype = schema[self.column]
        if str(dtype) in ("String", "Categorical") or type(dtype).__name__ == "Enum":
            return None
        return Verdict(
            False, str(dtype), None, f"column '{self.column}' is {dtype}; a regex needs text"
        )

    def offending(self, schema: pl.Schema) -> pl.Expr:
        import polars as pl

        return ~pl.col(self.column).cast(pl.String).str.contains(f"^(?:{self.pattern})$")

    def measures(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        return {"bad": self.offending(schema).sum()}

    def judge(self, measured: dict[str, Any], n_rows: int) -> Verdict:
        bad = int(measured["bad"])
        return Verdict(
            bad == 0, bad, bad, f"{bad} values of '{self.column}' do not match /{self.pattern}/"
        )


KINDS: dict[str, type[Expectation]] = {
    cls.kind: cls
    for cls in (ColumnExists, InRange, NullShare, Unique, AllowedValues, RowCount, MatchesRegex)
}


def parse_expectations(
    expectations: Iterable[Expectation | dict[str, Any]] | str | Path,
) -> list[Expectation]:
    """Expectation objects from objects, dicts, or a TOML/JSON file path."""
    if isinstance(expectations, str | Path):
        return load_expectations(expectations)
    return [e if isinstance(e, Expectation) else _from_dict(e) for e in expectations]


def _from_dict(spec: dict[str, Any]) -> Expectation:
    if not isinstance(spec, dict) or "kind" not in spec:
        raise InvalidInput(
            f"expectation {spec!r} has no kind",
            hint=f"Write e.g. {{'kind': 'range', 'column': 'age', 'min': 0}}; kinds: {', '.join(sorted(KINDS))}",
        )
    kind = spec["kind"]
    cls = KINDS.get(kind)
    if cls is None:
        near = closest(str(kind), KINDS)
        guess = f"Did you mean '{near}'? " if near else ""
        raise InvalidInput(
            f"unknown expectation kind '{kind}'",
            hint=f"{guess}Known kinds: {', '.join(sorted(KINDS))}",
        )
    params = {k: v for k, v in spec.items() if k != "kind"}
    names = [f.name for f in fields(cls)]
    for key in params:
        if key not in names:
            near = closest(key, names)
            guess = f"Did you mean '{near}'? " if near else ""
            raise InvalidInput(
                f"{kind} expectation has no parameter '{key}'",
                hint=f"{guess}Parameters: {', '.join(names)}",
            )
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidInput(
            f"{kind} expectation is incomplete: {exc}", hint=f"Parameters: {', '.join(names)}"
        ) from exc


def load_expectations(path: str | Path) -> list[Expectation]:
    """Read expectations from a TOML file (``[[expect]]`` tables) or a JSON file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "checks.toml"
    >>> _ = p.write_text('[[expect]]\\nkind = "unique"\\ncolumn = ["id", "day"]\\n')
    >>> load_expectations(p)
    [Unique(column=['id', 'day'])]
    """
    path = Path(path)
    if not path.exists():
        raise NotFound("expectations file", str(path))
    text = path.read_text()
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise InvalidInput(
                f"cannot read expectations from {path}", hint="Use a .toml or .json file"
            )
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot parse {path}: {exc}", hint="Fix the file's syntax") from exc
    items = data.get("expect") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidInput(
            f"{path} holds no list of expectations",
            hint="Write [[expect]] tables (TOML) or a list / an object with an 'expect' list (JSON)",
        )
    return parse_expectations(items)
