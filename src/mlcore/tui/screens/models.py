"""Models: models -> their versions -> one version's card, lineage, evaluation, timeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlcore.tui import format as fmt
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.viewmodels import Target, Unavailable
from mlcore.tui.widgets import Cell, Row, RowsTable, Section, toned

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import (
        GateView,
        ModelDetail,
        ModelRow,
        Part,
        RuleResult,
        VersionDetail,
        VersionRow,
    )

__all__ = [
    "ModelScreen",
    "ModelsScreen",
    "VersionScreen",
    "gate_line",
    "rule_rows",
    "state_cell",
    "version_rows",
]

_STATE_TONES = {
    "production": "ok",
    "approved": "accent",
    "in_review": "warn",
    "rejected": "bad",
    "archived": "muted",
}
_VERSION_VERBS = ("submit", "approve", "reject", "release")
_RULE_TONES = {"pass": "ok", "waived": "accent", "skipped": "muted", "deferred": "muted"}


def state_cell(state: str) -> Cell:
    return toned(state, _STATE_TONES)


def _metrics(metrics: dict[str, float], limit: int = 2) -> str:
    return " ".join(f"{k}={fmt.value(v)}" for k, v in list(metrics.items())[:limit])


def version_rows(versions: Iterable[VersionRow]) -> list[Row]:
    """One row per version, keyed ``name/version``."""
    return [
        Row(
            v.ref,
            (v.ref, state_cell(v.state), fmt.when(v.created_at), v.created_by, v.risk_tier or "-"),
            search=f"{v.owner} {_metrics(v.metrics, 99)}",
        )
        for v in versions
    ]


def rule_rows(rules: Iterable[RuleResult]) -> list[Row]:
    """One row per rule: value, threshold, status (a failed warn rule is a warning), why."""
    rows = []
    for r in rules:
        tone = _RULE_TONES.get(r.status, "bad" if r.blocking else "warn")
        threshold = fmt.value(r.threshold)
        if r.op and r.threshold is not None:
            threshold = f"{r.op} {threshold}"
        rows.append(
            Row(
                r.rule,
                (
                    r.rule,
                    fmt.value(r.value),
                    threshold,
                    (r.status or "?", tone),
                    r.severity or "-",
                    r.citation or "-",
                    r.waiver or "",
                ),
                search=r.message,
            )
        )
    return rows


def gate_line(gate: Part[GateView]) -> tuple[str, str]:
    """What the release gate would say now, on one line, and its tone."""
    if isinstance(gate, Unavailable):
        return f"release gate: {gate}", "muted"
    under = ", ".join(gate.policies) or "no policy"
    if gate.passed:
        return f"release gate: pass now, on evaluation {gate.evaluation or '-'} under {under}", "ok"
    blocking = "; ".join(
        r.rule + (f" ({r.message})" if r.message else "") for r in gate.rules if r.blocking
    )
    return f"release gate: blocked now by {blocking}", "bad"


def _version_key(key: str | None) -> tuple[str, int] | None:
    if key is None:
        return None
    name, _, version = key.rpartition("/")
    return name, int(version)


class ModelsScreen(ViewScreen):
    VIEW = "models"
    BINDINGS = bindings(VIEW)

    def body(self) -> ComposeResult:
        yield Section(
            "Models",
            ["model", "versions", "latest", "state", "production", "owner", "updated (UTC)"],
            id="models",
            empty="no models registered yet",
        )

    def fetch(self, data: DataAccess) -> tuple[ModelRow, ...]:
        return data.models()

    def show(self, models: tuple[ModelRow, ...]) -> None:
        self.query_one("#models", Section).show(
            [
                Row(
                    m.name,
                    (
                        m.name,
                        str(m.versions),
                        f"v{m.latest}",
                        state_cell(m.latest_state),
                        (f"v{m.production}", "ok") if m.production is not None else ("-", "muted"),
                        m.owner,
                        fmt.when(m.updated_at),
                    ),
                )
                for m in models
            ]
        )

    def open_row(self, table: RowsTable, key: str) -> None:
        self.app.push_screen(ModelScreen(key))

    def target(self, verb: str) -> Target | None:
        key = self.query_one("#models", Section).table.selected_key
        return Target("model", key) if verb == "rollback" and key else None


class ModelScreen(ViewScreen):
    """One model: who serves production and on what grounds, its pointers and versions."""

    VIEW = "model"
    BINDINGS = bindings(VIEW)

    def __init__(self, name: str) -> None:
        super().__init__("Models", name)
        self.model_name = name

    def body(self) -> ComposeResult:
        yield Static("", id="serving", markup=False)
        yield Section(
            "Versions",
            ["version", "state", "registered (UTC)", "by", "risk"],
            id="versions",
        )

    def fetch(self, data: DataAccess) -> ModelDetail:
        return data.model(self.model_name)

    def show(self, m: ModelDetail) -> None:
        p = m.production
        lines: list[tuple[str, str | None]] = [("production", "none")]
        if p is not None:
            lines = [
                ("production", f"v{p.version} since {fmt.when(p.since)} ({p.action} by {p.by})"),
                ("why", p.reason),
                ("approved by", ", ".join(p.approved_by) or None),
                ("evidence", p.evidence),
            ]
        others = {a: v for a, v in m.pointers.items() if a != "production"}
        if others:
            lines.append(("aliases", ", ".join(f"{a} -> v{v}" for a, v in others.items())))
        self.query_one("#serving", Static).update(fmt.facts(lines))
        self.query_one("#versions", Section).show(version_rows(reversed(m.versions)))

    def open_row(self, table: RowsTable, key: str) -> None:
        name, version = _version_key(key) or (self.model_name, 0)
        self.app.push_screen(VersionScreen(name, version))

    def target(self, verb: str) -> Target | None:
        if verb == "rollback":
            return Target("model", self.model_name)
        found = _version_key(self.query_one("#versions", Section).table.selected_key)
        return None if found is None else Target("version", *found)


class VersionScreen(ViewScreen):
    """One version: state and what may come next, the release gate now, the newest
    evaluation per rule, waivers, the lifecycle timeline, then the card and lineage."""

    VIEW = "version"
    BINDINGS = bindings(VIEW)

    def __init__(self, name: str, version: int) -> None:
        super().__init__("Models", name, f"v{version}")
        self.model_name = name
        self.version = version

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="about", markup=False)
            yield Static("", id="gate", markup=False)
            yield Section(
                "Evaluation",
                ["rule", "value", "threshold", "status", "severity", "citation", "waiver"],
                id="evaluation",
                empty="not evaluated yet",
            )
            yield Section(
                "Waivers",
                ["waiver", "rule", "by", "until (UTC)", "in force", "why"],
                id="waivers",
                empty="no waivers",
            )
            yield Section(
                "Lifecycle",
                ["when (UTC)", "who", "action", "change", "why"],
                id="timeline",
            )
            yield Static("Card", id="card-title", classes="section-title", markup=False)
            yield Static("", id="card", markup=False)
            yield Static("", id="lineage", markup=False)

    def fetch(self, data: DataAccess) -> VersionDetail:
        return data.version(self.model_name, self.version)

    def show(self, d: VersionDetail) -> None:
        v, card = d.row, d.card
        self.query_one("#about", Static).update(
            fmt.facts(
                [
                    ("state", v.state),
                    ("next", ", ".join(d.allowed) or "nothing"),
                    ("registered", f"{fmt.when(v.created_at)} by {v.created_by}"),
                    ("metrics", _metrics(v.metrics, 99) or None),
                ]
            )
        )
        self.query_one("#card", Static).update(
            fmt.facts(
                [
                    ("owner", card.get("owner")),
                    ("risk tier", card.get("risk_tier")),
                    ("description", card.get("description") or None),
                    ("intended use", card.get("intended_use") or None),
                    ("limitations", card.get("limitations") or None),
                    ("params", d.params or None),
                    ("tags", d.tags or None),
                    ("inputs", ", ".join(f"{n}:{t}" for n, t in d.inputs) or None),
                    ("model", d.artifact.get("class_name") or d.artifact.get("estimator_type")),
                ]
            )
        )
        text, tone = gate_line(d.gate)
        gate = self.query_one("#gate", Static)
        gate.update(text)
        gate.set_classes(tone)
        self._show_evaluation(d)
        self.query_one("#timeline", Section).show(
            [
                Row(
                    str(e.seq),
                    (
                        fmt.when(e.at),
                        f"{e.actor} ({', '.join(e.roles)})" if e.roles else e.actor,
                        e.action,
                        e.change,
                        e.reason or "",
                    ),
                    search=e.evidence or "",
                )
                for e in d.timeline
            ]
        )
        self.query_one("#lineage", Static).update(
            "Lineage\n" + fmt.facts(fmt.flatten(d.lineage)) if d.lineage else "Lineage  -"
        )

    def _show_evaluation(self, d: VersionDetail) -> None:
        section = self.query_one("#evaluation", Section)
        title = "Evaluation"
        e = d.evaluation
        if isinstance(e, Unavailable) or e is None:
            section.show(e or [])
        else:
            title = (
                f"Evaluation {e.id}: {e.verdict} under {', '.join(e.policies) or 'no policy'}; "
                f"{e.rows} rows of {e.dataset}, by {e.created_by} at {fmt.when(e.created_at)}"
            )
            section.show(rule_rows(e.rules))
        section.query_one(".section-title", Static).update(title)
        w = d.waivers
        self.query_one("#waivers", Section).show(
            w
            if isinstance(w, Unavailable)
            else [
                Row(
                    x.id,
                    (
                        x.id,
                        x.rule,
                        x.created_by,
                        fmt.when(x.expires_at),
                        ("yes", "accent") if x.active else ("expired", "muted"),
                        x.justification,
                    ),
                )
                for x in w
            ]
        )

    def target(self, verb: str) -> Target | None:
        if verb == "rollback":
            return Target("model", self.model_name)
        return Target("version", self.model_name, self.version) if verb in _VERSION_VERBS else None
