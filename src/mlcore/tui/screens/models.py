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
from mlcore.tui.widgets import Cell, Row, RowsTable, Section

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import ModelDetail, ModelRow, VersionDetail, VersionRow

__all__ = ["ModelScreen", "ModelsScreen", "VersionScreen", "state_cell", "version_rows"]

_STATE_TONES = {
    "production": "ok",
    "approved": "accent",
    "in_review": "warn",
    "rejected": "bad",
    "archived": "muted",
}
_VERSION_VERBS = ("submit", "approve", "reject", "release")
_RULE_TONES = {"pass": "ok", "waived": "accent", "warn": "warn"}


def state_cell(state: str) -> Cell:
    tone = _STATE_TONES.get(state)
    return (state, tone) if tone else state


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
        yield Static("", id="production", markup=False)
        yield Section(
            "Versions",
            ["version", "state", "registered (UTC)", "by", "risk"],
            id="versions",
        )

    def fetch(self, data: DataAccess) -> ModelDetail:
        return data.model(self.model_name)

    def show(self, m: ModelDetail) -> None:
        p = m.production
        lines = [("production", "none")]
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
        self.query_one("#production", Static).update(fmt.facts(lines))
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
    """One version: state, card, metrics, signature, lineage, evaluation per rule, timeline."""

    VIEW = "version"
    BINDINGS = bindings(VIEW)

    def __init__(self, name: str, version: int) -> None:
        super().__init__("Models", name, f"v{version}")
        self.model_name = name
        self.version = version

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="about", markup=False)
            yield Section(
                "Evaluation",
                ["rule", "value", "threshold", "status"],
                id="evaluation",
                empty="not evaluated yet",
            )
            yield Section(
                "Lifecycle",
                ["when (UTC)", "who", "action", "change", "why"],
                id="timeline",
            )
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
                    ("owner", card.get("owner")),
                    ("risk tier", card.get("risk_tier")),
                    ("description", card.get("description") or None),
                    ("intended use", card.get("intended_use") or None),
                    ("limitations", card.get("limitations") or None),
                    ("metrics", _metrics(v.metrics, 99) or None),
                    ("params", d.params or None),
                    ("tags", d.tags or None),
                    ("inputs", ", ".join(f"{n}:{t}" for n, t in d.inputs) or None),
                    ("model", d.artifact.get("class_name") or d.artifact.get("estimator_type")),
                ]
            )
        )
        self.query_one("#evaluation", Section).show(
            d.evaluation
            if isinstance(d.evaluation, Unavailable)
            else [
                Row(
                    r.rule,
                    (
                        r.rule,
                        fmt.value(r.value),
                        fmt.value(r.threshold),
                        (r.status, _RULE_TONES.get(r.status, "bad")),
                    ),
                    search=r.message,
                )
                for r in d.evaluation
            ]
        )
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

    def target(self, verb: str) -> Target | None:
        if verb == "rollback":
            return Target("model", self.model_name)
        return Target("version", self.model_name, self.version) if verb in _VERSION_VERBS else None
