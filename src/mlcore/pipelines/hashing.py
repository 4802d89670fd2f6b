"""Content hashes for cache keys: canonical JSON, file contents and code.

A step's cache key must change when anything that decides its result changes.
Parameters enter as canonical JSON, files and feature snapshots by their
content hash (:class:`Fingerprinted`), and code by :func:`code_fingerprint`:
the step's own source *plus* the source of every project function and class it
reaches through its globals and closures, so that editing a helper invalidates
the steps that call it (ZenML #1011). Code from the standard library, from
installed packages and from mlcore itself is left out; the mlcore version and
the installed packages' own versions are what pin those.

Examples
--------
>>> canonical_json({"b": 1, "a": [1.5, None, "é"]})
b'{"a":[1.5,null,"\xc3\xa9"],"b":1}'
>>> sha256_hex(b"")[:16]
'e3b0c44298fc1c14'
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import inspect
import json
import os
import site
import sys
import sysconfig
import textwrap
import types
import weakref
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mlcore.errors import NotFound

__all__ = [
    "Fingerprinted",
    "InputFile",
    "canonical_json",
    "code_fingerprint",
    "sha256_hex",
]

# Module-level constants larger than this enter the key by size only: hashing a
# big lookup table on every run would cost more than it protects.
_MAX_CONSTANT_ITEMS = 1000


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def _json_default(value: Any) -> Any:
    # NumPy scalars (np.int64 is not an int) are common in metrics dicts.
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no whitespace: equal values, equal bytes.

    Raises ``TypeError`` for values JSON cannot hold (sets, objects, non-string keys).
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode()


@runtime_checkable
class Fingerprinted(Protocol):
    """A step input that names its content by a hash instead of by its value.

    A feature-store snapshot, a data file, a model version: the cache key uses
    ``__mlcore_fingerprint__()``, so new data under the same name means a new key.
    """

    def __mlcore_fingerprint__(self) -> str: ...


class InputFile(os.PathLike):
    """A file whose *content*, not its path, enters the cache key.

    Annotate a pipeline parameter ``path: InputFile`` and ``--param path=x.parquet``
    arrives as an InputFile; it is path-like, so ``pl.read_parquet(path)`` works.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> p = Path(d, "x.csv")
    >>> _ = p.write_text("a\\n1\\n")
    >>> InputFile(p).__mlcore_fingerprint__()[:12]
    '309b0e45a73d'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"InputFile({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InputFile) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __mlcore_fingerprint__(self) -> str:
        from mlcore.store.files import sha256_file

        try:
            return sha256_file(self.path)
        except FileNotFoundError:
            raise NotFound(
                "input file", str(self.path), hint="Check the path, or create the file first"
            ) from None


# ---------------------------------------------------------------------------- code


def code_fingerprint(func: Callable[..., Any]) -> str:
    """Hash of ``func``'s code and of the project code it reaches.

    Follows the names the function's bytecode loads (globals, attributes of
    project modules, closure cells) to functions and classes defined in project
    modules, transitively. Each contributes the AST of its source, so comments
    and formatting do not matter but any change of logic does. Module-level
    constants and closure values it reads contribute their values when they are
    plain data (numbers, text, and lists/tuples/dicts/sets of them); other
    objects are taken for state and left out, so pass configuration that should
    invalidate the cache as a parameter.

    Examples
    --------
    >>> def double(x):
    ...     return 2 * x
    >>> def triple(x):
    ...     return 3 * x
    >>> code_fingerprint(double) == code_fingerprint(double)
    True
    >>> code_fingerprint(double) == code_fingerprint(triple)
    False
    """
    parts: dict[str, Any] = {}
    _walk(_unwrap(func), parts, set())
    return sha256_hex(canonical_json(parts))


def _unwrap(obj: Any) -> Any:
    # A @step (or functools.wraps decorator) stands for the function it wraps.
    while not isinstance(obj, types.FunctionType | type) and hasattr(obj, "__wrapped__"):
        obj = obj.__wrapped__
    return inspect.unwrap(obj) if isinstance(obj, types.FunctionType) else obj


def _walk(obj: Any, parts: dict[str, Any], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    label = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"
    parts[label] = _own_digest(obj)
    if isinstance(obj, type):
        for base in obj.__bases__:
            if _is_project_object(base):
                _walk(base, parts, seen)
        for member in vars(obj).values():
            member = getattr(member, "__func__", member)  # staticmethod, classmethod
            for fn in (member, getattr(member, "fget", None), getattr(member, "fset", None)):
                if isinstance(fn, types.FunctionType):
                    _walk(fn, parts, seen)
        return
    if not isinstance(obj, types.FunctionType):
        return
    names = _loaded_names(obj.__code__)
    if obj.__defaults__ or obj.__kwdefaults__:
        parts[label + ":defaults"] = _constant(
            [list(obj.__defaults__ or ()), obj.__kwdefaults__ or {}]
        )
    scope = dict(zip(obj.__code__.co_freevars, _cell_values(obj), strict=True))
    for name in names:
        if name in obj.__globals__:
            scope.setdefault(name, obj.__globals__[name])
    is_project = _is_project_module(obj.__module__)
    modules: list[types.ModuleType] = []
    for name, value in scope.items():
        if isinstance(value, types.ModuleType):
            modules.append(value)
        elif _is_code_object(value):
            if _is_project_object(value):
                _walk(_unwrap(value), parts, seen)
        elif is_project:
            # A module constant the step reads is part of what it computes.
            constant = _constant(value)
            if constant is not None:
                parts[f"{label}:{name}"] = constant
    # ``helpers.clean(x)`` loads ``helpers`` then the attribute ``clean``: both
    # names are in co_names, so look every loaded name up on project modules.
    visited_modules: set[str] = set()
    while modules:
        module = modules.pop()
        if module.__name__ in visited_modules or not _is_project_module(module.__name__):
            continue
        visited_modules.add(module.__name__)
        for name in names:
            value = getattr(module, name, None)
            if isinstance(value, types.ModuleType):
                modules.append(value)
            elif _is_code_object(value) and _is_project_object(value):
                _walk(_unwrap(value), parts, seen)


def _is_code_object(value: Any) -> bool:
    return isinstance(value, types.FunctionType | type) or (
        hasattr(value, "__wrapped__") and callable(value)
    )


def _cell_values(fn: types.FunctionType) -> list[Any]:
    values = []
    for cell in fn.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell: a name bound later in the enclosing scope
            values.append(None)
    return values


def _loaded_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):  # nested functions, lambdas, comprehensions
            names |= _loaded_names(const)
    return names


_DIGESTS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _own_digest(obj: Any) -> str:
    """Hash of one function's or class's own source, memoised per object."""
    try:
        return _DIGESTS[obj]
    except (KeyError, TypeError):
        pass
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        digest = sha256_hex(ast.dump(ast.parse(source)).encode())
    except (OSError, TypeError, SyntaxError):
        # No source at hand (REPL, exec, doctest) or a lambda inside a larger
        # expression: fall back to the compiled code.
        code = getattr(obj, "__code__", None)
        material = _code_material(code) if code is not None else getattr(obj, "__qualname__", "")
        digest = sha256_hex(repr(material).encode())
    with contextlib.suppress(TypeError):  # not weak-referenceable: just not memoised
        _DIGESTS[obj] = digest
    return digest


def _code_material(code: types.CodeType) -> tuple[Any, ...]:
    consts = tuple(
        _code_material(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts
    )
    return (code.co_code, code.co_names, code.co_varnames, consts)


def _constant(value: Any) -> Any:
    """JSON material for a plain data value, or None for anything else."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | dict | set | frozenset):
        if len(value) > _MAX_CONSTANT_ITEMS:
            return f"<{type(value).__name__} of {len(value)} items>"
        try:
            text = repr(sorted(value, key=repr)) if isinstance(value, set | frozenset) else None
            return text if text is not None else json.loads(canonical_json(value))
        except (TypeError, ValueError):
            return None
    return None


def _is_project_object(obj: Any) -> bool:
    return _is_project_module(getattr(_unwrap(obj), "__module__", None) or "")


def _is_project_module(name: str) -> bool:
    module = sys.modules.get(name)
    return _is_project_file(name, getattr(module, "__file__", None))


@lru_cache(maxsize=4096)
def _is_project_file(name: str, file: str | None) -> bool:
    top = name.partition(".")[0]
    if not name or top == "mlcore" or top in sys.stdlib_module_names:
        return False
    if file is None:
        # The REPL's or a notebook's __main__ is the user's code; other file-less
        # modules are built-ins or namespace packages.
        return name == "__main__"
    path = os.path.realpath(file)
    if {"site-packages", "dist-packages"} & set(Path(path).parts):
        return False
    return not any(path.startswith(prefix) for prefix in _library_prefixes())


@lru_cache(maxsize=1)
def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths]
    dirs += [*site.getsitepackages(), site.getusersitepackages()]
    return tuple(os.path.realpath(d) + os.sep for d in dirs if d)
