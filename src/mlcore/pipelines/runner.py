"""Pipelines on a store: ``store.pipelines``.

Runs are recorded in the store's catalog and step outputs kept as its blobs
(:mod:`mlcore.pipelines.catalog`), so a cache hit reuses what any earlier run
on the store produced, whoever ran it, and every run can be listed, shown,
resumed and traced to the model versions it registered.

Examples
--------
>>> import tempfile, mlcore
>>> from mlcore.pipelines import pipeline, step
>>> @step
... def numbers(n: int) -> list:
...     return list(range(n))
>>> @step
... def total(values: list) -> int:
...     return sum(values)
>>> @pipeline
... def count(n: int = 4):
...     total(numbers(n))
>>> store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="ana")
>>> first = store.pipelines.run(count)
>>> first.output("total"), str(first.status)
(6, 'succeeded')
>>> again = store.pipelines.run(count)
>>> [str(s.status) for s in again.steps.values()]
['cached', 'cached']
>>> [r.id for r in store.pipelines.runs()] == [again.id, first.id]
True
>>> store.close()
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlcore.capabilities import capability
from mlcore.errors import InvalidInput
from mlcore.pipelines.catalog import CatalogRunStore, Journal, StoreArtifacts
from mlcore.pipelines.pipeline import Pipeline, load_pipeline
from mlcore.pipelines.runs import RunRecord, RunResult

if TYPE_CHECKING:
    import os

    from mlcore.pipelines.runs import EventHandler
    from mlcore.store import Storage

__all__ = ["Lineage", "Pipelines"]

#: Step name of the ready-made register step, whose outputs name model versions.
_REGISTER = "register"


@dataclass(frozen=True)
class Lineage:
    """Where a run's results came from and went: data -> step outputs -> models -> evaluations.

    ``inputs`` are the step inputs that came from outside the run (files,
    feature snapshots, frames passed in), by content hash; ``steps`` each
    step's input and output hashes, and the run that computed them when it was
    reused; ``models`` the versions the run registered (or reused from the run
    that registered them) with their lineage as the registry recorded it, and
    each version's ``evaluations`` (None while the store has no evaluation
    capability).
    """

    run: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "inputs": self.inputs, "steps": self.steps, "models": self.models}


class Pipelines:
    """Run, resume, list and trace pipelines on one store, as one actor.

    Parameters
    ----------
    storage
        The open store.
    store
        The :class:`mlcore.Store` it belongs to: handed to steps declared
        ``uses_store=True`` and used to reach the registry for lineage.
    """

    def __init__(self, storage: Storage, store: Any = None) -> None:
        self._storage = storage
        self._store = store
        journal = Journal(storage)
        self.artifacts = StoreArtifacts(journal)
        self.records = CatalogRunStore(journal)

    def __repr__(self) -> str:
        return f"<Pipelines of {self._storage.root} as {self._storage.actor!r}>"

    # -- running ----------------------------------------------------------------

    def load(self, spec: str | os.PathLike[str] | Pipeline) -> Pipeline:
        """A pipeline object as it is, or loaded from ``FILE[:NAME]``."""
        return spec if isinstance(spec, Pipeline) else load_pipeline(spec)

    def run(
        self,
        pipeline: Pipeline | str | os.PathLike[str],
        params: Mapping[str, Any] | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        workers: int = 1,
        no_cache: bool = False,
        on_event: EventHandler | None = None,
    ) -> RunResult:
        """Run a pipeline (an object or ``FILE[:NAME]``) and record it in the store.

        Parameters, config, workers, no_cache and on_event are as for
        :func:`mlcore.pipelines.executor.run_pipeline`. Needs the
        ``pipelines.run`` permission. A failing step does not raise: the
        result's status says FAILED and the step's record holds the error.
        """
        from mlcore.pipelines.executor import run_pipeline

        return run_pipeline(
            self.load(pipeline),
            params,
            config=config,
            workers=workers,
            no_cache=no_cache,
            artifacts=self.artifacts,
            runs=self.records,
            on_event=on_event,
            store=self._store,
        )

    def resume(
        self,
        run_id: str,
        *,
        pipeline: Pipeline | str | os.PathLike[str] | None = None,
        workers: int = 1,
        on_event: EventHandler | None = None,
    ) -> RunResult:
        """Continue a failed run as a new run that reuses its succeeded steps' outputs.

        The pipeline is loaded again from the file the run recorded (its
        ``source``) unless given. ``run_id`` may be a unique prefix or the
        random suffix of the id.
        """
        from mlcore.pipelines.executor import resume_run

        previous = self.records.get_run(run_id)
        if pipeline is None:
            if previous.source is None:
                raise InvalidInput(
                    f"run {previous.id} recorded no pipeline file to load again",
                    hint="Pass the pipeline: resume(run_id, pipeline=...)",
                )
            pipeline = previous.source
        return resume_run(
            self.load(pipeline),
            previous.id,
            artifacts=self.artifacts,
            runs=self.records,
            workers=workers,
            on_event=on_event,
            store=self._store,
        )

    # -- reading ------------------------------------------------------------------

    def runs(self, pipeline: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first; of one pipeline (by name) if given."""
        return self.records.list_runs(pipeline, limit)

    def get(self, run_id: str) -> RunResult:
        """One run (by id, unique prefix or suffix), whose ``output(step)`` loads outputs."""
        return RunResult(self.records.get_run(run_id), self.artifacts)

    def lineage(self, run_id: str) -> Lineage:
        """The chain from the run's input data through its step outputs to its models."""
        record = self.records.get_run(run_id)
        inputs = [
            {"step": name, "input": arg, "sha256": sha}
            for name, step in record.steps.items()
            for arg, sha in step.inputs.items()
            if arg not in step.sources
        ]
        steps = [
            {
                "name": name,
                "step": step.step,
                "status": str(step.status),
                "computed_by": (step.reused_from or record.id) if step.status.done else None,
                "inputs": {
                    arg: {"sha256": sha, "from": step.sources.get(arg)}
                    for arg, sha in step.inputs.items()
                },
                "outputs": {k: v.to_dict() for k, v in step.outputs.items()},
            }
            for name, step in record.steps.items()
        ]
        models = [self._model(name, version) for name, version in self._registered(record)]
        summary = {
            "id": record.id,
            "pipeline": record.pipeline,
            "status": str(record.status),
            "params": record.params,
            "source": record.source,
            "resumed_from": record.resumed_from,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
        }
        return Lineage(summary, inputs, steps, models)

    def _registered(self, record: RunRecord) -> list[tuple[str, int]]:
        """(model, version) of every version the run registered, by whichever step (the
        registry records the run), then those its cached register steps reused."""
        models = capability(self._store, "models")
        found = (
            []
            if models is None
            else [(v.name, v.version) for v in models.search(pipeline_run=record.id)]
        )
        for step in record.steps.values():
            ref = step.outputs.get("model_version")
            if step.step != _REGISTER or ref is None or not step.status.done:
                continue
            value = json.loads(self.artifacts.get(ref.sha256))
            made = (value["model"], int(value["version"]))
            if made not in found:
                found.append(made)
        return found

    def _model(self, name: str, version: int) -> dict[str, Any]:
        entry: dict[str, Any] = {"model": name, "version": version, "ref": f"{name}/{version}"}
        models = capability(self._store, "models")
        if models is None:
            return entry
        record = models.get(name, version)
        lineage = record.lineage
        entry |= {
            "state": record.state,
            "artifact_sha256": record.artifact_sha256,
            "created_at": record.created_at,
            "created_by": record.created_by,
            "pipeline_run": lineage.get("pipeline_run"),
            "training_data": lineage.get("training_data"),
            "dataset": lineage.get("dataset"),
            "features": lineage.get("features"),
            "evaluations": self._evaluations(name, version),
        }
        return entry

    def _evaluations(self, name: str, version: int) -> list[dict[str, Any]] | None:
        """A version's evaluations, newest first, without their metric tables; None when
        the store has no evaluation capability."""
        evals = capability(self._store, "evals")
        if evals is None:
            return None
        return [
            {k: v for k, v in e.to_dict().items() if k != "results"}
            for e in evals.evaluations(name, version)
        ]
