"""Plain view models: what each screen shows, as frozen dataclasses of plain values.

:mod:`mlcore.tui.data` builds them from the Python API in a worker thread; the
screens only format them. Nothing here imports Textual or a capability, so a
test can hand a screen any state it wants.

A part of a view whose capability this store does not have yet is an
:class:`Unavailable` instead of its rows, so the screen can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias, TypeVar, Union

T = TypeVar("T")


@dataclass(frozen=True)
class Unavailable:
    """A capability (or one of its calls) this store does not offer yet.

    >>> print(Unavailable("monitoring", "mlcore.monitoring.monitors is not installed"))
    monitoring: not available in this store yet (mlcore.monitoring.monitors is not installed)
    """

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: not available in this store yet ({self.reason})"


#: A view part: its value, or why this store cannot provide it yet.
Part: TypeAlias = Union[T, Unavailable]  # noqa: UP007 - a generic alias needs Union


# -- store ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """The store's facts (``info()``) and whether its audit chain verifies."""

    path: str
    actor: str
    roles: tuple[str, ...]
    data_files: int
    data_rows: int
    data_bytes: int
    artifacts: int
    artifact_bytes: int
    audit_entries: int
    chain_ok: bool
    chain_head: str
    chain_problem: str | None
    schema: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class AuditPage:
    """The newest entries (newest first) and the chain's verification."""

    entries: tuple[AuditRow, ...]
    total: int
    chain_ok: bool
    chain_head: str
    chain_problem: str | None


# -- models ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRow:
    name: str
    versions: int
    latest: int
    latest_state: str
    production: int | None
    owner: str
    updated_at: datetime


@dataclass(frozen=True)
class VersionRow:
    model: str
    version: int
    state: str
    created_at: datetime
    created_by: str
    owner: str
    risk_tier: str | None
    metrics: dict[str, float]

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"


@dataclass(frozen=True)
class Production:
    version: int
    since: datetime
    by: str
    action: str
    reason: str | None
    evidence: str | None
    approved_by: tuple[str, ...]


@dataclass(frozen=True)
class ModelDetail:
    name: str
    created_at: datetime
    created_by: str
    production: Production | None
    pointers: dict[str, int]
    versions: tuple[VersionRow, ...]


@dataclass(frozen=True)
class TimelineEvent:
    """One lifecycle event or pointer move: who (with which roles), when, what, why."""

    seq: int
    at: datetime
    actor: str
    roles: tuple[str, ...]
    action: str
    change: str
    reason: str | None
    evidence: str | None


@dataclass(frozen=True)
class RuleResult:
    """One evaluation or gate rule: measured value against threshold, and what it means.

    ``status`` is pass, fail, waived, skipped or deferred; ``waiver`` says who
    waived a failed rule, until when and why.
    """

    rule: str
    value: Any
    threshold: Any
    status: str
    message: str = ""
    severity: str = ""
    citation: str = ""
    op: str | None = None
    waiver: str | None = None

    @property
    def blocking(self) -> bool:
        """A failure that stops a release (anything but a ``warn`` rule's)."""
        return self.status == "fail" and self.severity != "warn"


@dataclass(frozen=True)
class EvaluationView:
    """A version's newest evaluation: on what, under which policies, with what verdict."""

    id: str
    created_at: datetime
    created_by: str
    verdict: str
    rows: int
    dataset: str
    policies: tuple[str, ...]
    rules: tuple[RuleResult, ...]


@dataclass(frozen=True)
class WaiverRow:
    id: str
    rule: str
    justification: str
    expires_at: datetime
    created_by: str
    active: bool


@dataclass(frozen=True)
class GateView:
    """Would a release pass the gate now: the rules it judged and what blocks it."""

    passed: bool
    evaluation: str | None
    policies: tuple[str, ...]
    rules: tuple[RuleResult, ...]


@dataclass(frozen=True)
class VersionDetail:
    row: VersionRow
    card: dict[str, str | None]
    lineage: dict[str, Any]
    params: dict[str, Any]
    tags: dict[str, str]
    features: tuple[str, ...]
    inputs: tuple[tuple[str, str], ...]
    artifact: dict[str, Any]
    allowed: tuple[str, ...]
    timeline: tuple[TimelineEvent, ...]
    evaluation: Part[EvaluationView | None]
    waivers: Part[tuple[WaiverRow, ...]]
    gate: Part[GateView]


# -- features --------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureViewRow:
    name: str
    version: int
    entities: tuple[str, ...]
    features: int
    aggregations: int
    owner: str | None
    rows: int
    files: int
    description: str
    #: field names, tags and descriptions, so that the filter finds a view by them
    search: str = ""


@dataclass(frozen=True)
class FeatureStat:
    name: str
    dtype: str
    description: str
    count: int | None
    null_share: float | None
    distinct: int | None
    min: Any
    max: Any
    mean: float | None


@dataclass(frozen=True)
class FeatureDetail:
    row: FeatureViewRow
    join_keys: tuple[str, ...]
    event_timestamp: str
    ttl_s: float | None
    tags: dict[str, str]
    aggregations: tuple[str, ...]
    stats: tuple[FeatureStat, ...]
    oldest_event: str | None
    newest_event: str | None
    freshness_s: float | None
    versions: tuple[tuple[int, str, datetime | None, str | None], ...]
    online: str | None
    datasets: tuple[str, ...]
    used_by: Part[tuple[str, ...]]


# -- runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    id: str
    pipeline: str
    status: str
    started_at: datetime | None
    seconds: float | None
    steps: int
    cached: int
    failed: int


@dataclass(frozen=True)
class StepRow:
    name: str
    status: str
    seconds: float | None
    cache_hit: bool | None
    attempts: int
    error: str | None


@dataclass(frozen=True)
class LineageRow:
    """One link of a run's lineage: an input, a step output, a model version, an evaluation.

    ``sha256`` is the content hash of inputs and outputs; ``ref`` what Enter
    opens: ``model/version`` for versions and their evaluations.
    """

    kind: str
    name: str
    detail: str
    sha256: str | None = None
    ref: str | None = None


@dataclass(frozen=True)
class RunDetail:
    row: RunRow
    params: dict[str, Any]
    source: str | None
    resumed_from: str | None
    steps: tuple[StepRow, ...]
    lineage: Part[tuple[LineageRow, ...]] = ()


# -- monitoring ------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    """One alert: what breached, where, how badly, and what people and actions did about it."""

    id: int
    monitor: str
    rule: str
    severity: str
    status: str
    window: str
    statistic: str
    columns: tuple[str, ...]
    value: float | None
    threshold: float | None
    action: str | None
    note: str | None


@dataclass(frozen=True)
class MonitorRow:
    """A monitor and its newest window (None before any batch)."""

    name: str
    model: str | None
    window: str
    columns: tuple[str, ...]
    latest: str | None
    latest_rows: int
    drifted: tuple[str, ...] | None
    open_alerts: int


@dataclass(frozen=True)
class DriftCell:
    """One statistic of one column in one window; ``status`` ok, warn, drift or no_data.

    ``warn`` is past half the threshold (PSI's "watch" zone of 0.1 under its
    0.2 "act"), so a drift coming shows before it alerts.
    """

    statistic: str
    value: float | None
    threshold: float | None
    status: str
    alert: bool = False
    pvalue: float | None = None
    test_pvalue: float | None = None
    bound: float | None = None


@dataclass(frozen=True)
class WindowInfo:
    id: int
    label: str
    title: str
    rows: int
    labelled: int
    changes: int
    drift: bool
    drifted: tuple[str, ...]


@dataclass(frozen=True)
class PerformanceRow:
    """A window's performance: realised once labels arrived, else estimated (CBPE)."""

    window: str
    rows: int
    labelled: int
    source: str  # "labels", "estimated" or "" (nothing to show)
    metrics: dict[str, float]


@dataclass(frozen=True)
class MonitorDetail:
    """A monitor over its newest windows (oldest first).

    ``drift[column][statistic]`` holds one :class:`DriftCell` per window (None
    where the column has no such statistic), which is at once a row of the
    heat map and a sparkline.
    """

    row: MonitorRow
    facts: tuple[tuple[str, Any], ...]
    windows: tuple[WindowInfo, ...]
    statistics: tuple[str, ...]
    drift: dict[str, dict[str, tuple[DriftCell | None, ...]]]
    performance: tuple[PerformanceRow, ...]
    metrics: tuple[str, ...]
    alerts: tuple[AlertRow, ...]


@dataclass(frozen=True)
class DriftDetail:
    """Every statistic of one column in one window."""

    monitor: str
    column: str
    kind: str
    window: WindowInfo
    status: str
    pvalue: float | None
    cells: tuple[DriftCell, ...]


@dataclass(frozen=True)
class Monitoring:
    monitors: tuple[MonitorRow, ...]
    alerts: tuple[AlertRow, ...]


# -- overview --------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    health: Health
    production: Part[tuple[ModelRow, ...]]
    pending: Part[tuple[VersionRow, ...]]
    alerts: Part[tuple[AlertRow, ...]]
    runs: Part[tuple[RunRow, ...]]


# -- actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a verb acts on: a model version, a model, or an alert."""

    kind: str  # "version" | "model" | "alert"
    name: str
    version: int | None = None

    @property
    def label(self) -> str:
        """How dialogs and messages name the target.

        >>> Target("version", "churn", 3).label, Target("model", "churn").label
        ('churn/3', 'churn')
        >>> Target("alert", "12").label
        'alert 12'
        """
        if self.kind == "alert":
            return f"alert {self.name}"
        return f"{self.name}/{self.version}" if self.version is not None else self.name


@dataclass(frozen=True)
class ActionPreview:
    """What the confirmation dialog shows before a verb runs."""

    verb: str
    target: Target
    actor: str
    roles: tuple[str, ...]
    change: str
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    needs_reason: bool = False
    #: for a release: the gate's rules and what would block it now, None when not checked
    gate: tuple[RuleResult, ...] | None = None
    #: what the dialog's text field asks for (a reason, a comment); None: no field
    reason_label: str | None = "reason"
