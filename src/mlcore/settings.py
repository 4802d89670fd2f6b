"""One table of settings: name, default, environment variable, help.

The table drives the environment overrides, validation and the docs
(``mlcore info`` lists the effective values). Add a setting here, nowhere else.

Examples
--------
>>> SETTINGS["lock_timeout"].env
'MLCORE_LOCK_TIMEOUT'
>>> get("lock_timeout", environ={"MLCORE_LOCK_TIMEOUT": "2.5"})
2.5
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlcore.errors import InvalidInput


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str

    @property
    def env(self) -> str:
        return f"MLCORE_{self.name.upper()}"


def _positive_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError("must be >= 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


def _text(text: str) -> str:
    return text


_TABLE = [
    Setting("store", None, _text, "Store directory when --store is not given."),
    Setting("actor", None, _text, "Who acts when --as is not given (default: the OS user)."),
    Setting(
        "lock_timeout",
        30.0,
        _positive_float,
        "Seconds to keep retrying a locked catalog before failing with StoreBusy.",
    ),
    Setting(
        "idle_release",
        0.05,
        _positive_float,
        "Seconds of idleness after which a process lets go of the catalog.",
    ),
    Setting(
        "max_hold",
        0.25,
        _positive_float,
        "Longest a process keeps the catalog across consecutive transactions "
        "before letting waiting processes in.",
    ),
    Setting(
        "online_refresh",
        1.0,
        _positive_float,
        "Seconds between checks for a newer online-table snapshot "
        "(how stale another process's materialization may look).",
    ),
    Setting(
        "gc_grace",
        3600.0,
        _positive_float,
        "Seconds an unreferenced file must have existed before gc removes it "
        "(protects files a running writer has not committed yet).",
    ),
    Setting(
        "max_artifact_bytes",
        2 * 1024**3,
        _positive_int,
        "Largest model artifact, in bytes, that is serialised or loaded "
        "(packed, and unpacked for zip-based formats such as skops).",
    ),
]

SETTINGS: dict[str, Setting] = {s.name: s for s in _TABLE}


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """Effective value of a setting: the environment variable, else the default."""
    setting = SETTINGS[name]
    env = os.environ if environ is None else environ
    raw = env.get(setting.env)
    if raw is None or raw == "":
        return setting.default
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{setting.env}={raw!r} is not valid ({exc})", field=setting.env, hint=setting.help
        ) from None


def effective(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting with its effective value."""
    return {name: get(name, environ) for name in SETTINGS}
