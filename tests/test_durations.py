"""The one duration grammar: whole numbers with units s, m, h, d, w, parts added."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.durations import UNITS, format_duration, parse_duration
from mlcore.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", dt.timedelta(hours=1)),
        ("24h", dt.timedelta(days=1)),
        ("7d", dt.timedelta(days=7)),
        ("2w", dt.timedelta(days=14)),
        ("90s", dt.timedelta(seconds=90)),
        ("30m", dt.timedelta(minutes=30)),
        ("1h30m", dt.timedelta(minutes=90)),
        ("1d 12h", dt.timedelta(hours=36)),
        (" 1D ", dt.timedelta(days=1)),
        ("7 d", dt.timedelta(days=7)),
        (dt.timedelta(minutes=5), dt.timedelta(minutes=5)),
    ],
)
def test_durations_parse(text: str | dt.timedelta, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "bad", ["", "0h", "0s0m", "h", "5x", "-1h", "1.5h", "1y", "weekly", dt.timedelta(0), 3]
)
def test_bad_durations_name_the_field(bad: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^ttl .* is not a duration\. Write whole") as caught:
        parse_duration(bad, field="ttl")
    assert caught.value.field == "ttl"


_PARTS = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(UNITS))), min_size=1)


@given(_PARTS, st.booleans(), st.booleans())
def test_parts_add_up_in_any_case_and_spacing(
    parts: list[tuple[int, str]], upper: bool, spaced: bool
) -> None:
    text = (" " if spaced else "").join(f"{n}{u.upper() if upper else u}" for n, u in parts)
    seconds = sum(n * UNITS[u] for n, u in parts)
    if seconds == 0:
        with pytest.raises(InvalidInput):
            parse_duration(text)
    else:
        assert parse_duration(text) == dt.timedelta(seconds=seconds)


@given(st.integers(1, 10**9))
def test_format_round_trips_through_parse(seconds: int) -> None:
    duration = dt.timedelta(seconds=seconds)
    text = format_duration(duration)
    assert parse_duration(text) == duration
    number, unit = int(text[:-1]), text[-1]
    # the largest unit that divides: the next larger one would not
    larger = {"s": "m", "m": "h", "h": "d"}.get(unit)
    assert larger is None or seconds % UNITS[larger] != 0
    assert number * UNITS[unit] == seconds


@pytest.mark.parametrize("bad", [dt.timedelta(0), dt.timedelta(seconds=-60), dt.timedelta(0, 1.5)])
def test_format_refuses_what_the_grammar_cannot_say(bad: dt.timedelta) -> None:
    with pytest.raises(InvalidInput):
        format_duration(bad)
