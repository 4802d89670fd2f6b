"""Write docs/cli.md, the CLI reference, from the commands' own ``--help``.

    python scripts/gen_cli_docs.py          # rewrite docs/cli.md
    python scripts/gen_cli_docs.py --check  # exit 1 if docs/cli.md is out of date

Every command and command group gets a section holding exactly what
``mlcore ... --help`` prints, at a fixed width of 100 columns, so the reference
never disagrees with the CLI; tests/test_cli_docs.py fails when a command
changes and this file was not run again.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
WIDTH = 100

HEADER = """\
# CLI reference

Every `mlcore` command, with the help it prints. Generated from `--help` by
`scripts/gen_cli_docs.py`; do not edit by hand: run
`python scripts/gen_cli_docs.py` after changing a command (a test checks).

Global options (`--store`, `--as`, `--json`, `-q`, `-v`) may be written
anywhere on the line. Exit codes: 0 ok, 1 a check failed, 2 usage, 3 not
found, 4 busy or conflict, 5 denied, 130 interrupted.
"""


def _commands(command: Any, ctx: Any) -> Iterator[tuple[Any, Any]]:
    """``(command, context)`` for ``command`` and every command under it, depth first."""
    yield command, ctx
    if not hasattr(command, "list_commands"):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _commands(sub, _context(sub, name, ctx))


def _context(command: Any, name: str, parent: Any = None) -> Any:
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    return command.context_class(command, info_name=name, parent=parent, **settings)


def reference() -> str:
    """The text of docs/cli.md for the CLI as it is now."""
    import typer

    from mlcore.cli.app import app

    root = typer.main.get_command(app)
    sections = [HEADER]
    for command, ctx in _commands(root, _context(root, "mlcore")):
        sections.append(
            f"## `{ctx.command_path}`\n\n```text\n{command.get_help(ctx).rstrip()}\n```\n"
        )
    return "\n".join(sections)


def main(argv: list[str]) -> int:
    text = reference()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            sys.stderr.write(f"{DOC} is out of date: run python scripts/gen_cli_docs.py\n")
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
