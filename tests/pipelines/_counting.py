"""Steps that count their calls, and a pipeline file that calls a helper: shared by the
executor's tests (in-memory and directory stores) and the runner's (the store's catalog)."""

from __future__ import annotations

import types

from mlcore.pipelines import step

# Call counts live in a namespace object: plain module data (a dict, a list)
# would enter the steps' cache keys and change them on every call.
calls = types.SimpleNamespace(load=0, double=0, label=0, total=0)


def reset_calls() -> None:
    for field in vars(calls):
        setattr(calls, field, 0)


@step
def load(n: int) -> list:
    calls.load += 1
    return list(range(n))


@step
def double(values: list) -> list:
    calls.double += 1
    return [2 * v for v in values]


@step
def total(values: list) -> int:
    calls.total += 1
    return sum(values)


@step
def label(name: str) -> str:
    calls.label += 1
    return name.upper()


def statuses(result) -> dict[str, str]:
    return {name: str(s.status) for name, s in result.steps.items()}


# A pipeline file whose step calls a plain helper: editing the helper must miss.
HELPER_FLOW = """
from mlcore.pipelines import pipeline, step

def scale(values):
    return [v * 10 for v in values]

@step
def make(n: int) -> list:
    return list(range(n))

@step
def scaled(values: list) -> list:
    return scale(values)

@pipeline
def flow(n: int = 3):
    scaled(make(n))
"""
