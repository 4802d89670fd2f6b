"""``kind = "approvals"``: how many people must approve a version, in which roles.

Fields: ``count`` (default 1), ``roles`` (whose approvals count; default admin,
reviewer, risk-officer), ``must_include`` (roles at least one counted approver must
hold, e.g. ``["risk-officer"]`` for independent validation). Authors never approve their
own versions (the registry refuses it), so every counted approval is independent of the
author. Checked at release, in the release transaction: the evaluation records it as
``deferred``. Where several active policies require approvals, the strictest
combination applies (the largest count, roles every policy accepts, every required role).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.rules.base import Context, Outcome, Rule
from mlcore.store.access import ROLES

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields
    from mlcore.registry.lifecycle import ApprovalRule

__all__ = ["Approvals", "combined"]

_DEFAULT_ROLES = ("admin", "reviewer", "risk-officer")


@dataclass(frozen=True)
class Approvals(Rule):
    kind = "approvals"

    count: int = 1
    roles: tuple[str, ...] = _DEFAULT_ROLES
    must_include: tuple[str, ...] = ()

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        return {
            "count": fields.integer("count", default=1),
            "roles": fields.names("roles", allowed=ROLES, what="role") or _DEFAULT_ROLES,
            "must_include": fields.names("must_include", allowed=ROLES, what="role"),
        }

    def describe(self) -> str:
        text = f"{self.count} approval(s) by {', '.join(self.roles)}"
        return text + (f", including {', '.join(self.must_include)}" if self.must_include else "")

    def check(self, context: Context) -> Outcome:
        return Outcome("deferred", f"checked at release: {self.describe()}", self.count)


def combined(rules: Sequence[Approvals]) -> ApprovalRule | None:
    """The strictest rule meeting every one of ``rules``; None if there are none."""
    from mlcore.registry.lifecycle import ApprovalRule

    if not rules:
        return None
    roles = [r for r in rules[0].roles if all(r in rule.roles for rule in rules)]
    required = dict.fromkeys(role for rule in rules for role in rule.must_include)
    return ApprovalRule(
        count=max(rule.count for rule in rules), roles=tuple(roles), must_include=tuple(required)
    )
