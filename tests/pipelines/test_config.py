from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.errors import InvalidInput, NotFound
from mlcore.pipelines import InputFile, Parameter, pipeline, read_config, step
from mlcore.pipelines.config import REQUIRED, coerce, parameters_of, resolve_params


def flow(
    path: str = "data.parquet",
    test_size: float = 0.2,
    seed: int = 0,
    shuffle: bool = True,
    columns: list[str] | None = None,
    data: InputFile | None = None,
    out: Path = Path("out"),
    label="y",
    stamp=None,
): ...


DECLARED = parameters_of(flow)


def test_parameters_of_reads_defaults_and_evaluates_annotations():
    assert DECLARED["test_size"] == Parameter("test_size", 0.2, float)
    assert DECLARED["columns"].annotation == list[str] | None
    assert DECLARED["label"] == Parameter("label", "y", None)

    def needs(x: int): ...

    assert parameters_of(needs)["x"].required
    assert parameters_of(needs)["x"].default is REQUIRED


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("test_size", "0.3", 0.3),
        ("test_size", "1", 1.0),
        ("seed", "42", 42),
        ("shuffle", "false", False),
        ("shuffle", "YES", True),
        ("columns", '["a", "b"]', ["a", "b"]),
        ("columns", "none", None),
        ("out", "runs/x", Path("runs/x")),
        ("data", "d.csv", InputFile("d.csv")),
        ("label", "target", "target"),  # typed by the default
        ("stamp", "anything", "anything"),  # no annotation, no default: kept as text
    ],
)
def test_text_is_converted_to_the_parameter_type(name, text, value):
    result = coerce(DECLARED[name], text)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    ("name", "given"),
    [
        ("seed", "1.5"),
        ("seed", "ten"),
        ("test_size", "big"),
        ("shuffle", "maybe"),
        ("columns", "[1, 2"),
        ("columns", '{"a": 1}'),
        ("seed", True),  # bool is an int subclass, but not a seed
        ("seed", 1.5),
        ("path", 3),
    ],
)
def test_wrong_types_are_invalid_input_naming_the_parameter(name, given):
    with pytest.raises(InvalidInput, match=f"pipeline 'flow' parameter '{name}' expects") as info:
        coerce(DECLARED[name], given, pipeline="flow")
    assert info.value.field == name


def test_typed_values_pass_and_ints_widen_to_floats():
    assert coerce(DECLARED["test_size"], 1) == 1.0
    assert type(coerce(DECLARED["test_size"], 1)) is float
    assert coerce(DECLARED["columns"], ["x"]) == ["x"]
    assert coerce(DECLARED["out"], Path("p")) == Path("p")


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_integer_text_round_trips(n):
    assert coerce(Parameter("n", 0, int), str(n)) == n


@given(st.floats(allow_nan=False))
def test_float_text_round_trips(x):
    assert coerce(Parameter("x", 0.0, float), repr(x)) == x


def test_precedence_default_then_config_then_overrides(tmp_path):
    config = tmp_path / "params.toml"
    config.write_text('test_size = 0.4\nseed = 7\ncolumns = ["a"]\n')
    values = resolve_params(DECLARED, config=read_config(config), overrides={"seed": "9"})
    assert values["test_size"] == 0.4
    assert values["seed"] == 9
    assert values["columns"] == ["a"]
    assert values["path"] == "data.parquet"


def test_config_values_are_type_checked(tmp_path):
    config = tmp_path / "params.toml"
    config.write_text('seed = "seven"\n')
    with pytest.raises(InvalidInput, match="parameter 'seed' expects int, got 'seven'"):
        resolve_params(DECLARED, config=read_config(config), pipeline="flow")


def test_unknown_parameter_is_a_usage_error_suggesting_the_closest():
    with pytest.raises(InvalidInput) as info:
        resolve_params(DECLARED, overrides={"sede": "1"}, pipeline="flow")
    assert str(info.value) == (
        "pipeline 'flow' has no parameter 'sede'. Did you mean 'seed'? "
        "Its parameters are: path, test_size, seed, shuffle, columns, data, out, label, stamp."
    )
    assert (info.value.field, info.value.exit_code) == ("sede", 2)
    with pytest.raises(InvalidInput, match=r"'zzz'\. Its parameters are: path, test_size"):
        resolve_params(DECLARED, overrides={"zzz": "1"}, pipeline="flow")


def test_a_required_parameter_without_value_is_named():
    def needs(path: str, n: int = 1): ...

    with pytest.raises(InvalidInput, match="parameter 'path' has no default and no value"):
        resolve_params(parameters_of(needs), pipeline="needs")


def test_read_config_errors_name_the_file(tmp_path):
    with pytest.raises(NotFound, match=r"config file .*missing.toml' not found"):
        read_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 1\n")
    with pytest.raises(InvalidInput, match=r"bad.toml is not valid TOML: .*line 1"):
        read_config(bad)


def test_pipeline_run_takes_param_text_and_config(tmp_path):
    @step
    def scale(x: float, factor: int) -> float:
        return x * factor

    @pipeline
    def scaled(x: float = 1.0, factor: int = 2):
        scale(x, factor)

    config = tmp_path / "c.toml"
    config.write_text("factor = 3\n")
    assert scaled.run().output("scale") == 2.0
    assert scaled.run(config=config).output("scale") == 3.0
    assert scaled.run({"x": "2.5"}, config=config).output("scale") == 7.5
    with pytest.raises(InvalidInput, match="pipeline 'scaled' parameter 'factor' expects int"):
        scaled.run({"factor": "2.5"})
