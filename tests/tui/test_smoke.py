"""The tmux smoke script: `mlcore tui` in a real terminal, keys typed as fast as tmux sends them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tui_smoke.sh"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tui_smoke_in_tmux() -> None:
    mlcore = Path(sys.executable).with_name("mlcore")
    if not mlcore.exists():
        pytest.skip("the mlcore console script is not installed next to this Python")
    env = {**os.environ, "MLCORE": str(mlcore), "TERM": "xterm-256color"}
    env = {k: v for k, v in env.items() if not k.startswith("MLCORE_")}
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "tui_smoke: ok"
