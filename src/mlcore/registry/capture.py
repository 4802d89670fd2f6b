"""What :meth:`Registry.register` records besides the artifact, checked before the catalog is touched.

Values (params, metrics, tags, feature references, version numbers) are
validated here so that a bad one fails with a clear error before anything is
written; :func:`lineage` gathers where the version came from: training data
hash, dataset record, feature references and definition versions, pipeline
run, code fingerprint, git commit, environment.

Examples
--------
>>> metric_values({"auc": 0.91, "n": 3})
{'auc': 0.91, 'n': 3.0}
>>> tag_values(["pii", "team=risk"])
{'pii': '', 'team': 'risk'}
>>> version_number("3"), version_number(2)
(3, 2)
>>> metric_values({"auc": float("nan")})
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: metric 'auc' must be a finite number, not nan.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.errors import InvalidInput
from mlcore.frames import data_sha256

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "dumps",
    "feature_ref",
    "json_object",
    "lineage",
    "metric_values",
    "parse_ref",
    "tag_values",
    "version_number",
]


def dumps(value: Any) -> str:
    """Canonical JSON for the catalog (sorted keys; NumPy scalars, datetimes, paths as plain)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # NumPy scalars
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def json_object(value: Mapping[str, Any] | None, what: str) -> str:
    """``value`` (a dict of JSON-ready values) as canonical JSON, or InvalidInput."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a dict, not {type(value).__name__}", field=what)
    try:
        return dumps({str(k): v for k, v in value.items()})
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{what} must be JSON-ready: {exc} is not",
            hint="Use numbers, text, booleans, None, lists and dicts",
            field=what,
        ) from None


def metric_values(value: Mapping[str, float] | None) -> dict[str, float]:
    """Metric name -> finite float."""
    out: dict[str, float] = {}
    for key, number in (value or {}).items():
        names.validate("metric", key)
        try:
            out[key] = float(number)
        except (TypeError, ValueError):
            raise InvalidInput(f"metric '{key}' is not a number: {number!r}", field=key) from None
        if isinstance(number, bool) or not math.isfinite(out[key]):
            raise InvalidInput(f"metric '{key}' must be a finite number, not {number!r}", field=key)
    return out


def tag_values(value: Mapping[str, str] | Sequence[str] | str | None) -> dict[str, str]:
    """Tags from a dict or from ``"key"`` / ``"key=value"`` strings."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Mapping):
        value = {key: text for key, _, text in (str(item).partition("=") for item in value)}
    out = {}
    for key, text in value.items():
        names.validate("tag", key)
        if not isinstance(text, str):
            raise InvalidInput(f"tag '{key}' must have a text value, not {text!r}", field=key)
        out[key] = text
    return out


def feature_ref(ref: Any) -> str:
    """A checked ``view:feature`` or ``view:*`` reference."""
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise InvalidInput(
            f"feature reference {ref!r} is not VIEW:FEATURE",
            hint="Write e.g. 'weather:temp' or 'weather:*'",
            field="features",
        )
    view, feature = ref.split(":")
    names.validate("feature view", view)
    if feature != "*":
        names.validate("feature", feature)
    return ref


def version_number(version: Any) -> int:
    """A version number (1, 2, 3...) from an int or its text."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = 0
    if isinstance(version, bool) or number < 1 or str(number) != str(version).strip():
        raise InvalidInput(
            f"model version {version!r} is not a version number",
            hint="Versions are numbered 1, 2, 3...",
            field="version",
        )
    return number


def parse_ref(text: str, *, need_version: bool = False) -> tuple[str, int | None]:
    """A version named in text: ``MODEL`` or ``MODEL:VERSION``.

    >>> parse_ref("churn"), parse_ref("churn:3")
    (('churn', None), ('churn', 3))
    """
    name, sep, number = text.partition(":")
    if not sep:
        if need_version:
            raise InvalidInput(
                f"{text!r} names no version", hint=f"Write {text}:VERSION", field="version"
            )
        return name, None
    if not number.isdigit() or int(number) < 1:
        raise InvalidInput(
            f"{text!r}: version {number!r} is not a number",
            hint=f"Write {name}:3 for version 3",
            field="version",
        )
    return name, int(number)


def dataset_record(dataset: Any) -> dict[str, Any]:
    """A dataset record (mapping or object with ``to_dict()``) as plain JSON data."""
    if hasattr(dataset, "to_dict"):
        dataset = dataset.to_dict()
    if not isinstance(dataset, Mapping):
        raise InvalidInput(
            f"dataset must be a name or a record, not {type(dataset).__name__}", field="dataset"
        )
    return json.loads(dumps(dict(dataset)))


def lineage(
    *,
    training_data: Any,
    frame: pl.DataFrame | None,
    dataset: dict[str, Any] | None,
    features: Sequence[str] | None,
    pipeline_run: str | None,
    code: Sequence[object] | None,
) -> dict[str, Any]:
    """Where a version came from, JSON-ready.

    Keys: ``training_data`` (rows, columns, sha256), ``dataset`` (its record),
    ``features`` (references, from ``features`` and the dataset),
    ``definition_versions`` (from the dataset), ``pipeline_run``, ``code``
    (sha256 and source of the training code: ``code`` targets, else the file
    that called the registry), ``git`` and ``environment``.
    """
    data = None
    if frame is not None:
        data = {
            "rows": frame.height,
            "columns": frame.columns,
            "sha256": data_sha256(training_data, frame),
        }
    refs = [feature_ref(r) for r in features or ()]
    versions: dict[str, Any] = {}
    if dataset is not None:
        refs += [feature_ref(r) for r in dataset.get("features") or ()]
        versions = dict(dataset.get("definition_versions") or dataset.get("versions") or {})
    if pipeline_run is not None and (not isinstance(pipeline_run, str) or not pipeline_run):
        raise InvalidInput("pipeline_run must be a run id (text)", field="pipeline_run")
    source, fingerprint, git = _code_lineage(tuple(code) if code is not None else None)
    return {
        "training_data": data,
        "dataset": dataset,
        "features": list(dict.fromkeys(refs)),
        "definition_versions": versions,
        "pipeline_run": pipeline_run,
        "code": {"sha256": fingerprint, "source": source} if fingerprint else None,
        "git": git,
        "environment": json.loads(_environment()),
    }


@functools.cache
def _environment() -> str:
    # Once per process: the interpreter and libraries do not change while it runs.
    from mlcore.registry.lineage import environment

    return dumps(environment())


def _code_lineage(code: tuple[object, ...] | None) -> tuple[str | None, str | None, Any]:
    """(source label, fingerprint, git commit) of the training code."""
    if code is not None:
        from mlcore.registry.lineage import code_fingerprint, git_commit

        if not code:
            return None, None, None

        paths = [c for c in code if isinstance(c, (str, os.PathLike))]
        commit = git_commit(paths[0]) if paths else None
        label = ", ".join(str(c) for c in paths) or None
        return label, code_fingerprint(*code), None if commit is None else commit.to_dict()
    caller = _caller_file()
    return (caller, *_file_lineage(caller)) if caller else (None, None, None)


def _caller_file() -> str | None:
    """The first source file on the stack outside mlcore, the standard library and
    installed packages: the user's training script (None from a REPL or the CLI)."""
    skipped = (str(Path(__file__).resolve().parents[1]), *_library_paths())
    frame = sys._getframe(1)
    while frame is not None:
        file = frame.f_code.co_filename
        if not file.startswith(skipped) and not file.startswith("<"):
            return file if os.path.isfile(file) else None
        frame = frame.f_back  # type: ignore[assignment]
    return None


@functools.cache
def _library_paths() -> tuple[str, ...]:
    import sysconfig

    found = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(sorted(found))


@functools.lru_cache(maxsize=64)
def _file_lineage(path: str) -> tuple[str, Any]:
    # Once per process and file: the code that runs is the code loaded at start,
    # and git is too slow to ask at every registration.
    from mlcore.registry.lineage import code_fingerprint, git_commit

    commit = git_commit(path)
    return code_fingerprint(path), None if commit is None else commit.to_dict()
