"""``kind = "champion"``: the candidate may not be worse than production by more than allowed.

Fields: ``metric``; ``max_drop`` (absolute, in the metric's units) or
``max_relative_drop`` (a fraction of the champion's value); ``significance`` (default
true). A *drop* is a change in the metric's bad direction: down for ROC AUC, up for log
loss. With ``significance = true`` the rule fails only when the paired bootstrap
interval of the drop lies entirely above the allowance -- the data show the candidate
is worse by more than allowed; with ``false`` the point estimate decides. The relative
interval divides the absolute one by the champion's value, taken as fixed.

Skipped when there is no champion: no version serves production, or the evaluated
version is the one that does. Fails when the champion could not be scored on the
evaluation data (it reads columns the data lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.metrics import METRICS
from mlcore.evaluation.rules.base import Context, Outcome, Rule, Status
from mlcore.evaluation.rules.metric_bound import known_metric

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["ChampionChange"]


@dataclass(frozen=True)
class ChampionChange(Rule):
    kind = "champion"

    metric: str
    max_drop: float | None
    max_relative_drop: float | None
    significance: bool = True

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        entry = known_metric(fields)
        absolute = fields.number("max_drop", low=0.0)
        relative = fields.number("max_relative_drop", low=0.0, high=1.0)
        if (absolute is None) == (relative is None):
            raise fields.error(
                "max_drop",
                "give exactly one of max_drop and max_relative_drop",
                hint="e.g. max_drop = 0.01, or max_relative_drop = 0.02 for 2%",
            )
        return {
            "metric": entry.name,
            "max_drop": absolute,
            "max_relative_drop": relative,
            "significance": fields.flag("significance", True),
        }

    def check(self, context: Context) -> Outcome:
        if context.champion_reason is not None:
            status: Status = "skipped" if context.champion is None else "fail"
            return Outcome(status, context.champion_reason)
        comparison = context.result.comparison
        if comparison is None:
            return Outcome("skipped", "no champion to compare with")
        if self.metric not in comparison.deltas:
            known = {m.name for m in METRICS[comparison.task]}  # type: ignore[index]
            if self.metric not in known:
                return Outcome("skipped", f"{self.metric} is not a {comparison.task} metric")
            return Outcome("fail", f"{self.metric} was not compared (scores are not probabilities)")
        delta = comparison[self.metric]
        if delta.delta is None:
            return Outcome("fail", f"{self.metric} is undefined for one of the models")
        sign = -1.0 if delta.higher_is_better else 1.0
        drop = sign * delta.delta
        ends = sorted(sign * x for x in (delta.low, delta.high) if x is not None)
        scale, allowed, unit = 1.0, self.max_drop, ""
        if self.max_relative_drop is not None:
            base = delta.champion.value
            if not base:
                return Outcome("fail", f"the champion's {self.metric} is 0 or undefined")
            scale, allowed, unit = abs(base), self.max_relative_drop, " of the champion's value"
        drop, ends = drop / scale, [x / scale for x in ends]
        assert allowed is not None
        details = {"champion": context.champion, "drop": drop, "interval": ends or None}
        if self.significance and len(ends) == 2:
            # The interval's lower end exceeding the allowance is what "significantly worse
            # than allowed" means; judge that figure, report the point estimate alongside.
            figure, what = ends[0], "lower end of the drop's interval"
        else:
            figure, what = drop, "drop"
        interval = f" [{ends[0]:.4g}, {ends[1]:.4g}]" if len(ends) == 2 else ""
        message = (
            f"{what} in {self.metric} vs champion v{context.champion} "
            f"(drop {drop:.4g}{interval}{unit})"
        )
        return Outcome.bound(figure, allowed, "<=", message, details)
