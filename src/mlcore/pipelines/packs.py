"""Small step outputs packed into one Parquet data file per flush.

A blob costs two fsyncs (its file and its folder) and a catalog row; for the
many small outputs of a pipeline (metrics, scalars, small frames) that is most
of a step's overhead. So outputs up to :data:`PACK_MAX` bytes that are written
together go into one immutable Parquet file of the store's ``pipelines`` kind:
one row per output (its sha256 and its bytes, one row group each so that a
reader fetches one output without the others), written and fsynced before the
catalog transaction that registers it, like any data file — so no output is
written inside a transaction. Larger outputs stay blobs. Either way an output
is addressed by its sha256 and checked against it when read.

Examples
--------
>>> import tempfile, mlcore
>>> store = mlcore.open(tempfile.mkdtemp() + "/s", create=True, actor="ana")
>>> pack = write_pack(store.storage, {sha256_hex(b"[1,2]"): b"[1,2]"})
>>> pack.rows, pack.path.startswith("data/pipelines/")
(1, True)
>>> read_packed(store.storage, pack.path, sha256_hex(b"[1,2]"))
b'[1,2]'
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mlcore.errors import CorruptArtifact, NotFound
from mlcore.pipelines.hashing import sha256_hex

if TYPE_CHECKING:
    from pathlib import Path

    from mlcore.store import DataFile, Storage

__all__ = ["KIND", "PACK_MAX", "read_pack_file", "read_packed", "write_pack"]

#: Outputs up to this many bytes are packed; larger ones are stored as blobs
#: (their write time dwarfs the cost of syncing one more file).
PACK_MAX = 16 << 20

#: The data file kind packs are registered as.
KIND = "pipelines"


def write_pack(storage: Storage, outputs: Mapping[str, bytes]) -> DataFile:
    """Write ``{sha256: bytes}`` as one finished (not yet registered) data file."""
    import polars as pl

    shas = sorted(outputs)
    # Built with Polars (a pyarrow array of Python objects would import pandas) and
    # not compressed again: outputs are compressed Parquet or small JSON already.
    table = pl.DataFrame(
        {"sha256": shas, "data": [outputs[s] for s in shas]},
        schema={"sha256": pl.String, "data": pl.Binary},
    )
    return storage.files.write_with(
        KIND,
        lambda path: table.write_parquet(
            path, compression="uncompressed", row_group_size=1, statistics=True
        ),
    )


def read_pack_file(file: str | Path, sha256: str) -> bytes | None:
    """The bytes stored under ``sha256`` in a pack file, or None; not yet checked.

    Needs no store, so a worker process can read its inputs itself.
    """
    import polars as pl

    # Row-group statistics on sha256 let the reader skip the other outputs.
    found = pl.scan_parquet(file).filter(pl.col("sha256") == sha256).select("data").collect()
    return found.item(0, "data") if found.height else None


def read_packed(storage: Storage, path: str, sha256: str) -> bytes:
    """One output of a pack, checked against its sha256."""
    file = storage.files.absolute(path)
    if not file.exists():
        raise CorruptArtifact(
            f"artifact {sha256[:12]} is recorded in {path}, which is missing",
            hint="Restore the store's data/ folder from a backup",
        )
    data = read_pack_file(file, sha256)
    if data is None:
        raise NotFound("artifact", sha256, hint=f"It is not in {path}")
    if sha256_hex(data) != sha256:
        raise CorruptArtifact(
            f"artifact {sha256[:12]} in {path} does not match its hash",
            hint="Restore the file from a backup; rerun the step with no_cache to rebuild it",
        )
    return data
