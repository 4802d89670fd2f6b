from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlcore.pipelines import (
    DirectoryArtifactStore,
    DirectoryRunStore,
    Pipeline,
    load_pipeline,
)

FLOWS = Path(__file__).with_name("_flows.py")


@pytest.fixture
def stores(tmp_path: Path) -> dict[str, Any]:
    """Directory-backed stores, as ``pipeline.run(**stores)`` keywords."""
    return {
        "artifacts": DirectoryArtifactStore(tmp_path / "artifacts"),
        "runs": DirectoryRunStore(tmp_path / "runs"),
    }


@pytest.fixture
def flow() -> Callable[[str], Pipeline]:
    """Load a pipeline of ``_flows.py`` by name (its steps can run in workers)."""
    return lambda name: load_pipeline(f"{FLOWS}:{name}")


@pytest.fixture
def write_module(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``source`` to ``tmp_path/<name>.py`` and return the path."""

    def write(name: str, source: str) -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        return path

    return write
