"""What every rule kind shares: identity fields, the outcome of a check, and its context.

A rule kind is a frozen dataclass subclassing :class:`Rule`. It declares ``kind`` (the
``kind = "..."`` of policy files), reads its own fields in :meth:`Rule.read`, says what
the evaluation must compute for it in :meth:`Rule.needs`, and judges an evaluation in
:meth:`Rule.check`, returning an :class:`Outcome`: ``pass``, ``fail``, ``skipped`` (does
not apply here, e.g. no champion to compare with) or ``deferred`` (checked at release,
e.g. approvals). Checks never raise for a bad model or bad data: they fail with a
message, so that one evaluation reports on every rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from mlcore.evaluation.evaluate import EvaluationResult
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["SEVERITIES", "STATUSES", "Context", "Needs", "Outcome", "Rule", "Severity", "Status"]

Severity = Literal["block", "warn"]
Status = Literal["pass", "fail", "skipped", "deferred"]
SEVERITIES: tuple[str, ...] = ("block", "warn")
STATUSES: tuple[str, ...] = ("pass", "fail", "skipped", "deferred")


@dataclass(frozen=True)
class Outcome:
    """The verdict of one rule on one evaluation.

    ``value`` is what was measured, ``threshold`` what it was held against with ``op``
    (``">="`` or ``"<="``); ``details`` carries the specifics (failing slices, groups,
    columns) as JSON-ready data.
    """

    status: Status
    message: str
    value: float | None = None
    threshold: float | None = None
    op: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def bound(
        cls,
        value: float,
        threshold: float,
        op: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> Outcome:
        """Pass when ``value op threshold`` holds; the figures follow the message."""
        ok = value >= threshold if op == ">=" else value <= threshold
        shown = f"{value:.4g} {op if ok else _NEGATED[op]} {threshold:.4g}"
        return cls(
            "pass" if ok else "fail", f"{message}: {shown}", value, threshold, op, details or {}
        )


_NEGATED = {">=": "<", "<=": ">"}


@dataclass(frozen=True)
class Needs:
    """What an evaluation must compute for a set of rules."""

    slices: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    slice_intervals: bool = False
    reference: bool = False

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            tuple(dict.fromkeys(self.slices + other.slices)),
            tuple(dict.fromkeys(self.sensitive + other.sensitive)),
            self.slice_intervals or other.slice_intervals,
            self.reference or other.reference,
        )


@dataclass(frozen=True)
class Context:
    """What a rule may look at.

    ``columns`` are the evaluation frame's columns; ``drift`` maps a model input
    column to its drift statistics against the training data (None, with
    ``drift_reason``, when there was no reference); ``champion`` is the production
    version compared with (None, with ``champion_reason``, when there is none or it
    could not be scored); ``age_days`` the evaluation's age (0 when it is made,
    its true age when the release gate looks again).
    """

    result: EvaluationResult
    card: Mapping[str, Any]
    columns: frozenset[str]
    drift: Mapping[str, Mapping[str, float | None]] | None = None
    drift_reason: str | None = None
    champion: int | None = None
    champion_reason: str | None = None
    age_days: float = 0.0

    @property
    def risk_tier(self) -> str | None:
        return self.card.get("risk_tier")


@dataclass(frozen=True)
class Rule:
    """Fields every rule has; subclasses add their kind's own."""

    kind: ClassVar[str]

    id: str
    description: str
    citation: str
    severity: Severity

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        """The kind's own fields from a policy table (validated; errors name the line)."""
        raise NotImplementedError

    def needs(self) -> Needs:
        return Needs()

    def check(self, context: Context) -> Outcome:
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Every field, kind first, as stored and compared by ``policy diff``."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"kind": self.kind} | {
            k: list(v) if isinstance(v, tuple) else v for k, v in values.items()
        }
