"""Window specs: durations, buckets aligned on Monday 1970-01-05, and their bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.errors import InvalidInput
from mlcore.monitoring.windows import ORIGIN, WindowSpec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "width"),
    [("1d", timedelta(days=1)), ("7d", timedelta(days=7)), ("12h", timedelta(hours=12)),
     ("2w", timedelta(weeks=2)), ("30m", timedelta(minutes=30)), (" 1D ", timedelta(days=1))],
)  # fmt: skip
def test_parse(text: str, width: timedelta) -> None:
    assert WindowSpec.parse(text).width == width


@pytest.mark.parametrize("text", ["", "0d", "1y", "d", "1.5d", "weekly"])
def test_bad_windows_say_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidInput, match="1h, 1d, 7d"):
        WindowSpec.parse(text)


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.sampled_from(["1h", "6h", "1d", "7d", "30m"]),
)
def test_a_timestamp_falls_in_the_window_whose_bounds_hold_it(when: datetime, text: str) -> None:
    spec = WindowSpec.parse(text)
    moment = when.replace(tzinfo=UTC)
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    (wid,) = spec.bucket_ids(np.array([micros])).tolist()
    start, end = spec.bounds(wid)
    assert start <= moment < end
    assert (start - ORIGIN) % spec.width == timedelta(0)


def test_weeks_start_on_monday() -> None:
    spec = WindowSpec.parse("7d")
    sunday = datetime(2024, 3, 10, 23, tzinfo=UTC)
    micros = (sunday - _EPOCH) // timedelta(microseconds=1)
    start, _ = spec.bounds(int(spec.bucket_ids(np.array([micros]))[0]))
    assert start == datetime(2024, 3, 4, tzinfo=UTC) and start.weekday() == 0
