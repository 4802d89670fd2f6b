"""Production monitoring: reference profiles, window summaries, drift, change detection.

The numeric core, in the order data flows through it:

* :class:`ReferenceProfile` (``profile``) fits column layouts on a model's
  training data: bins at reference quantiles, a fine grid, categories;
* :class:`WindowSummary` (``summary``) holds the bounded, mergeable counts of a
  window of production rows, filled by the Numba kernels in ``kernels``;
* ``statistics`` computes PSI, KS, Jensen-Shannon, Wasserstein, Hellinger,
  chi-square and L-inf from summaries, or exactly from raw values;
* ``calibration`` derives alert thresholds from the reference itself, and
  ``report`` turns all of it into a per-column, per-statistic drift report with
  a dataset-level decision;
* ``detectors`` holds ADWIN and Page-Hinkley change detectors for metric
  streams, and ``performance`` the per-window model metrics they watch.

On a store (``store.monitors``, a :class:`Monitors`): ``definition`` is what a
monitor is, ``windows`` where rows go and the window summaries the catalog
keeps (in ``codec``'s compact form), ``logs`` the production log files,
``observing`` the writes (a batch observed, labels joined), ``timeline`` the
per-window report, ``rules`` the alert rules as code and ``alerts`` the alerts
they raise.

Names are imported lazily so that ``import mlcore.monitoring`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ReferenceProfile": "mlcore.monitoring.profile",
    "WindowSummary": "mlcore.monitoring.summary",
    "Calibration": "mlcore.monitoring.calibration",
    "calibrate": "mlcore.monitoring.calibration",
    "DriftReport": "mlcore.monitoring.report",
    "drift_report": "mlcore.monitoring.report",
    "drift_matrix": "mlcore.monitoring.report",
    "ADWIN": "mlcore.monitoring.detectors",
    "PageHinkley": "mlcore.monitoring.detectors",
    "ClassificationWindow": "mlcore.monitoring.performance",
    "RegressionWindow": "mlcore.monitoring.performance",
    "Monitors": "mlcore.monitoring.monitors",
    "Monitor": "mlcore.monitoring.definition",
    "Observation": "mlcore.monitoring.observing",
    "Labelling": "mlcore.monitoring.observing",
    "MonitorReport": "mlcore.monitoring.timeline",
    "Rule": "mlcore.monitoring.rules",
    "Alert": "mlcore.monitoring.alerts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mlcore.monitoring' has no attribute {name!r}")
