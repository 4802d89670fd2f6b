"""Reaching another capability: absent only when its package is missing, never when broken."""

from __future__ import annotations

import pytest

import mlcore
from mlcore.capabilities import PACKAGES, capability


class Hooks:
    def __init__(self, error: Exception) -> None:
        self.error = error

    @property
    def evals(self):
        raise self.error


def test_capability_is_absent_only_when_its_package_is_missing() -> None:
    missing = ModuleNotFoundError("no evaluations", name="mlcore.evaluation.evaluations")
    assert capability(Hooks(missing), "evals") is None
    assert capability(None, "evals") is None
    assert capability(object(), "evals") is None
    broken = ModuleNotFoundError("no scipy", name="scipy")
    with pytest.raises(ModuleNotFoundError):
        capability(Hooks(broken), "evals")
    with pytest.raises(RuntimeError):
        capability(Hooks(RuntimeError("bad policy")), "evals")


def test_every_capability_of_a_store_has_its_package(store) -> None:
    assert set(PACKAGES) == {"features", "models", "evals", "monitors", "pipelines"}
    for name, package in PACKAGES.items():
        found = capability(store, name)
        assert found is getattr(store, name)
        assert type(found).__module__.startswith(package + "."), name
    assert isinstance(store, mlcore.Store)
