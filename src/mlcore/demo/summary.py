"""What the demo did, as data (``--json``) and as a short text report.

Every figure in a :class:`Summary` follows from the data, the seed and the
``fast`` flag; only the store's path, the ids the store draws (runs,
evaluations) and the run time differ between two runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["Summary"]


@dataclass
class Summary:
    """The demo's outcome: versions, gates, weeks of production, alerts, rollback, audit."""

    store: str
    fast: bool = False
    seed: int = 0
    features: dict[str, Any] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    monitor: dict[str, Any] = field(default_factory=dict)
    weeks: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    production: int | None = None
    audit: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None

    @property
    def tui(self) -> str:
        """The command that opens the TUI on the demo's store."""
        return f"mlcore tui --store {self.store}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "fast": self.fast,
            "seed": self.seed,
            "features": self.features,
            "datasets": self.datasets,
            "versions": self.versions,
            "gates": self.gates,
            "refusals": self.refusals,
            "monitor": self.monitor,
            "weeks": self.weeks,
            "alerts": self.alerts,
            "rollback": self.rollback,
            "history": self.history,
            "production": self.production,
            "audit": self.audit,
            "seconds": self.seconds,
            "tui": self.tui,
        }

    def write(self, out: TextIO) -> None:
        """The text report: versions, weeks, alerts, the rollback, and where to look next."""
        out.write(f"store       {self.store}\n")
        out.write(f"production  flight_delays/{self.production}\n")
        for v in self.versions:
            out.write(_version_line(v))
        out.write(
            "\nweek  from        flights  model  drift  psi temp/dewp/humid  roc_auc  alerts\n"
        )
        for w in self.weeks:
            psi = "/".join(_number(w["psi"][c], 2) for c in ("temp", "dewp", "humid"))
            line = (
                f"{w['week']:>4}  {w['from']}  {w['flights']:>7}  "
                f"{'v' + str(w['served_by']) if w['served_by'] else '-':>5}  "
                f"{'yes' if w['drift'] else 'no':>5}  {psi:>21}  "
                f"{_number(w['roc_auc'], 3):>7}  {', '.join(w['alerts'])}"
            )
            out.write(line.rstrip() + "\n")
        out.write("\n")
        for a in self.alerts:
            out.write(
                f"alert {a['id']}  week {a['week']}  {a['rule']} ({a['severity']}) on "
                f"{', '.join(a['columns']) or 'the dataset'}: {_number(a['value'], 3)} > "
                f"{_number(a['threshold'], 3)}; {a['status']}, retrain {a['action_status'] or '-'}\n"
            )
        if self.rollback:
            r = self.rollback
            out.write(f"rollback    v{r['from']} -> v{r['to']}: {r['reason']}\n")
        verified = "verified" if self.audit.get("verified") else "NOT VERIFIED"
        out.write(f"audit       {self.audit.get('entries')} entries, chain {verified}\n")
        if self.seconds is not None:
            out.write(f"took        {self.seconds:.0f} s\n")
        out.write(f"\nexplore     {self.tui}\n")


def _version_line(v: dict[str, Any]) -> str:
    if "version" not in v:
        return f"version     - (run {v.get('run')}: {v.get('status')})\n"
    evaluation = v.get("evaluation") or {}
    return (
        f"version     flight_delays/{v['version']}  {v.get('state', '')}  by {v['author']}  "
        f"held-out ROC AUC {_number(evaluation.get('roc_auc'), 3)}  "
        f"ECE {_number(evaluation.get('ece'), 3)}  gate {evaluation.get('verdict', '-')}\n"
    )


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
