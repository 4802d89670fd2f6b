"""Every bench suite runs once at its smallest size, so that none can rot.

No timing is asserted here: speed is judged by ratios in benches/ runs.
"""

from __future__ import annotations

import pytest
from benches import run as bench_run


@pytest.mark.parametrize("suite", bench_run.suite_names())
def test_suite_runs_at_small_size(suite: str) -> None:
    rows = bench_run.run_suite(suite, "small")
    assert rows, f"suite {suite} produced no cases"
    for row in rows:
        assert row["seconds"] > 0, row
        if row["reference"]:
            assert row["reference_seconds"] and row["reference_seconds"] > 0, row
