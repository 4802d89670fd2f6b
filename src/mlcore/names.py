"""Identifiers users give (views, features, models, monitors, policies, actors).

One rule for all of them, so a name that works in one place works everywhere:
a letter, then letters, digits, ``_`` or ``-``, at most 64 characters. Such a
name can never be a path (no ``/``, no ``..``) nor break out of a quoted SQL
identifier. ``:`` is reserved to join names (``view:feature``, ``model:3``).

>>> validate("name", "weather_by_origin")
'weather_by_origin'
>>> validate("view name", "../etc")
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: view name '../etc' is not a valid name. Use a letter, then letters, digits, '_' or '-' (at most 64 characters).
>>> quote_ident('odd"name')
'"odd""name"'
"""

from __future__ import annotations

import re

from mlcore.errors import InvalidInput

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
_ACTOR = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@\-]{0,63}")


def validate(kind: str, name: object) -> str:
    """Return ``name`` if it is a valid identifier, else raise InvalidInput."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{kind} {name!r} is not a valid name",
            field=kind,
            hint="Use a letter, then letters, digits, '_' or '-' (at most 64 characters)",
        )
    return name


def validate_actor(name: object) -> str:
    """Actors may also be e-mail-like or OS user names (``jane.doe@corp``)."""
    if not isinstance(name, str) or not _ACTOR.fullmatch(name):
        raise InvalidInput(
            f"actor {name!r} is not a valid actor name",
            field="actor",
            hint="Use letters, digits and '_', '.', '@', '-' (at most 64 characters)",
        )
    return name


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL; never interpolate user text any other way."""
    return '"' + name.replace('"', '""') + '"'
