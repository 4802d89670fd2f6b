"""The data layer as the app uses it: every view's reads and the verbs, for one actor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlcore.tui import viewmodels as vm
from mlcore.tui.data.actions import Actions
from mlcore.tui.data.base import TUI_LOCK_TIMEOUT
from mlcore.tui.data.features import FeaturesData
from mlcore.tui.data.monitoring import MonitoringData
from mlcore.tui.data.runs import RunsData
from mlcore.tui.data.store import StoreData

if TYPE_CHECKING:
    from mlcore.api import Store

__all__ = ["DataAccess"]


class DataAccess(StoreData, FeaturesData, RunsData, MonitoringData, Actions):
    """View models of one store, for one actor.

    Parameters
    ----------
    store
        The open store (``mlcore.open(...)``).
    lock_timeout
        Longest a call waits for a catalog another process holds before raising
        :class:`~mlcore.errors.StoreBusy` (None: the store's own setting).
    verify_every
        Seconds between full audit-chain verifications while the number of
        entries stays the same (verification reads the whole chain).
    """

    def __init__(
        self,
        store: Store,
        *,
        lock_timeout: float | None = TUI_LOCK_TIMEOUT,
        verify_every: float = 60.0,
    ) -> None:
        super().__init__(store, lock_timeout=lock_timeout)
        self.verify_every = verify_every

    def overview(self) -> vm.Overview:
        """What serves production, what waits for review, open alerts, recent runs, health."""
        return vm.Overview(
            health=self.health(),
            production=self._part(self.models),
            pending=self._part(self.pending),
            alerts=self.open_alerts(),
            runs=self.runs(limit=5),
        )
