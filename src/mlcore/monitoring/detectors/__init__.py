"""Change detectors for streams of values: a metric per window, or per-prediction errors.

One algorithm per module, under its literature name; each takes a batch with
``update(values)`` and returns the indices in the batch where it detected a
change, keeping its state between calls.
"""

from __future__ import annotations

from mlcore.monitoring.detectors.adwin import ADWIN
from mlcore.monitoring.detectors.page_hinkley import PageHinkley

__all__ = ["ADWIN", "PageHinkley"]
