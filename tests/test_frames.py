"""Frames in: every accepted form reads the same; files are told apart by content and suffix."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.frames import data_sha256, file_format, to_polars

FRAME = pl.DataFrame({"x": [3, 1, 2], "s": ["a", "b", None]})


class Stream:
    """Only the Arrow C stream interface, as a third-party frame would offer."""

    def __init__(self, table) -> None:
        self.table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self.table.__arrow_c_stream__(requested_schema)


def test_arrow_forms_read_as_the_frame() -> None:
    assert to_polars(Stream(FRAME.to_arrow())).equals(FRAME)
    assert to_polars(FRAME.to_arrow()).equals(FRAME)
    assert to_polars(FRAME.to_arrow().to_batches()[0]).equals(FRAME)


def test_file_formats(tmp_path: Path) -> None:
    FRAME.write_parquet(tmp_path / "named.csv")  # content wins for Parquet
    FRAME.write_csv(tmp_path / "f.tsv", separator="\t")
    assert file_format(tmp_path / "named.csv") == "parquet"
    assert file_format(tmp_path / "f.tsv") == "tsv"
    assert to_polars(tmp_path / "f.tsv").equals(FRAME)
    (tmp_path / "fake.parquet").write_text("a,b\n")
    (tmp_path / "notes.txt").write_text("a,b\n")
    with pytest.raises(InvalidInput, match=r"batch .*fake\.parquet is not a Parquet file"):
        file_format(tmp_path / "fake.parquet", what="batch")
    with pytest.raises(InvalidInput, match=r"notes\.txt is neither Parquet nor CSV"):
        file_format(tmp_path / "notes.txt")
    with pytest.raises(InvalidInput, match="is a folder"):
        file_format(tmp_path)
    with pytest.raises(NotFound, match=r"absent\.csv"):
        file_format(tmp_path / "absent.csv")


def test_data_is_hashed_as_given_files_by_bytes_frames_by_content(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "f.csv"
    FRAME.write_csv(path)
    read = to_polars(path)
    assert data_sha256(path, read) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data_sha256(str(path), read) == data_sha256(path, read)
    arrow = FRAME.to_arrow()
    assert data_sha256(arrow, to_polars(arrow)) == data_sha256(FRAME, FRAME)
    assert data_sha256(FRAME, FRAME) != data_sha256(FRAME, FRAME.reverse())
