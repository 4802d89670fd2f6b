"""What a monitor is: the configuration the catalog stores for it.

A :class:`Monitor` names the columns it watches (those of its reference
profile), which batch column holds the model's prediction, which holds the
ground truth in label batches, the request-id and event-time columns used to
join labels and place rows in windows, its window, its alert rules and its
change detector. It is written once by ``create``; only its rules and the
change detector's state change afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput
from mlcore.monitoring.logs import RESERVED
from mlcore.monitoring.windows import WindowSpec

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "DETECTORS",
    "TASKS",
    "Monitor",
    "detector_spec",
    "infer_task",
    "monitored_columns",
    "new_detector",
]

TASKS = ("classification", "regression")
#: Change detectors a monitor can run on per-prediction errors, by name.
DETECTORS = ("adwin", "page_hinkley")

#: Columns of ``monitors`` that make a :class:`Monitor`, in order.
COLUMNS = (
    "name, model, model_version, pinned, created_at, created_by, profile_id, profile_sha256, "
    "calibration_sha256, columns, prediction, label, task, request_id, event_time, "
    "window_spec, settings, rules, detector_state"
)


@dataclass(frozen=True)
class Monitor:
    """A monitor's stored definition.

    ``model``/``model_version`` name the registered version it was attached
    to; ``pinned`` is True when that version was named explicitly, and then
    only that version's scoring is logged (else every version of the model).
    ``settings`` holds the classification ``threshold`` and score ``bins``,
    the multiple-testing ``method`` and ``alpha``, the ``detector`` spec and
    facts about the reference (``reference_rows``, ``reference_source``).
    """

    name: str
    model: str | None
    model_version: int | None
    pinned: bool
    created_at: datetime
    created_by: str
    profile_id: str
    profile_sha256: str
    calibration_sha256: str | None
    columns: tuple[str, ...]
    prediction: str | None
    label: str | None
    task: str | None
    request_id: str
    event_time: str | None
    window: str
    settings: dict[str, Any] = field(default_factory=dict)
    rules: tuple[dict[str, Any], ...] = ()
    detector_state: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Monitor:
        (name, model, version, pinned, created_at, created_by, profile_id, profile_sha,
         calibration_sha, columns, prediction, label, task, request_id, event_time,
         window, settings, rules, state) = row  # fmt: skip
        return cls(
            name, model, version, bool(pinned), created_at, created_by, profile_id,
            profile_sha, calibration_sha, tuple(columns), prediction, label, task, request_id,
            event_time, window, json.loads(settings), tuple(json.loads(rules)),
            None if state is None else json.loads(state),
        )  # fmt: skip

    @property
    def subject(self) -> str:
        """How the audit log names this monitor."""
        return f"monitor:{self.name}"

    @property
    def log_owner(self) -> str:
        """Owner of the prediction log files."""
        return f"monitor:{self.name}"

    @property
    def label_owner(self) -> str:
        """Owner of the label files."""
        return f"labels:{self.name}"

    @property
    def window_spec(self) -> WindowSpec:
        return WindowSpec.parse(self.window)

    @property
    def threshold(self) -> float:
        return float(self.settings.get("threshold", 0.5))

    @property
    def score_bins(self) -> int:
        return int(self.settings.get("bins", 1000))

    @property
    def model_ref(self) -> str | None:
        if self.model is None:
            return None
        return f"{self.model}:{self.model_version}" if self.pinned else self.model

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "model_version": self.model_version,
            "pinned": self.pinned,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "profile_id": self.profile_id,
            "profile_sha256": self.profile_sha256,
            "calibration_sha256": self.calibration_sha256,
            "calibrated": self.calibration_sha256 is not None,
            "columns": list(self.columns),
            "prediction": self.prediction,
            "label": self.label,
            "task": self.task,
            "request_id": self.request_id,
            "event_time": self.event_time,
            "window": self.window,
            "settings": self.settings,
            "rules": list(self.rules),
        }


def detector_spec(value: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Normalise ``"adwin"`` or ``{"name": "adwin", "delta": 0.01}`` to ``{"name", "params"}``.

    >>> detector_spec({"name": "page_hinkley", "threshold": 20})
    {'name': 'page_hinkley', 'params': {'threshold': 20}}
    """
    if value is None:
        return None
    spec: dict[str, Any] = {"name": value} if isinstance(value, str) else dict(value)
    name = spec.pop("name", None)
    params = dict(spec.pop("params", {}), **spec)
    if name not in DETECTORS:
        raise InvalidInput(
            f"detector {name!r} is not one of {', '.join(DETECTORS)}",
            hint="Pass detector='adwin', 'page_hinkley', a dict with 'name' and its parameters, "
            "or None",
            field="detector",
        )
    out = {"name": name, "params": params}
    new_detector(out)  # parameters are checked by building one
    return out


def new_detector(spec: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> Any:
    """A detector from its spec, resumed from ``state`` (its ``to_dict()``) if given."""
    from mlcore.monitoring.detectors import ADWIN, PageHinkley

    kind = ADWIN if spec["name"] == "adwin" else PageHinkley
    if state is not None:
        return kind.from_dict(dict(state))
    try:
        return kind(**spec["params"])
    except TypeError as exc:
        raise InvalidInput(
            f"bad parameters for the {spec['name']} detector: {exc}", field="detector"
        ) from None


def infer_task(task: str | None, label: str | None, reference: pl.DataFrame) -> str | None:
    """``task`` checked, else told from the reference's label: 0/1 or booleans are classification.

    >>> import polars as pl
    >>> infer_task(None, "y", pl.DataFrame({"y": [0, 1, 1]})), infer_task(None, "y", pl.DataFrame({"y": [0.5]}))
    ('classification', 'regression')
    """
    import polars as pl

    if task is not None:
        if task not in TASKS:
            raise InvalidInput(f"task {task!r} is not one of {', '.join(TASKS)}", field="task")
        return task
    if label is None:
        return None
    if label not in reference.columns:
        raise InvalidInput(
            f"the reference has no label column '{label}' to tell the task from",
            hint="Pass task='classification' or task='regression'",
        )
    values = reference[label].drop_nulls()
    binary = values.dtype == pl.Boolean or (
        values.dtype.is_numeric() and values.cast(pl.Float64).is_in([0.0, 1.0]).all()
    )
    return "classification" if binary else "regression"


def monitored_columns(
    reference: pl.DataFrame,
    columns: Sequence[str] | None,
    *,
    inputs: Sequence[str] | None,
    prediction: str | None,
    excluded: Sequence[str | None],
) -> list[str]:
    """The columns to profile: ``columns``, else the model's ``inputs``, else every column of a
    supported type but ``excluded`` (label, request id, timestamp); plus the prediction if the
    reference holds it."""
    from mlcore.monitoring._frames import kind_of

    clash = sorted(set(reference.columns) & set(RESERVED))
    if clash:
        raise InvalidInput(
            f"columns {', '.join(clash)} use names mlcore's logs reserve",
            hint="Rename them before monitoring",
        )
    if columns is None:
        columns = inputs
    if columns is None:
        schema = reference.head(0).to_arrow().schema
        columns = [f.name for f in schema if f.name not in excluded and kind_of(f.type) is not None]
    chosen = list(columns)
    if prediction is not None and prediction in reference.columns and prediction not in chosen:
        chosen.append(prediction)
    return chosen
