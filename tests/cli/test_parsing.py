"""CLI values: an age or an ISO time for --since and --expires, KEY=VALUE pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlcore.cli.parsing import parse_assignments, parse_duration_or_time, parse_since
from mlcore.errors import InvalidInput


def test_an_age_reaches_back_from_now() -> None:
    before = datetime.now(UTC)
    since = parse_since("1d12h")
    assert before - timedelta(hours=36) <= since <= datetime.now(UTC) - timedelta(hours=36)


def test_a_time_is_taken_as_is_in_utc() -> None:
    assert parse_since("2024-03-01T02:00:00+02:00") == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_duration_or_time("30d", "--expires") == timedelta(days=30)


@pytest.mark.parametrize("bad", ["0d", "1.5h", "yesterday"])
def test_neither_an_age_nor_a_time_names_the_option(bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"--expires .* is neither a duration nor") as caught:
        parse_duration_or_time(bad, "--expires")
    assert caught.value.field == "--expires"


def test_a_time_without_zone_is_refused_as_such() -> None:
    with pytest.raises(InvalidInput, match="has no timezone"):
        parse_since("2024-03-01T00:00:00")


def test_assignments() -> None:
    assert parse_assignments(["a=1", " b =x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    assert parse_assignments(None) == {}
    for bad in ("seed", "=1"):
        with pytest.raises(InvalidInput, match=f"--key '{bad}' is not KEY=VALUE") as caught:
            parse_assignments([bad], "--key")
        assert caught.value.field == "--key"
