"""What a bench case is, and how one is timed.

A case times mlcore's code *and* a reference doing the same work (raw DuckDB,
raw Polars, NumPy, a plain scikit-learn loop...) in the same process, so that the
ratio ``seconds / reference_seconds`` cancels machine noise. Goals are stated as
the largest acceptable ratio (``max_ratio=0.2`` means "at least 5x faster than
the reference"). Figures that are not ratios (throughput, peak memory, latency
percentiles) go into ``extras`` and are reported, never asserted in tests.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SIZES = ("small", "medium", "large")


@dataclass
class Measurement:
    seconds: float
    reference_seconds: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.reference_seconds is None or self.reference_seconds <= 0:
            return None
        return self.seconds / self.reference_seconds


@dataclass
class Case:
    """One measured comparison.

    Give either ``run`` (and usually ``reference``), timed here as the best of
    ``repeat`` calls after ``setup``; or ``measure``, a function that does its own
    timing (multi-process throughput, CLI start-up) and returns a Measurement.
    """

    name: str
    run: Callable[[], Any] | None = None
    reference: Callable[[], Any] | None = None
    reference_name: str = ""
    measure: Callable[[], Measurement] | None = None
    setup: Callable[[], Any] | None = None
    teardown: Callable[[], Any] | None = None
    repeat: int = 3
    max_ratio: float | None = None
    note: str = ""


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls (the least disturbed one)."""
    times = []
    for _ in range(max(1, repeat)):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def execute(case: Case) -> Measurement:
    if case.setup is not None:
        case.setup()
    try:
        if case.measure is not None:
            return case.measure()
        assert case.run is not None, f"case {case.name} has neither run nor measure"
        # Alternate run and reference so that drifting machine load hits both alike.
        run_times, ref_times = [], []
        for _ in range(max(1, case.repeat)):
            run_times.append(best_of(case.run, 1))
            if case.reference is not None:
                ref_times.append(best_of(case.reference, 1))
        return Measurement(min(run_times), min(ref_times) if ref_times else None)
    finally:
        if case.teardown is not None:
            case.teardown()
