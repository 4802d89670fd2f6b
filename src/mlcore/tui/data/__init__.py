"""The TUI's one door to the store: Python API calls in, plain view models out.

Every method of :class:`DataAccess` runs in a worker thread, makes a few short
API calls and returns a :mod:`~mlcore.tui.viewmodels` object; no method keeps
the catalog between calls (the catalog lets go by itself when idle). There is
no SQL here: only ``mlcore.open(...)`` and the capabilities' public methods.

One module per view: :mod:`~mlcore.tui.data.store` (health, audit),
:mod:`~mlcore.tui.data.models` (registry and evaluations),
:mod:`~mlcore.tui.data.features`, :mod:`~mlcore.tui.data.runs`,
:mod:`~mlcore.tui.data.monitoring` and :mod:`~mlcore.tui.data.actions` (the
verbs), each a mixin over :class:`~mlcore.tui.data.base.Capabilities`, which
finds a capability, or says in one place that this store lacks it.

Examples
--------
>>> import tempfile, mlcore
>>> store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="ana")
>>> data = DataAccess(store)
>>> page = data.audit()
>>> [e.action for e in page.entries], page.chain_ok
(['store.create'], True)
>>> data.monitoring().monitors, data.overview().alerts
((), ())
>>> store.close()
"""

from __future__ import annotations

from mlcore.tui.data.access import DataAccess
from mlcore.tui.data.models import rule_results

__all__ = ["DataAccess", "rule_results"]
