"""Models: the registry's models and versions, with each version's evaluation and gate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from mlcore.tui import viewmodels as vm
from mlcore.tui.data.base import Capabilities

__all__ = ["ModelsData", "rule_results", "timeline"]


class ModelsData(Capabilities):
    def models(self) -> tuple[vm.ModelRow, ...]:
        return tuple(
            vm.ModelRow(
                m.name,
                m.versions,
                m.latest_version,
                m.latest_state,
                m.production,
                m.owner,
                m.updated_at,
            )
            for m in self._api("models", "list")()
        )

    def pending(self) -> tuple[vm.VersionRow, ...]:
        """Versions waiting for review."""
        return tuple(_version_row(v) for v in self._api("models", "search")(state="in_review"))

    def model(self, name: str) -> vm.ModelDetail:
        info = self._api("models", "show")(name)
        prod = info.production
        return vm.ModelDetail(
            name=info.name,
            created_at=info.created_at,
            created_by=info.created_by,
            production=None
            if prod is None
            else vm.Production(
                prod.version,
                prod.since,
                prod.released_by,
                prod.action,
                prod.reason,
                prod.evidence,
                tuple(prod.approved_by),
            ),
            pointers={alias: p["version"] for alias, p in info.pointers.items()},
            versions=tuple(_version_row(v) for v in info.versions),
        )

    def version(self, name: str, version: int) -> vm.VersionDetail:
        """Card, lineage, lifecycle, the newest evaluation per rule, waivers and the gate now."""
        from mlcore.registry.lifecycle import allowed_actions

        record = self._api("models", "get")(name, version)
        history = self._api("models", "history")(name)
        signature = record.signature
        return vm.VersionDetail(
            row=vm.VersionRow(
                record.name,
                record.version,
                record.state,
                record.created_at,
                record.created_by,
                record.card.owner,
                record.card.risk_tier,
                dict(record.metrics),
            ),
            card=record.card.to_dict(),
            lineage=dict(record.lineage),
            params=dict(record.params),
            tags=dict(record.tags),
            features=tuple(record.features),
            inputs=()
            if signature is None
            else tuple((c["name"], c["type"]) for c in signature.to_dict()["inputs"]),
            artifact=dict(record.artifact),
            allowed=tuple(allowed_actions(record.state)),
            timeline=tuple(timeline(history, version)),
            evaluation=self._part(lambda: _evaluation(self._api("evals", "latest")(name, version))),
            waivers=self._part(
                lambda: tuple(_waiver(w) for w in self._api("evals", "waivers")(name, version))
            ),
            gate=self._part(lambda: _gate(self._api("evals", "gate")(name, version))),
        )


# -- adapters from API records to view models ----------------------------------------------


def _version_row(v: Any) -> vm.VersionRow:
    return vm.VersionRow(
        v.name,
        v.version,
        v.state,
        v.created_at,
        v.created_by,
        v.owner,
        v.risk_tier,
        dict(v.metrics),
    )


def timeline(history: Iterable[Any], version: int) -> list[vm.TimelineEvent]:
    """The events of one version, and the pointer moves to or from it."""
    out = []
    for e in history:
        if e.kind == "version" and e.version == version:
            change = f"{e.from_state or '-'} -> {e.to_state}"
        elif e.kind == "pointer" and version in (e.from_version, e.to_version):
            change = f"{e.alias}: {e.from_version or '-'} -> {e.to_version or '-'}"
        else:
            continue
        out.append(
            vm.TimelineEvent(
                e.seq, e.at, e.actor, tuple(e.roles), e.action, change, e.reason, e.evidence
            )
        )
    return out


def rule_results(found: Any, default_status: str = "") -> tuple[vm.RuleResult, ...]:
    """Rule results from an evaluation, a gate decision, or GateFailed.failures.

    Rules are named ``policy/rule``; a waived rule says who waived it and why.

    >>> failures = [{"rule": "general/auc", "value": 0.61, "threshold": 0.7, "op": ">=",
    ...              "severity": "block", "citation": "Model standard 4.1"}]
    >>> [(r.rule, r.status, r.blocking) for r in rule_results(failures, default_status="fail")]
    [('general/auc', 'fail', True)]
    """
    if found is None:
        return ()
    if hasattr(found, "to_dict"):
        found = found.to_dict()
    if isinstance(found, Mapping):
        found = found.get("rules", [])
    out = []
    for r in found:
        r = r.to_dict() if hasattr(r, "to_dict") else dict(r)
        rule = str(r.get("rule") or r.get("id") or "?")
        if r.get("policy") and "/" not in rule:
            rule = f"{r['policy']}/{rule}"
        status = r.get("status") or default_status
        if not status and "passed" in r:
            status = "pass" if r["passed"] else "fail"
        waiver = r.get("waiver")
        out.append(
            vm.RuleResult(
                rule,
                r.get("value"),
                r.get("threshold"),
                status,
                str(r.get("message") or ""),
                str(r.get("severity") or ""),
                str(r.get("citation") or ""),
                r.get("op"),
                None
                if not waiver
                else f"{waiver['created_by']} ({waiver['id']}): {waiver['justification']}",
            )
        )
    return tuple(out)


def _policies(refs: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(f"{p['name']}/{p['version']}" for p in refs)


def _evaluation(found: Any) -> vm.EvaluationView | None:
    if found is None:
        return None
    data = found.dataset
    named = data.get("name")
    dataset = (
        f"dataset {named} v{data.get('version')}" if named else str(data.get("source") or "frame")
    )
    if data.get("where"):
        dataset += f" where {data['where']}"
    return vm.EvaluationView(
        id=found.id,
        created_at=found.created_at,
        created_by=found.created_by,
        verdict=found.verdict,
        rows=found.n_rows,
        dataset=dataset,
        policies=_policies(found.policies),
        rules=rule_results(found),
    )


def _waiver(w: Any) -> vm.WaiverRow:
    return vm.WaiverRow(
        id=w.id,
        rule=f"{w.policy}/{w.rule}",
        justification=w.justification,
        expires_at=w.expires_at,
        created_by=w.created_by,
        active=w.active(datetime.now(UTC)),
    )


def _gate(decision: Any) -> vm.GateView:
    return vm.GateView(
        passed=decision.passed,
        evaluation=decision.evaluation,
        policies=_policies(decision.policies),
        rules=rule_results(decision),
    )
