"""The TUI's one door to the store: Python API calls in, plain view models out.

Every method runs in a worker thread, makes a few short API calls and returns
a :mod:`~mlcore.tui.viewmodels` object; no method keeps the catalog between
calls (the catalog lets go by itself when idle). There is no SQL here: only
``mlcore.open(...)`` and the capabilities' public methods.

A capability this store does not have yet is detected in one place,
:meth:`DataAccess._api`: its module is not installed (``ModuleNotFoundError``
for an ``mlcore.`` module) or it lacks the method asked for. The part of the
view becomes an :class:`~mlcore.tui.viewmodels.Unavailable` naming what is
missing; nothing is invented in its place.

Examples
--------
>>> import tempfile, mlcore
>>> store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="ana")
>>> data = DataAccess(store)
>>> page = data.audit()
>>> [e.action for e in page.entries], page.chain_ok
(['store.create'], True)
>>> data.monitoring().monitors
()
>>> store.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from mlcore.errors import InvalidTransition
from mlcore.tui import viewmodels as vm

if TYPE_CHECKING:
    from mlcore.api import Store

__all__ = ["DataAccess", "rule_results"]

T = TypeVar("T")

# A refresh that waits 30 s for a busy catalog looks frozen; the TUI gives up
# sooner, says "store busy, retrying" and tries again on its next tick.
TUI_LOCK_TIMEOUT = 2.0

_CAPABILITY_NAMES = {
    "features": "features",
    "models": "model registry",
    "evals": "evaluation",
    "monitors": "monitoring",
    "pipelines": "pipeline runs",
}

# verb -> (permission it needs, whether it needs a reason)
_VERBS: dict[str, tuple[str, bool]] = {
    "submit": ("models.submit", False),
    "approve": ("models.approve", False),
    "reject": ("models.reject", True),
    "release": ("models.release", False),
    "rollback": ("models.rollback", True),
    "acknowledge": ("alerts.ack", True),
}


class _Missing(Exception):
    def __init__(self, unavailable: vm.Unavailable) -> None:
        super().__init__(str(unavailable))
        self.unavailable = unavailable


class DataAccess:
    """View models of one store, for one actor.

    Parameters
    ----------
    store
        The open store (``mlcore.open(...)``).
    lock_timeout
        Longest a call waits for a catalog another process holds before raising
        :class:`~mlcore.errors.StoreBusy` (None: the store's own setting).
    verify_every
        Seconds between full audit-chain verifications while the number of
        entries stays the same (verification reads the whole chain).
    """

    def __init__(
        self,
        store: Store,
        *,
        lock_timeout: float | None = TUI_LOCK_TIMEOUT,
        verify_every: float = 60.0,
    ) -> None:
        self.store = store
        if lock_timeout is not None:
            catalog = store.storage.catalog
            catalog.lock_timeout = min(catalog.lock_timeout, lock_timeout)
        self.verify_every = verify_every
        self._verified: tuple[float, int, Any] | None = None

    @property
    def actor(self) -> str:
        return self.store.actor

    @property
    def path(self) -> str:
        return str(self.store.path)

    # -- capabilities, found or not in one place ---------------------------------------

    def _api(self, capability: str, method: str) -> Callable[..., Any]:
        what = _CAPABILITY_NAMES[capability]
        try:
            owner = getattr(self.store, capability)
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("mlcore."):
                raise
            raise _Missing(vm.Unavailable(what, f"{exc.name} is not installed")) from None
        found = getattr(owner, method, None)
        if found is None:
            raise _Missing(vm.Unavailable(what, f"store.{capability} has no {method}()"))
        return found

    def _part(self, compute: Callable[[], T]) -> T | vm.Unavailable:
        try:
            return compute()
        except _Missing as missing:
            return missing.unavailable

    # -- store ---------------------------------------------------------------------------

    def _verification(self, entries: int) -> Any:
        now = time.monotonic()
        if self._verified is not None:
            at, count, result = self._verified
            if count == entries and now - at < self.verify_every:
                return result
        result = self.store.verify_audit()
        self._verified = (now, entries, result)
        return result

    def health(self) -> vm.Health:
        info = self.store.info()
        check = self._verification(info["audit_entries"])
        return vm.Health(
            path=info["path"],
            actor=info["actor"],
            roles=tuple(info["actor_roles"]),
            data_files=info["data_files"]["count"],
            data_rows=info["data_files"]["rows"],
            data_bytes=info["data_files"]["bytes"],
            artifacts=info["artifacts"]["count"],
            artifact_bytes=info["artifacts"]["bytes"],
            audit_entries=info["audit_entries"],
            chain_ok=check.ok,
            chain_head=f"{check.head_seq}:{check.head_hash}",
            chain_problem=check.problem,
            schema=dict(info["schema"]),
        )

    def audit(self, limit: int = 500) -> vm.AuditPage:
        """The newest ``limit`` entries, newest first, and the chain's verification."""
        entries = self.store.audit_log(limit=limit, newest_first=True)
        total = self.store.info()["audit_entries"]
        check = self._verification(total)
        return vm.AuditPage(
            entries=tuple(
                vm.AuditRow(e.seq, e.at, e.actor, e.action, e.subject, e.details, e.hash)
                for e in entries
            ),
            total=total,
            chain_ok=check.ok,
            chain_head=f"{check.head_seq}:{check.head_hash}",
            chain_problem=check.problem,
        )

    def overview(self) -> vm.Overview:
        return vm.Overview(
            health=self.health(),
            production=self._part(self.models),
            pending=self._part(
                lambda: tuple(
                    _version_row(v) for v in self._api("models", "search")(state="in_review")
                )
            ),
            alerts=self._part(lambda: tuple(self._api("monitors", "alerts")())),
            runs=self.runs(limit=5),
        )

    # -- models ----------------------------------------------------------------------------

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
            timeline=tuple(_timeline(history, version)),
            evaluation=self._part(
                lambda: rule_results(self._api("evals", "latest")(name, version))
            ),
        )

    # -- features --------------------------------------------------------------------------

    def features(self) -> tuple[vm.FeatureViewRow, ...]:
        summary = self._api("features", "summary")()
        specs = {d.name: d.spec for d in self._api("features", "views")()}
        return tuple(_feature_row(s, specs.get(s["view"], {})) for s in summary)

    def feature(self, name: str) -> vm.FeatureDetail:
        about = self._api("features", "describe")(name)
        stats = self._api("features", "stats")(name)
        spec = about["spec"]
        summary = {
            "view": name,
            "version": about["version"],
            "entities": spec["entities"],
            "features": len(spec.get("fields", [])),
            "aggregations": len(spec.get("aggregations", [])),
            "owner": spec.get("owner"),
            "rows": about["data"]["rows"],
            "files": about["data"]["files"],
            "description": spec.get("description", ""),
        }
        described = {f["name"]: f.get("description") or "" for f in spec.get("fields", [])}
        online = about.get("online")
        refs = [f"{name}:{f['name']}" for f in stats["features"]]
        return vm.FeatureDetail(
            row=_feature_row(summary, spec),
            join_keys=tuple(k["name"] for k in spec.get("join_keys", [])),
            event_timestamp=spec.get("event_timestamp", ""),
            ttl_s=None if spec.get("ttl_us") is None else spec["ttl_us"] / 1e6,
            tags=dict(spec.get("tags", {})),
            aggregations=tuple(
                f"{a['name']} = {a['function']}({a['column']}) over {a['window_us'] / 1e6:g} s"
                for a in spec.get("aggregations", [])
            ),
            stats=tuple(
                vm.FeatureStat(
                    f["name"],
                    f["dtype"],
                    described.get(f["name"], ""),
                    f["count"],
                    f["null_share"],
                    f["distinct"],
                    f["min"],
                    f["max"],
                    f["mean"],
                )
                for f in stats["features"]
            ),
            oldest_event=stats.get("oldest_event"),
            newest_event=stats.get("newest_event"),
            freshness_s=stats.get("freshness_s"),
            versions=tuple(
                (v["version"], v["status"], v["created_at"], v["created_by"])
                for v in about.get("versions", [])
            ),
            online=None
            if not online
            else f"version {online['version']} at {online['materialized_at']:%Y-%m-%d %H:%M:%S}",
            datasets=tuple(about.get("datasets", [])),
            used_by=self._part(
                lambda: tuple(
                    f"{m}/{v}" for m, v in self._api("models", "using_features")(refs or [name])
                )
            ),
        )

    # -- runs ------------------------------------------------------------------------------

    def runs(self, limit: int = 200) -> vm.Part[tuple[vm.RunRow, ...]]:
        """The newest runs, newest first."""
        return self._part(
            lambda: tuple(_run_row(r) for r in self._api("pipelines", "runs")(limit=limit))
        )

    def run(self, run_id: str) -> vm.RunDetail:
        found = self._api("pipelines", "get")(run_id)
        record = getattr(found, "record", found)  # a RunResult wraps its RunRecord
        return vm.RunDetail(
            row=_run_row(record),
            params=dict(record.params),
            source=record.source,
            resumed_from=record.resumed_from,
            steps=tuple(
                vm.StepRow(
                    s.name,
                    str(s.status),
                    s.seconds,
                    s.cache_hit,
                    s.attempts,
                    None if s.error is None else f"{s.error.type}: {s.error.message}",
                )
                for s in record.steps.values()
            ),
        )

    # -- monitoring ------------------------------------------------------------------------

    def monitoring(self) -> vm.Monitoring:
        return vm.Monitoring(monitors=self._part(lambda: tuple(self._api("monitors", "list")())))

    # -- actions ---------------------------------------------------------------------------

    def preview(self, verb: str, target: vm.Target) -> vm.ActionPreview:
        """What ``verb`` on ``target`` would change, as far as the store can tell beforehand."""
        from mlcore.registry.lifecycle import TRANSITIONS, allowed_actions
        from mlcore.store.access import PERMISSIONS

        permission, needs_reason = _VERBS[verb]
        roles = tuple(self.store.actors().get(self.actor, []))
        allowed_roles = PERMISSIONS[permission][0]
        warnings: list[str] = []
        if not set(roles) & set(allowed_roles):
            warnings.append(
                f"{self.actor} holds none of the roles this needs ({', '.join(allowed_roles)}): "
                "the store will refuse"
            )
        notes: list[str] = []
        gate: tuple[vm.RuleResult, ...] | vm.Unavailable | None = None
        if verb == "acknowledge":
            change = f"alert {target.label}: open -> acknowledged"
        elif verb == "rollback":
            info = self.model(target.name)
            now = info.production.version if info.production else None
            change = f"{target.name}: production {now} -> the version before it ({now} archived)"
        else:
            assert target.version is not None
            record = self._api("models", "get")(target.name, target.version)
            sources, goal = TRANSITIONS[verb]
            change = f"{target.label}: {record.state} -> {goal}"
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
                approvals = [
                    e
                    for e in _timeline(self._api("models", "history")(target.name), target.version)
                    if e.action == "approve"
                ]
                notes.append(
                    "approvals: "
                    + (", ".join(f"{e.actor} ({', '.join(e.roles)})" for e in approvals) or "none")
                )
                gate = self._release_check(target)
                evaluation = self._part(lambda: self._api("evals", "check_release"))
                if isinstance(evaluation, vm.Unavailable):
                    notes.append(f"{evaluation}: the gate checks approvals only")
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
        )

    def _release_check(self, target: vm.Target) -> tuple[vm.RuleResult, ...] | None:
        """What would block the release now (approvals, then the evaluation gate)."""
        try:
            failures = self._api("models", "check_release")(target.name, target.version)
        except InvalidTransition:
            return None  # not approved: the warnings say so
        return rule_results(failures, default_status="fail")

    def perform(self, verb: str, target: vm.Target, reason: str | None) -> str:
        """Run ``verb``; return what happened. Errors (denied, blocked...) propagate."""
        reason = reason or None
        if verb == "acknowledge":
            self._api("monitors", "acknowledge")(target.name, comment=reason)
            return f"alert {target.label} acknowledged"
        if verb == "rollback":
            restored = self._api("models", "rollback")(target.name, reason=reason)
            return f"{restored.ref} serves production again"
        done = self._api("models", verb)(target.name, target.version, reason=reason)
        return f"{done.ref} is now {done.state}"


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


def _timeline(history: Any, version: int) -> list[vm.TimelineEvent]:
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
    """Rule results from an evaluation, a gate answer or GateFailed.failures."""
    if found is None:
        return ()
    if hasattr(found, "to_dict"):
        found = found.to_dict()
    if isinstance(found, Mapping):
        found = found.get("rules", [])
    out = []
    for r in found:
        r = r.to_dict() if hasattr(r, "to_dict") else dict(r)
        status = r.get("status") or default_status
        if not status and "passed" in r:
            status = "pass" if r["passed"] else "fail"
        out.append(
            vm.RuleResult(
                str(r.get("rule") or r.get("id") or "?"),
                r.get("value"),
                r.get("threshold"),
                status,
                str(r.get("message") or ""),
            )
        )
    return tuple(out)


def _feature_row(summary: Mapping[str, Any], spec: Mapping[str, Any]) -> vm.FeatureViewRow:
    words = [summary["view"], summary.get("owner") or "", summary.get("description") or ""]
    for f in spec.get("fields", []):
        words += [f["name"], f.get("description") or ""]
    words += [a["name"] for a in spec.get("aggregations", [])]
    words += [f"{k}={v}" for k, v in spec.get("tags", {}).items()]
    return vm.FeatureViewRow(
        name=summary["view"],
        version=summary["version"],
        entities=tuple(summary["entities"]),
        features=summary["features"],
        aggregations=summary["aggregations"],
        owner=summary.get("owner"),
        rows=summary["rows"],
        files=summary["files"],
        description=summary.get("description") or "",
        search=" ".join(w for w in words if w),
    )


def _run_row(record: Any) -> vm.RunRow:
    steps = list(record.steps.values())
    seconds = None
    if record.started_at is not None and record.finished_at is not None:
        seconds = (record.finished_at - record.started_at).total_seconds()
    return vm.RunRow(
        id=record.id,
        pipeline=record.pipeline,
        status=str(record.status),
        started_at=record.started_at,
        seconds=seconds,
        steps=len(steps),
        cached=sum(1 for s in steps if s.cache_hit),
        failed=sum(1 for s in steps if str(s.status) == "failed"),
    )
