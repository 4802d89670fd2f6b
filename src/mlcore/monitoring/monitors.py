"""``store.monitors``: monitors on a store — create, observe, label, report, alert.

A monitor watches one model (or, without a model, any named stream of
batches): its reference profile is fitted once from the training data, every
production batch is logged and folded into window summaries, labels are
joined to the logged predictions when they arrive, and alert rules are
checked each time a window changes. See ``docs/concepts/monitoring.md``.

Examples
--------
>>> import tempfile, mlcore, numpy as np, polars as pl
>>> store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="ana")
>>> rng = np.random.default_rng(0)
>>> train = pl.DataFrame({"age": rng.normal(40, 10, 2_000), "plan": rng.choice(["a", "b"], 2_000)})
>>> monitor = store.monitors.create("churn", reference=train, window="batch")
>>> monitor.columns, monitor.calibration_sha256 is not None
(('age', 'plan'), True)
>>> seen = store.monitors.observe("churn", pl.DataFrame({"age": rng.normal(55, 10, 500), "plan": ["a"] * 500}))
>>> seen.rows, seen.drift, seen.report.drifted_columns
(500, True, ['age', 'plan'])
>>> [(a.rule, a.severity, a.status) for a in seen.alerts]
[('dataset_drift', 'warning', 'open')]
>>> store.monitors.ack(seen.alerts[0].id, "new campaign targets older customers").status
'acknowledged'
>>> store.close()
"""

from __future__ import annotations

import builtins
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.capabilities import capability
from mlcore.errors import Conflict, InvalidInput, NotFound
from mlcore.monitoring import alerts as alert_store
from mlcore.monitoring import codec, logs, observing
from mlcore.monitoring.definition import (
    COLUMNS,
    Monitor,
    detector_spec,
    infer_task,
    monitored_columns,
)
from mlcore.monitoring.observing import Labelling, Observation
from mlcore.monitoring.performance import ClassificationWindow
from mlcore.monitoring.windows import StoredWindow, WindowSpec, decode
from mlcore.monitoring.windows import read as read_windows

if TYPE_CHECKING:
    import polars as pl

    from mlcore.monitoring import timeline
    from mlcore.monitoring.alerts import Alert
    from mlcore.monitoring.calibration import Calibration
    from mlcore.monitoring.profile import ReferenceProfile
    from mlcore.store.storage import Storage, Tx

__all__ = ["Labelling", "Monitors", "Observation"]

_cache: OrderedDict[str, Any] = OrderedDict()  # blob sha256 -> profile or calibration
_cache_lock = threading.Lock()
_CACHE_SIZE = 16
_RETRIES = 5


class Monitors:
    """Monitors of one store, as one actor (``store.monitors``).

    Parameters
    ----------
    storage
        The open store.
    store
        The :class:`mlcore.Store`: reaches the registry (attaching to a model),
        the feature store (a dataset as reference) and pipelines (retraining).
    """

    def __init__(self, storage: Storage, store: Any = None) -> None:
        self._storage = storage
        self._store = store

    def __repr__(self) -> str:
        return f"<Monitors of {self._storage.root} as {self._storage.actor!r}>"

    # -- definition ---------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        model: str | None = None,
        reference: Any = None,
        columns: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        prediction: str | None = None,
        label: str | None = None,
        task: str | None = None,
        request_id: str = "request_id",
        timestamp: str | None = None,
        window: str = "1d",
        rules: str | Path | Sequence[Mapping[str, Any]] | None = None,
        calibrate: bool | Mapping[str, Any] = True,
        detector: str | Mapping[str, Any] | None = "adwin",
        threshold: float = 0.5,
        method: str = "bh",
        alpha: float = 0.05,
        bins: int = 20,
    ) -> Monitor:
        """Fit and store a monitor's reference profile, calibration and rules.

        Parameters
        ----------
        name
            The monitor's name.
        model
            Attach to a registered model: ``"churn"`` (its production version;
            every later version's scoring is logged too) or ``"churn:3"``
            (that version only). Its signature's inputs are the default columns.
        reference
            The reference rows: a frame, a Parquet/CSV path, or a feature-store
            dataset name; default: the dataset the model was trained on.
        columns, categorical
            Columns to monitor (default: the model's inputs, else every number,
            boolean and string column but the label, request id and
            timestamp); columns to treat as categories even if numeric.
        prediction, label, task
            The batch column holding the model's output (for classification,
            the probability of the positive class), the label column of label
            batches, and ``"classification"`` (binary) or ``"regression"``
            (inferred from the reference's label column when present). The
            prediction is profiled too if the reference holds it.
        request_id, timestamp
            Batch columns with the request id (joins labels later; used when
            present) and the event time (default: the time of logging).
        window
            ``"1h"``, ``"1d"``, ``"7d"``... (time buckets) or ``"batch"``.
        rules
            Alert rules (dicts or a TOML file, see :mod:`mlcore.monitoring.rules`);
            default: one warning on dataset-level drift; ``[]`` for none.
        calibrate
            Calibrate thresholds on the reference (True, False, or keyword
            arguments of :func:`~mlcore.monitoring.calibration.calibrate`).
        detector
            Change detector on per-prediction errors once labels arrive:
            ``"adwin"``, ``"page_hinkley"``, a dict with ``name`` and its
            parameters, or None.
        threshold, method, alpha, bins
            Classification decision threshold; multiple-testing method
            (``"bh"`` or ``"bonferroni"``) and level; PSI bins per column.

        Raises
        ------
        Conflict
            A monitor of that name exists.
        PermissionDenied
            The actor may not create monitors (``monitors.create``).
        """
        from mlcore.monitoring.calibration import calibrate as fit_calibration
        from mlcore.monitoring.profile import ReferenceProfile

        names.validate("monitor name", name)
        spec = WindowSpec.parse(window)
        if method not in ("bh", "bonferroni"):
            raise InvalidInput(f"method {method!r} is not 'bh' or 'bonferroni'", field="method")
        with self._storage.transaction() as tx:
            tx.require("monitors.create")
            self._require_new(tx, name)
        record = self._model_version(model)
        frame, source = self._reference(reference, record)
        task = infer_task(task, label, frame)
        signature = None if record is None else record.signature
        chosen = monitored_columns(
            frame, columns, inputs=None if signature is None else signature.columns,
            prediction=prediction, excluded=(label, request_id, timestamp),
        )  # fmt: skip
        profile = ReferenceProfile.fit(frame, chosen, categorical, bins=bins)
        calibration = None
        if calibrate:
            options = dict(calibrate) if isinstance(calibrate, Mapping) else {}
            try:
                calibration = fit_calibration(profile, frame, **options)
            except InvalidInput as exc:
                raise InvalidInput(
                    exc.message, hint="Pass calibrate=False for a small reference"
                ) from None
        from mlcore.monitoring.rules import parse_rules

        checked = parse_rules(
            rules,
            kinds=profile.kinds,
            calibrated=calibration is not None,
            task=task if prediction else None,
        )
        settings = {
            "threshold": float(threshold),
            "bins": 1000,
            "method": method,
            "alpha": float(alpha),
            "detector": detector_spec(detector) if task and prediction else None,
            "reference_rows": frame.height,
            "reference_source": source,
            "profile": profile.settings,
            "calibration": None if calibration is None else {
                "blocks": calibration.blocks, "window_rows": calibration.window_rows,
                "replicates": calibration.replicates, "quantile": calibration.quantile,
            },
        }  # fmt: skip
        ClassificationWindow(threshold)  # checks the threshold
        profile_blob = codec.pack(profile.to_dict())
        calibration_blob = None if calibration is None else codec.pack(calibration.to_dict())
        with self._storage.transaction() as tx:
            tx.require("monitors.create")
            self._require_new(tx, name)
            profile_sha = tx.put_blob(profile_blob, media_type="application/x-mlcore-profile")
            calibration_sha = (
                None
                if calibration_blob is None
                else tx.put_blob(calibration_blob, media_type="application/x-mlcore-calibration")
            )
            seq = tx.audit(
                "monitor.create",
                f"monitor:{name}",
                {"model": None if record is None else f"{record.name}/{record.version}",
                 "columns": list(profile.columns), "window": spec.text, "profile": profile.id,
                 "reference_rows": frame.height, "rules": [r.name for r in checked]},
            )  # fmt: skip
            tx.execute(
                f"INSERT INTO monitors ({COLUMNS}, audit_seq) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                [
                    name, None if record is None else record.name,
                    None if record is None else record.version, bool(model and ":" in model),
                    datetime.now(UTC), tx.actor, profile.id, profile_sha, calibration_sha,
                    list(profile.columns), prediction, label, task, request_id, timestamp,
                    spec.text, json.dumps(settings), json.dumps([r.to_dict() for r in checked]),
                    seq,
                ],
            )  # fmt: skip
        return self.get(name)

    def get(self, name: str) -> Monitor:
        """A monitor by name (NotFound, with the closest name, if there is none)."""
        with self._storage.transaction() as tx:
            return self._monitor(tx, name)

    def list(self) -> list[Monitor]:
        """Every monitor, by name."""
        with self._storage.transaction() as tx:
            rows = tx.fetchall(f"SELECT {COLUMNS} FROM monitors ORDER BY name")
        return [Monitor.from_row(row) for row in rows]

    def profile(self, name: str) -> ReferenceProfile:
        """The monitor's reference profile (bin edges, categories, the reference's summary)."""
        return self._profile(self.get(name))

    def calibration(self, name: str) -> Calibration | None:
        """The monitor's calibrated null distributions, or None if it was not calibrated."""
        return self._calibration(self.get(name))

    def set_rules(self, name: str, rules: str | Path | Sequence[Mapping[str, Any]]) -> Monitor:
        """Replace a monitor's alert rules (``monitors.create``); existing alerts stay."""
        monitor = self.get(name)
        from mlcore.monitoring.rules import parse_rules

        task = monitor.task if monitor.prediction else None
        checked = parse_rules(
            rules,
            kinds=self._profile(monitor).kinds,
            calibrated=monitor.calibration_sha256 is not None,
            task=task,
        )
        with self._storage.transaction() as tx:
            tx.require("monitors.create")
            tx.execute(
                "UPDATE monitors SET rules = ? WHERE name = ?",
                [json.dumps([r.to_dict() for r in checked]), name],
            )
            tx.audit("monitor.rules", monitor.subject, {"rules": [r.to_dict() for r in checked]})
        return self.get(name)

    # -- logging ------------------------------------------------------------------

    def observe(
        self,
        monitor: str,
        batch: Any,
        *,
        timestamp_column: str | None = None,
        request_id: str | None = None,
    ) -> Observation:
        """Log a production batch and fold it into its windows, in one catalog transaction.

        ``monitor`` names a monitor, or a model with exactly one monitor. The
        batch (a frame or Parquet/CSV path) must hold every monitored column
        and the prediction column if the monitor has one; unknown columns are
        ignored and reported. ``timestamp_column`` (default: the monitor's)
        places rows in time windows; without one, rows are logged at the
        current time. An empty batch is a no-op (``rows == 0``). The batch's own
        drift report is in the result; then alert rules run on the updated
        windows and any alerts they raise are in ``alerts``.

        Raises
        ------
        NotFound, InvalidInput
            Missing columns, wrong types, null or naive timestamps, scores
            outside [0, 1]: the batch is rejected and nothing is stored.
        PermissionDenied
            The actor may not log batches (``monitors.observe``).
        """
        target = self._target(monitor, "monitors.observe")
        return self._observe(target, batch, timestamp_column, request_id)

    def log_scoring(
        self, name: str, version: int, *, inputs: Any, outputs: Any
    ) -> builtins.list[Observation]:
        """The registry's scoring hook: observe a scored batch in the model's monitors.

        Every monitor attached to model ``name`` (pinned to ``version``, or
        following the model) observes the inputs with the predictions beside
        them. A model without a monitor: nothing happens (an empty list).
        Errors propagate, so that a scoring job knows its batch went unmonitored.
        """
        with self._storage.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {COLUMNS} FROM monitors WHERE model = ? "
                "AND (NOT pinned OR model_version = ?) ORDER BY name",
                [name, int(version)],
            )
        if not rows:
            return []
        from mlcore.frames import to_polars

        inputs, outputs = to_polars(inputs, what="inputs"), to_polars(outputs, what="outputs")
        added = [c for c in outputs.columns if c not in inputs.columns]
        batch = inputs.hstack(outputs.select(added)) if added else inputs
        return [self._observe(Monitor.from_row(row), batch, None, None) for row in rows]

    def log_labels(
        self,
        monitor: str,
        labels: Any,
        *,
        request_id: str = "request_id",
        label: str | None = None,
    ) -> Labelling:
        """Join ground truth to logged predictions by request id; update performance per window.

        ``label`` names the label column (default: the monitor's). Labels of
        requests labelled before are skipped (counted in ``already_labelled``),
        labels without a logged prediction are counted in ``unmatched`` and not
        stored (send them again once the prediction is logged). The joined
        pairs feed each window's performance counts and the monitor's change
        detector (per-prediction errors, oldest prediction first); then alert
        rules run on the windows that changed.
        """
        target = self._target(monitor, "monitors.observe")
        if target.prediction is None or target.task is None:
            raise InvalidInput(
                f"monitor '{target.name}' has no prediction column and task",
                hint="Create it with prediction=, label= and task= to log labels",
            )
        column = label or target.label
        if column is None:
            raise InvalidInput("which column holds the labels?", hint="Pass label=COLUMN")
        frame = logs.prepare_labels(target, labels, request_id=request_id, label=column)
        for _ in range(_RETRIES):
            try:
                done = observing.log_labels(self._storage, target, frame)
            except observing.Retry:
                continue
            done.alerts, done.resolved = self._evaluate(target, done.windows)
            return done
        raise Conflict(
            f"labels for monitor '{target.name}' kept being logged by others meanwhile",
            hint="Retry",
        )

    def logs(self, name: str, *, labels: bool = False) -> pl.DataFrame:
        """Every logged row of a monitor (or, with ``labels=True``, every joined label)."""
        monitor = self.get(name)
        with self._storage.transaction() as tx:
            owner = monitor.label_owner if labels else monitor.log_owner
            files = tx.visible_files("monitoring", [owner])
        return logs.read(self._storage, files)

    # -- reading windows ----------------------------------------------------------

    def windows(
        self, name: str, *, last: int | None = None, since: datetime | None = None
    ) -> builtins.list[StoredWindow]:
        """Stored windows of a monitor, oldest first: the last ``last``, or those ending after ``since``."""
        self.get(name)
        with self._storage.transaction() as tx:
            rows = read_windows(tx, name, last=last, since=since)
        return decode(name, rows)

    def report(
        self,
        name: str,
        *,
        last: int | None = None,
        since: datetime | None = None,
        windows: Sequence[int] | None = None,
    ) -> timeline.MonitorReport:
        """Drift and performance per window, from the stored summaries alone.

        ``last`` keeps the newest windows, ``since`` those ending after a time,
        ``windows`` picks window ids; by default every window.
        """
        monitor = self.get(name)
        with self._storage.transaction() as tx:
            rows = read_windows(tx, name, ids=windows, last=last, since=since)
        return self._timeline(monitor, decode(name, rows))

    def drift_matrix(
        self,
        name: str,
        statistic: str = "psi",
        *,
        last: int | None = None,
        since: datetime | None = None,
        value: str = "value",
    ) -> pl.DataFrame:
        """Columns x windows of one statistic (or its status, ``value="status"``), as Polars."""
        from mlcore.monitoring.rules import DRIFT_STATISTICS

        if statistic not in DRIFT_STATISTICS:
            raise NotFound("statistic", statistic, candidates=DRIFT_STATISTICS)
        if value not in ("value", "status"):
            raise InvalidInput(f"value {value!r} is not 'value' or 'status'", field="value")
        return self.report(name, last=last, since=since).matrix(statistic, value)

    # -- alerts -------------------------------------------------------------------

    def evaluate(self, name: str) -> builtins.list[Alert]:
        """Check the rules on every window again (after changing rules); return new alerts."""
        monitor = self._target(name, "monitors.observe")
        with self._storage.transaction() as tx:
            ids = [i for (i,) in tx.fetchall(
                "SELECT window_id FROM monitor_windows WHERE monitor = ?", [monitor.name]
            )]  # fmt: skip
        return self._evaluate(monitor, ids)[0]

    def alerts(
        self,
        monitor: str | None = None,
        *,
        status: str | None = None,
        severity: str | None = None,
        action_status: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[Alert]:
        """Alerts, newest first; ``action_status="requested"`` lists retrains waiting for a job."""
        with self._storage.transaction() as tx:
            if monitor is not None:
                self._monitor(tx, monitor)
            return alert_store.listing(
                tx, monitor=monitor, status=status, severity=severity,
                action_status=action_status, limit=limit,
            )  # fmt: skip

    def alert(self, alert_id: int) -> Alert:
        with self._storage.transaction() as tx:
            return alert_store.get(tx, alert_id)

    def ack(self, alert_id: int, comment: str) -> Alert:
        """Acknowledge an open alert, saying why (``alerts.ack``; audited)."""
        with self._storage.transaction() as tx:
            return alert_store.acknowledge(tx, alert_id, comment)

    def resolve(self, alert_id: int, comment: str) -> Alert:
        """Resolve an open or acknowledged alert, saying how (``alerts.ack``; audited)."""
        with self._storage.transaction() as tx:
            return alert_store.acknowledge(tx, alert_id, comment, resolve=True)

    def run_action(self, alert_id: int) -> Alert:
        """Run an alert's retrain pipeline now (a requested or failed one) and record the run."""
        alert = self.alert(alert_id)
        if alert.action is None:
            raise InvalidInput(f"alert {alert_id} has no action", hint="Its rule names no pipeline")
        if alert.action_status == "succeeded":
            raise Conflict(
                f"alert {alert_id}'s pipeline already ran (run {alert.run_id})",
                hint="Run the pipeline itself to train again",
            )
        # Asked for by someone: a denial is theirs to see, not a "failed" retrain.
        with self._storage.transaction() as tx:
            tx.require("pipelines.run")
        return self._run_action(alert)

    # -- internals ----------------------------------------------------------------

    def _observe(
        self, monitor: Monitor, batch: Any, timestamp_column: str | None, request_id: str | None
    ) -> Observation:
        seen = observing.observe(
            self._storage, monitor, self._profile(monitor), self._calibration(monitor), batch,
            timestamp_column=timestamp_column, request_id=request_id,
        )  # fmt: skip
        seen.alerts, seen.resolved = self._evaluate(monitor, seen.windows)
        return seen

    def _evaluate(
        self, monitor: Monitor, ids: Sequence[int]
    ) -> tuple[builtins.list[Alert], builtins.list[Alert]]:
        """Check the rules on updated windows ``ids``; store alerts; run retrain actions."""
        from mlcore.monitoring.rules import Rule, evaluate

        checked = [Rule.from_dict(r) for r in monitor.rules]
        if not checked or not ids:
            return [], []
        back = max(r.consecutive for r in checked) - 1
        with self._storage.transaction() as tx:
            (span,) = tx.fetchone(
                "SELECT count(*) FROM monitor_windows WHERE monitor = ? AND window_id BETWEEN ? AND ?",
                [monitor.name, min(ids), max(ids)],
            ) or (0,)
            rows = read_windows(tx, monitor.name, upto=max(ids), last=span + back)
            (latest,) = tx.fetchone(
                "SELECT max(window_id) FROM monitor_windows WHERE monitor = ?", [monitor.name]
            ) or (None,)
        report = self._timeline(monitor, decode(monitor.name, rows))
        found = evaluate(checked, report.windows, set(ids), latest)
        if not found.raised and not found.cleared:
            return [], []
        with self._storage.transaction() as tx:
            raised, resolved = alert_store.record(tx, monitor.name, found)
        raised = [self._run_action(a) if a.action_status == "pending" else a for a in raised]
        return raised, resolved

    def _run_action(self, alert: Alert) -> Alert:
        """Run an alert's pipeline through ``store.pipelines`` and record the outcome.

        A failing pipeline (or one that cannot start) is recorded as ``failed``
        with the error, never raised: the batch that raised the alert is logged.
        """
        assert alert.action is not None
        pipelines = capability(self._store, "pipelines")
        if pipelines is None:
            status, run_id, error = "unavailable", None, "this store has no pipelines capability"
        else:
            try:
                result = pipelines.run(alert.action["pipeline"], alert.action.get("params") or {})
            except Exception as exc:  # the alert must record why its retrain did not run
                status, run_id, error = "failed", None, f"{type(exc).__name__}: {exc}"
            else:
                status = "succeeded" if str(result.status) == "succeeded" else "failed"
                run_id, error = result.id, None
        with self._storage.transaction() as tx:
            return alert_store.record_action(tx, alert.id, status, run_id=run_id, error=error)

    def _timeline(self, monitor: Monitor, stored: Sequence[StoredWindow]) -> timeline.MonitorReport:
        # Imported here: statistics need scipy, which listing monitors and alerts does not.
        from mlcore.monitoring import timeline

        return timeline.build(
            monitor.name, self._profile(monitor), self._calibration(monitor), stored,
            batch=monitor.window_spec.width is None, method=monitor.settings["method"],
            alpha=monitor.settings["alpha"],
        )  # fmt: skip

    def _profile(self, monitor: Monitor) -> ReferenceProfile:
        from mlcore.monitoring.profile import ReferenceProfile

        return self._blob(monitor.profile_sha256, ReferenceProfile.from_dict)

    def _calibration(self, monitor: Monitor) -> Calibration | None:
        from mlcore.monitoring.calibration import Calibration

        if monitor.calibration_sha256 is None:
            return None
        return self._blob(monitor.calibration_sha256, Calibration.from_dict)

    def _blob(self, sha: str, reader: Any) -> Any:
        """A stored profile or calibration, read and verified once per process."""
        with _cache_lock:
            if sha in _cache:
                _cache.move_to_end(sha)
                return _cache[sha]
        value = reader(codec.unpack(self._storage.read_blob(sha)))
        with _cache_lock:
            _cache[sha] = value
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return value

    def _monitor(self, tx: Tx, name: str) -> Monitor:
        row = tx.fetchone(f"SELECT {COLUMNS} FROM monitors WHERE name = ?", [name])
        if row is None:
            known = [n for (n,) in tx.fetchall("SELECT name FROM monitors")]
            raise NotFound("monitor", name, candidates=known)
        return Monitor.from_row(row)

    def _target(self, name: str, permission: str) -> Monitor:
        """A monitor by its name, or by the name of a model that has exactly one."""
        with self._storage.transaction() as tx:
            tx.require(permission)
            row = tx.fetchone(f"SELECT {COLUMNS} FROM monitors WHERE name = ?", [name])
            if row is not None:
                return Monitor.from_row(row)
            rows = tx.fetchall(
                f"SELECT {COLUMNS} FROM monitors WHERE model = ? ORDER BY name", [name]
            )
            if len(rows) > 1:
                raise InvalidInput(
                    f"model '{name}' has several monitors: {', '.join(r[0] for r in rows)}",
                    hint="Name the monitor",
                )
            if rows:
                return Monitor.from_row(rows[0])
            return self._monitor(tx, name)

    def _require_new(self, tx: Tx, name: str) -> None:
        if tx.fetchone("SELECT 1 FROM monitors WHERE name = ?", [name]):
            raise Conflict(f"monitor '{name}' already exists", hint="Choose another name")

    def _model_version(self, model: str | None) -> Any | None:
        if model is None:
            return None
        registry = capability(self._store, "models")
        if registry is None:
            raise InvalidInput(
                f"cannot attach to model '{model}': this store has no registry",
                hint="Create the monitor without model=",
            )
        return registry.resolve_ref(model)

    def _reference(self, reference: Any, record: Any | None) -> tuple[pl.DataFrame, str]:
        """The reference rows and where they came from."""
        from mlcore.frames import to_polars

        if reference is None:
            dataset = (record.lineage or {}).get("dataset") if record is not None else None
            if not dataset or not dataset.get("name"):
                raise InvalidInput(
                    "a monitor needs reference rows",
                    hint="Pass reference= (the training frame, a file or a dataset name)",
                )
            reference = dataset["name"]
            version = dataset.get("version")
        else:
            version = None
        if isinstance(reference, (str, Path)) and not _is_file(reference):
            features = capability(self._store, "features")
            if features is None:
                raise NotFound("reference file", str(reference))
            frame = features.load_dataset(str(reference), version)
            return frame, f"dataset:{reference}" + (f"/{version}" if version else "")
        source = str(reference) if isinstance(reference, (str, Path)) else "frame"
        return to_polars(reference, what="reference"), source


def _is_file(reference: str | Path) -> bool:
    path = Path(reference)
    return path.exists() or path.suffix.lower() in (".parquet", ".csv", ".pq")
