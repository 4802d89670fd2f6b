"""The public entry point: ``mlcore.open(path) -> Store``.

A :class:`Store` is the store directory seen by one actor, with one attribute
per capability — ``.features``, ``.models``, ``.evals``, ``.monitors``,
``.pipelines`` — each created on first use. This layer also wires the
capabilities together (the release gate the registry calls is evaluation's;
the scoring log the registry writes is monitoring's), so that capabilities never
import each other's internals and front ends never touch SQL.
"""

from __future__ import annotations

import importlib
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.store import Component, GcReport, Storage, open_storage

if TYPE_CHECKING:
    from mlcore.store.audit import AuditEntry, Verification

# Each capability's catalog tables, applied (migrated forward) when a store opens.
_SCHEMA_MODULES = (
    "mlcore.features.schema",
    "mlcore.registry.schema",
    "mlcore.evaluation.schema",
    "mlcore.monitoring.schema",
    "mlcore.pipelines.schema",
)


def components() -> list[Component]:
    found = []
    for name in _SCHEMA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        found.append(module.SCHEMA)
    return found


class Store:
    """An mlcore store, as seen by one actor.

    >>> import tempfile, mlcore
    >>> store = mlcore.open(tempfile.mkdtemp() + "/demo", create=True, actor="ana")
    >>> store.actor, store.actors()
    ('ana', {'ana': ['admin']})
    >>> store.verify_audit().ok
    True
    >>> store.close()
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def __repr__(self) -> str:
        return f"<mlcore.Store {str(self.path)!r} as {self.actor!r}>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self.storage.root

    @property
    def actor(self) -> str:
        return self.storage.actor

    def as_actor(self, actor: str) -> Store:
        """The same store acting as someone else (shares the catalog connection)."""
        return Store(self.storage.with_actor(actor))

    # -- capabilities -------------------------------------------------------------

    @cached_property
    def features(self) -> Any:
        from mlcore.features.store import FeatureStore

        return FeatureStore(self.storage, store=self)

    @cached_property
    def models(self) -> Any:
        from mlcore.registry.registry import Registry

        return Registry(self.storage, hooks=self)

    @cached_property
    def evals(self) -> Any:
        from mlcore.evaluation.evaluations import Evaluations

        return Evaluations(self.storage, store=self)

    @cached_property
    def monitors(self) -> Any:
        from mlcore.monitoring.monitors import Monitors

        return Monitors(self.storage, store=self)

    @cached_property
    def pipelines(self) -> Any:
        from mlcore.pipelines.runner import Pipelines

        return Pipelines(self.storage, store=self)

    # -- store-wide verbs -----------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self.storage.info()

    def gc(self, *, remove: bool = False, grace: float | None = None) -> GcReport:
        return self.storage.gc(remove=remove, grace=grace)

    def grant(self, actor: str, role: str) -> bool:
        return self.storage.grant(actor, role)

    def revoke(self, actor: str, role: str) -> None:
        self.storage.revoke(actor, role)

    def actors(self) -> dict[str, list[str]]:
        return self.storage.actors()

    def audit_log(self, **filters: Any) -> list[AuditEntry]:
        return self.storage.audit_log(**filters)

    def verify_audit(self) -> Verification:
        return self.storage.verify_audit()

    def close(self) -> None:
        self.storage.close()


def open(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = False,
    actor: str | None = None,
) -> Store:
    """Open the store at ``path`` (default: ``MLCORE_STORE`` or the nearest ``.mlcore``).

    ``create=True`` makes the folder and catalog if missing; its creator becomes
    the store's first admin. ``actor`` defaults to ``MLCORE_ACTOR`` or the OS user.
    """
    return Store(open_storage(path, create=create, actor=actor, components=components()))
