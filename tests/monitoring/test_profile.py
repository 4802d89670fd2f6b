"""Reference profiles: what gets fitted, what is refused, what survives a round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring.layout import NumericLayout
from mlcore.monitoring.profile import ReferenceProfile

from .conftest import numeric_profile


def test_default_columns_and_kinds(mixed_frame: pl.DataFrame) -> None:
    frame = mixed_frame.with_columns(pl.lit("2024-01-01").str.to_date().alias("day"))
    profile = ReferenceProfile.fit(frame)
    assert profile.columns == ("age", "income", "visits", "member", "plan")  # the date is left out
    kinds = {name: layout.kind for name, layout in profile.layouts.items()}
    assert kinds == {
        "age": "numeric",
        "income": "numeric",
        "visits": "numeric",
        "member": "numeric",
        "plan": "categorical",
    }
    assert profile.layouts["plan"].categories == ("basic", "plus", "pro")


def test_quantile_bins_hold_about_equal_reference_mass(rng: np.random.Generator) -> None:
    values = rng.normal(size=50_000)
    profile = numeric_profile(values, bins=10)
    layout = profile.layouts["x"]
    counts = layout.bin_counts(profile.reference.columns["x"])
    assert layout.n_bins == 10
    np.testing.assert_allclose(counts / counts.sum(), 0.1, atol=0.002)
    # the edges are the reference deciles, to one fine slot
    slot = (layout.b - layout.a) / layout.resolution
    np.testing.assert_allclose(
        layout.bin_edges, np.quantile(values, np.arange(1, 10) / 10), atol=2 * slot + 0.01
    )


def test_discrete_columns_get_one_bin_per_value(rng: np.random.Generator) -> None:
    profile = ReferenceProfile.fit(
        pl.DataFrame({"k": rng.integers(0, 4, 10_000), "flag": rng.random(10_000) < 0.2})
    )
    assert profile.layouts["k"].n_bins == 4
    flag = profile.layouts["flag"]
    counts = flag.bin_counts(profile.reference.columns["flag"])
    assert flag.n_bins == 2 and counts[1] == int(
        profile.reference.columns["flag"].moments[1] * 10_000 + 0.5
    )


def test_constant_column_has_bins_below_at_and_above_the_constant() -> None:
    profile = numeric_profile(np.full(1_000, 7.0))
    layout = profile.layouts["x"]
    window = profile.summarise(pl.DataFrame({"x": [6.0, 7.0, 7.0, 8.0, 9.0]}))
    np.testing.assert_array_equal(layout.bin_counts(window.columns["x"]), [1, 2, 2])
    assert layout.scale == 0.0 and layout.std == 0.0


def test_frames_from_pandas_arrow_and_polars_agree(mixed_frame: pl.DataFrame) -> None:
    from_polars = ReferenceProfile.fit(mixed_frame)
    from_arrow = ReferenceProfile.fit(mixed_frame.to_arrow())
    from_pandas = ReferenceProfile.fit(mixed_frame.to_pandas())
    assert from_polars.id == from_arrow.id == from_pandas.id
    assert from_polars.reference.same_as(from_arrow.reference)


def test_round_trip_through_json_is_exact(
    mixed_frame: pl.DataFrame, rng: np.random.Generator
) -> None:
    profile = ReferenceProfile.fit(mixed_frame, categorical=["visits"])
    restored = ReferenceProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert restored.id == profile.id
    assert restored.reference.same_as(profile.reference)
    batch = mixed_frame.sample(500, seed=3)
    assert restored.summarise(batch).same_as(profile.summarise(batch))


def test_categorical_keeps_the_most_frequent_and_counts_the_rest_as_unseen() -> None:
    frame = pl.DataFrame({"c": ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None]})
    profile = ReferenceProfile.fit(frame, max_categories=2)
    assert profile.layouts["c"].categories == ("a", "b")
    ref = profile.reference.columns["c"]
    assert ref.counts.tolist() == [5, 3, 3] and ref.missing == 1


def test_categorical_accepts_integers_dictionaries_and_float_nan() -> None:
    frame = pl.DataFrame(
        {"code": [1, 2, 2, 3], "cat": pl.Series(["u", "v", "u", "u"], dtype=pl.Categorical)}
    )
    profile = ReferenceProfile.fit(frame, categorical=["code"])
    window = profile.summarise(
        pl.DataFrame({"code": [2.0, float("nan"), 9.0, None], "cat": ["v", "w", None, "u"]})
    )
    # values are compared as text (Arrow writes 2.0 as "2"); NaN and null are missing
    assert profile.layouts["code"].categories == ("2", "1", "3")
    assert (
        window.columns["code"].counts.tolist() == [1, 0, 0, 1]
        and window.columns["code"].missing == 2
    )
    assert window.columns["cat"].counts.tolist() == [1, 1, 1] and window.columns["cat"].missing == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"columns": ["agee"]}, NotFound, "column 'agee' not found. Did you mean 'age'?"),
        ({"categorical": ["nope"]}, NotFound, "column 'nope' not found"),
        ({"bins": 0}, InvalidInput, "bins=0 is out of range"),
        ({"columns": []}, InvalidInput, "no column to profile"),
    ],
)
def test_bad_fit_arguments(mixed_frame: pl.DataFrame, kwargs: dict, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        ReferenceProfile.fit(mixed_frame, **kwargs)


def test_unsupported_and_empty_reference_columns_are_refused() -> None:
    frame = pl.DataFrame({"day": pl.Series(["2024-01-01"]).str.to_date(), "x": [None], "s": ["a"]})
    with pytest.raises(InvalidInput, match="column 'day' has type date32"):
        ReferenceProfile.fit(frame, columns=["day"])
    with pytest.raises(InvalidInput, match="column 'x' has no finite value in the reference"):
        ReferenceProfile.fit(frame.with_columns(pl.col("x").cast(pl.Float64)), columns=["x"])
    with pytest.raises(InvalidInput, match="is a dict, not a frame"):
        ReferenceProfile.fit({"x": [1.0]})


def test_a_column_too_wide_for_float64_is_refused() -> None:
    with pytest.raises(InvalidInput, match="too wide for float64"):
        numeric_profile(np.array([-1e308, 1e308]))


def test_profile_json_is_small_and_independent_of_the_reference_size(
    rng: np.random.Generator,
) -> None:
    small = numeric_profile(rng.normal(size=10_000))
    large = numeric_profile(rng.normal(size=1_000_000))
    size = len(json.dumps(large.to_dict()))
    assert size < 40_000
    assert abs(size - len(json.dumps(small.to_dict()))) < 0.2 * size


def test_bin_edges_and_cell_bounds_are_ordered(rng: np.random.Generator) -> None:
    for values in (rng.normal(size=5_000), rng.standard_cauchy(5_000), rng.lognormal(0, 2, 5_000)):
        layout = numeric_profile(values).layouts["x"]
        assert isinstance(layout, NumericLayout)
        assert np.all(np.diff(layout.cell_bounds) >= 0)
        assert np.all(np.diff(layout.bin_edges) > 0)
        assert layout.lo <= layout.a <= layout.b <= layout.hi


def test_pandas_nullable_integers_become_nulls() -> None:
    frame = pd.DataFrame({"x": pd.array([1, None, 3, 4], dtype="Int64")})
    profile = ReferenceProfile.fit(frame)
    assert profile.reference.columns["x"].missing == 1
    assert pa.types.is_int64(pa.Table.from_pandas(frame).schema.field("x").type)


def test_equal_width_bins_split_the_robust_range_evenly(rng: np.random.Generator) -> None:
    profile = numeric_profile(rng.normal(size=20_000), bins=8, binning="equal_width")
    layout = profile.layouts["x"]
    widths = np.diff(np.concatenate([[layout.a], layout.bin_edges, [layout.b]]))
    np.testing.assert_allclose(widths, (layout.b - layout.a) / 8, rtol=1e-3)
    with pytest.raises(InvalidInput, match="binning 'log'"):
        numeric_profile(rng.normal(size=10), binning="log")
