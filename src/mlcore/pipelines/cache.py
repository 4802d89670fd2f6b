"""Step outputs as content-addressed artifacts, and the cache keys that find them.

Every step output is serialised to bytes in one deterministic format per kind,
so the same value always has the same sha256:

========  ==========================================  =======================
kind      values                                      format
========  ==========================================  =======================
frame     ``polars.DataFrame`` (a LazyFrame is        Parquet
          collected first)
series    ``polars.Series``                           Parquet, one column
array     ``numpy.ndarray`` (not of objects)          ``.npy``
model     scikit-learn style estimators               skops, normalised
json      dicts, lists, strings, numbers, booleans,   canonical JSON
          None
========  ==========================================  =======================

A step's cache key is the sha256 of its code fingerprint, its parameters as
canonical JSON, the content hashes of its inputs, its output names and the
mlcore version (:func:`cache_key`).

Examples
--------
>>> store = MemoryArtifactStore()
>>> kind, data = encode({"auc": 0.91, "n": 3}, step="score")
>>> kind, data
('json', b'{"auc":0.91,"n":3}')
>>> sha = store.put(data)
>>> decode(kind, store.get(sha))
{'auc': 0.91, 'n': 3}
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path, PurePath
from typing import Any, Protocol

from mlcore.errors import CorruptArtifact, InvalidInput, NotFound
from mlcore.pipelines.hashing import canonical_json, sha256_hex

__all__ = [
    "ArtifactRef",
    "ArtifactStore",
    "DirectoryArtifactStore",
    "MemoryArtifactStore",
    "artifact_kind",
    "cache_key",
    "decode",
    "encode",
    "key_material",
]

_SUPPORTED = (
    "Polars DataFrame or Series, NumPy array, scikit-learn model, or dict/list/str/number/bool/None"
)


@dataclass(frozen=True)
class ArtifactRef:
    """A stored output: its content hash and the kind that says how to read it."""

    sha256: str
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"sha256": self.sha256, "kind": self.kind}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> ArtifactRef:
        return cls(data["sha256"], data["kind"])


# ------------------------------------------------------------------- serialising


def artifact_kind(value: Any) -> str | None:
    """The artifact kind ``value`` would be stored as, or None if unsupported.

    >>> artifact_kind([1, 2.5, "x"]), artifact_kind({1, 2})
    ('json', None)
    """
    module = type(value).__module__
    if module.startswith("polars"):
        import polars as pl

        if isinstance(value, pl.DataFrame | pl.LazyFrame):
            return "frame"
        if isinstance(value, pl.Series):
            return "series"
        return None
    if module == "numpy" and hasattr(value, "dtype") and hasattr(value, "shape"):
        if value.shape == ():  # a NumPy scalar
            return "json" if _is_json(value.item()) else None
        return "array" if value.dtype.kind != "O" else None
    if _is_json(value):
        return "json"
    # Duck-typed so that any estimator with the scikit-learn API qualifies
    # without importing scikit-learn to ask.
    if hasattr(value, "fit") and hasattr(value, "get_params"):
        return "model"
    return None


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return type(value).__module__ == "numpy" and getattr(value, "shape", None) == ()


def encode(value: Any, *, step: str) -> tuple[str, bytes]:
    """Serialise a step output; returns ``(kind, bytes)``.

    Raises InvalidInput naming ``step`` when the value has no artifact format.
    """
    kind = artifact_kind(value)
    if kind == "frame":
        import polars as pl

        frame = value.collect() if isinstance(value, pl.LazyFrame) else value
        return kind, _parquet(frame)
    if kind == "series":
        return kind, _parquet(value.to_frame())
    if kind == "array":
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return kind, buffer.getvalue()
    if kind == "json":
        return kind, canonical_json(value)
    if kind == "model":
        return kind, dump_model(value)
    raise InvalidInput(
        f"step '{step}' returned a {type(value).__module__}.{type(value).__qualname__}, "
        "which mlcore cannot store as an artifact",
        hint=f"Return a {_SUPPORTED}",
    )


def _parquet(frame: Any) -> bytes:
    # LZ4 writes about twice as fast as Polars' default zstd for a somewhat larger
    # file: intermediate outputs are written on every run, read back rarely.
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="lz4")
    return buffer.getvalue()


def decode(kind: str, data: bytes) -> Any:
    """Read back a value written by :func:`encode`."""
    if kind in ("frame", "series"):
        import polars as pl

        frame = pl.read_parquet(io.BytesIO(data))
        return frame.to_series() if kind == "series" else frame
    if kind == "array":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if kind == "json":
        return json.loads(data)
    if kind == "model":
        return load_model(data)
    raise InvalidInput(f"unknown artifact kind '{kind}'", hint="Upgrade mlcore to read it")


def dump_model(model: Any) -> bytes:
    """Serialise an estimator with skops, byte-for-byte reproducibly (equal models,
    equal bytes, hence equal cache keys)."""
    import skops.io

    from mlcore.registry.artifacts import reproducible

    return reproducible(skops.io.dumps(model))


# Library types a pipeline artifact may hold beyond what skops trusts by default.
_LIBRARIES = ("sklearn.", "numpy.", "scipy.")


def load_model(data: bytes) -> Any:
    """Load a skops model this engine wrote.

    skops refuses some scikit-learn internals (tree storage) because a crafted
    file could crash the process. A pipeline artifact is read back only by the
    sha256 its run recorded, and stores verify that hash, so these are the bytes
    a step produced: library types, and the mlcore types trained models hold,
    are trusted; any other type is still refused.
    """
    import skops.io

    from mlcore.pipelines.components.train import TRUSTED_TYPES

    untrusted = skops.io.get_untrusted_types(data=data)
    foreign = [t for t in untrusted if not t.startswith(_LIBRARIES) and t not in TRUSTED_TYPES]
    if foreign:
        raise InvalidInput(
            f"model artifact holds types outside scikit-learn, NumPy, SciPy and mlcore: "
            f"{', '.join(foreign)}",
            hint="Build models from library components, or pass the model between steps "
            "as its parameters",
        )
    return skops.io.loads(data, trusted=untrusted)


# --------------------------------------------------------------------- cache keys


def key_material(value: Any, *, resolve: bool = True) -> Any:
    """What of a parameter value enters a cache key, as JSON-ready data.

    Plain data enters as itself; paths and datetimes as text; a
    :class:`~mlcore.pipelines.hashing.Fingerprinted` value by its fingerprint and
    frames, arrays and models by the hash of their artifact bytes. With
    ``resolve=False`` nothing is read or hashed: only whether the value *can*
    enter a key is checked (at definition time, before files exist).

    >>> key_material({"alpha": 0.5, "cols": ("a", "b")})
    {'alpha': 0.5, 'cols': ['a', 'b']}

    Raises TypeError for anything else.
    """
    if hasattr(type(value), "__mlcore_fingerprint__"):  # Fingerprinted, without the slow check
        return {"fingerprint": value.__mlcore_fingerprint__() if resolve else None}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [key_material(v, resolve=resolve) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: key_material(v, resolve=resolve) for k, v in value.items()}
    if isinstance(value, PurePath):
        return {"path": str(value)}
    if isinstance(value, datetime | date | time):
        return {"time": value.isoformat()}
    kind = artifact_kind(value)
    if kind is None:
        raise TypeError(f"{type(value).__qualname__} values cannot enter a cache key")
    if not resolve:
        return {"artifact": None}
    _, data = encode(value, step="?")
    return {"artifact": sha256_hex(data)}


def cache_key(
    *,
    code: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, str],
    outputs: Sequence[str],
    version: str,
) -> str:
    """sha256 over everything that decides a step's outputs.

    >>> cache_key(code="c0de", params={"k": 1}, inputs={}, outputs=["out"], version="1")[:16]
    '82b0d7bf9ec64152'
    """
    material = {
        "code": code,
        "params": params,
        "inputs": inputs,
        "outputs": list(outputs),
        "mlcore": version,
    }
    return sha256_hex(canonical_json(material))


# ------------------------------------------------------------------------- stores


class ArtifactStore(Protocol):
    """Where artifact bytes live, addressed by their sha256."""

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its sha256 hex (idempotent)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``; raises NotFound if absent."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether ``sha256`` is stored."""
        ...


class MemoryArtifactStore:
    """Artifacts in a dict: for tests, benches and throw-away runs."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        sha = sha256_hex(data)
        self._blobs.setdefault(sha, bytes(data))
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            return self._blobs[sha256]
        except KeyError:
            raise NotFound("artifact", sha256) from None

    def exists(self, sha256: str) -> bool:
        return sha256 in self._blobs


class DirectoryArtifactStore:
    """Artifacts as files ``<root>/<sha[:2]>/<sha[2:]>``, written atomically.

    Reads verify the hash, so a damaged file raises CorruptArtifact instead of
    feeding wrong bytes to a step.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        sha = sha256_hex(data)
        target = self.path(sha)
        if target.exists():
            return sha
        if not target.parent.is_dir():  # a stat is far cheaper than mkdir on an existing dir
            target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound("artifact", sha256) from None
        if sha256_hex(data) != sha256:
            raise CorruptArtifact(
                f"artifact {sha256[:12]} at {self.path(sha256)} does not match its hash",
                hint="Delete the file and rerun the step with no_cache to rebuild it",
            )
        return data

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def local_file(self, sha256: str) -> tuple[Path, bool] | None:
        """The artifact's file (never a pack), for a worker process to read itself."""
        path = self.path(sha256)
        return (path, False) if path.exists() else None
