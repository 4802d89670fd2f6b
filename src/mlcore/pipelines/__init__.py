"""Pipelines: typed steps, an inferred DAG, content-addressed caching and runs.

Decorate plain functions with :func:`step`, wire them in a :func:`pipeline`
function (or :meth:`Pipeline.from_steps`), and run: each step's outputs are
stored as artifacts under a cache key of its code (and the project code it
calls), its parameters, its inputs' content hashes and the mlcore version;
a rerun with nothing changed reuses them. Independent steps run in parallel
worker processes with retries and timeouts; every run is recorded.

Examples
--------
>>> from mlcore.pipelines import MemoryArtifactStore, MemoryRunStore, pipeline, step
>>> @step
... def numbers(n: int) -> list:
...     return list(range(n))
>>> @step
... def total(values: list) -> int:
...     return sum(values)
>>> @pipeline
... def count(n: int = 4):
...     total(numbers(n))
>>> artifacts, runs = MemoryArtifactStore(), MemoryRunStore()
>>> first = count.run(artifacts=artifacts, runs=runs)
>>> first.output("total"), first.steps["total"].status
(6, <StepStatus.SUCCEEDED: 'succeeded'>)
>>> again = count.run(artifacts=artifacts, runs=runs)
>>> again.steps["total"].status, again.steps["total"].reused_from == first.id
(<StepStatus.CACHED: 'cached'>, True)
>>> count.run({"n": "5"}, artifacts=artifacts, runs=runs).output("total")
10
"""

from __future__ import annotations

from mlcore.pipelines.cache import (
    ArtifactRef,
    ArtifactStore,
    DirectoryArtifactStore,
    MemoryArtifactStore,
)
from mlcore.pipelines.config import Parameter, read_config
from mlcore.pipelines.context import RunContext, current_run
from mlcore.pipelines.executor import resume_run, run_pipeline
from mlcore.pipelines.feature_inputs import FeatureSnapshot, SavedDataset
from mlcore.pipelines.hashing import Fingerprinted, InputFile, code_fingerprint
from mlcore.pipelines.pipeline import Node, Pipeline, load_pipeline, pipeline, split_pipeline_spec
from mlcore.pipelines.runs import (
    CachedOutputs,
    DirectoryRunStore,
    Event,
    EventHandler,
    MemoryRunStore,
    RunRecord,
    RunResult,
    RunStatus,
    RunStore,
    StepError,
    StepRecord,
    StepStatus,
)
from mlcore.pipelines.step import CachePolicy, OutputRef, ParamRef, Step, step

__all__ = [
    "ArtifactRef",
    "ArtifactStore",
    "CachePolicy",
    "CachedOutputs",
    "DirectoryArtifactStore",
    "DirectoryRunStore",
    "Event",
    "EventHandler",
    "FeatureSnapshot",
    "Fingerprinted",
    "InputFile",
    "MemoryArtifactStore",
    "MemoryRunStore",
    "Node",
    "OutputRef",
    "ParamRef",
    "Parameter",
    "Pipeline",
    "RunContext",
    "RunRecord",
    "RunResult",
    "RunStatus",
    "RunStore",
    "SavedDataset",
    "Step",
    "StepError",
    "StepRecord",
    "StepStatus",
    "code_fingerprint",
    "current_run",
    "load_pipeline",
    "pipeline",
    "read_config",
    "resume_run",
    "run_pipeline",
    "split_pipeline_spec",
    "step",
]
