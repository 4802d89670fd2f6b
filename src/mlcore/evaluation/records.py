"""What the evaluation capability returns: evaluations, rule results, waivers, policy
versions and gate decisions.

Plain frozen records built from catalog rows, turned into JSON with ``to_dict()`` (the
CLI's ``--json``). A rule result keeps the status recorded when the evaluation ran;
:attr:`RuleResult.effective` adds what is true now: a failed rule covered by an
unexpired waiver is ``waived``.

Examples
--------
>>> from datetime import datetime, timedelta, UTC
>>> now = datetime(2024, 3, 1, tzinfo=UTC)
>>> waiver = Waiver("wv-1", "churn", 3, "credit", 2, "auc", "known seasonal dip",
...                 now + timedelta(days=30), now, "rita")
>>> result = RuleResult("credit", 2, "auc", "metric", "block", "fail", 0.71, 0.75, ">=",
...                     "0.71 < 0.75: roc_auc overall", "SR 11-7", "Discrimination")
>>> result.blocking, result.with_waiver(waiver).effective, result.with_waiver(waiver).blocking
(True, 'waived', False)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcore.evaluation.policy import Policy

__all__ = [
    "Evaluation",
    "GateDecision",
    "PolicyVersion",
    "RuleResult",
    "Waiver",
    "rule_from_row",
]

RULE_COLUMNS = (
    "policy, policy_version, rule, kind, severity, status, value, threshold, op, message, "
    "citation, description, details"
)


@dataclass(frozen=True)
class Waiver:
    """A risk officer's exemption of one rule of one policy version, for one model version."""

    id: str
    model: str
    version: int
    policy: str
    policy_version: int
    rule: str
    justification: str
    expires_at: datetime
    created_at: datetime
    created_by: str

    def active(self, now: datetime) -> bool:
        return self.expires_at > now

    def covers(self, result: RuleResult) -> bool:
        return (self.policy, self.policy_version, self.rule) == (
            result.policy,
            result.policy_version,
            result.rule,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict in one evaluation.

    ``status`` is what the evaluation recorded (pass, fail, skipped, deferred);
    ``waiver`` an unexpired waiver covering the rule when the result was read.
    """

    policy: str
    policy_version: int
    rule: str
    kind: str
    severity: str
    status: str
    value: float | None
    threshold: float | None
    op: str | None
    message: str
    citation: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    waiver: Waiver | None = None

    @property
    def effective(self) -> str:
        """``waived`` for a failed rule under an unexpired waiver, else the recorded status."""
        return "waived" if self.status == "fail" and self.waiver is not None else self.status

    @property
    def blocking(self) -> bool:
        """A block rule that failed and is not waived: it stops a release."""
        return self.severity == "block" and self.effective == "fail"

    def with_waiver(self, waiver: Waiver | None) -> RuleResult:
        return replace(self, waiver=waiver)

    def failure(self) -> dict[str, Any]:
        """The dict :class:`~mlcore.errors.GateFailed` carries for this rule."""
        return {
            "rule": f"{self.policy}/{self.rule}",
            "value": self.value,
            "threshold": self.threshold,
            "op": self.op,
            "message": self.message,
            "severity": self.severity,
            "citation": self.citation,
            "policy_version": self.policy_version,
        }

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.effective
        out["recorded_status"] = self.status
        out["waiver"] = None if self.waiver is None else self.waiver.to_dict()
        return out


def rule_from_row(row: Sequence[Any]) -> RuleResult:
    """A :class:`RuleResult` from ``evaluation_rules`` columns in :data:`RULE_COLUMNS` order."""
    policy, version, rule, kind, severity, status, value, threshold, op, *texts, details = row
    message, citation, description = texts
    return RuleResult(
        policy, version, rule, kind, severity, status, value, threshold, op, message, citation,
        description, json.loads(details),
    )  # fmt: skip


@dataclass(frozen=True)
class Evaluation:
    """One recorded evaluation of one model version on one dataset.

    ``dataset`` says what was evaluated (source, name, version, path, filter, rows,
    sha256); ``policies`` the policy versions it was judged under; ``metrics`` the
    overall point values; ``results`` every table but the slices (metrics with
    intervals, champion comparison, fairness, drift, worst slice, settings, warnings);
    ``slices_file`` the Parquet data file holding one row per slice and metric.
    """

    id: str
    model: str
    version: int
    created_at: datetime
    created_by: str
    task: str
    n_rows: int
    dataset: dict[str, Any]
    policies: tuple[dict[str, Any], ...]
    champion: int | None
    passed: bool
    metrics: dict[str, float]
    results: dict[str, Any]
    rules: tuple[RuleResult, ...] = ()
    slices_file: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"

    @property
    def blocking(self) -> list[RuleResult]:
        return [r for r in self.rules if r.blocking]

    @property
    def verdict(self) -> str:
        """``fail`` while a block rule fails unwaived, ``waived`` if waivers clear it, else ``pass``."""
        if self.blocking:
            return "fail"
        return "waived" if any(r.effective == "waived" for r in self.rules) else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "task": self.task,
            "n_rows": self.n_rows,
            "dataset": self.dataset,
            "policies": list(self.policies),
            "champion": self.champion,
            "passed": self.passed,
            "verdict": self.verdict,
            "metrics": self.metrics,
            "rules": [r.to_dict() for r in self.rules],
            "results": self.results,
            "slices_file": self.slices_file,
        }


@dataclass(frozen=True)
class PolicyVersion:
    """One applied version of a policy, with who applied it and when."""

    name: str
    version: int
    sha256: str
    applied_at: datetime
    applied_by: str
    source_name: str | None
    policy: Policy
    source: str = field(default="", repr=False)

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "applied_at": self.applied_at,
            "applied_by": self.applied_by,
            "source_name": self.source_name,
            "description": self.policy.description,
            "scope": self.policy.scope.to_dict(),
            "rules": [r.spec() for r in self.policy.rules],
        }


@dataclass(frozen=True)
class GateDecision:
    """What the release gate concludes for one version, now.

    ``policies`` are the active policy versions, ``evaluation`` the evaluation relied
    on (None if none qualifies or no policy applies), ``rules`` its results with
    waivers and revalidation age applied, ``problems`` why the gate blocks (missing
    or superseded evaluation, failing block rules), ``approvals`` the approval rule
    the active policies require.
    """

    model: str
    version: int
    policies: tuple[dict[str, Any], ...]
    evaluation: str | None
    rules: tuple[RuleResult, ...]
    problems: tuple[dict[str, Any], ...]
    approvals: Mapping[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``rules`` lists the rule results, then each problem that is not one
        (no evaluation, missing approvals) as a failed entry, so a view of ``rules`` alone
        shows everything that blocks."""
        judged = {f"{r.policy}/{r.rule}" for r in self.rules}
        others = [p | {"status": "fail"} for p in self.problems if p["rule"] not in judged]
        return {
            "model": self.model,
            "version": self.version,
            "passed": self.passed,
            "policies": list(self.policies),
            "evaluation": self.evaluation,
            "approvals": None if self.approvals is None else dict(self.approvals),
            "failures": list(self.problems),
            "rules": [r.to_dict() for r in self.rules] + others,
        }
