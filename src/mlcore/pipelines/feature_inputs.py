"""Feature-store data as step inputs whose cache key is the data itself.

A pipeline that reads features must miss the cache when new feature data
arrives, even with the same parameters (Kubeflow #4857). Two inputs do that:

* :class:`FeatureSnapshot` names features (``"view:feature"``, ``"view:*"``);
  when a run starts it is pinned to the store's current manifest snapshot
  (or ``as_of``), and its fingerprint is what that snapshot holds for those
  views: their definition versions and the sha256 of each data file. Ingesting
  into one of them makes a new key; ingesting into an unrelated view does not,
  which is why the fingerprint is not the snapshot number itself.
* :class:`SavedDataset` names a saved training dataset (latest version, or a
  given one); its fingerprint is the dataset file's sha256.

Pass them to the ready-made steps :func:`mlcore.pipelines.steps.features` and
:func:`mlcore.pipelines.steps.dataset`, or to a step of your own declared
``uses_store=True`` (they read the store in the process running the pipeline).

Examples
--------
>>> snapshot = FeatureSnapshot(["driver_stats:rate", "driver_stats:trips"])
>>> snapshot
FeatureSnapshot(['driver_stats:rate', 'driver_stats:trips'])
>>> snapshot.__mlcore_fingerprint__()
Traceback (most recent call last):
...
mlcore.errors.InvalidInput: FeatureSnapshot(['driver_stats:rate', 'driver_stats:trips']) is not pinned to a store. Run its pipeline with store.pipelines.run(...), which pins it when the run starts; a step that reads it must be declared uses_store=True.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from mlcore.errors import InvalidInput
from mlcore.pipelines.hashing import canonical_json, sha256_hex

__all__ = ["FeatureSnapshot", "SavedDataset"]


class _Pinned:
    """A spec that the engine pins to a store when a run starts (``__mlcore_bind__``)."""

    _store: Any = None

    def __mlcore_bind__(self, store: Any) -> Any:
        pinned = copy.copy(self)
        pinned._pin(store)
        pinned._store = store
        return pinned

    def _pin(self, store: Any) -> None:
        raise NotImplementedError

    @property
    def store(self) -> Any:
        """The store this input was pinned to."""
        self._require_pinned()
        return self._store

    def _require_pinned(self) -> None:
        if self._store is None:
            raise InvalidInput(
                f"{self!r} is not pinned to a store",
                hint="Run its pipeline with store.pipelines.run(...), which pins it when the "
                "run starts; a step that reads it must be declared uses_store=True",
            )

    def __getstate__(self) -> dict[str, Any]:
        # A store (an open catalog connection) never travels to another process.
        return {**self.__dict__, "_store": None}


class FeatureSnapshot(_Pinned):
    """Features as of a manifest snapshot: the current one when the run starts, or ``as_of``.

    Parameters
    ----------
    features
        ``"view:feature"`` or ``"view:*"`` references, in the order of the
        result columns.
    as_of
        A snapshot number to read instead of the store's current one.
    """

    def __init__(self, features: str | Sequence[str], *, as_of: int | None = None) -> None:
        refs = [features] if isinstance(features, str) else list(features)
        if not refs or not all(isinstance(r, str) and ":" in r for r in refs):
            raise InvalidInput(
                f"features={features!r} are not feature references",
                hint="Name them as 'view:feature' or 'view:*'",
                field="features",
            )
        self.features = refs
        self.as_of = as_of
        self.snapshot: int | None = None
        self.versions: dict[str, int] = {}
        self._files: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        pinned = f", snapshot={self.snapshot}" if self.snapshot is not None else ""
        as_of = f", as_of={self.as_of}" if self.as_of is not None else ""
        return f"FeatureSnapshot({self.features!r}{as_of}{pinned})"

    def _pin(self, store: Any) -> None:
        resolution = store.features.resolve(self.features, as_of=self.as_of)
        self.snapshot = resolution.snapshot
        self.versions = dict(resolution.versions)
        self._files = {v.name: [f.sha256 for f in v.files] for v in resolution.views}

    def __mlcore_fingerprint__(self) -> str:
        self._require_pinned()
        return sha256_hex(
            canonical_json(
                {
                    "features": self.features,
                    "views": {
                        name: {"version": version, "files": self._files.get(name, [])}
                        for name, version in sorted(self.versions.items())
                    },
                }
            )
        )


class SavedDataset(_Pinned):
    """A saved training dataset of the feature store: its latest version, or ``version``.

    Examples
    --------
    >>> SavedDataset("churn_train", version=2)
    SavedDataset('churn_train', version=2)
    """

    def __init__(self, name: str, *, version: int | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"dataset name {name!r} is not a name", field="name")
        self.name = name
        self.version = version
        self.sha256: str | None = None

    def __repr__(self) -> str:
        version = f", version={self.version}" if self.version is not None else ""
        return f"SavedDataset({self.name!r}{version})"

    def _pin(self, store: Any) -> None:
        record = store.features.dataset(self.name, self.version)
        self.version = record.version
        self.sha256 = record.sha256

    def __mlcore_fingerprint__(self) -> str:
        self._require_pinned()
        assert self.sha256 is not None
        return self.sha256
