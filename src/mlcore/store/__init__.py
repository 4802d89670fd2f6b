"""The store layer: catalog (DuckDB), immutable data files, blobs, audit chain, access.

It knows nothing of models or features; capabilities build on :class:`Storage`.
"""

from __future__ import annotations

from mlcore.store.files import DataFile
from mlcore.store.migrations import Component
from mlcore.store.storage import CATALOG_FILE, GcReport, Storage, Tx, discover, open_storage

__all__ = [
    "CATALOG_FILE",
    "Component",
    "DataFile",
    "GcReport",
    "Storage",
    "Tx",
    "discover",
    "open_storage",
]
