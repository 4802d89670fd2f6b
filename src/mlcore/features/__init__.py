"""Feature store: definitions, ingestion, point-in-time retrieval, aggregations, online lookup.

Every store opens this package (for its catalog schema), so names load on first
use: ``from mlcore.features import FeatureView`` costs nothing until then.

>>> import mlcore.features as features
>>> features.Entity("driver").join_keys[0].name
'driver'
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module defining it, imported on first access
_LAZY = {
    "Entity": "mlcore.features.definitions",
    "FeatureView": "mlcore.features.definitions",
    "Field": "mlcore.features.definitions",
    "Definition": "mlcore.features.definitions",
    "load_definitions": "mlcore.features.definitions",
    "Aggregation": "mlcore.features.aggregations",
    "FeatureStore": "mlcore.features.store",
    "Resolution": "mlcore.features.store",
    "Plan": "mlcore.features.plan",
    "Change": "mlcore.features.plan",
    "IngestReport": "mlcore.features.ingest",
    "Dataset": "mlcore.features.datasets",
    "Materialization": "mlcore.features.online",
    "ViewSource": "mlcore.features.retrieval",
    "point_in_time_join": "mlcore.features.retrieval",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcore.features' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
