"""Where a model came from: a hash of its code, the git commit, the environment.

These answer "can this version be rebuilt?" without a server: the code
fingerprint pins the training code even outside version control, the git commit
and dirty flag say whether that code is committed, and the environment records
the interpreter and library versions that shaped the fitted numbers.

Examples
--------
>>> def train():
...     return 42
>>> code_fingerprint(train) == code_fingerprint(train)
True
>>> len(code_fingerprint(train))
64
>>> sorted(environment())[:3]
['implementation', 'machine', 'packages']
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import FunctionType, MethodType, ModuleType
from typing import Any

from mlcore.errors import InvalidInput

__all__ = [
    "CORE_PACKAGES",
    "GitCommit",
    "code_fingerprint",
    "environment",
    "git_commit",
    "package_versions",
]

#: Distributions whose versions change what a fitted model computes or how it loads.
CORE_PACKAGES = ("numpy", "scipy", "scikit-learn", "polars", "skops", "mlcore")

_GIT_TIMEOUT = 10.0


def code_fingerprint(*targets: object) -> str:
    """sha256 (hex) of source code: the caller's module, or the given objects and files.

    Parameters
    ----------
    *targets
        Modules, classes, functions or methods (their source is hashed), and
        paths to files or directories (every ``*.py`` file below a directory,
        in sorted order, named by its path relative to that directory). With
        no target, the source file of the calling module is hashed.

    Returns
    -------
    str
        64 hex digits. Line endings are normalised so that a Windows checkout
        and a Unix one of the same commit give the same fingerprint.

    Raises
    ------
    InvalidInput
        When a target's source cannot be read (defined in a notebook cell or
        the REPL, a builtin) or a path does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "train.py").write_text("x = 1\\n")
    >>> first = code_fingerprint(folder)
    >>> _ = (folder / "train.py").write_text("x = 2\\n")
    >>> code_fingerprint(folder) == first
    False
    """
    if not targets:
        caller = inspect.currentframe()
        module_file = caller.f_back.f_globals.get("__file__") if caller and caller.f_back else None
        if not module_file:
            raise InvalidInput(
                "cannot fingerprint the calling code: it has no source file (REPL or notebook?)",
                hint="Pass the training function or the paths of the training code",
            )
        targets = (Path(module_file),)
    digest = hashlib.sha256()
    for label, source in _sources(targets):
        # Length-prefixed fields, so that moving text between two sources
        # cannot produce the same byte stream.
        for part in (label.encode(), source.replace(b"\r\n", b"\n")):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def _sources(targets: Iterable[object]) -> Iterable[tuple[str, bytes]]:
    for target in targets:
        if isinstance(target, str | os.PathLike):
            yield from _file_sources(Path(target))
        elif isinstance(target, ModuleType | type | FunctionType | MethodType):
            try:
                source = inspect.getsource(target)
            except (OSError, TypeError) as exc:
                raise InvalidInput(
                    f"cannot read the source of {target!r} ({exc})",
                    hint="Pass the paths of the files that define it instead",
                ) from None
            yield "object", source.encode()
        else:
            raise InvalidInput(
                f"cannot fingerprint an object of type {type(target).__name__}",
                hint="Pass modules, classes, functions or file and directory paths",
            )


def _file_sources(path: Path) -> Iterable[tuple[str, bytes]]:
    if path.is_dir():
        for file in sorted(path.rglob("*.py")):
            yield file.relative_to(path).as_posix(), file.read_bytes()
    elif path.is_file():
        yield path.name, path.read_bytes()
    else:
        raise InvalidInput(
            f"cannot fingerprint {path}: no such file or directory", hint="Check the path"
        )


@dataclass(frozen=True)
class GitCommit:
    """The commit checked out in a git work tree.

    ``dirty`` is True when tracked files differ from that commit (staged or
    not). Untracked files are ignored: scratch outputs would otherwise mark
    every run dirty; the code fingerprint covers uncommitted training code.
    """

    commit: str
    dirty: bool
    branch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "dirty": self.dirty, "branch": self.branch}


def git_commit(path: str | os.PathLike[str] = ".") -> GitCommit | None:
    """HEAD of the git work tree containing ``path``, or None.

    None when ``path`` is outside a work tree, the repository has no commit
    yet, git is not installed or does not answer in time. Never touches the
    network and never takes git's index lock, so it is safe to call while
    other git commands run in the same checkout.

    Examples
    --------
    >>> import tempfile
    >>> git_commit(tempfile.mkdtemp()) is None
    True
    """
    where = Path(path)
    if where.is_file():
        where = where.parent
    if not where.is_dir():
        return None
    env = {
        **os.environ,
        "GIT_OPTIONAL_LOCKS": "0",  # `git status` would otherwise refresh (lock) the index
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    try:
        done = subprocess.run(
            [
                "git",
                "-C",
                str(where),
                "status",
                "--porcelain=v2",
                "--branch",
                "--untracked-files=no",
            ],
            capture_output=True,
            env=env,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    commit, branch, dirty = None, None, False
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("# branch.oid "):
            commit = line.removeprefix("# branch.oid ").strip()
        elif line.startswith("# branch.head "):
            head = line.removeprefix("# branch.head ").strip()
            branch = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    if commit is None or commit == "(initial)":
        return None
    return GitCommit(commit=commit, dirty=dirty, branch=branch)


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """Installed version of each distribution (None when absent), without importing it.

    >>> package_versions(["no-such-distribution-xyz"])
    {'no-such-distribution-xyz': None}
    """
    return {name: _version(name) for name in names}


@functools.lru_cache(maxsize=256)
def _version(name: str) -> str | None:
    # Cached: a lookup scans every installed distribution (milliseconds), and what
    # a running process has imported does not change when pip runs beside it.
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment(extra_packages: Iterable[str] = ()) -> dict[str, Any]:
    """The interpreter, platform and library versions a model was trained with.

    Parameters
    ----------
    extra_packages
        Distribution names to report besides :data:`CORE_PACKAGES`
        (e.g. ``["lightgbm"]`` for a model that depends on it).

    Returns
    -------
    dict
        JSON-ready: ``python``, ``implementation``, ``platform``, ``machine``
        and ``packages`` (name -> version or None).
    """
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": package_versions(dict.fromkeys([*CORE_PACKAGES, *extra_packages])),
    }
