from __future__ import annotations

import json
import statistics

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.components import Cleaner, clean


def test_imputed_values_match_independent_statistics(people: pl.DataFrame) -> None:
    frame = people.with_columns(
        pl.when(pl.col("score") > 70).then(None).otherwise(pl.col("score")).alias("score"),
        pl.when(pl.col("id") % 7 == 0).then(None).otherwise(pl.col("city")).alias("city"),
    )
    cleaned, report = clean(frame, impute={"score": "mean", "age": "median", "city": "mode"})
    scores = [v for v in frame["score"] if v is not None]
    ages = [v for v in frame["age"] if v is not None]
    cities = [v for v in frame["city"] if v is not None]
    fills = report.cleaner.fill_values_
    assert fills["score"] == pytest.approx(statistics.fmean(scores))
    assert fills["age"] == round(statistics.median(ages))
    assert fills["city"] == statistics.mode(cities)
    assert report.imputed == {
        "score": frame["score"].null_count(),
        "age": frame["age"].null_count(),
        "city": frame["city"].null_count(),
    }
    assert cleaned.null_count().sum_horizontal().item() == 0
    assert cleaned.schema == frame.schema  # integer ages stay integers
    filled = frame["score"].is_null()
    assert (cleaned.filter(filled)["score"] == fills["score"]).all()
    assert cleaned.filter(~filled)["score"].to_list() == frame.filter(~filled)["score"].to_list()


def test_mode_ties_go_to_the_smallest_value() -> None:
    frame = pl.DataFrame({"c": ["b", "a", "b", "a", None]})
    _, report = clean(frame, impute={"c": "mode"})
    assert report.cleaner.fill_values_ == {"c": "a"}


def test_constant_fill_and_nan_as_missing() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), None], "n": [1, None, 3]})
    cleaned, report = clean(frame, impute={"x": {"constant": -1.0}, "n": {"constant": 0}})
    assert cleaned.rows() == [(1.0, 1), (-1.0, 0), (-1.0, 3)]
    assert report.imputed == {"x": 2, "n": 1}


def test_quantile_clipping_matches_numpy(people: pl.DataFrame) -> None:
    cleaned, report = clean(people, clip={"score": {"quantiles": [0.05, 0.95]}, "age": [0, 100]})
    low, high = np.quantile(people["score"].to_numpy(), [0.05, 0.95])
    assert report.cleaner.clip_bounds_["score"] == pytest.approx([low, high])
    expected = np.clip(people["score"].to_numpy(), low, high)
    np.testing.assert_allclose(cleaned["score"].to_numpy(), expected)
    scores = people["score"].to_numpy()
    assert report.clipped["score"] == {
        "low": int((scores < low).sum()),
        "high": int((scores > high).sum()),
    }
    ages = people["age"].drop_nulls().to_numpy()
    assert report.clipped["age"] == {"low": int((ages < 0).sum()), "high": int((ages > 100).sum())}
    assert cleaned["age"].null_count() == people["age"].null_count()  # clipping keeps nulls


def test_integer_clip_bounds_tighten_to_integers() -> None:
    cleaned, report = clean(pl.DataFrame({"n": [1, 2, 3, 4]}), clip={"n": {"min": 1.5, "max": 3.5}})
    assert cleaned["n"].to_list() == [2, 2, 3, 3]
    assert report.cleaner.clip_bounds_ == {"n": [2, 3]}


def brute_dedupe(
    rows: list[dict], subset: list[str], keep: str, order_by: str | None
) -> list[dict]:
    """Keep one row per key: the first/last by ``order_by`` (stable), original order kept."""
    indexed = list(enumerate(rows))
    if order_by:
        indexed.sort(key=lambda p: p[1][order_by])
    if keep == "last":
        indexed.reverse()
    chosen: dict[tuple, int] = {}
    for i, row in indexed:
        chosen.setdefault(tuple(row[c] for c in subset), i)
    return [rows[i] for i in sorted(chosen.values())]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "k": st.integers(0, 4),
                "g": st.sampled_from("xy"),
                "t": st.integers(0, 3),
                "v": st.integers(),
            }
        ),
        min_size=1,
        max_size=30,
    ),
    keep=st.sampled_from(["first", "last"]),
    order_by=st.sampled_from([None, "t"]),
    subset=st.sampled_from([["k"], ["k", "g"]]),
)
def test_dedupe_matches_brute_force(rows, keep, order_by, subset) -> None:
    frame = pl.DataFrame(rows)
    cleaned, report = clean(frame, dedupe={"subset": subset, "keep": keep, "order_by": order_by})
    expected = brute_dedupe(rows, subset, keep, order_by)
    assert cleaned.to_dicts() == expected
    assert report.duplicates_removed == len(rows) - len(expected)


def test_dedupe_shorthands() -> None:
    frame = pl.DataFrame({"a": [1, 1, 2, 1], "b": [0, 0, 0, 5]})
    assert clean(frame, dedupe=True)[0].rows() == [(1, 0), (2, 0), (1, 5)]
    assert clean(frame, dedupe="a")[0].rows() == [(1, 0), (2, 0)]
    assert clean(frame, dedupe=["a", "b"])[1].duplicates_removed == 1


def test_fitted_cleaner_applies_the_same_values_to_new_data(people: pl.DataFrame) -> None:
    train, new = people.head(600), people.tail(400)
    cleaner = Cleaner(
        impute={"age": "median", "city": "mode"},
        clip={"score": {"quantiles": [0.1, 0.9]}},
        dedupe={"subset": ["id"], "keep": "last", "order_by": "joined"},
    ).fit(train)
    restored = Cleaner.from_dict(json.loads(json.dumps(cleaner.to_dict())))
    out, report = restored.transform(new)
    direct, _ = cleaner.transform(new)
    assert out.equals(direct)
    low, high = cleaner.clip_bounds_["score"]
    assert out["score"].min() >= low and out["score"].max() <= high
    assert low > new["score"].min()  # bounds come from train, not from the new data
    kept_train = brute_dedupe(train.to_dicts(), ["id"], "last", "joined")
    age_fill = cleaner.fill_values_["age"]
    assert age_fill == round(
        statistics.median(r["age"] for r in kept_train if r["age"] is not None)
    )
    kept_new = brute_dedupe(new.to_dicts(), ["id"], "last", "joined")
    assert report.rows_out == len(kept_new) < new.height
    assert report.imputed["age"] == sum(r["age"] is None for r in kept_new)
    assert json.loads(json.dumps(report.to_dict()))["cleaner"]["fill_values"]["age"] == age_fill


def test_statistics_skip_duplicates_and_outliers() -> None:
    frame = pl.DataFrame({"id": [1, 1, 1, 2, 3], "x": [10.0, 10.0, 10.0, 2.0, 1000.0]})
    _, report = clean(frame, dedupe=["id"], clip={"x": [0, 20]}, impute={"x": "mean"})
    assert report.cleaner.fill_values_["x"] == pytest.approx((10 + 2 + 20) / 3)


def test_unfitted_transform_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not fitted"):
        Cleaner(impute={"a": "mean"}).transform(pl.DataFrame({"a": [1]}))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"impute": {"agee": "mean"}}, NotFound, "Did you mean 'age'"),
        ({"impute": {"age": "meen"}}, InvalidInput, "Did you mean 'mean'"),
        ({"impute": {"city": "mean"}}, InvalidInput, "Use mode or a constant"),
        ({"impute": {"age": {"const": 1}}}, InvalidInput, "constant"),
        ({"impute": {"age": {"constant": "old"}}}, InvalidInput, "cannot fill 'age'"),
        ({"impute": {"empty": "median"}}, InvalidInput, "no values to learn"),
        ({"clip": {"city": [0, 1]}}, InvalidInput, "numeric columns only"),
        ({"clip": {"age": {"quantiles": [0.9, 0.1]}}}, InvalidInput, "0 <= low <= high <= 1"),
        ({"clip": {"age": [5, 1]}}, InvalidInput, "reversed"),
        ({"clip": {"age": 3}}, InvalidInput, "clip spec"),
        ({"dedupe": {"keep": "newest"}}, InvalidInput, "dedupe keep"),
        ({"dedupe": {"subset": ["id"], "by": "t"}}, InvalidInput, "unknown keys"),
        ({"dedupe": 3}, InvalidInput, "dedupe is 3"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict, error: type, match: str) -> None:
    frame = pl.DataFrame(
        {"age": [1, None], "city": ["a", None], "empty": [None, None], "id": [1, 2]},
        schema={"age": pl.Int64, "city": pl.String, "empty": pl.Float64, "id": pl.Int64},
    )
    with pytest.raises(error, match=match):
        clean(frame, **kwargs)
