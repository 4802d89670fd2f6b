"""Alert rules as code: what to watch per window, when it counts as a breach, what to do.

A rule is a dict (or a ``[[rules]]`` table in a TOML file)::

    [[rules]]
    name = "income_shift"           # unique per monitor (default: the statistic)
    statistic = "psi"               # see below
    columns = ["income", "age"]     # or "*" (every column, the default) or "dataset"
    threshold = "calibrated"        # or a number
    consecutive = 2                 # windows in a row that must breach
    severity = "critical"           # info, warning (default), critical
    [rules.action]                  # optional: retrain
    pipeline = "pipelines/train.py:retrain"
    params = { reason = "drift" }
    trigger = "run"                 # or "record": only note that a retrain is requested

Statistics:

* a drift statistic (``psi``, ``ks``, ``jensen_shannon``, ``wasserstein``,
  ``wasserstein_normalised``, ``hellinger``, ``chi_square``, ``linf``,
  ``missing_rate``, ``out_of_range_rate``, ``new_category_rate``) on columns:
  breached when a column's value exceeds the threshold. ``"calibrated"`` (the
  default) takes each column's threshold from the drift report: the
  calibrated null quantile, else the conventional default;
* ``drift``: on ``"dataset"`` (default) the dataset-level decision
  (Benjamini-Hochberg or Bonferroni across columns); on columns, their status;
* a performance metric over the window's labelled predictions (``accuracy``,
  ``precision``, ``recall``, ``f1``, ``roc_auc``, ``log_loss``, ``brier``,
  ``positive_rate``, ``mae``, ``rmse``, ``mean_error``, ``r2``), or a CBPE
  estimate without labels (``estimated_accuracy``, ``estimated_roc_auc``...),
  against a numeric threshold; quality metrics breach *below* it, error
  metrics *above* (``direction`` overrides);
* ``changes``: change-detector alarms on the window's labelled rows (above
  ``threshold``, default 0).

A window with no data for a statistic (NaN) does not breach. See
:func:`evaluate` for how consecutive windows and clearing work.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcore.errors import InvalidInput, NotFound, did_you_mean
from mlcore.monitoring.calibration import CALIBRATED
from mlcore.monitoring.report import DEFAULT_THRESHOLDS, STATISTICS
from mlcore.monitoring.timeline import WindowReport

__all__ = ["DEFAULT_RULES", "SEVERITIES", "Action", "Breach", "Rule", "evaluate", "parse_rules"]

SEVERITIES = ("info", "warning", "critical")
TRIGGERS = ("run", "record")
DATASET = "dataset"
DRIFT_STATISTICS = tuple(dict.fromkeys(STATISTICS["numeric"] + STATISTICS["categorical"]))
#: Performance metrics a rule may watch, and the side on which they breach.
METRICS = {
    "accuracy": "below",
    "precision": "below",
    "recall": "below",
    "f1": "below",
    "roc_auc": "below",
    "log_loss": "above",
    "brier": "above",
    "positive_rate": None,
    "mae": "above",
    "rmse": "above",
    "mean_error": None,
    "r2": "below",
}
ESTIMATED = {
    f"estimated_{m}": "below" for m in ("accuracy", "precision", "recall", "f1", "roc_auc")
}
_KEYS = ("name", "statistic", "column", "columns", "threshold", "consecutive", "severity",
         "direction", "action")  # fmt: skip
#: What a monitor watches when created without rules: the dataset-level drift decision.
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "dataset_drift", "statistic": "drift", "columns": DATASET, "severity": "warning"},
)


@dataclass(frozen=True)
class Action:
    """Run (or request) a pipeline, ``FILE[:NAME]`` with ``params``, when a rule raises an alert."""

    pipeline: str
    params: dict[str, Any] = field(default_factory=dict)
    trigger: str = "run"

    def to_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "params": dict(self.params), "trigger": self.trigger}


@dataclass(frozen=True)
class Rule:
    """One alert rule; see the module docstring. ``columns`` None means the dataset."""

    name: str
    statistic: str
    columns: tuple[str, ...] | None = None
    threshold: float | None = None
    consecutive: int = 1
    severity: str = "warning"
    direction: str = "above"
    action: Action | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """A rule as :meth:`to_dict` stored it (already checked by :func:`parse_rules`)."""
        columns, threshold, action = data["columns"], data["threshold"], data.get("action")
        return cls(
            data["name"], data["statistic"], None if columns == DATASET else tuple(columns),
            None if threshold == "calibrated" else float(threshold), int(data["consecutive"]),
            data["severity"], data["direction"], None if action is None else Action(**action),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "statistic": self.statistic,
            "columns": DATASET if self.columns is None else list(self.columns),
            "threshold": "calibrated" if self.threshold is None else self.threshold,
            "consecutive": self.consecutive,
            "severity": self.severity,
            "direction": self.direction,
            **({"action": self.action.to_dict()} if self.action else {}),
        }


@dataclass(frozen=True)
class Breach:
    """A rule breached in one window: the worst value, its threshold, the columns at fault."""

    value: float
    threshold: float | None
    columns: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)


def parse_rules(
    rules: str | Path | Sequence[Mapping[str, Any] | Rule] | None,
    *,
    kinds: Mapping[str, str],
    calibrated: bool,
    task: str | None,
) -> tuple[Rule, ...]:
    """Check rules against a monitor: its columns and their ``kinds``, calibration and task.

    ``rules`` is None (:data:`DEFAULT_RULES`), a TOML file, or a list of dicts
    or :class:`Rule`. Relative pipeline paths of a file's actions are taken
    from the file's folder, others from the current folder; they are stored
    absolute. Raises InvalidInput or NotFound naming the rule at fault.
    """
    base = Path.cwd()
    if rules is None:
        items: Sequence[Any] = DEFAULT_RULES
    elif isinstance(rules, (str, Path)):
        path = Path(rules)
        if not path.is_file():
            raise NotFound("rules file", str(path))
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"rules file {path} is not valid TOML: {exc}") from None
        items = data.get("rules", data.get("rule", []))
        base = path.resolve().parent
    else:
        items = rules
    parsed = [
        _rule(item.to_dict() if isinstance(item, Rule) else item, kinds, calibrated, task, base)
        for item in items
    ]
    names = [r.name for r in parsed]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInput(
            f"rule names {', '.join(twice)} are used twice", hint="Give each rule its own name"
        )
    return tuple(parsed)


def _rule(
    data: Mapping[str, Any],
    kinds: Mapping[str, str],
    calibrated: bool,
    task: str | None,
    base: Path,
) -> Rule:
    if not isinstance(data, Mapping):
        raise InvalidInput(f"rule {data!r} is not a table of settings")
    stat = str(data.get("statistic", ""))
    name = str(data.get("name") or stat)
    where = f"rule '{name}'"
    for key in data:
        if key not in _KEYS:
            raise InvalidInput(
                f"{where} has an unknown setting '{key}'",
                hint=did_you_mean(key, _KEYS, f"Settings: {', '.join(_KEYS)}"),
            )
    known = (*DRIFT_STATISTICS, "drift", "changes", *METRICS, *ESTIMATED)
    if stat not in known:
        raise NotFound("statistic", stat or "(none)", candidates=known, hint=None)
    columns = _columns(data, stat, kinds, where)
    threshold = _threshold(data.get("threshold"), stat, columns, kinds, calibrated, where)
    if (stat in METRICS or stat in ESTIMATED) and task is None:
        raise InvalidInput(
            f"{where} watches {stat}, but the monitor has no prediction task",
            hint="Create the monitor with prediction=, label= and task=",
        )
    direction = data.get("direction") or {**METRICS, **ESTIMATED}.get(stat, "above")
    if direction not in ("above", "below"):
        raise InvalidInput(
            f"{where} needs direction 'above' or 'below'",
            hint=f"{stat} has no usual side: say on which side of the threshold it breaches",
        )
    consecutive = data.get("consecutive", 1)
    if not isinstance(consecutive, int) or isinstance(consecutive, bool) or consecutive < 1:
        raise InvalidInput(f"{where}: consecutive must be a whole number >= 1")
    severity = data.get("severity", "warning")
    if severity not in SEVERITIES:
        raise InvalidInput(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    action = None if data.get("action") is None else _action(data["action"], base, where)
    return Rule(name, stat, columns, threshold, consecutive, severity, direction, action)


def _columns(
    data: Mapping[str, Any], stat: str, kinds: Mapping[str, str], where: str
) -> tuple[str, ...] | None:
    raw = data.get("columns", data.get("column"))
    if stat in DRIFT_STATISTICS:
        raw = "*" if raw is None else raw
    elif stat != "drift" and raw not in (None, DATASET):
        raise InvalidInput(f"{where}: {stat} is measured on the dataset, not on columns")
    if raw is None or raw == DATASET:
        if stat in DRIFT_STATISTICS:
            raise InvalidInput(
                f"{where}: {stat} is measured per column",
                hint="Name columns, or use statistic 'drift' for the dataset-level decision",
            )
        return None
    names = [c for c, kind in kinds.items() if stat == "drift" or stat in STATISTICS[kind]]
    if raw == "*":
        return tuple(names)
    listed = [raw] if isinstance(raw, str) else list(raw)
    for column in listed:
        if column not in kinds:
            raise NotFound("monitored column", str(column), candidates=kinds)
        if column not in names:
            raise InvalidInput(
                f"{where}: {stat} is not computed for {kinds[column]} column '{column}'"
            )
    return tuple(listed)


def _threshold(
    raw: Any,
    stat: str,
    columns: tuple[str, ...] | None,
    kinds: Mapping[str, str],
    calibrated: bool,
    where: str,
) -> float | None:
    if stat == "drift":
        return None
    if raw is None and stat == "changes":
        return 0.0
    if raw is None or raw == "calibrated":
        if stat not in DRIFT_STATISTICS:
            raise InvalidInput(f"{where}: {stat} needs a numeric threshold")
        for column in columns or ():
            has = stat in DEFAULT_THRESHOLDS or stat == "out_of_range_rate"
            if not (has or (calibrated and stat in CALIBRATED[kinds[column]])):
                raise InvalidInput(
                    f"{where}: {stat} of '{column}' has no calibrated or default threshold",
                    hint="Give a numeric threshold, or create the monitor with calibrate=True",
                )
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise InvalidInput(f"{where}: threshold {raw!r} is not a number or 'calibrated'")
    return float(raw)


def _action(raw: Any, base: Path, where: str) -> Action:
    if not isinstance(raw, Mapping) or "pipeline" not in raw:
        raise InvalidInput(f"{where}: an action needs a pipeline ('FILE[:NAME]')")
    unknown = sorted(set(raw) - {"pipeline", "params", "trigger"})
    if unknown:
        raise InvalidInput(f"{where}: unknown action settings {', '.join(unknown)}")
    from mlcore.pipelines import split_pipeline_spec

    file, name = split_pipeline_spec(str(raw["pipeline"]))
    path = file if file.is_absolute() else base / file
    if not path.is_file():
        raise NotFound("pipeline file", str(path), hint=f"{where} names it in its action")
    trigger = raw.get("trigger", "run")
    if trigger not in TRIGGERS:
        raise InvalidInput(f"{where}: trigger {trigger!r} is not 'run' or 'record'")
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        raise InvalidInput(f"{where}: action params must be a table of values")
    target = str(path.resolve()) + (f":{name}" if name else "")
    return Action(target, dict(params), trigger)


def breach(rule: Rule, window: WindowReport) -> Breach | None:
    """How ``window`` breaches ``rule``, or None if it does not (or has no data)."""
    if rule.statistic == "drift":
        if rule.columns is None:
            drifted = tuple(window.drift.drifted_columns)
            return Breach(len(drifted), None, drifted) if window.drift.drift else None
        drifted = tuple(c for c in rule.columns if window.drift.column(c).status == "drift")
        return Breach(len(drifted), None, drifted) if drifted else None
    if rule.statistic in DRIFT_STATISTICS:
        found = []
        for column in rule.columns or ():
            result = window.drift.column(column).statistics[rule.statistic]
            limit = rule.threshold if rule.threshold is not None else result.threshold
            if limit is not None and _beyond(result.value, limit, rule.direction):
                found.append((column, result.value, limit))
        if not found:
            return None
        worst = max(found, key=lambda f: abs(f[1] - f[2]))
        details = {"columns": {c: {"value": v, "threshold": t} for c, v, t in found}}
        return Breach(worst[1], worst[2], tuple(c for c, _, _ in found), details)
    value = float(window.changes) if rule.statistic == "changes" else window.metric(rule.statistic)
    assert rule.threshold is not None
    if _beyond(value, rule.threshold, rule.direction):
        return Breach(value, rule.threshold, ())
    return None


def _beyond(value: float, limit: float, direction: str) -> bool:
    if math.isnan(value):
        return False
    return value > limit if direction == "above" else value < limit


@dataclass
class Evaluation:
    """Rules breached long enough in updated windows, and rules that cleared."""

    raised: list[tuple[Rule, WindowReport, Breach]] = field(default_factory=list)
    cleared: list[tuple[Rule, WindowReport]] = field(default_factory=list)


def evaluate(
    rules: Sequence[Rule], windows: Sequence[WindowReport], updated: set[int], latest: int
) -> Evaluation:
    """Check ``rules`` on the ``updated`` windows, given the windows before them (oldest first).

    A rule with ``consecutive = k`` raises on an updated window when it and
    the k - 1 windows before it (windows with data, in order) all breach. A
    rule clears when the monitor's newest window (``latest``) was updated and
    does not breach it: its unresolved alerts are then resolved.
    """
    result = Evaluation()
    for rule in rules:
        breaches = [breach(rule, w) for w in windows]
        for i, window in enumerate(windows):
            if window.window not in updated:
                continue
            run = breaches[max(0, i - rule.consecutive + 1) : i + 1]
            hit = breaches[i]
            if hit is not None and len(run) == rule.consecutive and all(run):
                result.raised.append((rule, window, hit))
        newest = windows[-1] if windows else None
        if (
            newest is not None
            and newest.window == latest
            and latest in updated
            and breaches[-1] is None
        ):
            result.cleared.append((rule, newest))
    return result
