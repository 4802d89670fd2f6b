"""How one capability reaches another: through the store object, if this mlcore has it.

``store.features``, ``store.models``, ``store.evals``, ``store.monitors`` and
``store.pipelines`` are created on first use by importing their package. A
build may lack one, so a capability that needs another asks :func:`capability`,
which answers None for "not here" — no store, no such attribute, or the
capability's own package missing — and lets every other error through: a
capability that is present but broken (a missing dependency, a bad policy)
must fail the caller, never be skipped as absent; a broken gate must block a
release, not wave it through.

Examples
--------
>>> from types import SimpleNamespace
>>> capability(SimpleNamespace(models="the registry"), "models")
'the registry'
>>> capability(None, "models") is None, capability(SimpleNamespace(), "evals") is None
(True, True)
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["PACKAGES", "capability"]

#: The package behind each capability attribute of :class:`mlcore.api.Store`.
PACKAGES = {
    "features": "mlcore.features",
    "models": "mlcore.registry",
    "evals": "mlcore.evaluation",
    "monitors": "mlcore.monitoring",
    "pipelines": "mlcore.pipelines",
}


def capability(store: object, name: str) -> Any | None:
    """``store.<name>``, or None when the store has no such capability (see the module doc)."""
    if store is None or inspect.getattr_static(store, name, None) is None:
        return None
    try:
        return getattr(store, name)
    except ModuleNotFoundError as exc:
        package = PACKAGES.get(name)
        if package and exc.name and (exc.name == package or exc.name.startswith(package + ".")):
            return None
        raise
