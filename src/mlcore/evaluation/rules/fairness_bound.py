"""``kind = "fairness"``: a disparity between groups of sensitive attributes within bounds.

Fields: ``measure`` (``demographic_parity_ratio``, ``demographic_parity_difference``,
``equal_opportunity_difference`` or ``equalized_odds_difference``; see
:mod:`mlcore.evaluation.fairness`), ``min`` and/or ``max`` (in [0, 1]), ``attributes``
(the sensitive columns; the evaluation computes them whether or not the caller named
them; default: every attribute evaluated), ``intersections`` (also judge their
intersections, default false) and ``alpha`` (optional: a disparity out of bounds counts
only when the test of independence between group and selection rejects at this level --
for small groups, where a four-fifths breach can be chance).

Fails when the evaluation has no sensitive attribute, an attribute is not in the data,
or a measure is undefined (e.g. no group has a selected row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.rules.base import Context, Needs, Outcome, Rule
from mlcore.evaluation.rules.metric_bound import bounds, judge

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["MEASURES", "FairnessBound"]

MEASURES = (
    "demographic_parity_ratio",
    "demographic_parity_difference",
    "equal_opportunity_difference",
    "equalized_odds_difference",
)


@dataclass(frozen=True)
class FairnessBound(Rule):
    kind = "fairness"

    measure: str
    min: float | None
    max: float | None
    attributes: tuple[str, ...] = ()
    intersections: bool = False
    alpha: float | None = None

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        measure = fields.choice("measure", MEASURES)
        lower, upper = bounds(fields, 0.0, 1.0)
        alpha = fields.number("alpha", positive=True, high=0.5)
        return {
            "measure": measure,
            "min": lower,
            "max": upper,
            "attributes": fields.names("attributes", what="attribute"),
            "intersections": fields.flag("intersections", False),
            "alpha": alpha,
        }

    def needs(self) -> Needs:
        return Needs(sensitive=self.attributes)

    def check(self, context: Context) -> Outcome:
        if context.result.task != "binary":
            return Outcome(
                "skipped", f"fairness is judged on binary decisions, not {context.result.task}"
            )
        absent = [a for a in self.attributes if a not in context.columns]
        if absent:
            return Outcome(
                "fail", f"sensitive attributes not in the evaluation data: {', '.join(absent)}"
            )
        report = context.result.fairness
        if report is None:
            return Outcome(
                "fail",
                "the evaluation has no sensitive attribute",
                details={"hint": "pass sensitive=[...] or name attributes in the rule"},
            )
        wanted = set(self.attributes) or {a for d in report.disparities for a in d.attributes}
        judged, ignored, undefined = [], [], []
        for d in report.disparities:
            if not set(d.attributes) <= wanted or (
                len(d.attributes) > 1 and not self.intersections
            ):
                continue
            value = d.measures[self.measure]
            if value is None:
                undefined.append(f"{d.name}: {d.reasons.get(self.measure, 'undefined')}")
                continue
            p_value = d.p_values[self.measure]
            breaks = (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max
            )
            if breaks and self.alpha is not None and (p_value is None or p_value >= self.alpha):
                ignored.append({"attributes": d.name, "value": value, "p_value": p_value})
                continue
            judged.append((value, d.name, p_value))
        if undefined:
            return Outcome("fail", f"{self.measure} undefined for {'; '.join(undefined)}")
        if not judged:
            if ignored:
                return Outcome(
                    "pass",
                    f"{self.measure} out of bounds only where not significant at "
                    f"alpha={self.alpha}",
                    details={"not_significant": ignored},
                )
            return Outcome("fail", f"no sensitive attribute among {', '.join(sorted(wanted))}")
        worst = min(judged) if self.min is not None else max(judged)
        p_text = "" if worst[2] is None else f" (p={worst[2]:.3g})"
        details = {"not_significant": ignored} if ignored else {}
        return judge(
            worst[0], self.min, self.max, f"{self.measure} for {worst[1]}{p_text}", details
        )
