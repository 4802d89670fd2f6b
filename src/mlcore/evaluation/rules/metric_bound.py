"""``kind = "metric"``: a metric above a floor or below a ceiling, overall or in every slice.

Fields: ``metric`` (a name from :data:`mlcore.evaluation.metrics.METRICS`), ``min``
and/or ``max`` (within the metric's range), ``use`` -- which figure is held against the
bound: ``"value"`` (the point estimate, default), ``"ci_low"`` or ``"ci_high"`` (a bound
of its bootstrap interval: ``min`` with ``ci_low`` demands the whole interval clear the
floor; ``min`` with ``ci_high`` fails only when the whole interval is below it) --
``slices`` (false: overall; true: every slice and cross evaluated; a list of columns:
the slices of those columns and their crosses, which the evaluation then computes) and
``min_support`` (slices with fewer rows are not judged, default 30).

A metric that does not exist for the evaluation's task (``roc_auc`` of a regression) is
skipped; one that exists but is undefined on the data (``roc_auc`` with one class) fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.metrics import METRICS, Metric
from mlcore.evaluation.rules.base import Context, Needs, Outcome, Rule

if TYPE_CHECKING:
    from mlcore.evaluation.metrics import Estimate
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["MetricBound", "known_metric"]

_USES = ("value", "ci_low", "ci_high")
_FIGURE = {"value": "value", "ci_low": "low", "ci_high": "high"}


def known_metric(fields: Fields, key: str = "metric") -> Metric:
    """The catalogue entry named by ``key`` in any task; PolicyError with the closest name."""
    name = fields.text(key)
    found = {m.name: m for task in METRICS.values() for m in task}
    if name not in found:
        from mlcore.errors import did_you_mean

        raise fields.error(
            key,
            f"unknown metric '{name}'",
            hint=did_you_mean(name, found, f"Metrics: {', '.join(found)}"),
        )
    return found[name]


def bounds(fields: Fields, low: float | None, high: float | None) -> tuple[float | None, ...]:
    """``min`` and ``max`` (at least one, ``min <= max``) within [low, high]."""
    lower = fields.number("min", low=low, high=high)
    upper = fields.number("max", low=low, high=high)
    if lower is None and upper is None:
        raise fields.error("min", "give a bound: min, max or both", hint="Add min = <number>")
    if lower is not None and upper is not None and lower > upper:
        raise fields.error("max", f"max {upper:g} is below min {lower:g}")
    return lower, upper


def judge(
    value: float, lower: float | None, upper: float | None, message: str, details: Any = None
) -> Outcome:
    """Hold ``value`` against whichever bound it breaks (else the floor, else the ceiling)."""
    if lower is not None and (upper is None or value < upper):
        return Outcome.bound(value, lower, ">=", message, details)
    assert upper is not None
    return Outcome.bound(value, upper, "<=", message, details)


@dataclass(frozen=True)
class MetricBound(Rule):
    kind = "metric"

    metric: str
    min: float | None
    max: float | None
    use: str = "value"
    slices: bool | tuple[str, ...] = False
    min_support: int = 30

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        entry = known_metric(fields)
        lower, upper = bounds(fields, *entry.bounds)
        raw = fields.raw("slices")
        slices: bool | tuple[str, ...]
        if raw is None or isinstance(raw, bool):
            slices = bool(raw)
        else:
            slices = fields.names("slices", what="slice column")
        return {
            "metric": entry.name,
            "min": lower,
            "max": upper,
            "use": fields.choice("use", _USES, "value"),
            "slices": slices,
            "min_support": fields.integer("min_support", default=30),
        }

    def needs(self) -> Needs:
        columns = self.slices if isinstance(self.slices, tuple) else ()
        return Needs(slices=columns, slice_intervals=bool(self.slices) and self.use != "value")

    def _figure(self, estimate: Estimate) -> tuple[float | None, str | None]:
        figure = getattr(estimate, _FIGURE[self.use])
        if figure is not None:
            return figure, None
        if estimate.value is None:
            return None, f"{self.metric} is undefined ({estimate.reason})"
        return None, f"{self.metric} has no interval (evaluate with n_resamples > 0)"

    def check(self, context: Context) -> Outcome:
        result = context.result
        task_metrics = {m.name for m in METRICS[result.task]}
        if self.metric not in task_metrics:
            return Outcome("skipped", f"{self.metric} is not a {result.task} metric")
        if self.metric not in result.metrics.estimates:
            return Outcome(
                "fail",
                f"{self.metric} was not computed: it needs probabilities in [0, 1] as scores",
            )
        what = self.metric if self.use == "value" else f"{self.metric} {self.use}"
        if not self.slices:
            figure, problem = self._figure(result.metrics[self.metric])
            if figure is None:
                return Outcome("fail", problem or "undefined")
            return judge(figure, self.min, self.max, f"{what} overall")
        return self._check_slices(context, what)

    def _check_slices(self, context: Context, what: str) -> Outcome:
        report = context.result.slices
        wanted = set(self.slices) if isinstance(self.slices, tuple) else None
        absent = sorted((wanted or set()) - context.columns)
        if absent:
            return Outcome("fail", f"slice columns not in the evaluation data: {', '.join(absent)}")
        if report is None:
            return Outcome(
                "fail", "the evaluation has no slices", details={"hint": "pass slices=[...]"}
            )
        judged, undefined = [], []
        for s in report.slices:
            if s.n_rows < self.min_support or (wanted is not None and not set(s.columns) <= wanted):
                continue
            figure, problem = self._figure(s.metrics[self.metric])
            if figure is None:
                undefined.append(f"{s.name}: {problem}")
            else:
                judged.append((figure, s.name, s.n_rows))
        if not judged and not undefined:
            return Outcome("skipped", f"no slice has {self.min_support} rows or more")
        if undefined and not judged:
            return Outcome("fail", f"{what} undefined in every slice: {undefined[0]}")
        # The figure nearest to (or furthest past) a bound: the lowest against a floor,
        # unless only the ceiling is broken.
        low, high = min(judged), max(judged)
        if self.min is not None and (low[0] < self.min or self.max is None or high[0] <= self.max):
            worst = low
        else:
            worst = high
        failing = [
            {"slice": name, "value": figure, "n_rows": n}
            for figure, name, n in judged
            if (self.min is not None and figure < self.min)
            or (self.max is not None and figure > self.max)
        ]
        extra = f", {len(undefined)} undefined" if undefined else ""
        message = (
            f"{what} of the worst slice, {worst[1]} ({worst[2]} rows; "
            f"{len(failing)} of {len(judged)} slices out of bounds{extra})"
        )
        return judge(worst[0], self.min, self.max, message, {"failing": failing[:50]})
