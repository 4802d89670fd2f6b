"""The store itself: its health, and the audit log with the chain's verification."""

from __future__ import annotations

import time
from typing import Any

from mlcore.tui import viewmodels as vm
from mlcore.tui.data.base import Capabilities

__all__ = ["StoreData"]


class StoreData(Capabilities):
    """Health and audit views; verifying the chain reads it whole, so it is cached."""

    #: seconds between full verifications while the number of entries stays the same
    verify_every: float = 60.0
    _verified: tuple[float, int, Any] | None = None

    def _verification(self, entries: int) -> Any:
        now = time.monotonic()
        if self._verified is not None:
            at, count, result = self._verified
            if count == entries and now - at < self.verify_every:
                return result
        result = self.store.verify_audit()
        self._verified = (now, entries, result)
        return result

    def health(self) -> vm.Health:
        info = self.store.info()
        check = self._verification(info["audit_entries"])
        return vm.Health(
            path=info["path"],
            actor=info["actor"],
            roles=tuple(info["actor_roles"]),
            data_files=info["data_files"]["count"],
            data_rows=info["data_files"]["rows"],
            data_bytes=info["data_files"]["bytes"],
            artifacts=info["artifacts"]["count"],
            artifact_bytes=info["artifacts"]["bytes"],
            audit_entries=info["audit_entries"],
            chain_ok=check.ok,
            chain_head=f"{check.head_seq}:{check.head_hash}",
            chain_problem=check.problem,
            schema=dict(info["schema"]),
        )

    def audit(self, limit: int = 500) -> vm.AuditPage:
        """The newest ``limit`` entries, newest first, and the chain's verification."""
        entries = self.store.audit_log(limit=limit, newest_first=True)
        total = self.store.info()["audit_entries"]
        check = self._verification(total)
        return vm.AuditPage(
            entries=tuple(
                vm.AuditRow(e.seq, e.at, e.actor, e.action, e.subject, e.details, e.hash)
                for e in entries
            ),
            total=total,
            chain_ok=check.ok,
            chain_head=f"{check.head_seq}:{check.head_hash}",
            chain_problem=check.problem,
        )
