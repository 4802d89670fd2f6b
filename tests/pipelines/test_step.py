from __future__ import annotations

import re

import pytest

from mlcore.errors import InvalidInput
from mlcore.pipelines import OutputRef, Step, pipeline, step


def test_a_step_called_outside_a_pipeline_is_its_function():
    @step
    def add(a: int, b: int = 1) -> int:
        return a + b

    assert isinstance(add, Step)
    assert add(2) == 3
    assert add(2, b=5) == 7
    assert add.__name__ == "add"
    assert add.__wrapped__(1, 1) == 2


def test_options_are_kept_and_cache_booleans_become_policies():
    @step(name="loader", cache=False, retries=2, retry_backoff=0.5, timeout=10)
    def load(path: str) -> int:
        return 1

    assert (load.name, load.cache, load.retries, load.retry_backoff, load.timeout) == (
        "loader",
        "never",
        2,
        0.5,
        10.0,
    )
    assert step(cache=True)(lambda x: x).cache == "auto"
    assert step(cache="always")(lambda x: x).cache == "always"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"cache": "sometimes"}, "cache='sometimes'"),
        ({"retries": -1}, "retries=-1"),
        ({"retries": 1.5}, "retries=1.5"),
        ({"retry_backoff": -2}, "retry_backoff=-2"),
        ({"timeout": 0}, "timeout=0"),
        ({"outputs": ("a", "a")}, "repeat a name"),
        ({"outputs": ("not a name",)}, "are not names"),
    ],
)
def test_bad_options_name_the_step(options, fragment):
    def work(x: int) -> int:
        return x

    with pytest.raises(InvalidInput, match=f"step 'work': .*{re.escape(fragment)}"):
        step(**options)(work)


def test_variadic_parameters_are_refused():
    def work(*rows: int) -> int:
        return 0

    with pytest.raises(InvalidInput, match="step 'work': its parameter 'rows' is variadic"):
        step(work)


@pytest.mark.parametrize(
    ("annotation", "count"),
    [("tuple[int, int]", 2), ("tuple[int, str, float]", 3), ("tuple[int, ...]", 1), ("int", 1)],
)
def test_tuple_return_annotations_imply_several_outputs(annotation, count):
    namespace: dict = {}
    exec(f"def work(x: int) -> {annotation}:\n    return x", namespace)
    assert len(step(namespace["work"]).outputs) == count


def test_unevaluated_annotations_still_count_outputs():
    # ``from __future__ import annotations`` leaves text naming unimported types.
    def work(x):
        return x, x

    work.__annotations__ = {"return": "tuple[pl.DataFrame, pl.DataFrame]"}
    assert step(work).outputs == ("work_0", "work_1")


def test_split_outputs_checks_the_count():
    @step(outputs=("train", "test"))
    def halves(rows: list):
        return rows

    assert halves.split_outputs(([1], [2])) == ([1], [2])
    with pytest.raises(
        InvalidInput,
        match=r"step 'halves' returned 3 values but declares 2 outputs \(train, test\)",
    ):
        halves.split_outputs([1, 2, 3])
    with pytest.raises(InvalidInput, match="step 'halves' returned one int but declares 2"):
        halves.split_outputs(5)


def test_missing_input_names_the_step_and_the_input():
    @step
    def train(features: list, target: list) -> int:
        return 0

    with pytest.raises(InvalidInput, match="step 'train' is missing input 'target'"):

        @pipeline
        def flow():
            train([1])


def test_unknown_keyword_names_the_step():
    @step
    def train(features: list) -> int:
        return 0

    with pytest.raises(InvalidInput, match="step 'train': got an unexpected keyword"):

        @pipeline
        def flow():
            train(features=[1], labels=[2])


def test_placeholders_refuse_python_logic_with_a_hint():
    @step
    def load(n: int) -> int:
        return n

    with pytest.raises(InvalidInput, match="placeholder while the pipeline is defined"):

        @pipeline
        def flow(n: int = 1):
            if load(n):
                pass

    with pytest.raises(InvalidInput, match="cannot be unpacked"):

        @pipeline
        def unpack(n: int = 1):
            _a, _b = load(n)


def test_calling_a_step_in_a_pipeline_returns_references():
    seen = {}

    @step(outputs=("x", "y"))
    def pair(n: int):
        return n, n

    @step
    def use(value: int) -> int:
        return value

    @pipeline
    def flow(n: int = 1):
        x, y = pair(n)
        seen["refs"] = (x, y, use(y))

    x, y, used = seen["refs"]
    assert (x, y, used) == (OutputRef("pair", "x"), OutputRef("pair", "y"), OutputRef("use", "use"))
