"""Text formatting shared by the screens: times, sizes, durations, values, fact lists.

Times are shown in UTC, as everywhere in mlcore, to the second.

Examples
--------
>>> from datetime import UTC, datetime
>>> when(datetime(2024, 5, 1, 12, 30, 5, 123, tzinfo=UTC))
'2024-05-01 12:30:05'
>>> size(1536), size(3 * 1024**3)
('1.5 KiB', '3.0 GiB')
>>> duration(0.0042), duration(75.0), duration(None)
('4 ms', '1m15s', '-')
>>> value(0.912345), value(None), value({"a": 1})
('0.9123', '-', '{"a": 1}')
>>> print(facts([("owner", "ana"), ("risk tier", None)]))
owner      ana
risk tier  -
>>> flatten({"git": {"commit": "ab12", "dirty": False}, "rows": 4})
[('git.commit', 'ab12'), ('git.dirty', False), ('rows', 4)]
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["duration", "facts", "flatten", "size", "value", "when"]


def when(moment: datetime | date | str | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` in UTC (``-`` if none)."""
    if moment is None:
        return "-"
    if isinstance(moment, str):
        try:
            parsed: datetime | date = datetime.fromisoformat(moment)
        except ValueError:
            return moment
        moment = parsed
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.isoformat()


def size(n: int | None) -> str:
    if n is None:
        return "-"
    amount = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def value(v: Any) -> str:
    """Any value on one line: floats to 4 significant digits, containers as JSON."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (datetime, date)):
        return when(v)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=str, ensure_ascii=False)
    return str(v)


def facts(pairs: Iterable[tuple[str, Any]]) -> str:
    """Aligned ``label  value`` lines."""
    items = [(label, value(v)) for label, v in pairs]
    width = max((len(label) for label, _ in items), default=0)
    return "\n".join(f"{label:<{width}}  {text}" for label, text in items)


def flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as sorted ``(dotted.key, value)`` pairs, one level of nesting opened."""
    out: list[tuple[str, Any]] = []
    for key in sorted(mapping):
        item = mapping[key]
        if isinstance(item, dict) and item and not prefix:
            out += flatten(item, f"{key}.")
        else:
            out.append((f"{prefix}{key}", item))
    return out
