"""What the registry returns: model versions, their cards, pointers, and the timeline.

These are plain frozen records, built from catalog rows and turned into JSON
with ``to_dict()`` (the CLI's ``--json``). A :class:`ModelVersion` is the full
immutable record of one version; a :class:`VersionSummary` is the light row
that listings and search return, cheap enough for thousands at a time.

Examples
--------
>>> card = ModelCard.from_value({"description": "Churn in 30 days", "risk_tier": "high"}, owner="ana")
>>> card.owner, card.risk_tier
('ana', 'high')
>>> ModelCard.from_value({"risk_tier": "extreme"}, owner="ana")
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: risk tier 'extreme' is not one of low, medium, high, critical. Choose the tier your model risk policy assigns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, did_you_mean

if TYPE_CHECKING:
    from mlcore.registry.signature import Signature

__all__ = [
    "RISK_TIERS",
    "VERSION_COLUMNS",
    "HistoryEntry",
    "ModelCard",
    "ModelInfo",
    "ModelSummary",
    "ModelVersion",
    "PointerMove",
    "Production",
    "VersionSummary",
    "version_from_row",
]

#: Columns of ``model_versions`` that make a :class:`ModelVersion`, in order.
VERSION_COLUMNS: tuple[str, ...] = (
    "model",
    "version",
    "state",
    "state_at",
    "created_at",
    "created_by",
    "artifact_sha256",
    "artifact",
    "trusted",
    "signature",
    "input_example",
    "lineage",
    "params",
    "metrics",
    "tags",
    "features",
    "card",
)

#: Risk tiers a model card may carry, lowest first (as in model risk policies such
#: as SR 11-7 tiering or the EU AI Act's minimal/limited/high levels, mapped to four).
RISK_TIERS: tuple[str, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class ModelCard:
    """The human description of a version, fixed when it is registered.

    ``owner`` answers for the model (default: the registering actor);
    ``risk_tier`` is one of :data:`RISK_TIERS` or None when not assessed.
    """

    owner: str
    description: str = ""
    intended_use: str = ""
    limitations: str = ""
    risk_tier: str | None = None

    @classmethod
    def from_value(cls, value: ModelCard | Mapping[str, Any] | None, *, owner: str) -> ModelCard:
        """A card from a ModelCard, a dict of its fields, or None (owner only)."""
        if isinstance(value, ModelCard):
            card = value
        else:
            data = dict(value or {})
            known = [f.name for f in fields(cls)]
            for key in data:
                if key not in known:
                    raise InvalidInput(
                        f"model card has no field '{key}'",
                        hint=did_you_mean(key, known, f"Fields: {', '.join(known)}"),
                        field="card",
                    )
            for key, text in data.items():
                if text is not None and not isinstance(text, str):
                    raise InvalidInput(f"model card field '{key}' must be text", field="card")
            data["owner"] = data.get("owner") or owner
            card = cls(**{k: v for k, v in data.items() if v is not None})
        if card.risk_tier is not None and card.risk_tier not in RISK_TIERS:
            raise InvalidInput(
                f"risk tier '{card.risk_tier}' is not one of {', '.join(RISK_TIERS)}",
                hint="Choose the tier your model risk policy assigns",
                field="risk_tier",
            )
        return card

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VersionSummary:
    """One version as listings and search show it."""

    name: str
    version: int
    state: str
    created_at: datetime
    created_by: str
    owner: str
    risk_tier: str | None
    metrics: dict[str, float]
    tags: dict[str, str]
    features: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["features"] = list(self.features)
        return out


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version: artifact, signature, lineage, card; and its current state.

    ``created_by`` is the author (who registered it, and who may not approve
    it). ``artifact`` is the serializer's metadata (format, framework and
    library versions, estimator type, class, size, untrusted types);
    ``trusted`` the types the author declared trusted at registration, which
    loading trusts too.
    """

    name: str
    version: int
    state: str
    state_at: datetime
    created_at: datetime
    created_by: str
    artifact_sha256: str
    artifact: dict[str, Any]
    trusted: tuple[str, ...]
    signature: Signature | None
    input_example: list[dict[str, Any]] | None
    lineage: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    features: tuple[str, ...]
    card: ModelCard

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def subject(self) -> str:
        """The audit subject of this version, ``model:<name>/<version>``."""
        return f"model:{self.ref}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "state": self.state,
            "state_at": self.state_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "artifact_sha256": self.artifact_sha256,
            "artifact": self.artifact,
            "trusted": list(self.trusted),
            "signature": None if self.signature is None else self.signature.to_dict(),
            "input_example": self.input_example,
            "lineage": self.lineage,
            "params": self.params,
            "metrics": self.metrics,
            "tags": self.tags,
            "features": list(self.features),
            "card": self.card.to_dict(),
        }


@dataclass(frozen=True)
class PointerMove:
    """A named pointer (``production``, ``staging``...) moved from one version to another.

    ``from_version`` is None when the pointer is created, ``to_version`` None
    when it is removed. ``seq`` is the audit entry recording the move.
    """

    seq: int
    name: str
    alias: str
    action: str
    from_version: int | None
    to_version: int | None
    at: datetime
    actor: str
    reason: str | None = None
    evidence: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a model's timeline: a lifecycle event or a pointer move.

    ``kind`` is ``"version"`` (``version``, ``from_state``, ``to_state`` set) or
    ``"pointer"`` (``alias``, ``from_version``, ``to_version`` set).
    """

    seq: int
    at: datetime
    actor: str
    kind: str
    action: str
    version: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    alias: str | None = None
    from_version: int | None = None
    to_version: int | None = None
    reason: str | None = None
    evidence: str | None = None
    roles: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["roles"] = list(self.roles)
        return out


@dataclass(frozen=True)
class Production:
    """Who serves production and on what grounds.

    ``since``/``released_by``/``reason`` come from the move that put
    ``version`` there (a release or a rollback), ``evidence`` is the
    evaluation (or other record) that release relied on, ``approvals`` the
    approvals the version collected (actor, roles, at, reason).
    """

    version: int
    since: datetime
    released_by: str
    action: str
    reason: str | None
    evidence: str | None
    approvals: tuple[dict[str, Any], ...] = ()

    @property
    def approved_by(self) -> list[str]:
        return [a["actor"] for a in self.approvals]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["approvals"] = list(self.approvals)
        out["approved_by"] = self.approved_by
        return out


@dataclass(frozen=True)
class ModelSummary:
    """One model in ``list()``: its newest version and what serves production."""

    name: str
    versions: int
    latest_version: int
    latest_state: str
    production: int | None
    owner: str
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelInfo:
    """Everything ``models show`` answers for one model."""

    name: str
    created_at: datetime
    created_by: str
    production: Production | None
    pointers: dict[str, dict[str, Any]]
    versions: tuple[VersionSummary, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "production": None if self.production is None else self.production.to_dict(),
            "pointers": self.pointers,
            "versions": [v.to_dict() for v in self.versions],
        }


def version_from_row(row: Sequence[Any]) -> ModelVersion:
    """A :class:`ModelVersion` from a catalog row, columns in :data:`VERSION_COLUMNS` order."""
    from mlcore.registry.signature import Signature

    values = dict(zip(VERSION_COLUMNS, row, strict=True))
    signature, example = values["signature"], values["input_example"]
    return ModelVersion(
        name=values["model"],
        version=values["version"],
        state=values["state"],
        state_at=values["state_at"],
        created_at=values["created_at"],
        created_by=values["created_by"],
        artifact_sha256=values["artifact_sha256"],
        artifact=json.loads(values["artifact"]),
        trusted=tuple(values["trusted"]),
        signature=None if signature is None else Signature.from_dict(json.loads(signature)),
        input_example=None if example is None else json.loads(example),
        lineage=json.loads(values["lineage"]),
        params=json.loads(values["params"]),
        metrics=dict(values["metrics"]),
        tags=dict(values["tags"]),
        features=tuple(values["features"]),
        card=ModelCard(**json.loads(values["card"])),
    )
