"""``mlcore``: the root command, its global options and the one place errors become exit codes.

Global options (``--store``, ``--as``, ``--json``, ``-q``, ``-v``) may be written
anywhere on the line — ``mlcore models list --json`` works like
``mlcore --json models list`` — because :func:`main` moves them in front of the
subcommand before typer parses.
"""

from __future__ import annotations

import importlib
import sys

import typer

from mlcore.cli import output
from mlcore.errors import EXIT_INTERRUPTED, EXIT_USAGE, MlcoreError

app = typer.Typer(
    name="mlcore",
    help="The whole ML lifecycle in one directory: features, pipelines, models, gates, monitoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Command groups: (name, module under mlcore.cli, help). Modules import only typer.
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("audit", "audit", "Read and verify the tamper-evident audit chain."),
    ("access", "access", "Grant, revoke and list roles."),
    ("features", "features", "Feature views: ingest, retrieve, materialize, search, stats."),
    ("models", "models", "Model versions: register, review, release, roll back, history, search."),
    ("pipeline", "pipeline", "Run, show and resume pipelines defined in Python files."),
    ("runs", "runs", "Pipeline runs: list, show, lineage."),
    ("eval", "evals", "Evaluations: run under the policies in force, show, report, waive, gate."),
    ("policy", "policy", "Evaluation policies as code: apply, diff, list, show."),
    ("monitor", "monitor", "Production monitoring: create, observe, labels, report, matrix."),
    ("alerts", "alerts", "Alerts raised by monitors: list, show, acknowledge, resolve."),
)
# Single commands: (module, function name, command name).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("admin", "init", "init"),
    ("admin", "info", "info"),
    ("admin", "gc", "gc"),
    ("admin", "demo", "demo"),
    ("apply", "apply", "apply"),
    ("score", "score", "score"),
    ("tui", "tui", "tui"),
)

for _name, _module, _help in GROUPS:
    app.add_typer(importlib.import_module(f"mlcore.cli.{_module}").app, name=_name, help=_help)
for _module, _func, _name in COMMANDS:
    app.command(_name)(getattr(importlib.import_module(f"mlcore.cli.{_module}"), _func))


@app.callback()
def root(
    store: str = typer.Option(
        None, "--store", envvar="MLCORE_STORE", help="Store folder (default: nearest .mlcore)."
    ),
    actor: str = typer.Option(
        None, "--as", envvar="MLCORE_ACTOR", help="Act as this actor (default: the OS user)."
    ),
    json_: bool = typer.Option(False, "--json", help="Write results as JSON on stdout."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress or notes on stderr."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Tracebacks on errors."),
) -> None:
    output.state.store = store
    output.state.actor = actor
    output.state.json = json_
    output.state.quiet = quiet
    output.state.verbose = verbose


_FLAGS = {"--json", "-q", "--quiet", "-v", "--verbose"}
_VALUED = {"--store", "--as"}


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options in front of the subcommand.

    >>> hoist_global_options(["models", "list", "--json", "--store", "s"])
    ['--json', '--store', 's', 'models', 'list']
    >>> hoist_global_options(["eval", "run", "--", "--json"])
    ['eval', 'run', '--', '--json']
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in _FLAGS:
            front.append(arg)
        elif arg in _VALUED and i + 1 < len(argv):
            front.extend(argv[i : i + 2])
            i += 1
        elif arg.split("=", 1)[0] in _VALUED and "=" in arg:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _report(exc: MlcoreError) -> None:
    if output.state.json:
        sys.stderr.write(__import__("json").dumps(exc.to_dict()) + "\n")
    sys.stderr.write(f"mlcore: error: {exc}\n")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, map errors to exit codes in one place."""
    from typer._click.exceptions import ClickException

    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    try:
        code = app(args=args, prog_name="mlcore", standalone_mode=False)
    except MlcoreError as exc:
        if output.state.verbose:
            import traceback

            traceback.print_exc()
        _report(exc)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("mlcore: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
