"""One hierarchy of errors, each class mapping to one CLI exit code.

Every error reads as ``<what happened>. <what to do>``: the message states the
problem, the optional ``hint`` the remedy. The CLI prints ``str(error)`` on one
line and exits with ``error.exit_code``; a traceback appears only with ``-v``.

Examples
--------
>>> err = NotFound("model", "churn_modle", candidates=["churn_model", "fraud"])
>>> print(err)
model 'churn_modle' not found. Did you mean 'churn_model'?
>>> err.exit_code
3
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "CheckFailed",
    "Conflict",
    "CorruptArtifact",
    "GateFailed",
    "InvalidInput",
    "InvalidTransition",
    "MlcoreError",
    "NotFound",
    "PermissionDenied",
    "StoreBusy",
    "StoreIncompatible",
    "TamperDetected",
    "UntrustedArtifact",
    "closest",
    "did_you_mean",
]

# Exit codes, one place (STYLE.md): 0 ok, 1 a check failed, 2 usage, 3 not found,
# 4 busy/conflict, 5 denied, 130 interrupted.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_DENIED = 5
EXIT_INTERRUPTED = 130


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to ``name``, or None if none is close.

    >>> closest("wether", ["weather", "planes"])
    'weather'
    >>> closest("xyz", ["weather"]) is None
    True
    """
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], otherwise: str | None = None) -> str | None:
    """The hint for a name that matches nothing: the closest candidate, else ``otherwise``.

    >>> did_you_mean("wether", ["weather", "planes"])
    "Did you mean 'weather'?"
    >>> did_you_mean("xyz", ["weather", "planes"], "Views: weather, planes")
    'Views: weather, planes'
    """
    near = closest(name, candidates)
    return f"Did you mean '{near}'?" if near else otherwise


class MlcoreError(Exception):
    """Base of every error mlcore raises on purpose."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message.rstrip(".")
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.hint:
            return f"{self.message}."
        hint = self.hint if self.hint.endswith(("?", "!", ".")) else f"{self.hint}."
        return f"{self.message}. {hint}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for ``--json`` error output."""
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class InvalidInput(MlcoreError):
    """The caller's input is wrong: a bad name, value, type, file or frame.

    ``field`` names the column, parameter or setting at fault; ``rows`` holds the
    first offending rows (as dicts) where data is at fault.
    """

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        field: str | None = None,
        rows: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        self.field = field
        self.rows = list(rows or [])
        if self.rows:
            shown = "; ".join(repr(r) for r in self.rows[:5])
            message = f"{message.rstrip('.')} (first offending rows: {shown})"
        super().__init__(message, hint=hint)


class NotFound(MlcoreError):
    """A named thing does not exist; suggests the closest existing name."""

    exit_code = EXIT_NOT_FOUND

    def __init__(
        self,
        kind: str,
        name: str,
        *,
        candidates: Iterable[str] = (),
        hint: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        if hint is None:
            hint = did_you_mean(str(name), candidates)
        super().__init__(f"{kind} '{name}' not found", hint=hint)


class Conflict(MlcoreError):
    """The operation conflicts with the current state of the store."""

    exit_code = EXIT_CONFLICT


class InvalidTransition(Conflict):
    """A lifecycle transition not allowed from the current state."""

    def __init__(self, subject: str, action: str, state: str, allowed: Iterable[str]) -> None:
        self.subject = subject
        self.action = action
        self.state = state
        self.allowed = sorted(allowed)
        allowed_txt = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(
            f"cannot {action} {subject}: it is {state}",
            hint=f"Allowed from {state}: {allowed_txt}",
        )


class StoreBusy(Conflict):
    """The catalog stayed locked by another process past the timeout."""

    def __init__(self, store: str, *, waited: float, holder: str | None = None) -> None:
        self.store = store
        self.waited = waited
        self.holder = holder
        who = f" by {holder}" if holder else ""
        super().__init__(
            f"store {store} is busy: its catalog stayed locked{who} for {waited:.1f} s",
            hint="Retry later, or raise MLCORE_LOCK_TIMEOUT",
        )


class StoreIncompatible(Conflict):
    """The store was written by a newer mlcore, or is not an mlcore store."""


class PermissionDenied(MlcoreError):
    """The actor lacks a role the action requires, or acts on their own work."""

    exit_code = EXIT_DENIED

    def __init__(
        self, actor: str, action: str, *, reason: str | None = None, hint: str | None = None
    ) -> None:
        self.actor = actor
        self.action = action
        self.reason = reason
        because = f": {reason}" if reason else ""
        super().__init__(f"{actor} may not {action}{because}", hint=hint)


class CheckFailed(MlcoreError):
    """A check ran and failed: a gate, a validation, a drift test, an audit."""

    exit_code = EXIT_CHECK_FAILED


class CorruptArtifact(CheckFailed):
    """Stored bytes no longer match their recorded sha256."""


class TamperDetected(CheckFailed):
    """The audit chain does not verify."""


class UntrustedArtifact(CheckFailed):
    """An artifact names types that may run code or corrupt memory when loaded.

    ``types`` lists them (fully qualified names), for display and for a
    deliberate ``trusted=`` on the next attempt.

    >>> print(UntrustedArtifact(["sklearn.tree._tree.Tree"]))  # doctest: +NORMALIZE_WHITESPACE
    artifact refused: it contains types that are not trusted (sklearn.tree._tree.Tree).
    Load it only if you trust where it came from, passing trusted=['sklearn.tree._tree.Tree'].
    """

    def __init__(self, types: Iterable[str]) -> None:
        self.types = sorted(types)
        listed = ", ".join(self.types)
        super().__init__(
            f"artifact refused: it contains types that are not trusted ({listed})",
            hint=f"Load it only if you trust where it came from, passing trusted={self.types!r}",
        )


class GateFailed(CheckFailed):
    """Release refused: block rules failed or required approvals are missing.

    ``failures`` holds one dict per failing rule with at least ``rule``,
    ``value``, ``threshold`` and ``message``.
    """

    def __init__(
        self, subject: str, failures: Sequence[dict[str, Any]], *, hint: str | None = None
    ) -> None:
        self.subject = subject
        self.failures = list(failures)
        listed = "; ".join(f"{f.get('rule')}: {f.get('message', 'failed')}" for f in self.failures)
        super().__init__(f"release of {subject} blocked by the gate ({listed})", hint=hint)
