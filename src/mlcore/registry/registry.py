"""The model registry on the store: ``store.models``.

Register versions (artifact, signature, lineage, card), move them through the
lifecycle (:mod:`mlcore.registry.lifecycle`), point named aliases at them,
answer who serves production since when and on what grounds, load and score.

Heavy work (serialising the model, inferring the signature, hashing code and
data) happens before the catalog is touched; each change is then one short
transaction that checks the permission, changes the state and appends the
audit entry together. Version numbers come from a per-model counter bumped in
that transaction, so they are consecutive and never reused even when several
processes register at once (the catalog serialises them).

Examples
--------
>>> import tempfile, mlcore, polars as pl
>>> from sklearn.linear_model import LogisticRegression
>>> store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="ana")
>>> train = pl.DataFrame({"age": [20.0, 35.0, 50.0, 65.0], "churned": [0, 0, 1, 1]})
>>> model = LogisticRegression().fit(train.select("age"), train["churned"])
>>> v1 = store.models.register("churn", model, training_data=train, metrics={"auc": 0.91})
>>> v1.ref, v1.state, v1.signature.columns
('churn/1', 'draft', ['age'])
>>> _ = store.models.submit("churn", 1)
>>> _ = store.grant("bob", "reviewer")
>>> store.as_actor("bob").models.approve("churn", 1).state
'approved'
>>> store.models.release("churn", 1, reason="first model").state
'production'
>>> store.models.score("churn", pl.DataFrame({"age": [30.0, 60.0]}))["prediction"].to_list()
[0, 1]
>>> store.close()
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.capabilities import capability
from mlcore.errors import (
    Conflict,
    GateFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    UntrustedArtifact,
)
from mlcore.registry import capture, lifecycle
from mlcore.registry.artifacts import deserialize, serialize, trusted_names
from mlcore.registry.lifecycle import Approval, State
from mlcore.registry.models import (
    VERSION_COLUMNS,
    HistoryEntry,
    ModelCard,
    ModelInfo,
    ModelSummary,
    ModelVersion,
    PointerMove,
    Production,
    VersionSummary,
    version_from_row,
)
from mlcore.registry.search import Query, summaries

if TYPE_CHECKING:
    import polars as pl

    from mlcore.store.storage import Storage, Tx

__all__ = ["PRODUCTION", "Registry"]

#: The pointer only release and rollback move.
PRODUCTION = "production"

_VERSION_COLUMNS = ", ".join(VERSION_COLUMNS)


class Registry:
    """Models and their versions in one store, seen by one actor.

    Parameters
    ----------
    storage
        The open store.
    hooks
        The :class:`mlcore.Store` (or any object) through which the registry
        reaches other capabilities: ``hooks.evals`` for the release gate,
        ``hooks.monitors`` for scoring logs, ``hooks.features`` for datasets and
        online features. Each is optional (see :func:`lifecycle.capability`).
    """

    def __init__(self, storage: Storage, hooks: Any = None) -> None:
        self._storage = storage
        self._hooks = hooks

    def __repr__(self) -> str:
        return f"<Registry of {self._storage.root} as {self._storage.actor!r}>"

    # -- registering -----------------------------------------------------------------

    def register(
        self,
        name: str,
        model: object,
        *,
        training_data: Any = None,
        dataset: str | Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        card: ModelCard | Mapping[str, Any] | None = None,
        trusted: Sequence[str | type] | None = None,
        pipeline_run: str | None = None,
        features: Sequence[str] | None = None,
        code: Sequence[object] | None = None,
        max_bytes: int | None = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name`` (created on first use), in draft.

        Parameters
        ----------
        name
            Model name (a letter, then letters, digits, ``_`` or ``-``).
        model
            A fitted scikit-learn estimator or Pipeline, or an object a
            registered :class:`~mlcore.registry.artifacts.Serializer` accepts.
        training_data
            The training frame (Polars, pandas, Arrow, or a Parquet/CSV path):
            the signature and an input example are inferred from it, and its
            sha256 is recorded.
        dataset
            A feature-store training dataset: its name (looked up through
            ``store.features.dataset(name)``) or its record as a dict
            (``name``, ``version``, ``sha256``, ``features``,
            ``definition_versions``...). Its features join ``features``.
        params, metrics, tags
            Training parameters (JSON-ready), metric values (finite numbers),
            tags (``{"team": "risk"}`` or ``["pii", "team=risk"]``).
        card
            :class:`ModelCard` fields: owner (default: you), description,
            intended_use, limitations, risk_tier (low, medium, high, critical).
        trusted
            Types the artifact may construct beyond the safe defaults (tree
            storage for tree ensembles): required when serialisation reports
            any, recorded for reviewers, and trusted again on load.
        pipeline_run
            The pipeline run that trained the model.
        features
            Feature references used (``view:feature`` or ``view:*``).
        code
            Functions, modules or paths whose source is the training code
            (default: the file that called ``register``).
        max_bytes
            Refuse artifacts larger than this (default: the ``max_artifact_bytes``
            setting, 2 GiB).

        Raises
        ------
        InvalidInput
            Bad names, values, unfitted or unserialisable models, oversized artifacts.
        UntrustedArtifact
            The artifact needs types not named in ``trusted``.
        PermissionDenied
            The actor may not register models.
        """
        from mlcore.registry.signature import infer_signature, input_example

        names.validate("model name", name)
        params_json = capture.json_object(params, "params")
        metric_map = capture.metric_values(metrics)
        tag_map = capture.tag_values(tags)
        model_card = ModelCard.from_value(card, owner=self._storage.actor)
        artifact = serialize(model, max_bytes=max_bytes)
        trusted_types = trusted_names(trusted)
        untrusted = sorted(set(artifact.untrusted_types) - set(trusted_types))
        if untrusted:
            raise UntrustedArtifact(untrusted)

        signature = example = frame = None
        if training_data is not None:
            from mlcore.frames import to_polars

            frame = to_polars(training_data, what="training data")
            signature = infer_signature(frame, model)
            example = input_example(frame, columns=signature.columns)
        lineage = capture.lineage(
            training_data=training_data,
            frame=frame,
            dataset=None if dataset is None else self._dataset(dataset),
            features=features,
            pipeline_run=pipeline_run,
            code=code,
        )
        refs = lineage["features"]

        now = datetime.now(UTC)
        # Write the artifact before taking the catalog: its fsync is most of the cost.
        sha, size = self._storage.blobs.write(artifact.data)
        with self._storage.transaction() as tx:
            tx.require("models.register")
            tx.register_blob(sha, size, media_type=f"application/x-{artifact.format}")
            (version,) = tx.fetchone(
                "INSERT INTO models VALUES (?, ?, ?, 1) ON CONFLICT (name) "
                "DO UPDATE SET last_version = last_version + 1 RETURNING last_version",
                [name, now, tx.actor],
            ) or (0,)
            record = ModelVersion(
                name=name,
                version=version,
                state=State.DRAFT.value,
                state_at=now,
                created_at=now,
                created_by=tx.actor,
                artifact_sha256=sha,
                artifact=artifact.metadata(),
                trusted=tuple(trusted_types),
                signature=signature,
                input_example=example,
                lineage=lineage,
                params=json.loads(params_json),
                metrics=metric_map,
                tags=tag_map,
                features=tuple(refs),
                card=model_card,
            )
            tx.execute(
                f"INSERT INTO model_versions ({_VERSION_COLUMNS}, owner, risk_tier) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, MAP(?::VARCHAR[], ?::DOUBLE[]), "
                "MAP(?::VARCHAR[], ?::VARCHAR[]), ?::VARCHAR[], ?, ?, ?)",
                [
                    name,
                    version,
                    record.state,
                    now,
                    now,
                    tx.actor,
                    sha,
                    capture.dumps(record.artifact),
                    list(trusted_types),
                    None if signature is None else capture.dumps(signature.to_dict()),
                    None if example is None else capture.dumps(example),
                    capture.dumps(lineage),
                    params_json,
                    list(metric_map),
                    list(metric_map.values()),
                    list(tag_map),
                    list(tag_map.values()),
                    list(refs),
                    capture.dumps(model_card.to_dict()),
                    model_card.owner,
                    model_card.risk_tier,
                ],
            )
            lifecycle.record_event(
                tx,
                record,
                "register",
                State.DRAFT,
                details={"sha256": sha, "trusted": trusted_types, "size": artifact.size},
                new=True,
            )
        return record

    def _dataset(self, dataset: str | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(dataset, str):
            lookup = getattr(capability(self._hooks, "features"), "dataset", None)
            if lookup is None:
                raise InvalidInput(
                    f"cannot look up dataset '{dataset}': no feature store is available here",
                    hint="Pass the dataset's record as a dict (name, version, sha256, features)",
                    field="dataset",
                )
            dataset = lookup(dataset)
        return capture.dataset_record(dataset)

    # -- lifecycle ---------------------------------------------------------------------

    def submit(self, name: str, version: int, *, reason: str | None = None) -> ModelVersion:
        """draft -> in_review: ask reviewers to look at the version."""
        return self._transition("submit", name, version, reason=reason)

    def approve(self, name: str, version: int, *, reason: str | None = None) -> ModelVersion:
        """Record an approval; the version is ``approved`` once the approval rule is met.

        The author of a version may not approve it (PermissionDenied, audited),
        nor may anyone approve twice.
        """
        return self._transition("approve", name, version, reason=reason)

    def reject(self, name: str, version: int, *, reason: str) -> ModelVersion:
        """in_review or approved -> rejected, with the reviewer's reason (not by the author)."""
        return self._transition("reject", name, version, reason=_required(reason, "reject"))

    def archive(self, name: str, version: int, *, reason: str | None = None) -> ModelVersion:
        """Retire a version that does not serve production (draft, in review, approved, rejected)."""
        return self._transition("archive", name, version, reason=reason)

    def _transition(
        self, action: str, name: str, version: int, *, reason: str | None
    ) -> ModelVersion:
        with self._storage.transaction() as tx:
            tx.require(f"models.{action}")
            record = self._version(tx, name, version)
            target = lifecycle.check(record.subject, action, record.state)
            if action in ("approve", "reject"):
                self._check_reviewer(tx, record, action)
            if action == "approve":
                approvals = lifecycle.approvals(tx, name, version)
                if any(a.actor == tx.actor for a in approvals):
                    raise Conflict(
                        f"{tx.actor} already approved {record.subject}",
                        hint="Another reviewer's approval is needed, if any is missing",
                    )
                mine = Approval(tx.actor, tuple(sorted(tx.roles())))
                rule = lifecycle.requirement(self._gate(), record, tx)
                if rule.failures([*approvals, mine]):
                    target = State(record.state)  # recorded, still waiting for more approvals
            return lifecycle.record_event(tx, record, action, target, reason=reason)

    def _check_reviewer(self, tx: Tx, record: ModelVersion, action: str) -> None:
        if record.created_by == tx.actor:
            raise PermissionDenied(
                tx.actor,
                f"{action} {record.subject}",
                reason="they registered it, and a version is reviewed by someone else",
                hint="Ask a reviewer, risk officer or admin who is not the author",
            )

    def release(
        self,
        name: str,
        version: int,
        *,
        reason: str | None = None,
        evidence: str | None = None,
    ) -> ModelVersion:
        """Move production to an approved version; the previous holder is archived atomically.

        In the same transaction: the permission, the version's state, the
        approvals the rule in force requires, and the evaluation gate
        (``hooks.evals.check_release``). A blocked release changes nothing,
        raises :class:`GateFailed` and is audited as ``models.release_blocked``.
        ``evidence`` names the evaluation relied on (the gate may supply it).
        """
        try:
            with self._storage.transaction() as tx:
                tx.require("models.release")
                record = self._version(tx, name, version)
                lifecycle.check(record.subject, "release", record.state)
                evidence = self._release_checks(tx, record, evidence)
                previous = lifecycle.pointer(tx, name, PRODUCTION)
                released = lifecycle.record_event(
                    tx, record, "release", State.PRODUCTION, reason, evidence
                )
                if previous is not None:
                    lifecycle.record_event(
                        tx,
                        self._version(tx, name, previous),
                        "archive",
                        State.ARCHIVED,
                        reason=f"replaced in production by version {version}",
                    )
                lifecycle.move_pointer(tx, name, PRODUCTION, "release", version, reason, evidence)
                return released
        except GateFailed as blocked:
            with self._storage.transaction() as tx:
                tx.audit(
                    "models.release_blocked",
                    f"model:{name}/{version}",
                    {"failures": blocked.failures},
                )
            raise

    def check_release(
        self, name: str, version: int, *, evidence: str | None = None
    ) -> list[dict[str, Any]]:
        """What would block releasing ``version`` now (an empty list: nothing); changes nothing.

        The same approval and gate checks as :meth:`release`, for a preview
        (``mlcore models release --check``, the TUI's confirmation). Raises
        InvalidTransition when the version is not approved.
        """
        with self._storage.transaction() as tx:
            record = self._version(tx, name, version)
            lifecycle.check(record.subject, "release", record.state)
            try:
                self._release_checks(tx, record, evidence)
            except GateFailed as blocked:
                return blocked.failures
        return []

    def _release_checks(self, tx: Tx, record: ModelVersion, evidence: str | None) -> str | None:
        """Approvals, then the evaluation gate; GateFailed blocks. Returns the evidence id."""
        gate = self._gate()
        rule = lifecycle.requirement(gate, record, tx)
        failures = rule.failures(lifecycle.approvals(tx, record.name, record.version))
        if failures:
            raise GateFailed(record.subject, failures, hint="Collect the missing approvals first")
        return lifecycle.run_gate(gate, record, tx, evidence)

    def rollback(self, name: str, *, reason: str, evidence: str | None = None) -> ModelVersion:
        """Restore the version production held before the current one, in one step.

        Rollbacks walk back through releases: after releasing 1, 2 and 3, a
        rollback restores 2 and a second one restores 1. The version rolled
        back from is archived. No gate runs: the restored version passed it
        when it was released. Returns the restored version.
        """
        reason = _required(reason, "roll back")
        with self._storage.transaction() as tx:
            tx.require("models.rollback")
            self._require_model(tx, name)
            chain: list[int] = []
            for action, to_version in tx.fetchall(
                "SELECT action, to_version FROM pointer_moves WHERE model = ? AND alias = ? "
                "ORDER BY audit_seq",
                [name, PRODUCTION],
            ):
                if action == "release":
                    chain.append(to_version)
                elif chain:
                    chain.pop()
            if len(chain) < 2:
                raise Conflict(
                    f"cannot roll back model:{name}: no earlier production version to restore",
                    hint="Release an approved version instead",
                )
            current, target = chain[-1], chain[-2]
            restored = self._version(tx, name, target)
            lifecycle.check(restored.subject, "rollback", restored.state)
            restored = lifecycle.record_event(
                tx, restored, "rollback", State.PRODUCTION, reason, evidence
            )
            lifecycle.record_event(
                tx,
                self._version(tx, name, current),
                "archive",
                State.ARCHIVED,
                reason=f"rolled back to version {target}: {reason}",
            )
            lifecycle.move_pointer(tx, name, PRODUCTION, "rollback", target, reason, evidence)
            return restored

    # -- aliases -----------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str | None = None
    ) -> PointerMove:
        """Point ``alias`` (staging, champion, challenger...) of ``name`` at ``version``.

        ``production`` moves only by :meth:`release` and :meth:`rollback`.
        Rejected and archived versions cannot be pointed at.
        """
        _check_alias(alias)
        with self._storage.transaction() as tx:
            tx.require("models.alias")
            record = self._version(tx, name, version)
            if record.state in (State.REJECTED, State.ARCHIVED):
                raise Conflict(
                    f"cannot point {alias} at {record.subject}: it is {record.state}",
                    hint="Point it at a draft, in-review, approved or production version",
                )
            return lifecycle.move_pointer(tx, name, alias, "alias", version, reason, None)

    def remove_alias(self, name: str, alias: str, *, reason: str | None = None) -> PointerMove:
        """Delete the pointer ``alias`` of ``name``."""
        _check_alias(alias)
        with self._storage.transaction() as tx:
            tx.require("models.alias")
            self._require_model(tx, name)
            if lifecycle.pointer(tx, name, alias) is None:
                known = [a for (a,) in tx.fetchall(_POINTER_NAMES, [name])]
                raise NotFound(
                    "alias", f"{name}@{alias}", candidates=[f"{name}@{a}" for a in known]
                )
            return lifecycle.move_pointer(tx, name, alias, "unalias", None, reason, None)

    # -- reading -----------------------------------------------------------------------

    def get(
        self, name: str, version: int | None = None, *, alias: str | None = None
    ) -> ModelVersion:
        """One version: by number, by alias, or (neither given) the newest."""
        with self._storage.transaction() as tx:
            if version is not None:
                return self._version(tx, name, version)
            if alias is not None:
                return self._resolve(tx, name, alias)
            latest = self._require_model(tx, name)
            return self._version(tx, name, latest)

    def resolve(
        self, name: str, version: int | None = None, *, alias: str = PRODUCTION
    ) -> ModelVersion:
        """The version ``version`` names, else the one ``alias`` points at."""
        return self.get(name, version) if version is not None else self.get(name, alias=alias)

    def resolve_ref(self, ref: str, *, alias: str = PRODUCTION) -> ModelVersion:
        """The version ``MODEL:VERSION`` names; for ``MODEL``, the one ``alias`` points at."""
        name, version = capture.parse_ref(ref)
        return self.resolve(name, version, alias=alias)

    def load(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str = PRODUCTION,
        trusted: Sequence[str | type] | None = None,
    ) -> Any:
        """The fitted model, rebuilt from its artifact after checking the artifact's sha256.

        Trusts the types the author declared at registration plus ``trusted``.

        Raises
        ------
        CorruptArtifact
            The stored bytes no longer match the recorded hash, or are missing.
        UntrustedArtifact
            The artifact needs types nobody trusted.
        """
        record = self.resolve(name, version, alias=alias)
        return self._load(record, trusted)

    def _load(self, record: ModelVersion, trusted: Sequence[str | type] | None = None) -> Any:
        data = self._storage.read_blob(record.artifact_sha256)
        return deserialize(
            data, record.artifact["format"], trusted=[*record.trusted, *(trusted or ())]
        )

    def list(self) -> list[ModelSummary]:
        """Every model: version count, newest version and its state, production version."""
        with self._storage.transaction() as tx:
            rows = tx.fetchall(
                "SELECT m.name, count(*), max(v.version), arg_max(v.state, v.version), "
                "p.version, arg_max(v.owner, v.version), max(v.state_at) "
                "FROM models m JOIN model_versions v ON v.model = m.name "
                "LEFT JOIN model_pointers p ON p.model = m.name AND p.alias = ? "
                "GROUP BY m.name, p.version ORDER BY m.name",
                [PRODUCTION],
            )
        return [ModelSummary(*row) for row in rows]

    def versions(self, name: str) -> builtins.list[VersionSummary]:
        """Every version of ``name``, oldest first."""
        with self._storage.transaction() as tx:
            self._require_model(tx, name)
            return summaries(tx, Query(name=name))

    def search(
        self,
        text: str | None = None,
        *,
        name: str | None = None,
        tags: Mapping[str, str | None] | Sequence[str] | str | None = None,
        state: str | Sequence[str] | None = None,
        owner: str | None = None,
        metrics: Mapping[str, tuple[float | None, float | None]]
        | Sequence[str]
        | str
        | None = None,
        feature: str | None = None,
        pipeline_run: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[VersionSummary]:
        """Versions matching every condition given (see :mod:`mlcore.registry.search`).

        ``text`` is found in model names and card descriptions; ``name`` may use
        ``*``; ``tags`` as ``"key"``/``"key=value"``; ``metrics`` as
        ``"auc>=0.8"`` or ``{"auc": (0.8, None)}``; ``feature`` a view or
        ``view:feature``; ``pipeline_run`` the run that trained the version.
        """
        query = Query.build(
            name=name,
            text=text,
            tags=tags,
            state=state,
            owner=owner,
            metrics=metrics,
            feature=feature,
            pipeline_run=pipeline_run,
        )
        with self._storage.transaction() as tx:
            return summaries(tx, query, limit=limit)

    def using_features(self, refs: str | Sequence[str]) -> builtins.list[tuple[str, int]]:
        """(model, version) pairs whose lineage records any of ``refs`` (views or
        ``view:feature``), by model and version; for the feature store's discovery."""
        found: set[tuple[str, int]] = set()
        for ref in [refs] if isinstance(refs, str) else refs:
            found.update((v.name, v.version) for v in self.search(feature=ref))
        return sorted(found)

    def show(self, name: str) -> ModelInfo:
        """Which version serves production, since when, released and approved by whom, on
        what evidence; the other pointers; every version."""
        with self._storage.transaction() as tx:
            self._require_model(tx, name)
            created_at, created_by = tx.fetchone(
                "SELECT created_at, created_by FROM models WHERE name = ?", [name]
            ) or (None, "")
            pointers = {
                alias: {"version": version, "since": since, "moved_by": by}
                for alias, version, since, by in tx.fetchall(
                    "SELECT alias, version, since, moved_by FROM model_pointers "
                    "WHERE model = ? ORDER BY alias",
                    [name],
                )
            }
            production = None
            if PRODUCTION in pointers:
                version = pointers[PRODUCTION]["version"]
                action, at, by, reason, evidence = tx.fetchone(
                    "SELECT action, moved_at, moved_by, reason, evidence FROM pointer_moves "
                    "WHERE model = ? AND alias = ? ORDER BY audit_seq DESC LIMIT 1",
                    [name, PRODUCTION],
                ) or (None, None, None, None, None)
                production = Production(
                    version=version,
                    since=at,
                    released_by=by,
                    action=action,
                    reason=reason,
                    evidence=evidence,
                    approvals=tuple(a.to_dict() for a in lifecycle.approvals(tx, name, version)),
                )
            versions = summaries(tx, Query(name=name))
        return ModelInfo(name, created_at, created_by, production, pointers, tuple(versions))

    def history(self, name: str) -> builtins.list[HistoryEntry]:
        """The timeline of ``name``: every lifecycle event and pointer move, in order."""
        with self._storage.transaction() as tx:
            self._require_model(tx, name)
            events = [
                HistoryEntry(
                    seq,
                    at,
                    actor,
                    "version",
                    action,
                    version,
                    src,
                    dst,
                    roles=tuple(roles),
                    reason=reason,
                    evidence=evidence,
                )
                for seq, at, actor, action, version, src, dst, roles, reason, evidence in tx.fetchall(
                    "SELECT audit_seq, acted_at, actor, action, version, from_state, to_state, "
                    "roles, reason, evidence FROM model_events WHERE model = ?",
                    [name],
                )
            ]
            moves = [
                HistoryEntry(
                    m.seq,
                    m.at,
                    m.actor,
                    "pointer",
                    m.action,
                    alias=m.alias,
                    from_version=m.from_version,
                    to_version=m.to_version,
                    reason=m.reason,
                    evidence=m.evidence,
                )
                for m in lifecycle.pointer_moves(tx, name)
            ]
        return sorted(events + moves, key=lambda e: e.seq)

    def pointer_history(self, name: str, alias: str = PRODUCTION) -> builtins.list[PointerMove]:
        """Every move of one pointer, oldest first: which version served, from when, by whom."""
        with self._storage.transaction() as tx:
            self._require_model(tx, name)
            return [m for m in lifecycle.pointer_moves(tx, name) if m.alias == alias]

    # -- scoring -----------------------------------------------------------------------

    def predict(
        self,
        name: str,
        data: Any,
        *,
        version: int | None = None,
        alias: str = PRODUCTION,
        entity_features: Sequence[str] | None = None,
        passthrough: Sequence[str] | None = None,
        trusted: Sequence[str | type] | None = None,
    ) -> pl.DataFrame:
        """Predictions of a version, writing and logging nothing: see
        :func:`mlcore.registry.scoring.predict`."""
        from mlcore.registry.scoring import predict

        return predict(
            self,
            name,
            data,
            alias=alias,
            version=version,
            entity_features=entity_features,
            passthrough=passthrough,
            trusted=trusted,
        )

    def score(
        self,
        name: str,
        data: Any,
        *,
        alias: str = PRODUCTION,
        version: int | None = None,
        out: str | os.PathLike[str] | None = None,
        entity_features: Sequence[str] | None = None,
        passthrough: Sequence[str] | None = None,
        trusted: Sequence[str | type] | None = None,
    ) -> pl.DataFrame:
        """Score a batch with a version (:meth:`predict`, then ``out`` written and the
        batch logged to the model's monitor): see :func:`mlcore.registry.scoring.score`."""
        from mlcore.registry.scoring import score

        return score(
            self,
            name,
            data,
            alias=alias,
            version=version,
            out=out,
            entity_features=entity_features,
            passthrough=passthrough,
            trusted=trusted,
        )

    # -- internals -----------------------------------------------------------------------

    def _gate(self) -> Any | None:
        return capability(self._hooks, "evals")

    def _require_model(self, tx: Tx, name: str) -> int:
        """The model's newest version number; NotFound (did you mean) if no such model."""
        row = tx.fetchone("SELECT last_version FROM models WHERE name = ?", [name])
        if row is None:
            names.validate("model name", name)
            known = [n for (n,) in tx.fetchall("SELECT name FROM models")]
            raise NotFound("model", name, candidates=known)
        return int(row[0])

    def _version(self, tx: Tx, name: str, version: int) -> ModelVersion:
        number = capture.version_number(version)
        rows = tx.fetchall(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE model = ? AND version = ?",
            [name, number],
        )
        if not rows:
            latest = self._require_model(tx, name)
            raise NotFound(
                "model version",
                f"{name}/{number}",
                hint=f"{name} has versions 1 to {latest}" if latest else None,
            )
        return version_from_row(rows[0])

    def _resolve(self, tx: Tx, name: str, alias: str) -> ModelVersion:
        rows = tx.fetchall(
            f"SELECT {', '.join('v.' + c for c in VERSION_COLUMNS)} "
            "FROM model_pointers p JOIN model_versions v "
            "ON v.model = p.model AND v.version = p.version WHERE p.model = ? AND p.alias = ?",
            [name, alias],
        )
        if rows:
            return version_from_row(rows[0])
        self._require_model(tx, name)
        known = [a for (a,) in tx.fetchall(_POINTER_NAMES, [name])]
        hint = None
        if alias == PRODUCTION and PRODUCTION not in known:
            hint = f"No version of {name} is in production yet; release one, or name a version"
        raise NotFound(
            "alias", f"{name}@{alias}", candidates=[f"{name}@{a}" for a in known], hint=hint
        )


_POINTER_NAMES = "SELECT alias FROM model_pointers WHERE model = ? ORDER BY alias"


def _required(reason: str | None, action: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(
            f"to {action} needs a reason", hint="Say why, e.g. reason='...'", field="reason"
        )
    return reason.strip()


def _check_alias(alias: str) -> None:
    names.validate("alias", alias)
    if alias == PRODUCTION:
        raise InvalidInput(
            "the production pointer moves only by release and rollback",
            hint="Use release (or rollback) to change what serves production",
            field="alias",
        )
