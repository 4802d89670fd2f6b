"""Builders shared by the whole suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benches/ is importable as a package from the repo root
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the developer's MLCORE_* settings."""
    for key in list(os.environ):
        if key.startswith("MLCORE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_path: Path):
    import mlcore

    s = mlcore.open(store_path, create=True, actor="admin")
    yield s
    s.close()
