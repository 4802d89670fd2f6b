r"""Reading one table of a policy file, with errors that name the file, line, rule and field.

:class:`Fields` wraps a parsed TOML table; rule kinds read their fields through its typed
getters (:meth:`Fields.text`, :meth:`Fields.number`, ...), each of which raises
:class:`PolicyError` -- ``file:line: rule 'id', field 'name': problem`` -- on a bad
value. TOML parsers do not keep line numbers, so :func:`locator` finds them by scanning
the text for table headers and ``key =`` lines.

Examples
--------
>>> text = 'name = "p"\n[[rules]]\nid = "r"\nmin = "high"\n'
>>> fields = Fields({"id": "r", "min": "high"}, path=("rules", 0), source="p.toml",
...                 locate=locator(text), rule="r")
>>> fields.number("min")
Traceback (most recent call last):
...
mlcore.evaluation.rules.fields.PolicyError: p.toml:4: rule 'r', field 'min': threshold 'high' is not a number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlcore.errors import InvalidInput, did_you_mean

__all__ = ["Fields", "Locator", "PolicyError", "locator"]


class PolicyError(InvalidInput):
    """A policy file is invalid; the message starts with ``file:line:`` and names the field."""

    def __init__(
        self,
        problem: str,
        *,
        source: str,
        line: int | None,
        field: str | None = None,
        rule: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.rule = rule
        where = f"{source}:{line}" if line else source
        parts = [f"rule '{rule}'" if rule else "", f"field '{field}'" if field else ""]
        context = ", ".join(p for p in parts if p)
        super().__init__(
            f"{where}: {context + ': ' if context else ''}{problem}", hint=hint, field=field
        )

    def __str__(self) -> str:
        # "Did you mean 'x'?" must keep its question mark.
        if self.hint and self.hint.endswith("?"):
            return f"{self.message}. {self.hint}"
        return super().__str__()


# -- where a key is in the file -------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("?)([A-Za-z0-9_\-]+)\1\s*=""")

Locator = Callable[[tuple[Any, ...], str | None], int | None]


def locator(text: str) -> Locator:
    """Map (table path, key) to the line it is on: ``(("rules", 2), "min")`` -> 31.

    Tables are the top level ``()``, ``("scope",)`` and ``("rules", i)`` for the i-th
    ``[[rules]]``; a missing key falls back to its table's header line.
    """
    keys: dict[tuple[tuple[Any, ...], str | None], int] = {}
    table: tuple[Any, ...] = ()
    n_rules = -1
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            parts = tuple(p.strip().strip('"') for p in header.group(2).split("."))
            if header.group(1) == "[[" and parts == ("rules",):
                n_rules += 1
                table = ("rules", n_rules)
            elif parts[0] == "rules" and n_rules >= 0:
                table = ("rules", n_rules, *parts[1:])
            else:
                table = parts
            keys.setdefault((table, None), number)
            continue
        key = _KEY.match(line)
        if key:
            keys.setdefault((table, key.group(2)), number)

    def locate(path: tuple[Any, ...], key: str | None) -> int | None:
        return keys.get((path, key)) or keys.get((path, None))

    return locate


# -- reading fields -------------------------------------------------------------------


class Fields:
    """One table of a policy file, read field by field with errors naming line and field.

    Rule kinds read their fields through it (:meth:`text`, :meth:`number`, ...);
    :meth:`done` then refuses any field nobody asked for, suggesting the closest.
    """

    def __init__(
        self,
        table: Mapping[str, Any],
        *,
        path: tuple[Any, ...],
        source: str,
        locate: Locator,
        rule: str | None = None,
    ) -> None:
        self.table = dict(table)
        self.path = path
        self.source = source
        self.rule = rule
        self._locate = locate
        self._asked: list[str] = []

    def error(self, key: str | None, problem: str, hint: str | None = None) -> PolicyError:
        return PolicyError(
            problem,
            source=self.source,
            line=self._locate(self.path, key),
            field=key,
            rule=self.rule,
            hint=hint,
        )

    def raw(self, key: str) -> Any:
        self._asked.append(key)
        return self.table.get(key)

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self.raw(key)
        if value is None:
            if required:
                raise self.error(key, f"'{key}' is missing", hint=f'Add {key} = "..."')
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.error(key, f"'{key}' must be non-empty text, not {value!r}")
        return value.strip()

    def number(
        self,
        key: str,
        *,
        low: float | None = None,
        high: float | None = None,
        positive: bool = False,
        required: bool = False,
    ) -> float | None:
        value = self.raw(key)
        if value is None:
            if required:
                raise self.error(key, f"'{key}' is missing", hint=f"Add {key} = <number>")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"threshold {value!r} is not a number")
        value = float(value)
        if not math.isfinite(value):
            raise self.error(key, f"threshold {value} is not a finite number")
        if positive and value <= 0:
            raise self.error(key, f"{value:g} must be greater than 0")
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"
            raise self.error(key, f"threshold {value:g} is outside {span}, the values it can take")
        return value

    def integer(self, key: str, *, default: int | None = None, low: int = 1) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"{value!r} is not a whole number")
        if value < low:
            raise self.error(key, f"{value} is below the smallest allowed, {low}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"{value!r} is not true or false")
        return value

    def choice(self, key: str, options: Sequence[str], default: str | None = None) -> str:
        value = self.raw(key)
        if value is None:
            if default is None:
                raise self.error(
                    key, f"'{key}' is missing", hint=f"Add {key} = one of {', '.join(options)}"
                )
            return default
        if value not in options:
            raise self.error(
                key,
                f"{value!r} is not one of {', '.join(options)}",
                hint=did_you_mean(str(value), options),
            )
        return str(value)

    def names(
        self, key: str, *, allowed: Sequence[str] | None = None, what: str = "name"
    ) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, f"'{key}' must be a list of text, not {value!r}")
        for item in value:
            if allowed is not None and item not in allowed:
                raise self.error(
                    key,
                    f"unknown {what} '{item}'",
                    hint=did_you_mean(item, allowed, f"Use {', '.join(allowed)}"),
                )
        return tuple(dict.fromkeys(value))

    def mapping(self, key: str, *, required: bool = True) -> dict[str, Any]:
        value = self.raw(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict) or not value:
            raise self.error(key, f"'{key}' must be a table of key = value pairs, not {value!r}")
        return value

    def done(self) -> None:
        """Refuse fields nobody read: a typo must not silently drop a condition."""
        for key in self.table:
            if key not in self._asked:
                raise self.error(
                    key,
                    f"unknown field '{key}'",
                    hint=did_you_mean(key, self._asked, f"Fields: {', '.join(self._asked)}"),
                )
