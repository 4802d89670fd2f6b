"""``@step``: a plain typed function that a pipeline can wire, cache and retry.

Outside a pipeline definition a step is just its function. Inside one (while
the body of a ``@pipeline`` function is traced) calling it records a node and
returns placeholders, :class:`OutputRef`, that the next step takes as inputs;
that is how the DAG is known without running anything.

Examples
--------
>>> @step
... def add(a: int, b: int = 1) -> int:
...     return a + b
>>> add(2, b=3)
5
>>> add
<step add>
>>> @step(outputs=("train", "test"), retries=2, timeout=60)
... def halves(rows: list) -> tuple[list, list]:
...     return rows[: len(rows) // 2], rows[len(rows) // 2 :]
>>> halves.outputs, halves.retries, halves.cache
(('train', 'test'), 2, 'auto')
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import sys
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, overload

from mlcore.errors import InvalidInput

__all__ = ["CachePolicy", "OutputRef", "ParamRef", "Step", "StepLocation", "recording", "step"]

CachePolicy = Literal["auto", "never", "always"]
"""``auto``: reuse a stored result when the key matches (``True``). ``never``:
always execute (``False``; for steps that read the clock or the outside world).
``always``: reuse even in a run started with ``no_cache`` (for an expensive step
whose inputs you trust, such as a download of a pinned file)."""

_POLICIES: dict[Any, CachePolicy] = {
    True: "auto",
    False: "never",
    "auto": "auto",
    "never": "never",
    "always": "always",
}


class _Placeholder:
    """Stands for a value that exists only when the pipeline runs."""

    __slots__ = ()

    def _misuse(self, what: str) -> InvalidInput:
        return InvalidInput(
            f"{self} is a placeholder while the pipeline is defined and cannot be {what}",
            hint="Pass it to a step and do the work inside the step",
        )

    def __bool__(self) -> bool:
        raise self._misuse("tested for truth")

    def __iter__(self) -> Iterator[Any]:
        raise self._misuse("unpacked (declare outputs=(...) on the step to get several)")

    def __len__(self) -> int:
        raise self._misuse("measured")


class OutputRef(_Placeholder):
    """An output of a step node, to be passed as another step's input."""

    __slots__ = ("name", "node")

    def __init__(self, node: str, name: str) -> None:
        self.node = node
        self.name = name

    def __repr__(self) -> str:
        return f"output '{self.name}' of step '{self.node}'"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutputRef) and (other.node, other.name) == (self.node, self.name)

    def __hash__(self) -> int:
        return hash((self.node, self.name))


class ParamRef(_Placeholder):
    """A pipeline parameter, resolved to its value when the pipeline runs."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"pipeline parameter '{self.name}'"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamRef) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("param", self.name))


Recorder = Callable[["Step", dict[str, Any]], "OutputRef | tuple[OutputRef, ...]"]
_RECORDER: ContextVar[Recorder | None] = ContextVar("mlcore_step_recorder", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[None]:
    """Within this block, calling a step hands its bound arguments to ``recorder``."""
    token = _RECORDER.set(recorder)
    try:
        yield
    finally:
        _RECORDER.reset(token)


class Step:
    """A function plus how the engine runs it; see :func:`step`."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        cache: bool | CachePolicy = True,
        retries: int = 0,
        retry_backoff: float = 1.0,
        timeout: float | None = None,
        outputs: str | Sequence[str] | None = None,
        uses_store: bool = False,
    ) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name or fn.__name__
        if cache not in _POLICIES:
            raise self._invalid(
                f"cache={cache!r} is not a cache policy",
                "Use True, False, or one of 'auto', 'never', 'always'",
            )
        self.cache: CachePolicy = _POLICIES[cache]
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise self._invalid(f"retries={retries!r} is not a count", "Use an integer >= 0")
        self.retries = retries
        if not retry_backoff >= 0:
            raise self._invalid(f"retry_backoff={retry_backoff!r} is negative", "Use seconds >= 0")
        self.retry_backoff = float(retry_backoff)
        if timeout is not None and not timeout > 0:
            raise self._invalid(f"timeout={timeout!r} is not positive", "Use seconds > 0 or None")
        self.timeout = None if timeout is None else float(timeout)
        if uses_store and timeout is not None:
            raise self._invalid(
                "it uses the store and has a timeout",
                "A step that uses the store runs in the pipeline's own process, which "
                "cannot be stopped from outside: drop the timeout",
            )
        self.uses_store = bool(uses_store)
        self.signature = inspect.signature(fn)
        for p in self.signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
                raise self._invalid(
                    f"its parameter '{p.name}' is {p.kind.description}",
                    "Steps take named parameters, so that inputs can be wired and cached by name",
                )
        self.outputs = self._output_names(outputs)

    def _invalid(self, problem: str, hint: str) -> InvalidInput:
        return InvalidInput(f"step '{self.name}': {problem}", hint=hint)

    def _output_names(self, outputs: str | Sequence[str] | None) -> tuple[str, ...]:
        if outputs is None:
            count = _tuple_length(self.signature.return_annotation)
            return (
                (self.name,) if count is None else tuple(f"{self.name}_{i}" for i in range(count))
            )
        names = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise self._invalid(
                f"outputs={outputs!r} are not names",
                "Give identifiers, e.g. outputs=('train', 'test')",
            )
        if len(set(names)) != len(names):
            raise self._invalid(
                f"outputs={outputs!r} repeat a name", "Give each output its own name"
            )
        return names

    def __repr__(self) -> str:
        return f"<step {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        recorder = _RECORDER.get()
        if recorder is None:
            return self.fn(*args, **kwargs)
        return recorder(self, self.bind(args, kwargs))

    def bind(self, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Match a call's arguments to parameters, defaults filled in."""
        try:
            bound = self.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise self._invalid(
                str(exc), "Call it with the parameters its function takes"
            ) from None
        bound.apply_defaults()
        for p in self.signature.parameters.values():
            if p.name not in bound.arguments:
                raise InvalidInput(
                    f"step '{self.name}' is missing input '{p.name}'",
                    hint=f"Pass {p.name}=... where the pipeline calls {self.name}",
                    field=p.name,
                )
        return dict(bound.arguments)

    def split_outputs(self, result: Any) -> tuple[Any, ...]:
        """The function's return value as one value per declared output."""
        if len(self.outputs) == 1:
            return (result,)
        if not isinstance(result, tuple | list) or len(result) != len(self.outputs):
            got = (
                f"{len(result)} values"
                if isinstance(result, tuple | list)
                else f"one {type(result).__name__}"
            )
            raise InvalidInput(
                f"step '{self.name}' returned {got} but declares {len(self.outputs)} outputs "
                f"({', '.join(self.outputs)})",
                hint="Return a tuple with one value per output",
            )
        return tuple(result)


@dataclass(frozen=True)
class StepLocation:
    """Where a step's function lives, so that a worker process can import it.

    Functions are found by module name, or by file when that name is not
    importable there (a pipeline file loaded by path). A script's ``__main__``
    is imported under another name, so its ``if __name__ == "__main__":`` block
    does not run again in the worker.
    """

    module: str
    file: str | None
    qualname: str

    #: True while a worker imports step code: a run started then is a script
    #: without a ``__main__`` guard calling itself, and is refused.
    loading: ClassVar[bool] = False

    @classmethod
    def of(cls, s: Step, *, node: str) -> StepLocation:
        fn = s.fn
        if "<locals>" in fn.__qualname__ or "<lambda>" in fn.__qualname__:
            raise InvalidInput(
                f"step '{node}' is defined inside a function ({fn.__qualname__}), "
                "so a worker process cannot import it",
                hint="Define the step at module level, or run with workers=1 and no timeout",
            )
        file = getattr(sys.modules.get(fn.__module__), "__file__", None)
        return cls(fn.__module__, file, fn.__qualname__)

    def load(self) -> Callable[..., Any]:
        """Import the function (in this process), importing its module if needed."""
        name = "__mlcore_main__" if self.module == "__main__" else self.module
        module = sys.modules.get(name)
        if module is None or not self._same_file(module):
            StepLocation.loading = True
            try:
                module = None
                if self.module != "__main__":
                    with contextlib.suppress(ImportError):
                        module = importlib.import_module(name)
                if module is None or not self._same_file(module):
                    if self.file is None:
                        raise ImportError(f"cannot import module {self.module}")
                    from mlcore.pipelines.pipeline import import_file

                    module = import_file(self.file, name)
            finally:
                StepLocation.loading = False
        target: Any = module
        for part in self.qualname.split("."):
            target = getattr(target, part)
        return target.fn if isinstance(target, Step) else target

    def _same_file(self, module: Any) -> bool:
        here = getattr(module, "__file__", None)
        if self.file is None:
            return True
        return here is not None and Path(here).resolve() == Path(self.file).resolve()


def _tuple_length(annotation: Any) -> int | None:
    """n for a ``tuple[A, B, ...n]`` return annotation, else None (one output)."""
    if isinstance(annotation, str):
        try:
            node = ast.parse(annotation, mode="eval").body
        except SyntaxError:
            return None
        if not isinstance(node, ast.Subscript):
            return None
        base = node.value
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if name not in ("tuple", "Tuple"):
            return None
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in elts):
            return None
        return len(elts)
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        return None if not args or Ellipsis in args else len(args)
    return None


@overload
def step(fn: Callable[..., Any], /) -> Step: ...
@overload
def step(
    *,
    name: str | None = None,
    cache: bool | CachePolicy = True,
    retries: int = 0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    outputs: str | Sequence[str] | None = None,
    uses_store: bool = False,
) -> Callable[[Callable[..., Any]], Step]: ...
def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool | CachePolicy = True,
    retries: int = 0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    outputs: str | Sequence[str] | None = None,
    uses_store: bool = False,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Declare a pipeline step; use bare (``@step``) or with options.

    Parameters
    ----------
    fn
        A function with named, preferably annotated, parameters.
    name
        The step's name in the DAG and in run records (default: the function's).
    cache
        Cache policy: ``True``/``"auto"``, ``False``/``"never"`` or ``"always"``;
        see :data:`CachePolicy`.
    retries
        Extra attempts after a failure (an exception or a timeout). Errors mlcore
        raises on purpose (bad input, failed checks) are not retried.
    retry_backoff
        Seconds before the first retry, doubling for each next one.
    timeout
        Seconds an attempt may take; past it the worker process running it is
        killed and the attempt counts as failed. A step with a timeout always
        runs in a worker process.
    outputs
        Output names. Several names make the function return a tuple, one value
        per name; a ``tuple[A, B]`` return annotation implies two unnamed outputs.
    uses_store
        The step reaches the store through
        :func:`~mlcore.pipelines.context.current_run` (to register a model, read
        features...). It runs in the process running the pipeline, never in a
        worker, and only in runs started with ``store.pipelines.run``.
    """

    def make(f: Callable[..., Any]) -> Step:
        return Step(
            f,
            name=name,
            cache=cache,
            retries=retries,
            retry_backoff=retry_backoff,
            timeout=timeout,
            outputs=outputs,
            uses_store=uses_store,
        )

    return make(fn) if fn is not None else make
