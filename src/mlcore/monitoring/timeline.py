"""A monitor's windows over time: drift and performance per window, and the drift matrix.

Everything here is computed from what the catalog stores — the reference
profile, its calibration and the window summaries — never from the production
rows, so a report can be rebuilt at any later time and gives the same numbers.

Per window, a :class:`WindowReport` holds the :class:`DriftReport` of the
window against the reference, the realised performance over its labelled
predictions, the CBPE estimate over all its predictions (binary
classification), and the number of change-detector alarms raised on its rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlcore.monitoring.calibration import Calibration
from mlcore.monitoring.performance import ClassificationWindow
from mlcore.monitoring.profile import ReferenceProfile
from mlcore.monitoring.report import DriftReport, drift_report, json_float, matrix_of
from mlcore.monitoring.windows import StoredWindow

__all__ = ["MonitorReport", "WindowReport", "build", "window_label"]


@dataclass
class WindowReport:
    """Drift, performance and change alarms of one window."""

    window: int
    starts_at: datetime
    ends_at: datetime
    label: str
    rows: int
    labelled: int
    changes: int
    drift: DriftReport
    performance: dict[str, float] | None = None
    estimated: dict[str, float] | None = None

    def metric(self, name: str) -> float:
        """A performance metric by name (``estimated_<m>`` for CBPE); NaN when unknown."""
        source, key = (
            (self.estimated, name.removeprefix("estimated_"))
            if name.startswith("estimated_")
            else (self.performance, name)
        )
        return float((source or {}).get(key, math.nan))

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "label": self.label,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "rows": self.rows,
            "labelled": self.labelled,
            "changes": self.changes,
            "drift": self.drift.to_dict(),
            "performance": _finite(self.performance),
            "estimated": _finite(self.estimated),
        }


@dataclass
class MonitorReport:
    """Per-window reports of one monitor, oldest window first."""

    monitor: str
    profile_id: str
    calibrated: bool
    columns: tuple[str, ...]
    windows: list[WindowReport]

    @property
    def drift(self) -> bool:
        """True when any window's dataset-level decision is drift."""
        return any(w.drift.drift for w in self.windows)

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per (window, column, statistic): value, threshold, status."""
        return [
            {
                "window": w.label,
                "column": col.column,
                "statistic": res.statistic,
                "value": res.value,
                "threshold": res.threshold,
                "status": res.status,
                "alert": res.alert,
            }
            for w in self.windows
            for col in w.drift.columns
            for res in col.statistics.values()
        ]

    def to_frame(self) -> Any:
        """:meth:`to_rows` as a Polars DataFrame."""
        import polars as pl

        schema = {
            "window": pl.String,
            "column": pl.String,
            "statistic": pl.String,
            "value": pl.Float64,
            "threshold": pl.Float64,
            "status": pl.String,
            "alert": pl.Boolean,
        }
        return pl.DataFrame(self.to_rows(), schema=schema, orient="row")

    def matrix(self, statistic: str = "psi", value: str = "value") -> Any:
        """Columns x windows of one statistic's value (or status), as Polars (for the TUI)."""
        reports = {w.label: w.drift for w in self.windows}
        return matrix_of(self.columns, reports, statistic=statistic, value=value)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "profile_id": self.profile_id,
            "calibrated": self.calibrated,
            "drift": self.drift,
            "windows": [w.to_dict() for w in self.windows],
        }


def window_label(window: StoredWindow, batch: bool) -> str:
    """How reports and the drift matrix name a window: its start, or ``#id`` per batch."""
    if batch:
        return f"#{window.window_id} {window.starts_at.isoformat(timespec='seconds')}"
    return window.starts_at.isoformat()


def build(
    name: str,
    profile: ReferenceProfile,
    calibration: Calibration | None,
    windows: Sequence[StoredWindow],
    *,
    batch: bool,
    method: str = "bh",
    alpha: float = 0.05,
) -> MonitorReport:
    """The report of ``windows`` against ``profile``; see the module docstring."""
    reports = []
    for window in windows:
        drift = drift_report(
            profile, window.summary, calibration=calibration, method=method, alpha=alpha,  # type: ignore[arg-type]
        )  # fmt: skip
        perf = window.performance
        realised = perf.metrics() if perf is not None and window.labelled else None
        estimated = perf.estimate() if isinstance(perf, ClassificationWindow) else None
        reports.append(
            WindowReport(
                window.window_id, window.starts_at, window.ends_at, window_label(window, batch),
                window.rows, window.labelled, window.changes, drift, realised, estimated,
            )
        )  # fmt: skip
    return MonitorReport(name, profile.id, calibration is not None, profile.columns, reports)


def _finite(metrics: dict[str, float] | None) -> dict[str, float | None] | None:
    if metrics is None:
        return None
    return {k: json_float(v) for k, v in metrics.items()}
