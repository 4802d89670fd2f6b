from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlcore.cli import output
from mlcore.cli.app import main


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], store_path: Path):
    """Run ``mlcore ARGS`` in-process against the test store; capture exit code and streams."""

    def run(*args: str, store: Path | None = store_path) -> Result:
        output.state.__init__()  # type: ignore[misc]
        argv = (["--store", str(store)] if store is not None else []) + list(args)
        code = 0
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
