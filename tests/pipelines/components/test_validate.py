from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.errors import CheckFailed, InvalidInput, NotFound
from mlcore.pipelines.components import (
    AllowedValues,
    InRange,
    ValidationFailed,
    load_expectations,
    validate,
)

SUITE = [
    {"kind": "column", "column": "age", "dtype": "integer"},
    {"kind": "column", "column": "score", "dtype": "Float64"},
    {"kind": "range", "column": "age", "min": 0, "max": 100},
    {"kind": "null_share", "column": "age", "max": 0.01},
    {"kind": "unique", "column": "id"},
    {"kind": "unique", "column": ["id", "city"]},
    {"kind": "allowed", "column": "city", "values": ["Oslo", "Rome", "Lima", "Pune"]},
    {"kind": "regex", "column": "email", "pattern": r"[a-z0-9]+@[a-z]+\.com"},
    {"kind": "row_count", "min": 10, "max": 100},
]


def brute_force(rows: list[dict], spec: dict) -> tuple[bool, int | None, list[int]]:
    """(passed, count, offending row indices) computed row by row in plain Python."""
    kind = spec["kind"]
    n = len(rows)
    if kind == "row_count":
        return spec.get("min", 0) <= n <= spec.get("max", n), None, []
    if kind == "unique":
        cols = [spec["column"]] if isinstance(spec["column"], str) else spec["column"]
        keys = [tuple(r[c] for c in cols) for r in rows]
        seen = Counter(keys)
        bad = [i for i, k in enumerate(keys) if seen[k] > 1]
        return not bad, len(bad), bad
    values = [r[spec["column"]] for r in rows]
    if kind == "null_share":
        bad = [i for i, v in enumerate(values) if v is None]
        return (len(bad) / n if n else 0.0) <= spec["max"], len(bad), bad
    if kind == "range":
        lo, hi = spec.get("min"), spec.get("max")
        bad = [
            i
            for i, v in enumerate(values)
            if v is not None and ((lo is not None and v < lo) or (hi is not None and v > hi))
        ]
    elif kind == "allowed":
        bad = [i for i, v in enumerate(values) if v is not None and v not in spec["values"]]
    elif kind == "regex":
        bad = [
            i
            for i, v in enumerate(values)
            if v is not None and not re.fullmatch(spec["pattern"], v)
        ]
    else:
        raise AssertionError(kind)
    return not bad, len(bad), bad


def test_every_violation_is_reported_with_brute_force_counts(people: pl.DataFrame) -> None:
    report = validate(people, SUITE)
    rows = people.to_dicts()
    assert len(report.results) == len(SUITE)
    for spec, result in zip(SUITE, report.results, strict=True):
        if spec["kind"] == "column":
            assert result.passed
            continue
        passed, count, bad = brute_force(rows, spec)
        assert result.passed == passed, spec
        assert result.count == count, spec
        assert [e["row"] for e in result.examples] == bad[:5], spec
    # Every data expectation above is violated by construction, none was skipped.
    assert {v.kind for v in report.violations} == {
        "range",
        "null_share",
        "unique",
        "allowed",
        "regex",
        "row_count",
    }


def test_examples_hold_the_offending_values(people: pl.DataFrame) -> None:
    report = validate(people, [{"kind": "range", "column": "age", "min": 0}], max_examples=3)
    (violation,) = report.violations
    assert len(violation.examples) == 3
    for example in violation.examples:
        assert example["values"]["age"] == people["age"][example["row"]]
        assert example["values"]["age"] < 0
    assert violation.observed == {"min": people["age"].min(), "max": people["age"].max()}
    assert violation.expectation.threshold() == {"min": 0, "max": None}


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-20, 20)), max_size=40),
    keys=st.data(),
    low=st.integers(-10, 5),
    width=st.integers(0, 15),
    share=st.floats(0, 1),
)
def test_counts_match_brute_force_on_any_data(values, keys, low, width, share) -> None:
    n = len(values)
    key = keys.draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))
    frame = pl.DataFrame({"v": values, "k": key}, schema={"v": pl.Int64, "k": pl.String})
    suite = [
        {"kind": "range", "column": "v", "min": low, "max": low + width},
        {"kind": "null_share", "column": "v", "max": share},
        {"kind": "unique", "column": ["v", "k"]},
        {"kind": "allowed", "column": "k", "values": ["a", "b"]},
        {"kind": "regex", "column": "k", "pattern": "[ab]"},
        {"kind": "row_count", "min": 5},
    ]
    report = validate(frame, suite)
    rows = frame.to_dicts()
    for spec, result in zip(suite, report.results, strict=True):
        passed, count, bad = brute_force(rows, spec)
        assert (result.passed, result.count) == (passed, count), spec
        assert [e["row"] for e in result.examples] == (bad[:5] if not passed else []), spec
    assert report.passed == all(brute_force(rows, s)[0] for s in suite)


def test_raise_if_failed_names_every_violation(people: pl.DataFrame) -> None:
    report = validate(people, SUITE)
    with pytest.raises(ValidationFailed) as caught:
        report.raise_if_failed()
    error = caught.value
    assert isinstance(error, CheckFailed) and error.exit_code == 1
    assert error.report is report
    message = str(error)
    for violation in report.violations:
        assert violation.label in message
        assert violation.message in message
    assert json.loads(json.dumps(error.to_dict()))["report"]["passed"] is False


def test_a_passing_suite_raises_nothing() -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "city": ["Oslo", "Rome", None]})
    report = validate(
        frame,
        [
            {"kind": "unique", "column": "id"},
            {"kind": "allowed", "column": "city", "values": ["Oslo", "Rome"]},
            {"kind": "null_share", "column": "city", "max": 0.5},
            {"kind": "column", "column": "id", "dtype": "Int64"},
        ],
    )
    assert report.passed and report.violations == []
    report.raise_if_failed()
    assert report.summary() == "all 4 expectations passed on 3 rows"


def test_schema_problems_are_violations_not_crashes() -> None:
    frame = pl.DataFrame({"income": [1.0, 2.0], "name": ["a", "b"]})
    report = validate(
        frame,
        [
            {"kind": "range", "column": "incme", "min": 0},
            {"kind": "column", "column": "name", "dtype": "numeric"},
            {"kind": "range", "column": "name", "min": 0},
            {"kind": "regex", "column": "income", "pattern": "x"},
            {"kind": "null_share", "column": "income", "max": 0.0},
        ],
    )
    assert [r.passed for r in report.results] == [False, False, False, False, True]
    assert "did you mean 'income'?" in report.results[0].message
    assert report.results[1].observed == "String"


def test_nan_counts_as_null_and_outside_a_range() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), None, 2.0]})
    report = validate(
        frame,
        [
            {"kind": "null_share", "column": "x", "max": 0.0},
            {"kind": "range", "column": "x", "max": 5},
        ],
    )
    assert [r.count for r in report.results] == [2, 1]


def test_temporal_ranges_take_iso_bounds_with_a_zone(people: pl.DataFrame) -> None:
    cutoff = "2024-06-01T00:00:00+00:00"
    report = validate(people, [{"kind": "range", "column": "joined", "max": cutoff}])
    expected = people.filter(pl.col("joined") > datetime(2024, 6, 1, tzinfo=UTC)).height
    assert report.results[0].count == expected > 0
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["results"][0]["observed"]["max"].startswith("2025-")
    with pytest.raises(InvalidInput, match="has no time zone"):
        validate(people, [{"kind": "range", "column": "joined", "max": "2024-06-01"}])


def test_empty_frames_are_validated_not_refused() -> None:
    frame = pl.DataFrame({"x": []}, schema={"x": pl.Int64})
    report = validate(
        frame, [{"kind": "row_count", "min": 1}, {"kind": "range", "column": "x", "min": 0}]
    )
    assert [r.passed for r in report.results] == [False, True]
    assert report.results[0].observed == 0


def test_expectations_load_from_toml_and_json(tmp_path, people: pl.DataFrame) -> None:
    toml = tmp_path / "checks.toml"
    toml.write_text(
        '[[expect]]\nkind = "range"\ncolumn = "age"\nmin = 0\nmax = 100\n\n'
        '[[expect]]\nkind = "allowed"\ncolumn = "city"\nvalues = ["Oslo", "Rome"]\n'
    )
    loaded = load_expectations(toml)
    assert loaded == [InRange("age", 0, 100), AllowedValues("city", ["Oslo", "Rome"])]
    as_json = tmp_path / "checks.json"
    as_json.write_text(json.dumps({"expect": [e.to_dict() for e in loaded]}))
    assert load_expectations(as_json) == loaded
    by_path = validate(people, toml)
    by_objects = validate(people, loaded)
    assert by_path.to_dict() == by_objects.to_dict()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"kind": "uniq", "column": "a"}, "Did you mean 'unique'"),
        ({"column": "a"}, "has no kind"),
        ({"kind": "range", "column": "a", "minimum": 0}, "Did you mean 'min'"),
        ({"kind": "range", "column": "a"}, "has no bound"),
        ({"kind": "null_share", "column": "a", "max": 1.5}, r"share in \[0, 1\]"),
        ({"kind": "regex", "column": "a", "pattern": "("}, "does not compile"),
        ({"kind": "allowed", "column": "a", "values": []}, "lists no values"),
        ({"kind": "unique"}, "incomplete"),
    ],
)
def test_malformed_expectations_are_refused(spec: dict, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        validate(pl.DataFrame({"a": [1]}), [spec])


def test_bad_files_are_refused(tmp_path) -> None:
    with pytest.raises(NotFound):
        load_expectations(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[expect]\n")
    with pytest.raises(InvalidInput, match="cannot parse"):
        load_expectations(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"checks": []}')
    with pytest.raises(InvalidInput, match="no list of expectations"):
        load_expectations(wrong)


def test_allowed_values_of_the_wrong_type_fail_the_check() -> None:
    report = validate(
        pl.DataFrame({"n": [1, 2]}), [{"kind": "allowed", "column": "n", "values": ["1"]}]
    )
    assert not report.passed and report.results[0].count is None
