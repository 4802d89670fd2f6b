"""The release gate: which policies apply to a version, and whether its evaluation clears them.

Everything here runs inside a catalog transaction -- the release transaction, when the
registry asks -- and only reads: the latest version of every policy, the version's
evaluations, one evaluation's rule results and the version's unexpired waivers, a
handful of indexed queries and no metric computed.

Which policies are *active* for a version: every applied policy whose scope matches the
version (model name, tags, card risk tier), each at its latest version. Several may
apply; all must pass.

The gate's rule, :func:`decide`:

1. no active policy: nothing to check, the release goes ahead;
2. the evaluation relied on is the version's newest one that was judged under every
   active policy version -- an evaluation under an older version of a policy does not
   count, nor can an older evaluation be picked over a newer one (``evidence`` naming
   another evaluation is refused);
3. every block rule of the active policies passed in it, or failed and is covered by an
   unexpired waiver for this model version and that policy version; revalidation rules
   are judged again with the evaluation's age today.

The approvals the active policies require, :func:`requirement`, are checked by the
registry in the same transaction (see :mod:`mlcore.registry.lifecycle`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from mlcore.evaluation.policy import Policy, Scope
from mlcore.evaluation.records import (
    RULE_COLUMNS,
    GateDecision,
    PolicyVersion,
    RuleResult,
    Waiver,
    rule_from_row,
)
from mlcore.evaluation.rules import rule_from_spec
from mlcore.evaluation.rules.approvals import Approvals, combined
from mlcore.evaluation.rules.revalidation import Revalidation

if TYPE_CHECKING:
    from mlcore.registry.lifecycle import ApprovalRule
    from mlcore.store import Tx

__all__ = [
    "VersionLike",
    "active_policies",
    "decide",
    "latest_policies",
    "requirement",
    "waivers",
]

POLICY_COLUMNS = "name, version, sha256, spec, source, source_name, applied_at, applied_by"
_WAIVER_COLUMNS = (
    "id, model, version, policy, policy_version, rule, justification, expires_at, "
    "created_at, created_by"
)
# Parsed policies by content hash: a policy version never changes, and equal hashes
# mean equal content, so the cache is right across stores and processes' lifetimes.
_PARSED: dict[str, Policy] = {}


class VersionLike(Protocol):
    """What the gate reads of a model version (the registry's ModelVersion has it)."""

    name: str
    version: int
    tags: Mapping[str, str]

    @property
    def card(self) -> Any: ...


def _policy(sha256: str, spec: str, source: str, source_name: str | None) -> Policy:
    found = _PARSED.get(sha256)
    if found is None:
        data = json.loads(spec)
        found = Policy(
            name=data["name"],
            description=data["description"],
            scope=Scope(**{k: tuple(v) for k, v in data["scope"].items()}),
            rules=tuple(rule_from_spec(r) for r in data["rules"]),
        )
        _PARSED[sha256] = found
    return dataclasses.replace(found, source=source, source_name=source_name)


def policy_version(row: Sequence[Any]) -> PolicyVersion:
    """A :class:`PolicyVersion` from ``policies`` columns in ``POLICY_COLUMNS`` order."""
    name, version, sha, spec, source, source_name, applied_at, applied_by = row
    return PolicyVersion(
        name,
        version,
        sha,
        applied_at,
        applied_by,
        source_name,
        _policy(sha, spec, source, source_name),
        source,
    )


def latest_policies(tx: Tx) -> list[PolicyVersion]:
    """The latest version of every policy, by name."""
    rows = tx.fetchall(
        f"SELECT {POLICY_COLUMNS} FROM policies "
        "QUALIFY row_number() OVER (PARTITION BY name ORDER BY version DESC) = 1 ORDER BY name"
    )
    return [policy_version(row) for row in rows]


def active_policies(tx: Tx, record: VersionLike) -> list[PolicyVersion]:
    """The latest version of every policy whose scope covers ``record``."""
    tier = record.card.risk_tier
    return [
        p for p in latest_policies(tx) if p.policy.scope.matches(record.name, record.tags, tier)
    ]


def requirement(policies: Sequence[PolicyVersion]) -> ApprovalRule | None:
    """The strictest approval rule of the block ``approvals`` rules of ``policies``."""
    rules = [
        r
        for p in policies
        for r in p.policy.rules
        if isinstance(r, Approvals) and r.severity == "block"
    ]
    return combined(rules)


def waivers(tx: Tx, model: str, version: int, *, now: datetime | None = None) -> list[Waiver]:
    """The version's waivers, oldest first; with ``now``, only those unexpired then."""
    sql = f"SELECT {_WAIVER_COLUMNS} FROM waivers WHERE model = ? AND version = ?"
    params: list[Any] = [model, version]
    if now is not None:
        sql += " AND expires_at > ?"
        params.append(now)
    return [Waiver(*row) for row in tx.fetchall(sql + " ORDER BY audit_seq", params)]


def with_waivers(results: Sequence[RuleResult], found: Sequence[Waiver]) -> list[RuleResult]:
    """Attach to each failed result the newest waiver covering it."""
    out = []
    for r in results:
        covering = [w for w in found if w.covers(r)] if r.status == "fail" else []
        out.append(r.with_waiver(covering[-1] if covering else None))
    return out


def _rejudge_age(
    result: RuleResult, policies: Mapping[tuple[str, int], Policy], age: float, tier: str | None
) -> RuleResult:
    policy = policies.get((result.policy, result.policy_version))
    if result.kind != Revalidation.kind or policy is None:
        return result
    rule = policy.rule(result.rule)
    assert isinstance(rule, Revalidation)
    now = rule.judge_age(age, tier)
    return dataclasses.replace(
        result,
        status=now.status,
        value=now.value,
        threshold=now.threshold,
        op=now.op,
        message=now.message,
    )


def _problem(rule: str, message: str) -> dict[str, Any]:
    return {"rule": rule, "value": None, "threshold": None, "message": message}


def decide(
    tx: Tx, record: VersionLike, *, evidence: str | None = None, now: datetime | None = None
) -> GateDecision:
    """The gate's verdict on ``record`` now (see the module docstring)."""
    now = now or datetime.now(UTC)
    active = active_policies(tx, record)
    refs = tuple({"name": p.name, "version": p.version} for p in active)
    rule = requirement(active)
    approvals = None if rule is None else rule.to_dict()

    def decision(evaluation: str | None, results: Sequence[RuleResult], *problems: dict) -> Any:
        return GateDecision(
            record.name, record.version, refs, evaluation, tuple(results), problems, approvals
        )

    if not active:
        return decision(evidence, ())
    wanted = {(p.name, p.version) for p in active}
    rows = tx.fetchall(
        "SELECT id, created_at, policies FROM evaluations WHERE model = ? AND version = ? "
        "ORDER BY audit_seq DESC",
        [record.name, record.version],
    )
    covering = [
        (eid, created)
        for eid, created, used in rows
        if wanted <= {(p["name"], p["version"]) for p in json.loads(used)}
    ]
    ref = f"{record.name}/{record.version}"
    listed = ", ".join(f"{p.name} v{p.version}" for p in active)
    if evidence is not None and (not covering or covering[0][0] != evidence):
        if evidence not in {eid for eid, _, _ in rows}:
            why = f"{evidence} is not an evaluation of {ref}"
        elif evidence not in {eid for eid, _ in covering}:
            why = f"evaluation {evidence} predates the active policies ({listed})"
        else:
            why = f"evaluation {evidence} was superseded by {covering[0][0]}"
        return decision(None, (), _problem("evidence", why))
    if not covering:
        return decision(None, (), _problem("evaluation", f"no evaluation of {ref} under {listed}"))
    chosen, created = covering[0]
    by_version = {(p.name, p.version): p.policy for p in active}
    age = (now - created).total_seconds() / 86400
    tier = record.card.risk_tier
    results = [
        _rejudge_age(rule_from_row(row), by_version, age, tier)
        for row in tx.fetchall(
            f"SELECT {RULE_COLUMNS} FROM evaluation_rules WHERE evaluation_id = ? "
            "ORDER BY position",
            [chosen],
        )
        if (row[0], row[1]) in wanted
    ]
    results = with_waivers(results, waivers(tx, record.name, record.version, now=now))
    return decision(chosen, results, *(r.failure() for r in results if r.blocking))
