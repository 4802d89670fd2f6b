"""Parsing of CLI values shared by several commands (times, durations, key=value)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mlcore.errors import InvalidInput

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` -> timedelta.

    >>> parse_duration("36h")
    datetime.timedelta(days=1, seconds=43200)
    """
    m = _AGE.fullmatch(text.strip())
    if not m:
        raise InvalidInput(
            f"{text!r} is not a duration", hint="Use a number and a unit: 90s, 30m, 12h, 7d, 2w"
        )
    return timedelta(seconds=float(m.group(1)) * _UNIT[m.group(2)])


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; a naive one is an error unless it ends in Z or has an offset."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not an ISO-8601 time", hint="Use e.g. 2024-03-01T12:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(
            f"time {text!r} has no timezone", hint="Add Z for UTC or an offset like +02:00"
        )
    return value.astimezone(UTC)


def parse_since(text: str) -> datetime:
    """An ISO time, or an age back from now (``7d``)."""
    if _AGE.fullmatch(text.strip()):
        return datetime.now(UTC) - parse_duration(text)
    return parse_time(text)


def parse_assignments(pairs: list[str] | None, what: str = "--param") -> dict[str, str]:
    """``["k=v", ...]`` -> ``{"k": "v"}``; values stay text for the callee to type."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{what} {pair!r} is not KEY=VALUE", field=what)
        out[key.strip()] = value
    return out
