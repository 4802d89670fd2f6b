"""Training datasets: a retrieval stored with everything needed to rebuild it byte for byte.

Saving a dataset runs a point-in-time retrieval and records, under a name and a
version number: the entity frame (as a Parquet file), the request (features,
timestamp column, key map, full names, assumed zone), the manifest snapshot it
read, the view versions it used, and the result (Parquet, with its sha256).
:func:`rebuild` reruns the same request against the same snapshot and versions
and checks that the result's bytes hash to the recorded sha256; later ingestion
or definition changes do not alter it. The registry refers to a dataset as
``dataset:<name>/<version>`` plus its sha256.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.errors import CheckFailed, NotFound
from mlcore.store import DataFile

if TYPE_CHECKING:
    import polars as pl

    from mlcore.features.store import FeatureStore
    from mlcore.store import Storage

__all__ = ["Dataset", "get", "listing", "load", "rebuild", "save"]

_ROW_GROUP_ROWS = 1 << 20
_COLUMNS = (
    "name, version, snapshot, spec, versions, entities_path, entities_sha256, path, sha256, rows, "
    "description, created_at, created_by"
)


@dataclass(frozen=True)
class Dataset:
    """The record of one saved dataset version."""

    name: str
    version: int
    snapshot: int
    spec: dict[str, Any]  # features, timestamp, full_names, key_map, assume_tz
    versions: dict[str, int]  # view -> definition version used
    entities_path: str
    entities_sha256: str
    path: str
    sha256: str
    rows: int
    description: str = ""
    created_at: datetime | None = None
    created_by: str | None = None

    @property
    def id(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def features(self) -> list[str]:
        return list(self.spec["features"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "snapshot": self.snapshot,
            "features": self.features,
            "versions": self.versions,
            "rows": self.rows,
            "sha256": self.sha256,
            "path": self.path,
            "entities_path": self.entities_path,
            "entities_sha256": self.entities_sha256,
            "spec": self.spec,
            "description": self.description,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """A frame as Parquet bytes, written the same way every time (so rebuilds compare)."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(
        frame.to_arrow(),
        buffer,
        compression="zstd",
        row_group_size=_ROW_GROUP_ROWS,
        write_statistics=True,
    )
    return buffer.getvalue()


def _write(storage: Storage, content: bytes) -> DataFile:
    return storage.files.write_with("datasets", lambda path: path.write_bytes(content))


def save(
    features_store: FeatureStore,
    name: str,
    entities: Any,
    features: str | Sequence[str],
    *,
    description: str = "",
    timestamp: str = "event_timestamp",
    full_names: bool = False,
    as_of: int | None = None,
    key_map: Mapping[str, Any] | None = None,
    assume_tz: str | None = None,
) -> Dataset:
    """Retrieve, store and record a dataset (a new version when the name exists)."""
    from mlcore.frames import to_polars

    storage = features_store.storage
    names.validate("dataset name", name)
    with storage.transaction() as tx:
        tx.require("features.save_dataset")
    frame = to_polars(entities, what="entity frame")
    wanted = [features] if isinstance(features, str) else list(features)
    spec = {
        "features": wanted,
        "timestamp": timestamp,
        "full_names": full_names,
        "key_map": dict(key_map or {}),
        "assume_tz": assume_tz,
    }
    result, resolution = features_store._historical(
        frame,
        wanted,
        timestamp=timestamp,
        full_names=full_names,
        as_of=as_of,
        key_map=key_map,
        assume_tz=assume_tz,
        versions=None,
    )
    written = [_write(storage, parquet_bytes(frame)), _write(storage, parquet_bytes(result))]
    try:
        with storage.transaction() as tx:
            tx.require("features.save_dataset")
            row = tx.fetchone(
                "SELECT coalesce(max(version), 0) + 1 FROM feature_datasets WHERE name = ?", [name]
            )
            version = int(row[0]) if row else 1
            for f in written:
                tx.register_file(f, kind="datasets", owner=name)
            entities_file, result_file = written
            dataset = Dataset(
                name,
                version,
                resolution.snapshot,
                spec,
                resolution.versions,
                entities_file.path,
                entities_file.sha256,
                result_file.path,
                result_file.sha256,
                result_file.rows,
                description,
                datetime.now(UTC),
                tx.actor,
            )
            tx.execute(
                f"INSERT INTO feature_datasets ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    name,
                    version,
                    dataset.snapshot,
                    json.dumps(spec, sort_keys=True),
                    json.dumps(dataset.versions, sort_keys=True),
                    dataset.entities_path,
                    dataset.entities_sha256,
                    dataset.path,
                    dataset.sha256,
                    dataset.rows,
                    description,
                    dataset.created_at,
                    dataset.created_by,
                ],
            )
            tx.audit(
                "features.save_dataset",
                f"dataset:{dataset.id}",
                {
                    "snapshot": dataset.snapshot,
                    "versions": dataset.versions,
                    "features": spec["features"],
                    "rows": dataset.rows,
                    "sha256": dataset.sha256,
                },
            )
    except BaseException:
        for f in written:
            storage.files.absolute(f.path).unlink(missing_ok=True)
        raise
    return dataset


def _record(row: tuple[Any, ...]) -> Dataset:
    name, version, snapshot, spec, versions, e_path, e_sha, path, sha, rows, desc, at, by = row
    return Dataset(
        name,
        version,
        snapshot,
        json.loads(spec),
        json.loads(versions),
        e_path,
        e_sha,
        path,
        sha,
        rows,
        desc,
        at,
        by,
    )


def get(storage: Storage, name: str, version: int | None = None) -> Dataset:
    """One dataset version (the latest by default); NotFound suggests close names."""
    with storage.transaction() as tx:
        row = tx.fetchone(
            f"SELECT {_COLUMNS} FROM feature_datasets WHERE name = ? "
            "AND (? IS NULL OR version = ?) ORDER BY version DESC LIMIT 1",
            [name, version, version],
        )
        if row is None:
            known = [n for (n,) in tx.fetchall("SELECT DISTINCT name FROM feature_datasets")]
    if row is None:
        what = name if version is None else f"{name}/{version}"
        raise NotFound("dataset", what, candidates=known)
    return _record(row)


def listing(storage: Storage) -> list[Dataset]:
    """The latest version of every dataset, by name."""
    with storage.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {_COLUMNS} FROM feature_datasets "
            "QUALIFY row_number() OVER (PARTITION BY name ORDER BY version DESC) = 1 ORDER BY name"
        )
    return [_record(r) for r in rows]


def _read(storage: Storage, path: str, sha256: str) -> pl.DataFrame:
    import polars as pl

    storage.files.verify(DataFile(path=path, rows=0, bytes=0, sha256=sha256))
    return pl.read_parquet(storage.files.absolute(path))


def load(storage: Storage, dataset: Dataset) -> pl.DataFrame:
    """The stored rows of a dataset, after checking their sha256."""
    return _read(storage, dataset.path, dataset.sha256)


def rebuild(features_store: FeatureStore, dataset: Dataset) -> pl.DataFrame:
    """Recompute ``dataset`` from its recorded snapshot and versions; CheckFailed if it differs."""
    entities = _read(features_store.storage, dataset.entities_path, dataset.entities_sha256)
    spec = dataset.spec
    result, _ = features_store._historical(
        entities,
        spec["features"],
        timestamp=spec["timestamp"],
        full_names=spec["full_names"],
        as_of=dataset.snapshot,
        key_map=spec["key_map"],
        assume_tz=spec["assume_tz"],
        versions=dataset.versions,
    )
    digest = hashlib.sha256(parquet_bytes(result)).hexdigest()
    if digest != dataset.sha256:
        raise CheckFailed(
            f"dataset {dataset.id} rebuilt differently: sha256 {digest[:12]} instead of the "
            f"recorded {dataset.sha256[:12]}",
            hint="Its data files or the library versions changed; compare with load_dataset",
        )
    return result
