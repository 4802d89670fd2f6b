"""``kind = "revalidation"``: an evaluation expires after a number of days set per risk tier.

Fields: ``max_age_days``, a table from risk tier (``low``, ``medium``, ``high``,
``critical``, ``unassessed`` for cards without one, or ``default``) to days. The version's
card tier picks the limit; no limit for its tier skips the rule. An evaluation passes
when made (age 0); the release gate checks its age again when a release relies on it,
so a release after the limit needs a fresh evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.rules.base import Context, Outcome, Rule

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["Revalidation"]


@dataclass(frozen=True)
class Revalidation(Rule):
    kind = "revalidation"

    max_age_days: dict[str, int]

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        from mlcore.evaluation.policy import RISK_TIERS, UNASSESSED

        table = fields.mapping("max_age_days")
        tiers = (*RISK_TIERS, UNASSESSED, "default")
        limits = {}
        for tier, days in table.items():
            if tier not in tiers:
                from mlcore.errors import did_you_mean

                raise fields.error(
                    "max_age_days",
                    f"unknown risk tier '{tier}'",
                    hint=did_you_mean(tier, tiers, f"Tiers: {', '.join(tiers)}"),
                )
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise fields.error(
                    "max_age_days", f"{tier} = {days!r} is not a whole number of days >= 1"
                )
            limits[tier] = days
        return {"max_age_days": limits}

    def check(self, context: Context) -> Outcome:
        return self.judge_age(context.age_days, context.risk_tier)

    def judge_age(self, age_days: float, risk_tier: str | None) -> Outcome:
        """The verdict for an evaluation ``age_days`` old of a version in ``risk_tier``."""
        from mlcore.evaluation.policy import UNASSESSED

        tier = risk_tier or UNASSESSED
        limit = self.max_age_days.get(tier, self.max_age_days.get("default"))
        if limit is None:
            return Outcome("skipped", f"no revalidation limit for risk tier {tier}")
        return Outcome.bound(
            round(age_days, 2), limit, "<=", f"days since evaluation (risk tier {tier})"
        )
