"""Pipeline runs: the newest runs, and one run's steps and lineage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcore.tui import viewmodels as vm
from mlcore.tui.data.base import Capabilities

__all__ = ["RunsData", "lineage_rows"]


class RunsData(Capabilities):
    def runs(self, limit: int = 200) -> vm.Part[tuple[vm.RunRow, ...]]:
        """The newest runs, newest first."""
        return self._part(
            lambda: tuple(_run_row(r) for r in self._api("pipelines", "runs")(limit=limit))
        )

    def run(self, run_id: str) -> vm.RunDetail:
        """Steps with status, timings and cache hits; lineage from inputs to evaluations."""
        found = self._api("pipelines", "get")(run_id)
        record = getattr(found, "record", found)  # a RunResult wraps its RunRecord
        return vm.RunDetail(
            row=_run_row(record),
            params=dict(record.params),
            source=record.source,
            resumed_from=record.resumed_from,
            steps=tuple(
                vm.StepRow(
                    s.name,
                    str(s.status),
                    s.seconds,
                    s.cache_hit,
                    s.attempts,
                    None if s.error is None else f"{s.error.type}: {s.error.message}",
                )
                for s in record.steps.values()
            ),
            lineage=self._part(
                lambda: lineage_rows(self._api("pipelines", "lineage")(run_id).to_dict())
            ),
        )


def lineage_rows(lineage: Mapping[str, Any]) -> tuple[vm.LineageRow, ...]:
    """The chain data -> step outputs -> model versions -> evaluations, one row per link.

    >>> rows = lineage_rows({
    ...     "run": {"id": "r1"},
    ...     "inputs": [{"step": "split", "input": "frame", "sha256": "ab" * 32}],
    ...     "steps": [{"name": "split", "computed_by": "r0",
    ...                "outputs": {"train": {"sha256": "cd" * 32, "kind": "frame"}}}],
    ...     "models": [{"ref": "churn/3", "state": "draft", "training_data": {"rows": 90},
    ...                 "evaluations": [{"id": "ev-1", "verdict": "pass", "n_rows": 30}]}],
    ... })
    >>> [(r.kind, r.name, r.detail, r.ref) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('input', 'split.frame', 'data given to the run', None),
     ('output', 'split.train', 'frame, reused from run r0', None),
     ('model', 'churn/3', 'draft, trained on 90 rows', 'churn/3'),
     ('evaluation', 'ev-1', 'pass on 30 rows', 'churn/3')]
    """
    run_id = lineage["run"]["id"]
    rows = [
        vm.LineageRow("input", f"{i['step']}.{i['input']}", "data given to the run", i["sha256"])
        for i in lineage["inputs"]
    ]
    for step in lineage["steps"]:
        by = step.get("computed_by")
        reused = f", reused from run {by}" if by and by != run_id else ""
        rows += [
            vm.LineageRow(
                "output", f"{step['name']}.{name}", f"{out['kind']}{reused}", out["sha256"]
            )
            for name, out in step["outputs"].items()
        ]
    for model in lineage["models"]:
        ref = model["ref"]
        trained = model.get("training_data") or {}
        detail = model.get("state") or "registered"
        if trained.get("rows") is not None:
            detail += f", trained on {trained['rows']} rows"
        rows.append(vm.LineageRow("model", ref, detail, model.get("artifact_sha256"), ref))
        rows += [
            vm.LineageRow("evaluation", e["id"], f"{e['verdict']} on {e['n_rows']} rows", None, ref)
            for e in model.get("evaluations") or ()
        ]
    return tuple(rows)


def _run_row(record: Any) -> vm.RunRow:
    steps = list(record.steps.values())
    seconds = None
    if record.started_at is not None and record.finished_at is not None:
        seconds = (record.finished_at - record.started_at).total_seconds()
    return vm.RunRow(
        id=record.id,
        pipeline=record.pipeline,
        status=str(record.status),
        started_at=record.started_at,
        seconds=seconds,
        steps=len(steps),
        cached=sum(1 for s in steps if s.cache_hit),
        failed=sum(1 for s in steps if str(s.status) == "failed"),
    )
