"""Input handling shared by every component, and the package's light import."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.components import split, validate
from mlcore.pipelines.components._frames import as_polars

FRAME = pl.DataFrame({"x": [3, 1, 2], "s": ["a", "b", None]})


@pytest.mark.parametrize(
    "convert",
    [
        lambda f, _: f,
        lambda f, _: f.lazy(),
        lambda f, _: f.to_pandas(),
        lambda f, _: f.to_arrow(),
        lambda f, tmp: (f.write_parquet(tmp / "f.parquet"), tmp / "f.parquet")[1],
        lambda f, tmp: (f.write_csv(tmp / "f.csv"), str(tmp / "f.csv"))[1],
    ],
    ids=["polars", "lazy", "pandas", "arrow", "parquet", "csv"],
)
def test_every_frame_form_reads_the_same(convert, tmp_path) -> None:
    assert as_polars(convert(FRAME, tmp_path)).equals(FRAME)


def test_arrow_c_stream_objects_are_read() -> None:
    class Stream:
        def __init__(self, table) -> None:
            self.table = table

        def __arrow_c_stream__(self, requested_schema=None):
            return self.table.__arrow_c_stream__(requested_schema)

    assert as_polars(Stream(FRAME.to_arrow())).equals(FRAME)


def test_unreadable_inputs_are_refused(tmp_path) -> None:
    with pytest.raises(NotFound, match="file"):
        as_polars(tmp_path / "absent.parquet")
    (tmp_path / "f.xlsx").write_text("")
    with pytest.raises(InvalidInput, match=r"f\.xlsx is neither Parquet nor CSV"):
        as_polars(tmp_path / "f.xlsx")
    with pytest.raises(InvalidInput, match="frame is a list, not a frame"):
        as_polars([1, 2])
    with pytest.raises(InvalidInput, match="no rows"):
        split(FRAME.clear())
    assert validate(FRAME.clear(), []).n_rows == 0  # validate alone accepts empty frames


def test_importing_the_components_loads_no_heavy_library() -> None:
    code = (
        "import sys, mlcore.pipelines.components as c; "
        "print(sorted(m for m in ('polars', 'sklearn', 'numpy', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
