"""Evaluations on the store: ``store.evals``.

Run an evaluation of a model version on a dataset under the policies in force, record
it, read it back, export it as a report; apply policies; waive rules; and answer the
registry's release gate. Heavy work -- loading data, scoring, bootstrap, drift, writing
the slice table -- happens before the catalog is touched; recording is then one short
transaction that checks the permission and writes the evaluation, its rule results, its
data file and the audit entry together.

Examples
--------
>>> import tempfile, mlcore, numpy as np, polars as pl
>>> from sklearn.linear_model import LogisticRegression
>>> store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="ana")
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=400)
>>> rows = pl.DataFrame({"x": x, "y": (x + rng.normal(size=400) > 0).astype(int)})
>>> model = LogisticRegression().fit(rows.select("x"), rows["y"])
>>> _ = store.models.register("churn", model, training_data=rows.select("x"))
>>> policy = store.evals.apply_policy('''
... name = "general"
... [[rules]]
... id = "auc"
... kind = "metric"
... description = "Ranks customers well enough"
... citation = "Model standard 4.1"
... severity = "block"
... metric = "roc_auc"
... min = 0.7
... ''')
>>> policy.ref
'general/1'
>>> evaluation = store.evals.run("churn", rows, label="y", n_resamples=20)
>>> [(r.rule, r.status) for r in evaluation.rules], evaluation.verdict
([('auc', 'pass')], 'pass')
>>> decision = store.evals.gate("churn", 1)
>>> decision.evaluation == evaluation.id, [p["rule"] for p in decision.problems]
(True, ['approvals'])
>>> store.close()
"""

from __future__ import annotations

import builtins
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.capabilities import capability
from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation import gate as gates
from mlcore.evaluation.policy import Policy, PolicyDiff, diff_policies, read_policy
from mlcore.evaluation.records import (
    RULE_COLUMNS,
    Evaluation,
    GateDecision,
    PolicyVersion,
    Waiver,
    rule_from_row,
)

if TYPE_CHECKING:
    import polars as pl

    from mlcore.evaluation.runner import Assessment
    from mlcore.registry.lifecycle import ApprovalRule
    from mlcore.store import Storage, Tx

__all__ = ["Evaluations"]

_EVAL_COLUMNS = (
    "id, model, version, created_at, created_by, task, n_rows, dataset, policies, champion, "
    "passed, metrics, results"
)


class Evaluations:
    """Evaluations, policies and waivers in one store, seen by one actor.

    Parameters
    ----------
    storage
        The open store.
    store
        The :class:`mlcore.Store`, through which evaluations reach the registry
        (``store.models``: load and score versions) and the feature store
        (``store.features``: saved datasets).
    """

    def __init__(self, storage: Storage, store: Any = None) -> None:
        self._storage = storage
        self._store = store

    def __repr__(self) -> str:
        return f"<Evaluations of {self._storage.root} as {self._storage.actor!r}>"

    # -- policies --------------------------------------------------------------------

    def apply_policy(self, policy: str | Path | Policy) -> PolicyVersion:
        """Validate a policy (TOML path or text) and store it as its next version.

        Content that means the same as the latest version (comments and layout aside)
        changes nothing and returns that version. Permission ``policies.apply``.
        """
        parsed = policy if isinstance(policy, Policy) else read_policy(policy)
        with self._storage.transaction() as tx:
            tx.require("policies.apply")
            current = self._latest(tx, parsed.name)
            change = _diff(current, parsed)
            if current is not None and not change.changed:
                return current
            version = change.version or 1
            spec = _json(parsed.spec())
            now = datetime.now(UTC)
            seq = tx.audit(
                "policies.apply",
                f"policy:{parsed.name}/{version}",
                {"sha256": parsed.sha256, "source": parsed.source_name, "changes": change.changes},
            )
            tx.execute(
                "INSERT INTO policies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    parsed.name,
                    version,
                    parsed.sha256,
                    spec,
                    parsed.source,
                    parsed.source_name,
                    now,
                    tx.actor,
                    seq,
                ],
            )
        return PolicyVersion(
            parsed.name, version, parsed.sha256, now, tx.actor, parsed.source_name, parsed,
            parsed.source,
        )  # fmt: skip

    def diff_policy(self, policy: str | Path | Policy) -> PolicyDiff:
        """What applying ``policy`` would change, without applying it."""
        parsed = policy if isinstance(policy, Policy) else read_policy(policy)
        with self._storage.transaction() as tx:
            current = self._latest(tx, parsed.name)
        return _diff(current, parsed)

    def policies(self) -> list[PolicyVersion]:
        """The latest version of every policy."""
        with self._storage.transaction() as tx:
            return gates.latest_policies(tx)

    def policy(self, name: str, version: int | None = None) -> PolicyVersion:
        """One policy version (default: the latest); NotFound suggests the closest name."""
        with self._storage.transaction() as tx:
            if version is None:
                found = self._latest(tx, name)
            else:
                row = tx.fetchone(
                    f"SELECT {gates.POLICY_COLUMNS} FROM policies WHERE name = ? AND version = ?",
                    [name, version],
                )
                found = None if row is None else gates.policy_version(row)
            if found is None:
                known = [n for (n,) in tx.fetchall("SELECT DISTINCT name FROM policies")]
                if name in known:
                    raise NotFound("policy version", f"{name}/{version}")
                raise NotFound("policy", name, candidates=known)
            return found

    def policy_history(self, name: str) -> list[PolicyVersion]:
        """Every version of a policy, oldest first."""
        self.policy(name)
        with self._storage.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {gates.POLICY_COLUMNS} FROM policies WHERE name = ? ORDER BY version",
                [name],
            )
        return [gates.policy_version(row) for row in rows]

    def active_policies(self, model: str, version: int | None = None) -> list[PolicyVersion]:
        """The policies in force for a version: every policy whose scope covers it."""
        record = self._models().get(model, version)
        with self._storage.transaction() as tx:
            return gates.active_policies(tx, record)

    def _latest(self, tx: Tx, name: str) -> PolicyVersion | None:
        row = tx.fetchone(
            f"SELECT {gates.POLICY_COLUMNS} FROM policies WHERE name = ? "
            "ORDER BY version DESC LIMIT 1",
            [name],
        )
        return None if row is None else gates.policy_version(row)

    def _policies_for(
        self, tx: Tx, record: Any, policy: str | Sequence[str] | None
    ) -> list[PolicyVersion]:
        if policy is None:
            return gates.active_policies(tx, record)
        wanted = [policy] if isinstance(policy, str) else list(policy)
        latest = {p.name: p for p in gates.latest_policies(tx)}
        for name in wanted:
            if name not in latest:
                raise NotFound("policy", name, candidates=latest)
        return [latest[name] for name in dict.fromkeys(wanted)]

    # -- evaluations -------------------------------------------------------------------

    def run(
        self,
        model: str,
        data: Any,
        *,
        label: str,
        version: int | None = None,
        policy: str | Sequence[str] | None = None,
        slices: Sequence[str] = (),
        sensitive: Sequence[str] = (),
        task: str | None = None,
        where: str | None = None,
        reference: Any = None,
        threshold: float = 0.5,
        cross: int = 2,
        min_support: int = 30,
        n_resamples: int = 200,
        confidence: float = 0.95,
        seed: int = 0,
        compare_champion: bool = True,
        trusted: Sequence[str | type] | None = None,
    ) -> Evaluation:
        """Evaluate a model version on a dataset under the policies in force, and record it.

        Parameters
        ----------
        model, version
            The version to evaluate (default: the newest).
        data
            The rows: a frame, a Parquet/CSV path, or ``dataset:NAME[/VERSION]``.
        label
            The label column.
        policy
            Judge under these policies (latest versions) instead of those whose scope
            covers the version; the gate counts an evaluation only when it covers every
            policy in force.
        slices, sensitive
            Slice columns and sensitive attributes, added to those the rules name.
        task
            Inferred from the model; ``"binary"`` reads a regressor's output as a score.
        where
            SQL condition selecting the rows to evaluate (a time split, a segment).
        reference
            Training data for drift rules (frame, path or ``dataset:...``); default the
            dataset in the version's lineage.
        threshold, cross, min_support, n_resamples, confidence, seed
            As for :func:`mlcore.evaluation.evaluate.evaluate`.
        compare_champion
            Score the production version on the same rows for paired deltas. Turning it
            off while a champion exists makes champion rules fail, not pass.
        trusted
            Extra artifact types to trust when loading the version.

        Returns
        -------
        Evaluation
            As recorded, with rule results and any waivers in force.

        Raises
        ------
        InvalidInput, NotFound
            Bad or missing data, columns, policies (see :mod:`mlcore.evaluation.evaluate`).
        PermissionDenied
            The actor may not record evaluations (``evals.run``).
        """
        from mlcore.evaluation.runner import assess

        models = self._models()
        record = models.get(model, version)
        with self._storage.transaction() as tx:
            tx.require("evals.run")  # before minutes of work, not after
            policies = self._policies_for(tx, record, policy)
        assessment = assess(
            models,
            self._features(),
            record,
            policies,
            data,
            label=label,
            slices=slices,
            sensitive=sensitive,
            task=task,
            where=where,
            reference=reference,
            compare_champion=compare_champion,
            trusted=trusted,
            options={
                "threshold": threshold,
                "cross": cross,
                "min_support": min_support,
                "n_resamples": n_resamples,
                "confidence": confidence,
                "seed": seed,
            },
        )
        slice_file = None
        if assessment.result.slices is not None:
            table = assessment.result.slices.to_frame()
            slice_file = self._storage.files.write(table, "evaluations")
        return self._record(record, policies, assessment, slice_file)

    def _record(
        self,
        record: Any,
        policies: Sequence[PolicyVersion],
        assessment: Assessment,
        slice_file: Any,
    ) -> Evaluation:
        evaluation_id = f"ev-{uuid.uuid4().hex[:12]}"
        result, dataset, results = assessment.result, assessment.dataset, assessment.rules
        passed = not any(r.severity == "block" and r.status == "fail" for r in results)
        used = [{"name": p.name, "version": p.version, "sha256": p.sha256} for p in policies]
        metrics = {n: e.value for n, e in result.metrics.estimates.items() if e.value is not None}
        with self._storage.transaction() as tx:
            tx.require("evals.run")
            seq = tx.audit(
                "evals.run",
                record.subject,
                {
                    "evaluation": evaluation_id,
                    "passed": passed,
                    "policies": [f"{p['name']}/{p['version']}" for p in used],
                    "dataset_sha256": dataset["sha256"],
                    "rows": result.n_rows,
                },
            )
            if slice_file is not None:
                tx.register_file(slice_file, kind="evaluations", owner=evaluation_id)
            tx.execute(
                "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "MAP(?::VARCHAR[], ?::DOUBLE[]), ?, ?)",
                [
                    evaluation_id,
                    record.name,
                    record.version,
                    datetime.now(UTC),
                    tx.actor,
                    result.task,
                    result.n_rows,
                    dataset["sha256"],
                    _json(dataset),
                    _json(used),
                    assessment.champion,
                    passed,
                    list(metrics),
                    list(metrics.values()),
                    _json(assessment.document),
                    seq,
                ],
            )
            if results:
                width = 15
                marks = ", ".join(["(" + ", ".join("?" * width) + ")"] * len(results))
                params: list[Any] = []
                for position, r in enumerate(results):
                    params += [evaluation_id, position, r.policy, r.policy_version, r.rule]
                    params += [r.kind, r.severity, r.status, _finite(r.value)]
                    params += [_finite(r.threshold), r.op, r.message, r.citation]
                    params += [r.description, _json(r.details)]
                tx.execute(f"INSERT INTO evaluation_rules VALUES {marks}", params)
            # read back in the same transaction: the catalog is held, not reopened
            (recorded,) = self._read(tx, "id = ?", [evaluation_id])
        return recorded

    def get(self, evaluation_id: str) -> Evaluation:
        """One evaluation by id (or a unique prefix of it), with waivers now in force."""
        with self._storage.transaction() as tx:
            found = self._read(tx, "id = ? OR starts_with(id, ?)", [evaluation_id] * 2)
            if not found:
                known = [i for (i,) in tx.fetchall("SELECT id FROM evaluations")]
                raise NotFound("evaluation", evaluation_id, candidates=known)
        exact = [e for e in found if e.id == evaluation_id]
        if exact or len(found) == 1:
            return (exact or found)[0]
        raise InvalidInput(
            f"'{evaluation_id}' is the start of {len(found)} evaluation ids",
            hint="Give more of the id: " + ", ".join(e.id for e in found[:5]),
        )

    def list(self, model: str | None = None, version: int | None = None) -> list[Evaluation]:
        """Evaluations, newest first: all, of a model, or of one version."""
        where, params = "TRUE", builtins.list[Any]()
        if model is not None:
            names.validate("model name", model)
            where, params = "model = ?", [model]
            if version is not None:
                where, params = where + " AND version = ?", [model, version]
        with self._storage.transaction() as tx:
            return self._read(tx, where, params)

    def evaluations(self, model: str, version: int) -> builtins.list[Evaluation]:
        """A version's evaluations, newest first (for lineage views)."""
        return self.list(model, version)

    def latest(self, model: str, version: int) -> Evaluation | None:
        """A version's newest evaluation, or None."""
        found = self.list(model, version)
        return found[0] if found else None

    def _read(self, tx: Tx, where: str, params: builtins.list[Any]) -> builtins.list[Evaluation]:
        import json

        rows = tx.fetchall(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE {where} ORDER BY audit_seq DESC",
            params,
        )
        if not rows:
            return []
        ids = [row[0] for row in rows]
        rules: dict[str, list[Any]] = {}
        for evaluation_id, *rest in tx.fetchall(
            f"SELECT evaluation_id, {RULE_COLUMNS} FROM evaluation_rules "
            "WHERE list_contains(?, evaluation_id) ORDER BY evaluation_id, position",
            [ids],
        ):
            rules.setdefault(evaluation_id, []).append(rule_from_row(rest))
        files = {f.owner: f.path for f in tx.visible_files("evaluations", owners=ids)}
        now = datetime.now(UTC)
        in_force: dict[tuple[str, int], list[Waiver]] = {}
        out = []
        for row in rows:
            eid, model, version, created, by, task, n, dataset, used, champ, passed, m, res = row
            if (model, version) not in in_force:
                in_force[model, version] = gates.waivers(tx, model, version, now=now)
            out.append(
                Evaluation(
                    eid, model, version, created, by, task, n, json.loads(dataset),
                    tuple(json.loads(used)), champ, passed, dict(m), json.loads(res),
                    tuple(gates.with_waivers(rules.get(eid, []), in_force[model, version])),
                    files.get(eid),
                )
            )  # fmt: skip
        return out

    def slices(self, evaluation_id: str) -> pl.DataFrame | None:
        """The slice table of an evaluation (one row per slice and metric), hash checked;
        None when it had no slice columns."""
        import polars as pl

        evaluation = self.get(evaluation_id)
        if evaluation.slices_file is None:
            return None
        with self._storage.transaction() as tx:
            (datafile,) = tx.visible_files("evaluations", owners=[evaluation.id])
        self._storage.files.verify(datafile)
        return pl.read_parquet(self._storage.files.absolute(datafile.path))

    def report(self, evaluation_id: str, format: str = "html") -> str:
        """The evaluation as a self-contained HTML evidence bundle, Markdown or JSON."""
        from mlcore.evaluation.report import render

        evaluation = self.get(evaluation_id)
        version = self._models().get(evaluation.model, evaluation.version)
        return render(evaluation, self.slices(evaluation.id), version, format)

    # -- waivers -----------------------------------------------------------------------

    def waive(
        self,
        model: str,
        version: int,
        rule: str,
        justification: str,
        expires: datetime | timedelta,
        *,
        policy: str | None = None,
    ) -> Waiver:
        """Exempt one rule (``RULE`` or ``POLICY/RULE``) of a policy in force for one version.

        The waiver binds to the policy's current version and counts until ``expires``
        (a tz-aware time, or a duration from now). Permission ``evals.waive``; audited.
        """
        if not isinstance(justification, str) or not justification.strip():
            raise InvalidInput(
                "a waiver needs a justification", hint="Say why the rule may be waived",
                field="justification",
            )  # fmt: skip
        now = datetime.now(UTC)
        until = now + expires if isinstance(expires, timedelta) else expires
        if not isinstance(until, datetime) or until.tzinfo is None:
            raise InvalidInput(
                f"expiry {expires!r} is not a timezone-aware time",
                hint="Pass e.g. datetime(2025, 1, 31, tzinfo=UTC) or timedelta(days=30)",
                field="expires",
            )
        if until <= now:
            raise InvalidInput(f"expiry {until.isoformat()} is in the past", field="expires")
        if policy is None and "/" in rule:
            policy, rule = rule.split("/", 1)
        record = self._models().get(model, version)
        with self._storage.transaction() as tx:
            tx.require("evals.waive")
            target, target_rule = self._waivable(tx, record, rule, policy)
            waiver = Waiver(
                f"wv-{uuid.uuid4().hex[:12]}", record.name, record.version, target.name,
                target.version, target_rule, justification.strip(), until.astimezone(UTC), now,
                tx.actor,
            )  # fmt: skip
            seq = tx.audit(
                "evals.waive",
                record.subject,
                {
                    "waiver": waiver.id,
                    "policy": f"{target.name}/{target.version}",
                    "rule": target_rule,
                    "expires_at": waiver.expires_at.isoformat(),
                    "justification": waiver.justification,
                },
            )
            tx.execute(
                "INSERT INTO waivers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [*waiver.to_dict().values(), seq],
            )
        return waiver

    def _waivable(
        self, tx: Tx, record: Any, rule: str, policy: str | None
    ) -> tuple[PolicyVersion, str]:
        active = gates.active_policies(tx, record)
        if policy is not None:
            active = [p for p in active if p.name == policy]
            if not active:
                known = [p.name for p in gates.active_policies(tx, record)]
                raise NotFound(f"policy in force for {record.ref}", policy, candidates=known)
        matches = [(p, r) for p in active for r in p.policy.rules if r.id == rule]
        if not matches:
            known = [f"{p.name}/{r.id}" for p in active for r in p.policy.rules]
            near = [r.split("/", 1)[1] for r in known]
            raise NotFound(f"rule in force for {record.ref}", rule, candidates=near)
        if len(matches) > 1:
            raise InvalidInput(
                f"rule '{rule}' is in several policies in force: "
                + ", ".join(p.name for p, _ in matches),
                hint=f"Name one: POLICY/{rule}",
                field="rule",
            )
        target, found = matches[0]
        if found.kind == "approvals":
            raise InvalidInput(
                "approval rules cannot be waived: approvals are collected, not excused",
                field="rule",
            )
        return target, found.id

    def waivers(self, model: str, version: int) -> builtins.list[Waiver]:
        """Every waiver of a version, expired ones too, oldest first."""
        with self._storage.transaction() as tx:
            return gates.waivers(tx, model, version)

    # -- the release gate ----------------------------------------------------------------

    def gate(self, model: str, version: int | None = None) -> GateDecision:
        """Would a release of this version (default: the newest) pass the gate now?

        Read-only. Includes the approvals the registry checks at release.
        """
        import dataclasses

        from mlcore.registry.lifecycle import Approval, ApprovalRule

        models = self._models()
        record = models.get(model, version)
        with self._storage.transaction() as tx:
            decision = gates.decide(tx, record)
        rule = ApprovalRule(**decision.approvals) if decision.approvals else ApprovalRule()
        given = [
            Approval(e.actor, tuple(e.roles))
            for e in models.history(record.name)
            if e.kind == "version" and e.version == record.version and e.action == "approve"
        ]
        missing = tuple(rule.failures(given))
        return dataclasses.replace(decision, problems=decision.problems + missing)

    def release_requirements(self, version: Any, *, tx: Tx) -> ApprovalRule | None:
        """The registry's hook: the strictest approval rule of the policies in force."""
        return gates.requirement(gates.active_policies(tx, version))

    def check_release(self, version: Any, *, tx: Tx, evidence: str | None) -> str | None:
        """The registry's hook, inside the release transaction: raise GateFailed unless the
        version has a passing evaluation under every policy in force; return its id."""
        from mlcore.errors import GateFailed

        decision = gates.decide(tx, version, evidence=evidence)
        if decision.problems:
            ref = f"{version.name}:{version.version}"
            if decision.evaluation is None:
                hint = f"Evaluate it under the policies in force: mlcore eval run {ref} --data ..."
            else:
                hint = (
                    f"Fix the failures and evaluate again, or have a risk officer waive a "
                    f"rule: mlcore eval waive {ref} POLICY/RULE --reason ... --expires 30d"
                )
            raise GateFailed(version.subject, decision.problems, hint=hint)
        return decision.evaluation

    # -- wiring ----------------------------------------------------------------------------

    def _models(self) -> Any:
        models = capability(self._store, "models")
        if models is None:
            raise InvalidInput(
                "evaluations need the model registry: use store.evals of mlcore.open(...)"
            )
        return models

    def _features(self) -> Any:
        return capability(self._store, "features")


def _diff(current: PolicyVersion | None, new: Policy) -> PolicyDiff:
    if current is None:
        return diff_policies(None, new)
    return diff_policies(current.policy, new, current.version)


def _finite(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities (a Fisher odds ratio of a zero cell) as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value: Any) -> str:
    import json

    return json.dumps(_finite(value), sort_keys=True, default=str)
