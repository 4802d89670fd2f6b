"""What a step that uses the store sees of the run executing it.

Most steps are pure functions of their inputs. A few need the store itself:
``register`` records a model version, ``features`` reads the feature store.
Those are declared ``@step(uses_store=True)``; the engine runs them in the
process that runs the pipeline (registry calls are short; that process already
holds the store), never in a worker, and while one runs :func:`current_run`
returns a :class:`RunContext` with the store, the run id and the step's name.

Examples
--------
>>> current_run()
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: no pipeline run is using a store here. Declare the step with @step(uses_store=True) and run its pipeline with store.pipelines.run(...).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mlcore.errors import InvalidInput

__all__ = ["RunContext", "current_run", "running"]


@dataclass(frozen=True)
class RunContext:
    """The store, run and step a store-bound step is executing for."""

    store: Any  # mlcore.Store; Any to keep this module free of the API layer
    run_id: str
    pipeline: str
    step: str
    source: str | None = None

    @property
    def source_file(self) -> str | None:
        """The file defining the pipeline (``source`` without its ``:NAME``)."""
        if self.source is None:
            return None
        from mlcore.pipelines.pipeline import split_pipeline_spec

        return str(split_pipeline_spec(self.source)[0])


_CURRENT: ContextVar[RunContext | None] = ContextVar("mlcore_run_context", default=None)


@contextmanager
def running(context: RunContext) -> Iterator[None]:
    """Within this block, :func:`current_run` returns ``context``."""
    token = _CURRENT.set(context)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_run() -> RunContext:
    """The run executing the current store-bound step.

    Raises InvalidInput outside one: in a step not declared
    ``uses_store=True``, in a run without a store, or outside any run.
    """
    context = _CURRENT.get()
    if context is None:
        raise InvalidInput(
            "no pipeline run is using a store here",
            hint="Declare the step with @step(uses_store=True) and run its pipeline "
            "with store.pipelines.run(...)",
        )
    return context
