"""Parsing of CLI values shared by several commands (times, ages, key=value)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlcore.durations import parse_duration
from mlcore.errors import InvalidInput


def _iso_time(text: str) -> datetime | None:
    """An ISO-8601 time in UTC; None if ``text`` is not one, an error if it has no zone."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        raise InvalidInput(
            f"time {text!r} has no timezone", hint="Add Z for UTC or an offset like +02:00"
        )
    return value.astimezone(UTC)


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; a naive one is an error unless it ends in Z or has an offset."""
    value = _iso_time(text)
    if value is None:
        raise InvalidInput(
            f"{text!r} is not an ISO-8601 time", hint="Use e.g. 2024-03-01T12:00:00Z"
        )
    return value


def parse_duration_or_time(text: str, field: str) -> timedelta | datetime:
    """A duration (``7d``, see :mod:`mlcore.durations`) or an ISO-8601 time."""
    try:
        return parse_duration(text, field=field)
    except InvalidInput:
        value = _iso_time(text)
    if value is None:
        raise InvalidInput(
            f"{field} {text!r} is neither a duration nor an ISO-8601 time",
            field=field,
            hint="Use a duration such as 30m, 7d or 1h30m, or a time such as 2024-03-01T12:00:00Z",
        )
    return value


def parse_since(text: str) -> datetime:
    """An ISO time, or an age back from now (``7d``)."""
    value = parse_duration_or_time(text, "--since")
    return datetime.now(UTC) - value if isinstance(value, timedelta) else value


def parse_assignments(pairs: list[str] | None, what: str = "--param") -> dict[str, str]:
    """``["k=v", ...]`` -> ``{"k": "v"}``; values stay text for the callee to type."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{what} {pair!r} is not KEY=VALUE", field=what)
        out[key.strip()] = value
    return out
