"""Window summaries: exact merges, bounded size, and batches that go wrong."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from mlcore.errors import InvalidInput, NotFound
from mlcore.monitoring.profile import ReferenceProfile
from mlcore.monitoring.summary import NumericSummary, WindowSummary

PROFILE = ReferenceProfile.fit(
    pl.DataFrame(
        {
            "x": np.random.default_rng(5).normal(size=3_000),
            "c": np.random.default_rng(6).choice(["a", "b", "c"], 3_000),
        }
    ),
    resolution=64,
    grid=16,
    quantile_grid=16,
)

cells = hs.one_of(hs.floats(-5, 5), hs.sampled_from([np.nan, np.inf, -np.inf, 40.0]), hs.none())
rows = hs.lists(
    hs.tuples(cells, hs.one_of(hs.sampled_from(["a", "b", "c", "zz"]), hs.none())), max_size=120
)


def frame(batch: list[tuple[float | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"x": [r[0] for r in batch], "c": [r[1] for r in batch]},
        schema={"x": pl.Float64, "c": pl.String},
    )


def assert_same_counts(a: WindowSummary, b: WindowSummary) -> None:
    """Counts equal exactly; moments (sums of floats) to rounding."""
    assert a.rows == b.rows
    for name, sa in a.columns.items():
        sb = b.columns[name]
        if isinstance(sa, NumericSummary):
            assert isinstance(sb, NumericSummary)
            np.testing.assert_array_equal(sa.cells, sb.cells)
            np.testing.assert_array_equal(sa.specials, sb.specials)
            np.testing.assert_allclose(sa.moments, sb.moments, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(sa.tails, sb.tails, rtol=1e-9, atol=1e-9)
        else:
            assert sa.same_as(sb)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(a=rows, b=rows, c=rows)
def test_merge_is_the_summary_of_the_concatenation(a: list, b: list, c: list) -> None:
    sa, sb, sc = (PROFILE.summarise(frame(r)) for r in (a, b, c))
    whole = PROFILE.summarise(frame(a + b + c))
    assert_same_counts(sa.merge(sb).merge(sc), whole)
    assert_same_counts(sa.merge(sb.merge(sc)), whole)  # associative
    assert_same_counts(sb.merge(sa), sa.merge(sb))  # commutative
    assert_same_counts(PROFILE.empty_summary().merge(sa), sa)  # the empty summary is neutral


def test_summary_size_does_not_grow_with_rows() -> None:
    rng = np.random.default_rng(0)
    sizes = {}
    for n in (1_000, 1_000_000):
        batch = pl.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "d"], n)})
        summary = PROFILE.summarise(batch)
        sizes[n] = (summary.nbytes, len(json.dumps(summary.to_dict())))
        assert summary.rows == n
    assert sizes[1_000][0] == sizes[1_000_000][0]
    assert sizes[1_000_000][1] < 2 * sizes[1_000][1]


def test_json_round_trip_is_exact() -> None:
    summary = PROFILE.summarise(frame([(1.0, "a"), (None, None), (np.inf, "zz"), (np.nan, "b")]))
    again = WindowSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert again.same_as(summary)
    empty = PROFILE.empty_summary()
    assert WindowSummary.from_dict(json.loads(json.dumps(empty.to_dict()))).same_as(empty)


def test_special_values_are_counted_where_documented() -> None:
    x = PROFILE.summarise(
        frame([(np.nan, "a"), (None, "a"), (np.inf, "a"), (-np.inf, "a"), (40.0, "a"), (0.0, "a")])
    )
    col = x.columns["x"]
    assert isinstance(col, NumericSummary)
    assert col.specials.tolist() == [1, 1, 1, 1]  # null, NaN, -inf, +inf
    assert col.missing == 2 and col.out_of_range == 3  # ±inf and 40 are beyond the reference range
    assert col.moments[0] == 2  # finite values only: 40 and 0
    assert col.rows == 6


def test_empty_and_all_null_batches_are_counted_not_refused() -> None:
    empty = PROFILE.summarise(frame([]))
    assert empty.rows == 0 and empty.same_as(PROFILE.empty_summary())
    nulls = PROFILE.summarise(pl.DataFrame({"x": [None, None], "c": [None, None]}))  # Null dtype
    assert nulls.columns["x"].missing == 2 and nulls.columns["c"].missing == 2


def test_a_bad_batch_raises_before_anything_is_counted() -> None:
    running = PROFILE.summarise(frame([(1.0, "a")]))
    before = running.to_dict()
    with pytest.raises(NotFound, match="column 'x' not found"):
        running = running.merge(PROFILE.summarise(pl.DataFrame({"c": ["a"]})))
    with pytest.raises(
        InvalidInput, match="column 'x' has type large_string, but its profile is numeric"
    ):
        running = running.merge(PROFILE.summarise(pl.DataFrame({"x": ["1.0"], "c": ["a"]})))
    assert running.to_dict() == before


def test_missing_column_suggests_a_near_name() -> None:
    with pytest.raises(NotFound, match="Did you mean 'xx'"):
        PROFILE.summarise(pl.DataFrame({"xx": [1.0], "c": ["a"]}))


def test_new_columns_are_ignored_and_listed() -> None:
    a = PROFILE.summarise(pl.DataFrame({"x": [1.0], "c": ["a"], "new": [1]}))
    b = PROFILE.summarise(pl.DataFrame({"x": [1.0], "c": ["a"], "other": ["z"]}))
    assert a.merge(b).unexpected_columns == ("new", "other")


def test_summaries_of_different_profiles_do_not_merge() -> None:
    other = ReferenceProfile.fit(pl.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    with pytest.raises(InvalidInput, match="different profiles"):
        PROFILE.empty_summary().merge(other.empty_summary())


def test_integer_boolean_and_float32_batches_summarise_like_float64() -> None:
    profile = ReferenceProfile.fit(pl.DataFrame({"n": [0, 1, 2, 3, 4, 5]}))
    as_float = profile.summarise(pl.DataFrame({"n": [1.0, 2.0, 9.0]}))
    for series in (
        pl.Series("n", [1, 2, 9]),
        pl.Series("n", [1, 2, 9], dtype=pl.Float32),
        pl.Series("n", [1, 2, 9], dtype=pl.UInt8),
    ):
        assert profile.summarise(series.to_frame()).same_as(as_float)
    booleans = profile.summarise(pl.DataFrame({"n": [True, False, True]}))
    assert booleans.columns["n"].moments[0] == 3 and booleans.columns["n"].moments[
        1
    ] == pytest.approx(2 / 3)
