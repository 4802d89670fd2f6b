"""The lifecycle of a model version: states, named transitions, approvals, the release gate.

::

    draft --submit--> in_review --approve--> approved --release--> production
                          |                      |                     |
                          +-------reject---------+--> rejected         | another version released,
                                                                       | or rolled back
    draft, in_review, approved, rejected --archive--> archived <-------+
                                                      archived --rollback--> production
                                                      (only the version production held before)

Each transition is a permission check, the state change and an audit entry in
one catalog transaction (see :class:`mlcore.registry.registry.Registry`);
:func:`record_event` and :func:`move_pointer` write the last two.
``approve`` on an ``in_review`` version records the approval and moves it to
``approved`` once the approvals meet the :class:`ApprovalRule` in force; more
approvals may be added to an approved version. Authors approve or reject
nothing of their own.

The release gate. Release asks the evaluation capability, through the store
object the registry was given (``hooks``), for two things, both optional and
both run *inside* the release transaction:

- ``hooks.evals.release_requirements(version, tx=tx) -> ApprovalRule | None``:
  how many approvals, from which roles (None: :data:`DEFAULT_RULE`);
- ``hooks.evals.check_release(version, tx=tx, evidence=evidence) -> str | None``:
  run the checks the active policy demands; raise
  :class:`~mlcore.errors.GateFailed` to block, else return the id of the
  evaluation the release relied on (recorded as the move's evidence).

:func:`capability` is the one place that decides a capability is absent (its
module is not installed yet), so that the gate is skipped only then.

Examples
--------
>>> check("model:churn/3", "release", "in_review")
Traceback (most recent call last):
...
mlcore.errors.InvalidTransition: cannot release model:churn/3: it is in_review. Allowed from in_review: approve, archive, reject.
>>> rule = ApprovalRule(count=2, must_include=("risk-officer",))
>>> [f["rule"] for f in rule.failures([Approval("bob", ("reviewer",))])]
['approvals', 'approval by risk-officer']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from mlcore.errors import InvalidInput, InvalidTransition
from mlcore.registry.models import PointerMove

if TYPE_CHECKING:
    from mlcore.registry.models import ModelVersion
    from mlcore.store.storage import Tx

__all__ = [
    "DEFAULT_RULE",
    "TRANSITIONS",
    "Approval",
    "ApprovalRule",
    "ReleaseGate",
    "State",
    "allowed_actions",
    "approvals",
    "check",
    "move_pointer",
    "pointer",
    "pointer_moves",
    "record_event",
    "requirement",
    "run_gate",
]


class State(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PRODUCTION = "production"
    ARCHIVED = "archived"


_S = State
#: action -> (states it may start from, state it leads to). The permission of
#: an action is ``models.<action>``.
TRANSITIONS: dict[str, tuple[frozenset[State], State]] = {
    "submit": (frozenset({_S.DRAFT}), _S.IN_REVIEW),
    "approve": (frozenset({_S.IN_REVIEW, _S.APPROVED}), _S.APPROVED),
    "reject": (frozenset({_S.IN_REVIEW, _S.APPROVED}), _S.REJECTED),
    "release": (frozenset({_S.APPROVED}), _S.PRODUCTION),
    "rollback": (frozenset({_S.ARCHIVED}), _S.PRODUCTION),
    "archive": (frozenset({_S.DRAFT, _S.IN_REVIEW, _S.APPROVED, _S.REJECTED}), _S.ARCHIVED),
}


def allowed_actions(state: str) -> list[str]:
    """The actions that may start from ``state``, sorted.

    >>> allowed_actions("draft")
    ['archive', 'submit']
    """
    return sorted(action for action, (sources, _) in TRANSITIONS.items() if state in sources)


def check(subject: str, action: str, state: str) -> State:
    """The state ``action`` leads to from ``state``; InvalidTransition if not allowed."""
    sources, target = TRANSITIONS[action]
    if state not in sources:
        raise InvalidTransition(subject, action, state, allowed_actions(state))
    return target


@dataclass(frozen=True)
class Approval:
    """One approval: who, with which roles at the time, when, and why."""

    actor: str
    roles: tuple[str, ...]
    at: Any = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "roles": list(self.roles),
            "at": self.at,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ApprovalRule:
    """How many distinct approvers a release needs, and which roles count.

    An approval counts when its approver held one of ``roles`` when approving;
    each role in ``must_include`` must be held by at least one counted approver
    (e.g. ``count=2, must_include=("risk-officer",)`` for high-risk models).
    """

    count: int = 1
    roles: tuple[str, ...] = ("admin", "reviewer", "risk-officer")
    must_include: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InvalidInput("an approval rule needs a count of at least 1", field="count")

    def counted(self, approvals: Sequence[Approval]) -> list[Approval]:
        seen: set[str] = set()
        out = []
        for approval in approvals:
            if approval.actor not in seen and set(approval.roles) & set(self.roles):
                seen.add(approval.actor)
                out.append(approval)
        return out

    def failures(self, approvals: Sequence[Approval]) -> list[dict[str, Any]]:
        """One dict per unmet part of the rule (rule, value, threshold, message)."""
        counted = self.counted(approvals)
        out = []
        if len(counted) < self.count:
            out.append(
                {
                    "rule": "approvals",
                    "value": len(counted),
                    "threshold": self.count,
                    "message": f"{len(counted)} of {self.count} required approvals "
                    f"(by {', '.join(self.roles)})",
                }
            )
        for role in self.must_include:
            if not any(role in a.roles for a in counted):
                out.append(
                    {
                        "rule": f"approval by {role}",
                        "value": 0,
                        "threshold": 1,
                        "message": f"no approval by a {role} yet",
                    }
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "roles": list(self.roles),
            "must_include": list(self.must_include),
        }


DEFAULT_RULE = ApprovalRule()


class ReleaseGate(Protocol):
    """What the evaluation capability offers the registry (both methods optional)."""

    def release_requirements(self, version: ModelVersion, *, tx: Tx) -> ApprovalRule | None: ...

    def check_release(
        self, version: ModelVersion, *, tx: Tx, evidence: str | None
    ) -> str | None: ...


# The package each capability attribute of the store object comes from.
def requirement(gate: Any | None, version: ModelVersion, tx: Tx) -> ApprovalRule:
    """The approval rule in force for ``version``: the gate's, else :data:`DEFAULT_RULE`."""
    ask = getattr(gate, "release_requirements", None)
    rule = ask(version, tx=tx) if ask is not None else None
    return rule if rule is not None else DEFAULT_RULE


def run_gate(gate: Any | None, version: ModelVersion, tx: Tx, evidence: str | None) -> str | None:
    """Run the gate's release checks (GateFailed blocks); return the evidence id to record."""
    check_release = getattr(gate, "check_release", None)
    if check_release is None:
        return evidence
    found = check_release(version, tx=tx, evidence=evidence)
    return evidence if found is None else str(found)


# -- recording: lifecycle events and pointer moves, inside the caller's transaction --------


def pointer(tx: Tx, name: str, alias: str) -> int | None:
    """The version ``alias`` of ``name`` points at, or None."""
    row = tx.fetchone(
        "SELECT version FROM model_pointers WHERE model = ? AND alias = ?", [name, alias]
    )
    return None if row is None else int(row[0])


def approvals(tx: Tx, name: str, version: int) -> list[Approval]:
    """The approvals a version collected, oldest first."""
    return [
        Approval(actor, tuple(roles), at, reason)
        for actor, roles, at, reason in tx.fetchall(
            "SELECT actor, roles, acted_at, reason FROM model_events "
            "WHERE model = ? AND version = ? AND action = 'approve' ORDER BY audit_seq",
            [name, version],
        )
    ]


def record_event(
    tx: Tx,
    record: ModelVersion,
    action: str,
    to_state: State,
    reason: str | None = None,
    evidence: str | None = None,
    *,
    details: dict[str, Any] | None = None,
    new: bool = False,
) -> ModelVersion:
    """Append a lifecycle event (audit entry first, for its seq) and apply the new state."""
    source = None if new else record.state
    now = datetime.now(UTC)
    facts = {"from": source, "to": to_state.value, "reason": reason, "evidence": evidence}
    seq = tx.audit(f"models.{action}", record.subject, {**facts, **(details or {})})
    tx.execute(
        "INSERT INTO model_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            seq,
            record.name,
            record.version,
            action,
            source,
            to_state.value,
            now,
            tx.actor,
            sorted(tx.roles()),
            reason,
            evidence,
        ],
    )
    if source is None or source == to_state:
        return record
    tx.execute(
        "UPDATE model_versions SET state = ?, state_at = ? WHERE model = ? AND version = ?",
        [to_state.value, now, record.name, record.version],
    )
    return dataclasses.replace(record, state=to_state.value, state_at=now)


def move_pointer(
    tx: Tx,
    name: str,
    alias: str,
    action: str,
    to_version: int | None,
    reason: str | None,
    evidence: str | None,
) -> PointerMove:
    """Move (or with ``to_version=None`` delete) a pointer, recording from where to where."""
    now = datetime.now(UTC)
    from_version = pointer(tx, name, alias)
    seq = tx.audit(
        f"models.pointer.{action}",
        f"model:{name}@{alias}",
        {"from": from_version, "to": to_version, "reason": reason, "evidence": evidence},
    )
    if to_version is None:
        tx.execute("DELETE FROM model_pointers WHERE model = ? AND alias = ?", [name, alias])
    else:
        tx.execute(
            "INSERT OR REPLACE INTO model_pointers VALUES (?, ?, ?, ?, ?)",
            [name, alias, to_version, now, tx.actor],
        )
    tx.execute(
        "INSERT INTO pointer_moves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, name, alias, action, from_version, to_version, now, tx.actor, reason, evidence],
    )
    return PointerMove(
        seq, name, alias, action, from_version, to_version, now, tx.actor, reason, evidence
    )


def pointer_moves(tx: Tx, name: str) -> list[PointerMove]:
    """Every pointer move of ``name``, oldest first."""
    return [
        PointerMove(*row)
        for row in tx.fetchall(
            "SELECT audit_seq, model, alias, action, from_version, to_version, moved_at, "
            "moved_by, reason, evidence FROM pointer_moves WHERE model = ? ORDER BY audit_seq",
            [name],
        )
    ]
