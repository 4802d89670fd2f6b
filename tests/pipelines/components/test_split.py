from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines.components import split

sizes = st.tuples(st.floats(0.05, 0.5), st.sampled_from([0.0, 0.1, 0.25]))


def ids(part: pl.DataFrame) -> list[int]:
    return part["row"].to_list()


def assert_partition(parts: tuple[pl.DataFrame, ...], n: int) -> None:
    """Disjoint, complete, each part in the input's order."""
    seen = [r for p in parts for r in ids(p)]
    assert sorted(seen) == list(range(n))
    for p in parts:
        assert ids(p) == sorted(ids(p))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(4, 300), size=sizes, seed=st.integers(0, 2**32 - 1))
def test_random_split_partitions_rows_with_exact_sizes(n, size, seed) -> None:
    test_size, valid_size = size
    assume(math.ceil(n * test_size) + math.ceil(n * valid_size) < n)
    frame = pl.DataFrame({"row": range(n)})
    parts = split(frame, test_size=test_size, valid_size=valid_size, seed=seed)
    assert_partition(parts, n)
    assert parts[-1].height == math.ceil(n * test_size)
    if valid_size:
        assert parts[1].height == math.ceil(n * valid_size)
    again = split(frame, test_size=test_size, valid_size=valid_size, seed=seed)
    assert all(a.equals(b) for a, b in zip(parts, again, strict=True))


def test_different_seeds_give_different_splits() -> None:
    frame = pl.DataFrame({"row": range(100)})
    assert ids(split(frame, seed=1)[1]) != ids(split(frame, seed=2)[1])


@settings(max_examples=50, deadline=None)
@given(
    labels=st.lists(st.sampled_from(["a", "b", "c"]), min_size=10, max_size=200),
    size=sizes,
    seed=st.integers(0, 1000),
)
def test_stratified_split_keeps_class_shares(labels, size, seed) -> None:
    test_size, valid_size = size
    n = len(labels)
    assume(math.ceil(n * test_size) + math.ceil(n * valid_size) < n)
    frame = pl.DataFrame({"row": range(n), "y": labels})
    parts = split(frame, test_size=test_size, valid_size=valid_size, stratify="y", seed=seed)
    assert_partition(parts, n)
    totals = Counter(labels)
    test = Counter(parts[-1]["y"].to_list())
    assert parts[-1].height == math.ceil(n * test_size)
    for label, count in totals.items():
        # Largest remainder: each class gets the floor or the ceiling of its share.
        assert abs(test[label] - count * parts[-1].height / n) < 1


@settings(max_examples=50, deadline=None)
@given(
    times=st.lists(st.integers(0, 30), min_size=3, max_size=150),
    size=sizes,
)
def test_time_split_puts_no_later_row_in_an_earlier_part(times, size) -> None:
    test_size, valid_size = size
    frame = pl.DataFrame({"row": range(len(times)), "t": times})
    try:
        parts = split(frame, "time", time_column="t", test_size=test_size, valid_size=valid_size)
    except InvalidInput as error:  # too few distinct times for every part to have rows
        assert "empty" in str(error)
        return
    assert_partition(parts, len(times))
    for earlier, later in itertools.pairwise(parts):
        assert earlier["t"].max() < later["t"].min()
    # The test part starts at the time of the last test_size share of rows.
    ordered = sorted(times)
    assert parts[-1]["t"].min() == ordered[len(times) - math.ceil(len(times) * test_size)]


def test_time_split_at_a_given_cutoff() -> None:
    days = [datetime(2024, 1, d, tzinfo=UTC) for d in range(1, 11)]
    frame = pl.DataFrame({"row": range(10), "ts": days[::-1]})
    train, test = split(frame, "time", time_column="ts", cutoff="2024-01-08T00:00:00+00:00")
    assert train["ts"].max() < test["ts"].min()
    assert sorted(test["ts"].dt.day().to_list()) == [8, 9, 10]
    assert ids(train) == list(range(3, 10))  # input order kept
    train, valid, test = split(
        frame,
        "time",
        time_column="ts",
        cutoff=[datetime(2024, 1, 5, tzinfo=UTC), "2024-01-09T00:00Z"],
    )
    assert (train.height, valid.height, test.height) == (4, 4, 2)
    with pytest.raises(InvalidInput, match="has no time zone"):
        split(frame, "time", time_column="ts", cutoff="2024-01-08")


@settings(max_examples=50, deadline=None)
@given(
    groups=st.lists(st.integers(0, 12), min_size=3, max_size=150),
    size=sizes,
    seed=st.integers(0, 1000),
)
def test_group_split_never_shares_a_group(groups, size, seed) -> None:
    test_size, valid_size = size
    frame = pl.DataFrame({"row": range(len(groups)), "g": groups})
    try:
        parts = split(
            frame, "group", group_column="g", test_size=test_size, valid_size=valid_size, seed=seed
        )
    except InvalidInput as error:
        assert "empty" in str(error)
        assume(False)
    assert_partition(parts, len(groups))
    sets = [set(p["g"].to_list()) for p in parts]
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            assert not a & b
    # The test part stops growing once it reaches its share: dropping its last group
    # would leave it short.
    assert parts[-1].height >= math.ceil(len(groups) * test_size)
    again = split(
        frame, "group", group_column="g", test_size=test_size, valid_size=valid_size, seed=seed
    )
    assert all(a.equals(b) for a, b in zip(parts, again, strict=True))


def test_group_split_does_not_depend_on_row_order() -> None:
    frame = pl.DataFrame({"row": range(60), "g": [i % 12 for i in range(60)], "h": ["x", "y"] * 30})
    _, test = split(frame, "group", group_column=["g", "h"], seed=3)
    _, shuffled_test = split(
        frame.sample(fraction=1.0, shuffle=True, seed=9), "group", group_column=["g", "h"], seed=3
    )
    assert set(test["row"]) == set(shuffled_test["row"])


def test_null_groups_form_one_group() -> None:
    frame = pl.DataFrame({"row": range(8), "g": [None, None, 1, 1, 2, 2, 3, 3]})
    parts = split(frame, "group", group_column="g", test_size=0.25, seed=0)
    homes = [p["g"].null_count() for p in parts]
    assert sorted(homes) == [0, 2]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "randon"}, InvalidInput, "Did you mean 'random'"),
        ({"test_size": 1.2}, InvalidInput, "shares"),
        ({"test_size": 0.5, "valid_size": 0.5}, InvalidInput, "shares"),
        ({"stratify": "yy"}, NotFound, "Did you mean 'y'"),
        ({"method": "time"}, InvalidInput, "needs time_column"),
        ({"method": "group"}, InvalidInput, "needs group_column"),
        (
            {"method": "time", "time_column": "t", "stratify": "y"},
            InvalidInput,
            "stratify does not apply",
        ),
        ({"group_column": "y"}, InvalidInput, "group_column does not apply"),
        (
            {"method": "time", "time_column": "t", "cutoff": 3, "test_size": 0.2},
            InvalidInput,
            "either a cutoff",
        ),
        ({"method": "time", "time_column": "t", "cutoff": [5, 2]}, InvalidInput, "in order"),
        ({"method": "time", "time_column": "t", "cutoff": 0}, InvalidInput, "train empty"),
        ({"method": "group", "group_column": "y", "valid_size": 0.2}, InvalidInput, "empty"),
    ],
)
def test_bad_splits_are_refused(kwargs: dict, error: type, match: str) -> None:
    frame = pl.DataFrame({"t": range(10), "y": [0, 1] * 5})
    with pytest.raises(error, match=match):
        split(frame, **kwargs)


def test_time_column_with_nulls_is_refused() -> None:
    with pytest.raises(InvalidInput, match="1 nulls"):
        split(pl.DataFrame({"t": [1, None, 3]}), "time", time_column="t")


def test_empty_frame_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no rows"):
        split(pl.DataFrame({"t": []}))
