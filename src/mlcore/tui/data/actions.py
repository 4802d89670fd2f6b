"""The verbs: what one would change (the confirmation's preview), then doing it.

A preview asks the store, changing nothing, what it can tell beforehand:
whether the actor holds a role the verb needs, whether the state allows it,
and for a release the gate's verdict rule by rule. The store decides in the
end: :meth:`Actions.perform` lets its refusals (denied, blocked, not allowed
now) propagate for the TUI to show.
"""

from __future__ import annotations

from typing import Any

from mlcore.errors import InvalidTransition
from mlcore.tui import viewmodels as vm
from mlcore.tui.data.models import ModelsData, rule_results, timeline

__all__ = ["VERBS", "Actions"]

#: verb -> (the permission it needs, whether it needs a reason or comment)
VERBS: dict[str, tuple[str, bool]] = {
    "submit": ("models.submit", False),
    "approve": ("models.approve", False),
    "reject": ("models.reject", True),
    "release": ("models.release", False),
    "rollback": ("models.rollback", True),
    "acknowledge": ("alerts.ack", True),
    "retrain": ("pipelines.run", False),
}
_ALERT_VERBS = ("acknowledge", "retrain")
#: what the confirmation asks for, when not a reason (None: nothing, the verb takes none)
_REASON_LABELS: dict[str, str | None] = {"acknowledge": "comment", "retrain": None}


class Actions(ModelsData):
    def preview(self, verb: str, target: vm.Target) -> vm.ActionPreview:
        """What ``verb`` on ``target`` would change, as far as the store can tell beforehand."""
        from mlcore.store.access import PERMISSIONS

        permission, needs_reason = VERBS[verb]
        roles = tuple(self.store.actors().get(self.actor, []))
        allowed_roles = PERMISSIONS[permission][0]
        warnings: list[str] = []
        if not set(roles) & set(allowed_roles):
            warnings.append(
                f"{self.actor} holds none of the roles this needs ({', '.join(allowed_roles)}): "
                "the store will refuse"
            )
        notes: list[str] = []
        gate = None
        if verb in _ALERT_VERBS:
            change = self._alert_change(verb, target, notes, warnings)
        elif verb == "rollback":
            info = self.model(target.name)
            now = info.production.version if info.production else None
            change = f"{target.name}: production {now} -> the version before it ({now} archived)"
        else:
            change = self._version_change(verb, target, notes, warnings)
            if verb == "release":
                gate = self._release_gate(target, notes)
        return vm.ActionPreview(
            verb=verb,
            target=target,
            actor=self.actor,
            roles=roles,
            change=change,
            notes=tuple(notes),
            warnings=tuple(warnings),
            needs_reason=needs_reason,
            gate=gate,
            reason_label=_REASON_LABELS.get(verb, "reason"),
        )

    def _alert_change(
        self, verb: str, target: vm.Target, notes: list[str], warnings: list[str]
    ) -> str:
        alert = self._api("monitors", "alert")(int(target.name))
        notes.append(f"{alert.rule} ({alert.severity}) on monitor {alert.monitor}")
        if verb == "acknowledge":
            if alert.status != "open":
                warnings.append(
                    f"{target.label} is {alert.status}: only open alerts are acknowledged"
                )
            return f"{target.label}: {alert.status} -> acknowledged"
        if alert.action is None:
            warnings.append(f"{target.label} has no retrain action: its rule names no pipeline")
            return f"{target.label}: nothing to run"
        if alert.action_status == "succeeded":
            warnings.append(f"{target.label}'s pipeline already ran (run {alert.run_id})")
        notes.append(f"pipeline {alert.action['pipeline']}")
        if alert.action.get("params"):
            notes.append(f"params {alert.action['params']}")
        return f"{target.label}: run its retrain pipeline now (retrain {alert.action_status})"

    def _version_change(
        self, verb: str, target: vm.Target, notes: list[str], warnings: list[str]
    ) -> str:
        from mlcore.registry.lifecycle import TRANSITIONS, allowed_actions

        assert target.version is not None
        record = self._api("models", "get")(target.name, target.version)
        sources, goal = TRANSITIONS[verb]
        if record.state not in sources:
            allowed = ", ".join(allowed_actions(record.state)) or "nothing"
            warnings.append(f"{verb} is not allowed from {record.state} (allowed: {allowed})")
        if verb in ("approve", "reject") and record.created_by == self.actor:
            warnings.append(f"{self.actor} registered {target.label}: authors do not review")
        if verb == "approve":
            notes.append("the version becomes approved once the approval rule is met")
        if verb == "release":
            info = self.model(target.name)
            if info.production is not None:
                notes.append(f"{target.name}/{info.production.version}: production -> archived")
            history = self._api("models", "history")(target.name)
            approvals = [e for e in timeline(history, target.version) if e.action == "approve"]
            notes.append(
                "approvals: "
                + (", ".join(f"{e.actor} ({', '.join(e.roles)})" for e in approvals) or "none")
            )
        return f"{target.label}: {record.state} -> {goal}"

    def _release_gate(
        self, target: vm.Target, notes: list[str]
    ) -> tuple[vm.RuleResult, ...] | None:
        """The gate's rules now, with what the registry says would block the release."""
        try:
            failures = self._api("models", "check_release")(target.name, target.version)
        except InvalidTransition:
            return None  # not approved: the warnings say so
        blocking = rule_results(failures, default_status="fail")
        judged = self._part(
            lambda: rule_results(self._api("evals", "gate")(target.name, target.version))
        )
        if isinstance(judged, vm.Unavailable):
            notes.append(f"{judged}: the gate checks approvals only")
            return blocking
        named = {r.rule for r in judged}
        return judged + tuple(r for r in blocking if r.rule not in named)

    def perform(self, verb: str, target: vm.Target, reason: str | None) -> str:
        """Run ``verb``; return what happened. Errors (denied, blocked...) propagate."""
        reason = reason or None
        if verb == "acknowledge":
            self._api("monitors", "ack")(int(target.name), reason or "")
            return f"{target.label} acknowledged"
        if verb == "retrain":
            alert = self._api("monitors", "run_action")(int(target.name))
            run = f" (run {alert.run_id})" if alert.run_id else ""
            return f"{target.label}: retrain {alert.action_status}{run}"
        if verb == "rollback":
            restored = self._api("models", "rollback")(target.name, reason=reason)
            return f"{restored.ref} serves production again"
        done: Any = self._api("models", verb)(target.name, target.version, reason=reason)
        return f"{done.ref} is now {done.state}"
