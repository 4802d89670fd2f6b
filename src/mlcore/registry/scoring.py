"""Batch scoring with a registered version: the edge and batch jobs' main verb.

:func:`predict` resolves the version (an alias, production by default, or a
number), loads it with its hash checked, optionally adds features from the
online table by entity key, checks the batch against the signature (one error
naming every missing or mistyped column) and predicts (probabilities for
classifiers); it writes and logs nothing, which is what an evaluation wants.
:func:`score` is :func:`predict`, then the Parquet file written atomically and
the batch handed to the model's monitor.

Loaded models are kept in-process by artifact sha256 (a few at most), so a
job scoring many batches reads and verifies the artifact once; the version is
still resolved on every call, so a release or rollback takes effect on the
next batch.

Hooks, through the store object the registry was given, both optional:

- ``hooks.features.online(entities, features) -> polars.DataFrame``: one row
  per entity row, in order, holding the requested features;
- ``hooks.monitors.log_scoring(name, version, inputs=..., outputs=...)``:
  called after the predictions are written; its errors propagate (a job must
  know its batch was not monitored).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.capabilities import capability
from mlcore.errors import InvalidInput
from mlcore.registry.artifacts import trusted_names

if TYPE_CHECKING:
    import polars as pl

    from mlcore.registry.models import ModelVersion
    from mlcore.registry.registry import Registry

__all__ = ["clear_cache", "predict", "score"]

_CACHE_SIZE = 8
_cache: OrderedDict[tuple[str, tuple[str, ...]], Any] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every model loaded for scoring in this process."""
    with _cache_lock:
        _cache.clear()


def cached_model(
    registry: Registry, record: ModelVersion, trusted: Sequence[str | type] | None = None
) -> Any:
    """The fitted model of ``record``, loaded (hash checked) once per process."""
    key = (record.artifact_sha256, tuple(trusted_names(trusted)))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    model = registry._load(record, trusted)
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def predict(
    registry: Registry,
    name: str,
    data: Any,
    *,
    alias: str = "production",
    version: int | None = None,
    entity_features: Sequence[str] | None = None,
    passthrough: Sequence[str] | None = None,
    trusted: Sequence[str | type] | None = None,
) -> pl.DataFrame:
    """Predictions for ``data`` from version ``version`` (else the one ``alias`` points at).

    Nothing is written and nothing is logged to a monitor (see :func:`score`).

    Parameters
    ----------
    data
        Polars, pandas or Arrow frame, or a Parquet/CSV path.
    entity_features
        Feature references (``view:feature``) fetched from the online table
        for the entity keys in ``data`` before scoring.
    passthrough
        Columns copied in front of the predictions; default: every column of
        ``data`` that is not a model input (ids, keys, timestamps).
    trusted
        Types to trust on load beyond those the author declared.

    Returns
    -------
    polars.DataFrame
        ``passthrough`` columns, ``prediction``, and for classifiers ``score``
        (binary: probability of the second class) or ``proba_<class>``.

    Raises
    ------
    SignatureMismatch
        The batch lacks model inputs or has them in types that cannot be cast safely.
    CorruptArtifact
        The artifact was modified or is missing.
    """
    return _predict(
        registry, name, data, alias, version, entity_features, passthrough, trusted
    ).outputs


def score(
    registry: Registry,
    name: str,
    data: Any,
    *,
    alias: str = "production",
    version: int | None = None,
    out: str | os.PathLike[str] | None = None,
    entity_features: Sequence[str] | None = None,
    passthrough: Sequence[str] | None = None,
    trusted: Sequence[str | type] | None = None,
) -> pl.DataFrame:
    """:func:`predict`, then the predictions written to ``out`` and logged to the monitor.

    ``out``: write the result there as Parquet (atomically: a temporary file
    renamed). The other parameters, the result and the errors are
    :func:`predict`'s.
    """
    batch = _predict(registry, name, data, alias, version, entity_features, passthrough, trusted)
    if out is not None:
        _write_atomically(batch.outputs, Path(out))
    monitors = capability(registry._hooks, "monitors")
    log = getattr(monitors, "log_scoring", None)
    if log is not None:
        log(batch.record.name, batch.record.version, inputs=batch.inputs, outputs=batch.outputs)
    return batch.outputs


@dataclass(frozen=True)
class _Batch:
    record: ModelVersion
    inputs: pl.DataFrame  # with the online features added
    outputs: pl.DataFrame


def _predict(
    registry: Registry,
    name: str,
    data: Any,
    alias: str,
    version: int | None,
    entity_features: Sequence[str] | None,
    passthrough: Sequence[str] | None,
    trusted: Sequence[str | type] | None,
) -> _Batch:
    from mlcore.frames import to_polars
    from mlcore.registry.signature import predict

    record = registry.resolve(name, version, alias=alias)
    signature = record.signature
    if signature is None:
        raise InvalidInput(
            f"{record.ref} cannot be scored: it was registered without training data, "
            "so it has no signature to check batches against",
            hint="Register it again with training_data=...",
        )
    frame = to_polars(data, what="scoring data")
    if entity_features:
        frame = _with_online_features(registry, frame, entity_features)
    model = cached_model(registry, record, trusted)
    inputs = set(signature.columns)
    keep = [c for c in frame.columns if c not in inputs] if passthrough is None else passthrough
    return _Batch(record, frame, predict(model, frame, signature, passthrough=keep))


def _with_online_features(
    registry: Registry, frame: pl.DataFrame, refs: Sequence[str]
) -> pl.DataFrame:
    features = capability(registry._hooks, "features")
    online = getattr(features, "online", None)
    if online is None:
        raise InvalidInput(
            "entity features need the feature store's online table, which is not available here",
            hint="Pass the features in the batch instead",
            field="entity_features",
        )
    fetched = online(frame, list(refs))
    if fetched.height != frame.height:
        raise InvalidInput(
            f"the online table returned {fetched.height} rows for {frame.height} entity rows",
            field="entity_features",
        )
    added = [c for c in fetched.columns if c not in frame.columns]
    return frame.hstack(fetched.select(added)) if added else frame


def _write_atomically(result: pl.DataFrame, out: Path) -> None:
    if out.is_dir():
        raise InvalidInput(f"output {out} is a folder", hint="Name a .parquet file", field="out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        result.write_parquet(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
