"""``kind = "sample_size"``: enough evaluation rows (and positive labels) to trust the figures.

Fields: ``min_rows`` (required), ``min_positives`` (binary tasks: rows with a positive
label; skipped for other tasks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.rules.base import Context, Outcome, Rule

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["SampleSize"]


@dataclass(frozen=True)
class SampleSize(Rule):
    kind = "sample_size"

    min_rows: int
    min_positives: int | None = None

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        rows = fields.integer("min_rows")
        if rows is None:
            raise fields.error("min_rows", "'min_rows' is missing", hint="Add min_rows = 1000")
        return {"min_rows": rows, "min_positives": fields.integer("min_positives")}

    def check(self, context: Context) -> Outcome:
        result = context.result
        rows = Outcome.bound(result.n_rows, self.min_rows, ">=", "evaluation rows")
        if rows.status == "fail" or self.min_positives is None or result.n_positive is None:
            return rows
        return Outcome.bound(
            result.n_positive, self.min_positives, ">=", "rows with a positive label"
        )
