"""Pipelines: steps wired into a DAG, checked when defined, loaded from files.

Two ways to wire, one graph:

* ``@pipeline`` on a function whose body calls steps. The body runs once, at
  definition, with placeholders for its parameters; each step call records a
  node, and passing one step's result to another records an edge.
* :meth:`Pipeline.from_steps`, which matches each step parameter to the step
  output of the same name, as pytest matches fixtures. Parameters nobody
  produces become pipeline parameters (with the step's default, if any).

Either way the graph is validated before anything runs: a missing input or a
cycle is an InvalidInput naming the step.

Examples
--------
>>> from mlcore.pipelines.step import step
>>> @step
... def load(n: int) -> list:
...     return list(range(n))
>>> @step(outputs=("low", "high"))
... def split(rows: list, cut: int = 2):
...     return rows[:cut], rows[cut:]
>>> @step
... def total(rows: list) -> int:
...     return sum(rows)
>>> @pipeline
... def flow(n: int = 5, cut: int = 2):
...     low, high = split(load(n), cut=cut)
...     total(high)
>>> print(flow.describe())
pipeline flow: 3 steps
  parameters
    n: int = 5
    cut: int = 2
  steps
    load   n=params.n                 -> load
    split  rows=load, cut=params.cut  -> low, high
    total  rows=split.high            -> total
>>> flow.run().output("total")
9
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput, NotFound, closest
from mlcore.pipelines.cache import key_material
from mlcore.pipelines.config import REQUIRED, Parameter, parameters_of
from mlcore.pipelines.step import OutputRef, ParamRef, Step, recording

if TYPE_CHECKING:
    import os

    from mlcore.pipelines.cache import ArtifactStore
    from mlcore.pipelines.runs import EventHandler, RunResult, RunStore

__all__ = ["Node", "Pipeline", "load_pipeline", "pipeline"]


@dataclass(frozen=True)
class Node:
    """One use of a step in a pipeline, with where each of its inputs comes from.

    ``inputs`` maps each parameter of the step to an :class:`OutputRef`, a
    :class:`ParamRef` or a literal value.
    """

    name: str
    step: Step
    inputs: Mapping[str, Any]

    @property
    def upstream(self) -> tuple[str, ...]:
        """Names of the nodes whose outputs this node takes, in argument order."""
        seen = dict.fromkeys(v.node for v in self.inputs.values() if isinstance(v, OutputRef))
        return tuple(seen)


class Pipeline:
    """A validated DAG of step nodes plus the parameters it takes.

    Build one with :func:`pipeline` or :meth:`from_steps`; ``nodes`` is in a
    topological order (a node comes after every node it takes inputs from).
    """

    def __init__(
        self,
        name: str,
        nodes: Iterable[Node],
        parameters: Mapping[str, Parameter] | None = None,
        *,
        doc: str = "",
        source: str | None = None,
    ) -> None:
        self.name = name
        self.parameters = dict(parameters or {})
        self.doc = doc
        self.source = source
        self.nodes = _topological(name, list(nodes), self.parameters)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}: {_count(len(self.nodes), 'step')}>"

    @classmethod
    def from_steps(
        cls, name: str, steps: Sequence[Step], *, params: Mapping[str, Any] | None = None
    ) -> Pipeline:
        """Wire ``steps`` by name: a parameter takes the step output of that name.

        ``params`` gives defaults for parameters no step produces; a parameter
        with neither a producer, an entry here, nor a default is a missing input.
        """
        producers: dict[str, str] = {}
        for s in steps:
            for output in s.outputs:
                if output in producers:
                    raise InvalidInput(
                        f"pipeline '{name}': output '{output}' is produced by both step "
                        f"'{producers[output]}' and step '{s.name}'",
                        hint="Rename one of them with outputs=...",
                    )
                producers[output] = s.name
        given = dict(params or {})
        declared: dict[str, Parameter] = {}
        nodes = []
        for s in steps:
            inputs: dict[str, Any] = {}
            annotations = parameters_of(s.fn)
            for p in s.signature.parameters.values():
                if p.name in producers:
                    inputs[p.name] = OutputRef(producers[p.name], p.name)
                    continue
                default = given.get(p.name, annotations[p.name].default)
                if default is REQUIRED:
                    near = closest(p.name, list(producers) + list(given))
                    raise InvalidInput(
                        f"pipeline '{name}': step '{s.name}' input '{p.name}' is not produced "
                        "by any step nor given a value",
                        hint=f"The closest output name is '{near}'"
                        if near
                        else "Add a step with that output or pass params={...}",
                        field=p.name,
                    )
                previous = declared.get(p.name)
                if previous is not None and p.name not in given and previous.default != default:
                    raise InvalidInput(
                        f"pipeline '{name}': parameter '{p.name}' has different defaults "
                        f"in different steps ({previous.default!r} and {default!r})",
                        hint=f"Set it once with params={{'{p.name}': ...}}",
                    )
                declared[p.name] = Parameter(p.name, default, annotations[p.name].annotation)
                inputs[p.name] = ParamRef(p.name)
            nodes.append(Node(s.name, s, inputs))
        unused = sorted(set(given) - set(declared))
        if unused:
            near = closest(unused[0], declared)
            raise InvalidInput(
                f"pipeline '{name}': params gives {', '.join(map(repr, unused))}, which no step "
                "takes as a parameter",
                hint=f"The closest parameter is '{near}'" if near else "Remove it",
                field=unused[0],
            )
        return cls(name, nodes, declared)

    # -------------------------------------------------------------- running

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        workers: int = 1,
        no_cache: bool = False,
        artifacts: ArtifactStore | None = None,
        runs: RunStore | None = None,
        on_event: EventHandler | None = None,
    ) -> RunResult:
        """Run the pipeline; see :func:`mlcore.pipelines.executor.run_pipeline`."""
        from mlcore.pipelines.executor import run_pipeline

        return run_pipeline(
            self,
            params,
            config=config,
            workers=workers,
            no_cache=no_cache,
            artifacts=artifacts,
            runs=runs,
            on_event=on_event,
        )

    def resume(
        self,
        run_id: str,
        *,
        artifacts: ArtifactStore,
        runs: RunStore,
        workers: int = 1,
        on_event: EventHandler | None = None,
    ) -> RunResult:
        """Finish a failed run; see :func:`mlcore.pipelines.executor.resume_run`."""
        from mlcore.pipelines.executor import resume_run

        return resume_run(
            self, run_id, artifacts=artifacts, runs=runs, workers=workers, on_event=on_event
        )

    # ------------------------------------------------------------- describing

    def describe(self) -> str:
        """The DAG as text, one step per line with where each input comes from.

        Inputs left at the step's default are not shown.
        """
        lines = [f"pipeline {self.name}: {_count(len(self.nodes), 'step')}"]
        if self.doc:
            lines.append(f"  {self.doc.strip().splitlines()[0]}")
        if self.parameters:
            lines.append("  parameters")
            lines += [f"    {p.describe()}" for p in self.parameters.values()]
        lines.append("  steps")
        wirings = {
            name: ", ".join(
                f"{arg}={self._source(v)}"
                for arg, v in node.inputs.items()
                if not _is_default(node.step, arg, v)
            )
            for name, node in self.nodes.items()
        }
        width = max((len(n) for n in self.nodes), default=0)
        wiring_width = max((len(w) for w in wirings.values()), default=0)
        for name, node in self.nodes.items():
            line = f"    {name:<{width}}  {wirings[name]:<{wiring_width}}  -> "
            line += ", ".join(node.step.outputs)
            options = _options(node.step)
            lines.append(line + (f"  [{options}]" if options else ""))
        return "\n".join(lines)

    def _source(self, value: Any) -> str:
        if isinstance(value, ParamRef):
            return f"params.{value.name}"
        if isinstance(value, OutputRef):
            single = len(self.nodes[value.node].step.outputs) == 1
            return value.node if single else f"{value.node}.{value.name}"
        text = repr(value)
        return text if len(text) <= 24 else text[:21] + "..."

    def to_dict(self) -> dict[str, Any]:
        """The DAG as JSON-ready data (for ``--json``)."""
        return {
            "name": self.name,
            "source": self.source,
            "parameters": [
                {
                    "name": p.name,
                    "default": None if p.required else p.default,
                    "required": p.required,
                }
                for p in self.parameters.values()
            ],
            "steps": [
                {
                    "name": node.name,
                    "step": node.step.name,
                    "inputs": {arg: self._source(v) for arg, v in node.inputs.items()},
                    "outputs": list(node.step.outputs),
                    "upstream": list(node.upstream),
                    "cache": node.step.cache,
                    "retries": node.step.retries,
                    "timeout": node.step.timeout,
                    "uses_store": node.step.uses_store,
                }
                for node in self.nodes.values()
            ],
        }


def _is_default(s: Step, arg: str, value: Any) -> bool:
    """Whether ``value`` is the literal default of the step's parameter (left out of describe)."""
    if isinstance(value, OutputRef | ParamRef):
        return False
    default = s.signature.parameters[arg].default
    try:
        return default is not inspect.Parameter.empty and bool(default == value)
    except Exception:  # a frame compared elementwise, say
        return False


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _options(s: Step) -> str:
    options = []
    if s.cache != "auto":
        options.append(f"cache={s.cache}")
    if s.retries:
        options.append(f"retries={s.retries}")
    if s.timeout is not None:
        options.append(f"timeout={s.timeout:g}s")
    if s.uses_store:
        options.append("uses store")
    return ", ".join(options)


def _topological(
    name: str, nodes: list[Node], parameters: Mapping[str, Parameter]
) -> dict[str, Node]:
    """Check every reference and order the nodes; cycles name their steps."""
    by_name: dict[str, Node] = {}
    for node in nodes:
        if node.name in by_name:
            raise InvalidInput(
                f"pipeline '{name}' has two steps named '{node.name}'", hint="Give one a name=..."
            )
        by_name[node.name] = node
    for node in nodes:
        for arg, value in node.inputs.items():
            if isinstance(value, OutputRef):
                producer = by_name.get(value.node)
                if producer is None or value.name not in producer.step.outputs:
                    raise InvalidInput(
                        f"pipeline '{name}': step '{node.name}' input '{arg}' takes {value}, "
                        "which no step of this pipeline produces",
                        field=arg,
                    )
            elif isinstance(value, ParamRef) and value.name not in parameters:
                raise InvalidInput(
                    f"pipeline '{name}': step '{node.name}' input '{arg}' takes {value}, "
                    "which the pipeline does not declare",
                    field=arg,
                )
    # Repeatedly place the first node (in definition order) whose inputs are all
    # placed: a body that already calls steps in order keeps that order.
    waiting = {n.name: set(n.upstream) for n in nodes}
    ordered: dict[str, Node] = {}
    while waiting:
        ready = next((n for n, deps in waiting.items() if deps <= ordered.keys()), None)
        if ready is None:
            cycle = _find_cycle(waiting)
            raise InvalidInput(
                f"pipeline '{name}' has a cycle: {' -> '.join(cycle)}",
                hint=f"Step '{cycle[0]}' cannot take an input that depends on its own output",
            )
        ordered[ready] = by_name[ready]
        del waiting[ready]
    return ordered


def _find_cycle(waiting: Mapping[str, set[str]]) -> list[str]:
    path: list[str] = []
    node = next(iter(waiting))
    while node not in path:
        path.append(node)
        node = sorted(waiting[node] & waiting.keys())[0]  # a stuck node waits on another
    return [*path[path.index(node) :], node]


# ------------------------------------------------------------------ @pipeline


class _Recorder:
    """Collects the nodes a pipeline body creates by calling steps."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: list[Node] = []
        self._names: set[str] = set()

    def __call__(self, s: Step, arguments: dict[str, Any]) -> OutputRef | tuple[OutputRef, ...]:
        name, n = s.name, 1
        while name in self._names:
            n += 1
            name = f"{s.name}_{n}"
        for arg, value in arguments.items():
            _check_literal(self.pipeline, name, arg, value)
        self._names.add(name)
        self.nodes.append(Node(name, s, arguments))
        refs = tuple(OutputRef(name, output) for output in s.outputs)
        return refs[0] if len(refs) == 1 else refs


def _check_literal(pipeline: str, node: str, arg: str, value: Any) -> None:
    if isinstance(value, OutputRef | ParamRef):
        return
    where = f"pipeline '{pipeline}': step '{node}' input '{arg}'"
    if _holds_placeholder(value):
        raise InvalidInput(
            f"{where} nests a step output or parameter inside a {type(value).__name__}",
            hint="Pass each output as its own argument; combine them inside the step",
            field=arg,
        )
    try:
        key_material(value, resolve=False)
    except TypeError:
        raise InvalidInput(
            f"{where} is a {type(value).__qualname__}, which cannot enter a cache key",
            hint="Pass plain data (numbers, text, lists, dicts, paths), a frame or an InputFile",
            field=arg,
        ) from None


def _holds_placeholder(value: Any) -> bool:
    if isinstance(value, OutputRef | ParamRef):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_placeholder(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_placeholder(v) for v in value.values())
    return False


def pipeline(fn: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Declare a pipeline from a function whose body wires steps together.

    The body is run once, now, with a placeholder for each parameter; it may only
    call steps and pass their results on. Parameter defaults are the pipeline's
    defaults. Returns a :class:`Pipeline`.
    """

    def build(f: Callable[..., Any]) -> Pipeline:
        title = name or f.__name__
        declared = parameters_of(f)
        for p in inspect.signature(f).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise InvalidInput(
                    f"pipeline '{title}' takes {p.kind.description} '{p.name}'",
                    hint="Declare each pipeline parameter by name",
                )
        recorder = _Recorder(title)
        with recording(recorder):
            try:
                f(**{p: ParamRef(p) for p in declared})
            except InvalidInput:
                raise
            except Exception as exc:
                raise InvalidInput(
                    f"pipeline '{title}' could not be defined: {type(exc).__name__}: {exc}",
                    hint="A pipeline body only calls steps (defined above it) and passes "
                    "their outputs on; compute inside steps",
                ) from exc
        source = getattr(f, "__code__", None)
        origin = f"{source.co_filename}:{title}" if source is not None else None
        return Pipeline(title, recorder.nodes, declared, doc=f.__doc__ or "", source=origin)

    return build(fn) if fn is not None else build


# -------------------------------------------------------------------- loading


def split_pipeline_spec(spec: str | os.PathLike[str]) -> tuple[Path, str]:
    """``FILE[:NAME]`` as ``(file, name)``, name ``""`` when left out.

    Only a last colon followed by an identifier splits, so a path may hold colons.

    >>> split_pipeline_spec("flows/train.py:retrain"), split_pipeline_spec("C:/flows/train.py")
    ((PosixPath('flows/train.py'), 'retrain'), (PosixPath('C:/flows/train.py'), ''))
    """
    text = str(spec)
    path_text, sep, wanted = text.rpartition(":")
    if not sep or not wanted.isidentifier():
        path_text, wanted = text, ""
    return Path(path_text), wanted


def load_pipeline(spec: str | os.PathLike[str]) -> Pipeline:
    """Import a pipeline from ``FILE[:NAME]`` (see :func:`split_pipeline_spec`).

    NAME may be left out when the file defines exactly one pipeline. The file is
    executed afresh on every call, so edits are picked up.
    """
    path, wanted = split_pipeline_spec(spec)
    if not path.is_file():
        raise NotFound("pipeline file", str(path), hint="Check the path")
    module = import_file(path)
    found = {p.name: p for p in vars(module).values() if isinstance(p, Pipeline)}
    if wanted:
        if wanted not in found:
            raise NotFound(f"{path.name}: pipeline", wanted, candidates=found)
        chosen = found[wanted]
    elif len(found) == 1:
        chosen = next(iter(found.values()))
    elif not found:
        raise InvalidInput(
            f"{path} defines no pipeline", hint="Decorate a function with @mlcore.pipeline"
        )
    else:
        raise InvalidInput(
            f"{path} defines several pipelines ({', '.join(sorted(found))})",
            hint=f"Pick one: {path}:{sorted(found)[0]}",
        )
    chosen.source = f"{path.resolve()}:{chosen.name}"
    return chosen


def module_name_for(path: Path) -> str:
    """The name a pipeline file is imported under (stable, so workers can re-import it)."""
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"_mlcore_pipeline_{stem}"


def import_file(path: str | os.PathLike[str], name: str | None = None) -> Any:
    """Execute a Python file as a fresh module registered under ``name``.

    Its directory goes on ``sys.path`` (as when running a script) so that it can
    import its neighbours. A failure is an InvalidInput naming the file and line.
    """
    path = Path(path).resolve()
    name = name or module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise InvalidInput(f"{path} is not a Python file", hint="Give a .py file")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    sys.modules[name] = module
    try:
        # Compiled from the text (no .pyc): an edit within the same second must count.
        code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise InvalidInput(
            f"pipeline file {path} does not import: line {exc.lineno}: {exc.msg}",
            hint="Fix the syntax error",
        ) from None
    except InvalidInput as exc:
        sys.modules.pop(name, None)
        line = _failing_line(exc, path)
        raise InvalidInput(f"{path}, line {line}: {exc.message}", hint=exc.hint) from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        raise InvalidInput(
            f"pipeline file {path} does not import: line {_failing_line(exc, path)}: "
            f"{type(exc).__name__}: {exc}",
            hint="Run it with python to see the full traceback",
        ) from exc
    return module


def _failing_line(exc: BaseException, path: Path) -> int | None:
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return lines[-1] if lines else None
