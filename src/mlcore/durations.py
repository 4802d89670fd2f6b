"""Durations written as text: one grammar for every duration mlcore reads.

A duration is one or more parts ``<whole number><unit>``, added together, with
units ``s`` (seconds), ``m`` (minutes), ``h`` (hours), ``d`` (days) and ``w``
(weeks). Case and spaces do not matter; the total must be positive. So
``90s``, ``30m``, ``12h``, ``7d``, ``2w``, ``1h30m`` and ``1d 12h`` are
durations; ``1.5h`` (write ``1h30m``), ``0s``, ``-1h`` and ``1y`` are not.

Feature ttls and aggregation windows, monitor windows and the CLI's
``--since`` / ``--expires`` all read durations with :func:`parse_duration`.

Examples
--------
>>> parse_duration("1h30m")
datetime.timedelta(seconds=5400)
>>> format_duration(parse_duration("1d 12h"))
'36h'
>>> parse_duration("1.5h", field="ttl")
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: ttl '1.5h' is not a duration. Write whole numbers with units s, m, h, d or w, e.g. 90s, 30m, 12h, 7d, 2w or 1h30m.
"""

from __future__ import annotations

import re
from datetime import timedelta

from mlcore.errors import InvalidInput

__all__ = ["UNITS", "format_duration", "parse_duration"]

UNITS: dict[str, int] = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
"""Seconds per unit."""

_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")
_HINT = "Write whole numbers with units s, m, h, d or w, e.g. 90s, 30m, 12h, 7d, 2w or 1h30m"


def parse_duration(value: str | timedelta, *, field: str = "duration") -> timedelta:
    """``value`` as a positive timedelta; a timedelta is checked and passed through.

    Parameters
    ----------
    value
        Text in the grammar of this module, or a timedelta.
    field
        What the value is, for the error: ``"ttl"``, ``"window"``, ``"--since"``...

    Raises
    ------
    InvalidInput
        When ``value`` is not a positive duration; its ``field`` is ``field``.
    """
    parsed: timedelta | None = None
    if isinstance(value, timedelta):
        parsed = value
    elif isinstance(value, str):
        text = "".join(value.split()).lower()
        if _WHOLE.fullmatch(text):
            parsed = timedelta(seconds=sum(int(n) * UNITS[u] for n, u in _PART.findall(text)))
    if parsed is None or parsed <= timedelta(0):
        raise InvalidInput(f"{field} {value!r} is not a duration", field=field, hint=_HINT)
    return parsed


def format_duration(duration: timedelta) -> str:
    """A whole number of seconds as one number and the largest of d, h, m, s that divides it.

    Days rather than weeks, so that seven days read ``7d``.

    >>> [format_duration(timedelta(seconds=s)) for s in (90, 5400, 86400 * 7)]
    ['90s', '90m', '7d']
    """
    seconds, rest = divmod(duration, timedelta(seconds=1))
    if rest or seconds <= 0:
        raise InvalidInput(
            f"{duration!r} is not a positive whole number of seconds", field="duration"
        )
    unit = next(u for u in ("d", "h", "m", "s") if seconds % UNITS[u] == 0)
    return f"{seconds // UNITS[unit]}{unit}"
