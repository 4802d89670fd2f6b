"""validate: check a frame against expectations and report every violation.

All expectations are measured in one Polars ``select`` (one parallel pass over the
data); the failed ones, and only they, take a second ``select`` that explains
them (duplicate counts, unexpected values) and finds their first offending rows.
Nothing stops at the first violation.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"id": [1, 2, 2, 4], "age": [34, -1, 51, None]})
>>> report = validate(frame, [
...     {"kind": "unique", "column": "id"},
...     {"kind": "range", "column": "age", "min": 0, "max": 120},
...     {"kind": "null_share", "column": "age", "max": 0.1},
...     {"kind": "row_count", "min": 1},
... ])
>>> report.passed
False
>>> for v in report.violations:
...     print(v.kind, v.count, v.message)
unique 2 2 rows share their (id) with another row
range 1 1 values of 'age' outside [0, 120] (observed min -1, max 51)
null_share 1 'age' is 25.00% null (1 rows), above 10.00%
>>> report.violations[1].examples
[{'row': 1, 'values': {'age': -1}}]
>>> try:
...     report.raise_if_failed()
... except ValidationFailed as error:
...     print(error)
validation failed: 3 of 4 expectations violated on 4 rows (unique(id): 2 rows share their (id) with another row; range(age): 1 values of 'age' outside [0, 120] (observed min -1, max 51); null_share(age): 'age' is 25.00% null (1 rows), above 10.00%). See the report for example rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.errors import CheckFailed
from mlcore.pipelines.components._frames import as_polars
from mlcore.pipelines.components.expectations import Expectation, parse_expectations

if TYPE_CHECKING:
    import polars as pl

__all__ = ["ExpectationResult", "ValidationFailed", "ValidationReport", "validate"]

_ROWS = "__rows__"


@dataclass
class ExpectationResult:
    """How one expectation fared.

    ``observed`` is the measured statistic (a share, a min/max pair, a dtype...),
    ``count`` the number of offending rows where the expectation is row-based, and
    ``examples`` up to ``max_examples`` of them as ``{"row": index, "values": {...}}``.
    """

    expectation: Expectation
    passed: bool
    observed: Any
    count: int | None
    message: str
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.expectation.kind

    @property
    def label(self) -> str:
        """``kind(columns)``, how the summary names the expectation."""
        return f"{self.kind}({', '.join(self.expectation.columns())})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation.to_dict(),
            "passed": self.passed,
            "observed": _jsonable(self.observed),
            "threshold": _jsonable(self.expectation.threshold()),
            "count": self.count,
            "message": self.message,
            "examples": _jsonable(self.examples),
        }


@dataclass
class ValidationReport:
    """Every expectation's result on a frame of ``n_rows`` rows."""

    n_rows: int
    results: list[ExpectationResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def violations(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        """One line naming each violation, or saying that all passed."""
        if self.passed:
            return f"all {len(self.results)} expectations passed on {self.n_rows} rows"
        listed = "; ".join(f"{v.label}: {v.message}" for v in self.violations)
        return (
            f"{len(self.violations)} of {len(self.results)} expectations violated"
            f" on {self.n_rows} rows ({listed})"
        )

    def raise_if_failed(self) -> None:
        """Raise :class:`ValidationFailed` carrying this report if anything failed."""
        if not self.passed:
            raise ValidationFailed(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "n_rows": self.n_rows,
            "results": [r.to_dict() for r in self.results],
        }


class ValidationFailed(CheckFailed):
    """A frame violated expectations; ``report`` holds every violation."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(
            f"validation failed: {report.summary()}", hint="See the report for example rows"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "report": self.report.to_dict()}


def validate(
    frame: Any,
    expectations: Iterable[Expectation | dict[str, Any]] | str | Path,
    *,
    max_examples: int = 5,
) -> ValidationReport:
    """Check ``frame`` against every expectation and report each one's result.

    Parameters
    ----------
    frame
        A Polars, pandas or Arrow frame, or a path to a Parquet/CSV file; may be empty.
    expectations
        Expectation objects or dicts (see
        :mod:`mlcore.pipelines.components.expectations`), or a TOML/JSON file path.
    max_examples
        How many offending rows to keep per violated expectation.

    Returns
    -------
    ValidationReport
        Call ``raise_if_failed()`` on it to turn violations into an error.
    """
    import polars as pl

    data = as_polars(frame, allow_empty=True)
    checks = parse_expectations(expectations)
    schema = data.schema
    decided = [c.check_schema(schema) for c in checks]
    # Pass 1: every expectation's cheap aggregates in one select.
    measured = _aggregate(
        data, {i: c.measures(schema) for i, c in enumerate(checks) if decided[i] is None}
    )
    verdicts = [
        v if v is not None else c.judge(measured[i], data.height)
        for i, (c, v) in enumerate(zip(checks, decided, strict=True))
    ]
    # Pass 2, failures only: their follow-up aggregates and the positions of their
    # first offending rows, again in one select.
    failed = [i for i, v in enumerate(verdicts) if decided[i] is None and not v.passed]
    extra: dict[int, dict[str, pl.Expr]] = {}
    for i in failed:
        extra[i] = checks[i].follow_up(schema)
        predicate = checks[i].offending(schema)
        if predicate is not None and max_examples > 0:
            positions = pl.arg_where(predicate.fill_null(False)).head(max_examples)
            extra[i][_ROWS] = positions.implode()
    explained = _aggregate(data, extra)
    results = []
    for i, (check, verdict) in enumerate(zip(checks, verdicts, strict=True)):
        examples: list[dict[str, Any]] = []
        if i in explained:
            rows = explained[i].pop(_ROWS, None) or []
            verdict = check.judge({**measured[i], **explained[i]}, data.height)
            picked = data.select(check.columns())[rows].to_dicts()
            examples = [{"row": r, "values": v} for r, v in zip(rows, picked, strict=True)]
        results.append(
            ExpectationResult(
                check, verdict.passed, verdict.observed, verdict.count, verdict.message, examples
            )
        )
    return ValidationReport(data.height, results)


def _aggregate(
    data: pl.DataFrame, exprs: dict[int, dict[str, pl.Expr]]
) -> dict[int, dict[str, Any]]:
    """Evaluate every check's named aggregates in one ``select``, split back per check."""
    flat = [e.alias(f"{i}:{name}") for i, named in exprs.items() for name, e in named.items()]
    row = data.select(flat).row(0, named=True) if flat else {}
    out: dict[int, dict[str, Any]] = {i: {} for i in exprs}
    for key, value in row.items():
        i, name = key.split(":", 1)
        out[int(i)][name] = value
    return out


def _jsonable(value: Any) -> Any:
    """Report values as JSON-ready data (times as ISO-8601, decimals as floats)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    return value
