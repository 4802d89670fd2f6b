"""mlcore: the whole ML lifecycle in one directory and one Python process.

>>> import mlcore
>>> mlcore.InvalidInput.exit_code
2

Heavy parts load on first use, so ``import mlcore`` (and ``mlcore --help``)
stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlcore.errors import (
    CheckFailed,
    Conflict,
    CorruptArtifact,
    GateFailed,
    InvalidInput,
    MlcoreError,
    NotFound,
    PermissionDenied,
    StoreBusy,
)

__version__ = "0.1.0"

# public name -> module that defines it, imported on first access
_LAZY = {
    "open": "mlcore.api",
    "Store": "mlcore.api",
    "Entity": "mlcore.features.definitions",
    "FeatureView": "mlcore.features.definitions",
    "Field": "mlcore.features.definitions",
    "Aggregation": "mlcore.features.definitions",
    "step": "mlcore.pipelines",
    "pipeline": "mlcore.pipelines",
}

__all__ = [
    "CheckFailed",
    "Conflict",
    "CorruptArtifact",
    "GateFailed",
    "InvalidInput",
    "MlcoreError",
    "NotFound",
    "PermissionDenied",
    "StoreBusy",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
