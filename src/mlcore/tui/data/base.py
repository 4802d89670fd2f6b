"""What every part of the data layer shares: the store, and finding its capabilities.

A capability this store does not have is detected in one place,
:meth:`Capabilities._api`: its module is not installed (``ModuleNotFoundError``
for an ``mlcore.`` module) or it lacks the method asked for. The part of the
view becomes an :class:`~mlcore.tui.viewmodels.Unavailable` naming what is
missing; nothing is invented in its place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mlcore.tui import viewmodels as vm

if TYPE_CHECKING:
    from mlcore.api import Store

__all__ = ["TUI_LOCK_TIMEOUT", "Capabilities"]

T = TypeVar("T")

#: A refresh that waits 30 s for a busy catalog looks frozen; the TUI gives up
#: sooner, says "store busy, retrying" and tries again on its next tick.
TUI_LOCK_TIMEOUT = 2.0

_CAPABILITY_NAMES = {
    "features": "features",
    "models": "model registry",
    "evals": "evaluation",
    "monitors": "monitoring",
    "pipelines": "pipeline runs",
}


class _Missing(Exception):
    def __init__(self, unavailable: vm.Unavailable) -> None:
        super().__init__(str(unavailable))
        self.unavailable = unavailable


class Capabilities:
    """The store as one actor sees it, with a shorter wait for a busy catalog.

    Parameters
    ----------
    store
        The open store (``mlcore.open(...)``).
    lock_timeout
        Longest a call waits for a catalog another process holds before raising
        :class:`~mlcore.errors.StoreBusy` (None: the store's own setting).
    """

    def __init__(self, store: Store, *, lock_timeout: float | None = TUI_LOCK_TIMEOUT) -> None:
        self.store = store
        if lock_timeout is not None:
            # The store has no per-call timeout in its API; the catalog's own
            # setting is the one knob (lowered, never raised).
            catalog = store.storage.catalog
            catalog.lock_timeout = min(catalog.lock_timeout, lock_timeout)

    @property
    def actor(self) -> str:
        return self.store.actor

    @property
    def path(self) -> str:
        return str(self.store.path)

    def _api(self, capability: str, method: str) -> Callable[..., Any]:
        """``store.<capability>.<method>``, or _Missing naming what this store lacks."""
        what = _CAPABILITY_NAMES[capability]
        try:
            owner = getattr(self.store, capability)
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("mlcore."):
                raise
            raise _Missing(vm.Unavailable(what, f"{exc.name} is not installed")) from None
        found = getattr(owner, method, None)
        if found is None:
            raise _Missing(vm.Unavailable(what, f"store.{capability} has no {method}()"))
        return found

    def _part(self, compute: Callable[[], T]) -> T | vm.Unavailable:
        """``compute()``, or the Unavailable a missing capability on the way raised."""
        try:
            return compute()
        except _Missing as missing:
            return missing.unavailable
