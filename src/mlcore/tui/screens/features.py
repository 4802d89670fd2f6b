"""Features: feature views (filter finds them by feature, tag, owner) -> one view in full."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlcore.tui import format as fmt
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.viewmodels import Unavailable
from mlcore.tui.widgets import Row, RowsTable, Section

if TYPE_CHECKING:
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import FeatureDetail, FeatureViewRow

__all__ = ["FeatureScreen", "FeaturesScreen"]


class FeaturesScreen(ViewScreen):
    VIEW = "features"
    BINDINGS = bindings(VIEW)

    def body(self) -> ComposeResult:
        yield Section(
            "Feature views",
            ["view", "version", "entities", "features", "rows", "files", "owner"],
            id="views",
            empty="no feature views yet",
        )

    def fetch(self, data: DataAccess) -> tuple[FeatureViewRow, ...]:
        return data.features()

    def show(self, views: tuple[FeatureViewRow, ...]) -> None:
        self.query_one("#views", Section).show(
            [
                Row(
                    v.name,
                    (
                        v.name,
                        f"v{v.version}",
                        ", ".join(v.entities),
                        str(v.features + v.aggregations),
                        str(v.rows),
                        str(v.files),
                        v.owner or "-",
                    ),
                    search=v.search,
                )
                for v in views
            ]
        )

    def open_row(self, table: RowsTable, key: str) -> None:
        self.app.push_screen(FeatureScreen(key))


class FeatureScreen(ViewScreen):
    """One view: definition, data, freshness, per-feature statistics, versions, users."""

    VIEW = "feature"
    BINDINGS = bindings(VIEW)

    def __init__(self, name: str) -> None:
        super().__init__("Features", name)
        self.view_name = name

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail"):
            yield Static("", id="about", markup=False)
            yield Section(
                "Features",
                ["feature", "dtype", "nulls", "distinct", "min", "max", "mean"],
                id="stats",
            )
            yield Section("Versions", ["version", "status", "created (UTC)", "by"], id="versions")

    def fetch(self, data: DataAccess) -> FeatureDetail:
        return data.feature(self.view_name)

    def show(self, d: FeatureDetail) -> None:
        v = d.row
        used = d.used_by if isinstance(d.used_by, Unavailable) else ", ".join(d.used_by) or "none"
        self.query_one("#about", Static).update(
            fmt.facts(
                [
                    ("version", v.version),
                    ("description", v.description or None),
                    ("entities", f"{', '.join(v.entities)} (keys {', '.join(d.join_keys)})"),
                    ("event time", d.event_timestamp),
                    ("ttl", fmt.duration(d.ttl_s) if d.ttl_s is not None else "none"),
                    ("owner", v.owner),
                    ("tags", d.tags or None),
                    ("data", f"{v.rows} rows in {v.files} files"),
                    ("events", f"{fmt.when(d.oldest_event)} .. {fmt.when(d.newest_event)}"),
                    (
                        "freshness",
                        f"newest event {fmt.duration(d.freshness_s)} old"
                        if d.freshness_s is not None
                        else None,
                    ),
                    ("aggregations", "; ".join(d.aggregations) or None),
                    ("online", d.online),
                    ("datasets", ", ".join(d.datasets) or None),
                    ("used by", used),
                ]
            )
        )
        self.query_one("#stats", Section).show(
            [
                Row(
                    s.name,
                    (
                        s.name,
                        s.dtype,
                        "-" if s.null_share is None else f"{s.null_share:.1%}",
                        fmt.value(s.distinct),
                        fmt.value(s.min),
                        fmt.value(s.max),
                        fmt.value(s.mean),
                    ),
                    search=s.description,
                )
                for s in d.stats
            ]
        )
        self.query_one("#versions", Section).show(
            [
                Row(str(n), (f"v{n}", status, fmt.when(at), by or "-"))
                for n, status, at, by in reversed(d.versions)
            ]
        )
