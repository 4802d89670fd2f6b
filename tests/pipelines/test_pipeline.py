from __future__ import annotations

import textwrap

import pytest

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines import OutputRef, ParamRef, Pipeline, load_pipeline, pipeline, step


@step
def load(path: str) -> list:
    return [1, 2, 3, 4]


@step(outputs="rows")
def read(path: str) -> list:
    return [1, 2, 3, 4]


@step(outputs=("train", "test"))
def split(rows: list, test_size: float = 0.5):
    cut = int(len(rows) * (1 - test_size))
    return rows[:cut], rows[cut:]


@step
def fit(train: list) -> float:
    return sum(train) / len(train)


@step
def evaluate(fit: float, test: list) -> dict:
    return {"error": sum(abs(v - fit) for v in test)}


def test_the_dag_follows_from_which_outputs_feed_which_inputs():
    @pipeline
    def flow(path: str = "data.parquet", test_size: float = 0.5):
        train, test = split(load(path), test_size=test_size)
        evaluate(fit(train), test)

    assert list(flow.nodes) == ["load", "split", "fit", "evaluate"]
    assert flow.nodes["load"].upstream == ()
    assert flow.nodes["split"].inputs == {
        "rows": OutputRef("load", "load"),
        "test_size": ParamRef("test_size"),
    }
    assert flow.nodes["evaluate"].upstream == ("fit", "split")
    assert {p.name: p.default for p in flow.parameters.values()} == {
        "path": "data.parquet",
        "test_size": 0.5,
    }
    assert flow.run().output("evaluate") == {"error": 4.0}


def test_literals_and_step_defaults_are_bound_at_definition():
    @pipeline
    def flow():
        split(load("fixed.csv"))

    assert flow.nodes["load"].inputs == {"path": "fixed.csv"}
    assert flow.nodes["split"].inputs["test_size"] == 0.5
    assert flow.parameters == {}


def test_calling_a_step_twice_makes_two_nodes():
    @pipeline
    def flow():
        fit(load("a"))
        fit(load("b"))

    assert list(flow.nodes) == ["load", "fit", "load_2", "fit_2"]
    assert flow.nodes["fit_2"].upstream == ("load_2",)


def test_a_placeholder_inside_a_container_is_refused():
    @step
    def total(values: list) -> int:
        return sum(values)

    with pytest.raises(InvalidInput, match="step 'total' input 'values' nests a step output"):

        @pipeline
        def flow():
            total([fit(load("a")), 1])


def test_a_literal_that_cannot_enter_a_cache_key_is_refused():
    with pytest.raises(InvalidInput, match="step 'load' input 'path' is a object"):

        @pipeline
        def flow():
            load(object())


def test_an_error_in_the_body_names_the_pipeline():
    with pytest.raises(InvalidInput, match="pipeline 'flow' could not be defined: NameError"):

        @pipeline
        def flow():
            not_a_step(1)  # noqa: F821


# ------------------------------------------------------------------ from_steps


def test_from_steps_wires_parameters_to_outputs_of_the_same_name():
    flow = Pipeline.from_steps("flow", [evaluate, fit, split, read], params={"path": "x.csv"})
    assert list(flow.nodes) == ["read", "split", "fit", "evaluate"]
    assert flow.nodes["fit"].inputs == {"train": OutputRef("split", "train")}
    assert {p.name: p.default for p in flow.parameters.values()} == {
        "path": "x.csv",
        "test_size": 0.5,
    }
    assert flow.run({"test_size": 0.25}).output("evaluate") == {"error": 2.0}


def test_from_steps_cycle_is_an_error_naming_the_steps():
    @step
    def clean(scored: list) -> list:
        return scored

    @step
    def scored(clean: list) -> list:
        return clean

    with pytest.raises(InvalidInput, match="pipeline 'loop' has a cycle: clean -> scored -> clean"):
        Pipeline.from_steps("loop", [clean, scored])


def test_a_cycle_behind_a_placed_step_is_named():
    @step
    def origin() -> list:
        return []

    @step
    def b(origin: list, c: list) -> list:
        return c

    @step
    def c(b: list) -> list:
        return b

    with pytest.raises(InvalidInput, match="has a cycle: b -> c -> b"):
        Pipeline.from_steps("loop", [origin, b, c])


def test_from_steps_refuses_params_no_step_takes():
    with pytest.raises(
        InvalidInput, match=r"params gives 'test_sise'.* closest parameter is 'test_size'"
    ):
        Pipeline.from_steps("flow", [read, split], params={"path": "x", "test_sise": 0.1})


def test_from_steps_self_loop_is_a_cycle():
    @step
    def grow(grow: list) -> list:
        return grow

    with pytest.raises(InvalidInput, match="has a cycle: grow -> grow"):
        Pipeline.from_steps("loop", [grow])


def test_from_steps_missing_input_names_step_input_and_suggests():
    with pytest.raises(
        InvalidInput, match="pipeline 'flow': step 'evaluate' input 'test' is not produced"
    ):
        Pipeline.from_steps("flow", [fit, evaluate], params={"train": [1]})

    @step
    def fit2(trian: list) -> int:
        return 0

    with pytest.raises(
        InvalidInput, match=r"step 'fit2' input 'trian'.* The closest output name is 'train'"
    ):
        Pipeline.from_steps("flow", [split, fit2], params={"rows": [1]})


def test_from_steps_refuses_two_producers_of_one_output():
    @step(outputs="train")
    def other(rows: list) -> list:
        return rows

    with pytest.raises(InvalidInput, match="output 'train' is produced by both step 'split'"):
        Pipeline.from_steps("flow", [split, other], params={"rows": []})


def test_from_steps_refuses_conflicting_defaults():
    @step
    def a(k: int = 1) -> int:
        return k

    @step
    def b(a: int, k: int = 2) -> int:
        return a + k

    with pytest.raises(InvalidInput, match="parameter 'k' has different defaults"):
        Pipeline.from_steps("flow", [a, b])
    assert Pipeline.from_steps("flow", [a, b], params={"k": 3}).run().output("b") == 6


def test_a_reference_to_a_step_outside_the_pipeline_is_refused():
    from mlcore.pipelines import Node

    with pytest.raises(InvalidInput, match="step 'fit' input 'train' takes output 'train' of step"):
        Pipeline("flow", [Node("fit", fit, {"train": OutputRef("split", "train")})])


# ------------------------------------------------------------------ describing


def test_describe_and_to_dict_show_wiring_and_options():
    @step(retries=2, timeout=30, cache=False)
    def publish(evaluate: dict) -> bool:
        return True

    @pipeline
    def flow(path: str = "data.parquet"):
        """Train and check a mean model."""
        train, test = split(load(path))
        publish(evaluate(fit(train), test))

    text = flow.describe()
    assert text.splitlines()[:4] == [
        "pipeline flow: 5 steps",
        "  Train and check a mean model.",
        "  parameters",
        "    path: str = 'data.parquet'",
    ]
    assert "evaluate  fit=fit, test=split.test" in text
    assert text.rstrip().endswith("-> publish  [cache=never, retries=2, timeout=30s]")
    data = flow.to_dict()
    assert data["parameters"] == [{"name": "path", "default": "data.parquet", "required": False}]
    assert data["steps"][3]["upstream"] == ["fit", "split"]
    assert data["steps"][4] | {"inputs": None} == {
        "name": "publish",
        "step": "publish",
        "inputs": None,
        "outputs": ["publish"],
        "upstream": ["evaluate"],
        "cache": "never",
        "retries": 2,
        "timeout": 30.0,
        "uses_store": False,
    }


# --------------------------------------------------------------------- loading

FLOW_FILE = """
from mlcore.pipelines import pipeline, step

@step
def double(x: int) -> int:
    return 2 * x

@pipeline
def train(x: int = 2):
    double(x)

@pipeline
def other():
    double(1)
"""


def test_load_pipeline_by_file_and_name(write_module):
    path = write_module("flows_a", FLOW_FILE)
    flow = load_pipeline(f"{path}:train")
    assert flow.name == "train"
    assert flow.source == f"{path.resolve()}:train"
    assert flow.run().output("double") == 4


def test_load_pipeline_without_name_needs_exactly_one(write_module):
    one = write_module("flows_one", FLOW_FILE.split("@pipeline\ndef other")[0])
    assert load_pipeline(one).name == "train"
    two = write_module("flows_two", FLOW_FILE)
    with pytest.raises(InvalidInput, match=r"defines several pipelines \(other, train\)"):
        load_pipeline(two)
    none = write_module("flows_none", "x = 1\n")
    with pytest.raises(InvalidInput, match="defines no pipeline"):
        load_pipeline(none)


def test_load_pipeline_unknown_name_suggests(write_module):
    path = write_module("flows_b", FLOW_FILE)
    with pytest.raises(NotFound, match=r"pipeline 'trian' not found. Did you mean 'train'?"):
        load_pipeline(f"{path}:trian")


def test_load_pipeline_missing_file():
    with pytest.raises(NotFound, match=r"pipeline file 'nowhere/flows.py' not found"):
        load_pipeline("nowhere/flows.py:train")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\ndef broken(:\n    pass\n", r"does not import: line 2: invalid syntax"),
        ("import json\n\nraise RuntimeError('no data')\n", r"line 3: RuntimeError: no data"),
        ("def f():\n    return 1 / 0\n\nf()\n", r"line 2: ZeroDivisionError"),
    ],
)
def test_a_file_that_does_not_import_names_the_file_and_line(write_module, source, expected):
    path = write_module("flows_bad", source)
    with pytest.raises(InvalidInput, match=expected) as info:
        load_pipeline(path)
    assert str(path.resolve()) in str(info.value)


def test_a_definition_error_in_a_file_names_the_line(write_module):
    source = textwrap.dedent(
        """
        from mlcore.pipelines import pipeline, step

        @step
        def need(a: int, b: int) -> int:
            return a + b

        @pipeline
        def flow():
            need(1)
        """
    )
    path = write_module("flows_missing", source)
    with pytest.raises(InvalidInput, match=r"line 10: step 'need' is missing input 'b'"):
        load_pipeline(path)


def test_the_file_can_import_its_neighbours(write_module):
    write_module("neighbour_helpers", "def triple(x):\n    return 3 * x\n")
    path = write_module(
        "flows_neighbour",
        "from neighbour_helpers import triple\nfrom mlcore.pipelines import pipeline, step\n"
        "@step\ndef t(x: int) -> int:\n    return triple(x)\n"
        "@pipeline\ndef flow():\n    t(2)\n",
    )
    assert load_pipeline(path).run().output("t") == 6
