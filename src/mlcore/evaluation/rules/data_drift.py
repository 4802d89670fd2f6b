"""``kind = "drift"``: the evaluation data must look like the training data.

Fields: ``statistic`` (one of :data:`STATISTICS`, default ``psi``), ``max`` (the largest
value any column may reach), ``columns`` (default: every model input profiled), and
``missing_reference`` (``"fail"``, the default, or ``"skip"``): what to do when no
training data is at hand.

The statistics are the monitoring package's (:func:`mlcore.monitoring.drift_report`),
computed when the evaluation runs, exactly (KS and Wasserstein from the raw values),
between the evaluation rows and the training data: the ``reference=`` frame given to
``store.evals.run``, else the feature-store dataset recorded in the version's lineage.
Statistics of another column kind (KS of a categorical column) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.rules.base import Context, Needs, Outcome, Rule, Status

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["STATISTICS", "DataDrift"]

#: Drift statistics a rule may bound (mlcore.monitoring's, a test keeps them in step).
STATISTICS = (
    "psi",
    "ks",
    "jensen_shannon",
    "wasserstein_normalised",
    "hellinger",
    "linf",
    "missing_rate",
    "out_of_range_rate",
    "new_category_rate",
)


@dataclass(frozen=True)
class DataDrift(Rule):
    kind = "drift"

    max: float
    statistic: str = "psi"
    columns: tuple[str, ...] = ()
    missing_reference: str = "fail"

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        statistic = fields.choice("statistic", STATISTICS, "psi")
        upper = fields.number("max", positive=True, required=True)
        return {
            "statistic": statistic,
            "max": upper,
            "columns": fields.names("columns", what="column"),
            "missing_reference": fields.choice("missing_reference", ("fail", "skip"), "fail"),
        }

    def needs(self) -> Needs:
        return Needs(reference=True)

    def check(self, context: Context) -> Outcome:
        if context.drift is None:
            status: Status = "skipped" if self.missing_reference == "skip" else "fail"
            return Outcome(status, context.drift_reason or "no training data to compare with")
        absent = [c for c in self.columns if c not in context.drift]
        if absent:
            return Outcome("fail", f"columns not profiled for drift: {', '.join(absent)}")
        values: dict[str, float] = {}
        for column, stats in context.drift.items():
            value = stats.get(self.statistic)
            if value is not None and (not self.columns or column in self.columns):
                values[column] = value
        if not values:
            return Outcome("skipped", f"no column has a {self.statistic} statistic")
        worst = max(values, key=values.__getitem__)
        drifted = sorted(c for c, v in values.items() if v > self.max)
        listed = f"; drifted: {', '.join(drifted)}" if drifted else ""
        message = f"{self.statistic} of {worst} (the largest of {len(values)} columns{listed})"
        return Outcome.bound(
            float(values[worst]), self.max, "<=", message, {"drifted": drifted, "values": values}
        )
