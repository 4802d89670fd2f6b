"""Pipeline parameters: declared with defaults, overridden by TOML and ``--param``.

Precedence, lowest first: the default in the pipeline's signature, a TOML
config file (top-level keys are parameter names), then overrides such as the
CLI's ``--param k=v`` pairs.
Text values are converted to the parameter's annotated type (or its default's
type). A value that does not convert and an unknown name are both InvalidInput
(usage errors, exit code 2) naming the parameter; an unknown name suggests the
closest one.

Examples
--------
>>> def flow(path: str = "data.parquet", test_size: float = 0.2, seed: int = 0): ...
>>> declared = parameters_of(flow)
>>> resolve_params(declared, overrides={"test_size": "0.3"})  # --param test_size=0.3
{'path': 'data.parquet', 'test_size': 0.3, 'seed': 0}
>>> resolve_params(declared, overrides={"test_sise": "0.3"}, pipeline="flow")
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: pipeline 'flow' has no parameter 'test_sise'. Did you mean 'test_size'? Its parameters are: path, test_size, seed.
"""

from __future__ import annotations

import inspect
import json
import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcore.errors import InvalidInput, NotFound, closest

__all__ = [
    "REQUIRED",
    "Parameter",
    "coerce",
    "parameters_of",
    "read_config",
    "record_params",
    "resolve_params",
    "restore_params",
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of a parameter that has none: a value must be given."""

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Parameter:
    """One pipeline parameter: name, default (or REQUIRED) and expected type."""

    name: str
    default: Any = REQUIRED
    annotation: Any = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> str:
        """``name: type = default`` as in the signature.

        >>> Parameter("test_size", 0.2, float).describe()
        'test_size: float = 0.2'
        """
        text = self.name
        if self.annotation is not None:
            text += f": {_type_name(self.annotation)}"
        if not self.required:
            text += f" = {self.default!r}"
        return text


def _type_name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def parameters_of(func: Callable[..., Any]) -> dict[str, Parameter]:
    """The parameters of ``func`` with their defaults and evaluated annotations."""
    parameters = {}
    for p in inspect.signature(func).parameters.values():
        default = REQUIRED if p.default is inspect.Parameter.empty else p.default
        parameters[p.name] = Parameter(p.name, default, _evaluate(p.annotation, func))
    return parameters


def _evaluate(annotation: Any, func: Callable[..., Any]) -> Any:
    if annotation is inspect.Parameter.empty:
        return None
    if isinstance(annotation, str):
        # ``from __future__ import annotations`` leaves text; evaluate it where the
        # function was defined, as typing.get_type_hints would, one name at a time.
        try:
            return eval(annotation, getattr(func, "__globals__", {}), {})
        except Exception:
            return None
    return annotation


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parameters from a TOML file (top-level keys are parameter names)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise NotFound("config file", str(path), hint="Check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            f"config file {path} is not valid TOML: {exc}", hint="Fix the line it names"
        ) from None


def resolve_params(
    declared: Mapping[str, Parameter],
    *,
    config: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    pipeline: str = "pipeline",
) -> dict[str, Any]:
    """Merge defaults, config and overrides; check names and convert types."""
    values = {name: p.default for name, p in declared.items()}
    for given in (config or {}, overrides or {}):
        for name, value in given.items():
            if name not in declared:
                near = closest(name, declared)
                hint = f"Its parameters are: {', '.join(declared) or 'none'}"
                if near:
                    hint = f"Did you mean '{near}'? {hint}"
                raise InvalidInput(
                    f"pipeline '{pipeline}' has no parameter '{name}'", hint=hint, field=name
                )
            values[name] = coerce(declared[name], value, pipeline=pipeline)
    for name, value in values.items():
        if value is REQUIRED:
            raise InvalidInput(
                f"pipeline '{pipeline}' parameter '{name}' has no default and no value",
                hint=f"Pass --param {name}=VALUE or set it in the config file",
                field=name,
            )
    return values


def coerce(parameter: Parameter, value: Any, *, pipeline: str = "pipeline") -> Any:
    """Convert ``value`` to the parameter's type; text is parsed.

    >>> coerce(Parameter("n", 1, int), "12")
    12
    >>> coerce(Parameter("flag", False), "yes")
    True
    >>> coerce(Parameter("n", 1, int), "1.5")
    Traceback (most recent call last):
    ...
    mlcore.errors.InvalidInput: pipeline 'pipeline' parameter 'n' expects int, got '1.5'. Give a value of that type.
    """
    target = parameter.annotation
    if target is None and parameter.default not in (REQUIRED, None):
        target = type(parameter.default)
    try:
        return _convert(value, target)
    except (TypeError, ValueError):
        shown = repr(value) if isinstance(value, str) else f"{type(value).__name__} {value!r}"
        raise InvalidInput(
            f"pipeline '{pipeline}' parameter '{parameter.name}' expects "
            f"{_type_name(target)}, got {shown}",
            hint="Give a value of that type",
            field=parameter.name,
        ) from None


def _convert(value: Any, target: Any) -> Any:
    if target is None or target is Any:
        return value
    origin = typing.get_origin(target)
    if origin in (types.UnionType, typing.Union):
        arms = typing.get_args(target)
        if type(None) in arms and (
            value is None or (isinstance(value, str) and value.lower() in {"none", "null"})
        ):
            return None
        for arm in arms:
            if arm is not type(None):
                try:
                    return _convert(value, arm)
                except (TypeError, ValueError):
                    continue
        raise ValueError(value)
    container = origin or target
    if not isinstance(container, type):
        return value  # Literal[...], TypeVars and the like: not checked
    if isinstance(value, str) and container is not str:
        return _parse(value, container)
    if container is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, container) and not (container is int and isinstance(value, bool)):
        return value
    if isinstance(value, list) and container is tuple:
        return tuple(value)
    raise TypeError(value)


def _parse(text: str, container: type) -> Any:
    if container is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(text)
    if container in (int, float):
        return container(text)
    if container in (list, tuple, dict):
        parsed = json.loads(text)
        if isinstance(parsed, list) and container is tuple:
            return tuple(parsed)
        if not isinstance(parsed, container):
            raise ValueError(text)
        return parsed
    # Path, InputFile and any class built from its text form.
    return container(text)


def record_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values as JSON a run record holds and :func:`restore_params` reads.

    Path-like values (``Path``, ``InputFile``) are kept as text, which
    :func:`coerce` turns back into their annotated type; anything else JSON
    cannot hold is noted by type only.

    >>> record_params({"n": 3, "out": Path("runs/a"), "model": object()})
    {'n': 3, 'out': 'runs/a', 'model': {'unrecorded': 'object'}}
    """
    recorded = {}
    for name, value in values.items():
        try:
            json.dumps(value, allow_nan=True)
            recorded[name] = value
        except (TypeError, ValueError):
            if isinstance(value, os.PathLike):
                recorded[name] = os.fspath(value)
            else:
                recorded[name] = {"unrecorded": type(value).__qualname__}
    return recorded


def restore_params(recorded: Mapping[str, Any], *, run_id: str) -> dict[str, Any]:
    """The values :func:`record_params` kept, refusing those it could not."""
    for name, value in recorded.items():
        if isinstance(value, dict) and set(value) == {"unrecorded"}:
            raise InvalidInput(
                f"run {run_id} took parameter '{name}' as a {value['unrecorded']}, "
                "which its record cannot restore",
                hint="Run the pipeline again instead",
            )
    return dict(recorded)
