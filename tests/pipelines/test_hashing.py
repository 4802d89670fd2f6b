from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.errors import NotFound
from mlcore.pipelines import InputFile, code_fingerprint
from mlcore.pipelines.hashing import _is_project_module, canonical_json
from mlcore.pipelines.pipeline import import_file

BASE = """
THRESHOLD = 0.5

def deepest(x):
    return x * 2

def helper(x):
    return deepest(x) + 1

class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return x * self.k

def unrelated():
    return "not called"

def work(x):
    return helper(x) > THRESHOLD

def uses_class(x):
    return Scaler(2).apply(x)
"""


def fingerprints(write_module, source: str, name: str = "hashed") -> dict[str, str]:
    module = import_file(write_module(name, textwrap.dedent(source)))
    return {fn: code_fingerprint(getattr(module, fn)) for fn in ("work", "uses_class")}


@pytest.mark.parametrize(
    ("old", "new", "changes_work", "changes_class"),
    [
        ("return x * 2", "return x * 3", True, False),  # a helper of a helper
        ("return deepest(x) + 1", "return deepest(x) + 2", True, False),  # a direct helper
        ("THRESHOLD = 0.5", "THRESHOLD = 0.7", True, False),  # a constant it reads
        ("return x * self.k", "return x * self.k + 1", False, True),  # a method of a class
        ('return "not called"', 'return "changed"', False, False),  # code it never reaches
        ("return x * 2", "return x * 2  # doubled", False, False),  # a comment
        ("def helper(x):", "\n\ndef helper(x):", False, False),  # blank lines
    ],
)
def test_the_fingerprint_follows_the_code_a_function_reaches(
    write_module, old, new, changes_work, changes_class
):
    before = fingerprints(write_module, BASE)
    assert new != old and old in BASE
    after = fingerprints(write_module, BASE.replace(old, new))
    assert (before["work"] != after["work"]) is changes_work
    assert (before["uses_class"] != after["uses_class"]) is changes_class


@pytest.mark.parametrize("style", ["import helpers_mod as h", "from helpers_mod import clean"])
def test_a_helper_in_another_module_is_followed_after_reimport(write_module, tmp_path, style):
    name = f"helpers_{tmp_path.name}"
    call = "h.clean(x)" if style.startswith("import") else "clean(x)"
    write_module(name, "def clean(x):\n    return x + 1\n")
    source = f"{style.replace('helpers_mod', name)}\n\ndef step_fn(x):\n    return {call}\n"
    flow = write_module(f"flow_{tmp_path.name}", source)
    before = code_fingerprint(import_file(flow).step_fn)
    assert code_fingerprint(import_file(flow).step_fn) == before

    write_module(name, "def clean(x):\n    return x + 100\n")
    del sys.modules[name]  # a changed module is seen after it is imported again
    after = code_fingerprint(import_file(flow).step_fn)
    assert after != before


def test_closure_values_enter_the_fingerprint():
    def make(k):
        def scale(x):
            return x * k

        return scale

    assert code_fingerprint(make(2)) == code_fingerprint(make(2))
    assert code_fingerprint(make(2)) != code_fingerprint(make(3))


def test_recursion_terminates(write_module):
    source = """
    def even(n):
        return n == 0 or odd(n - 1)

    def odd(n):
        return n != 0 and even(n - 1)

    def work(n):
        return even(n)

    def uses_class(n):
        return work(n)
    """
    assert len(fingerprints(write_module, source)["work"]) == 64


def test_libraries_and_mlcore_are_not_project_code(write_module):
    import numpy  # noqa: F401

    module = import_file(write_module("project_mod", "x = 1\n"))
    assert _is_project_module(module.__name__)
    for name in ("json", "numpy", "mlcore.pipelines.step", "builtins"):
        assert not _is_project_module(name), name


def test_the_fingerprint_is_the_same_in_another_process(write_module):
    path = write_module("stable_mod", textwrap.dedent(BASE))
    here = code_fingerprint(import_file(path).work)
    script = (
        "from mlcore.pipelines.pipeline import import_file\n"
        "from mlcore.pipelines import code_fingerprint\n"
        f"print(code_fingerprint(import_file({str(path)!r}).work))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == here


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(max_size=5), json_values, max_size=6))
def test_canonical_json_ignores_key_order_and_round_trips(value):
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(reordered) == canonical_json(value)
    assert json.loads(canonical_json(value)) == value


def test_canonical_json_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError):
        canonical_json({"a": {1, 2}})
    import numpy as np

    assert canonical_json({"n": np.int64(3), "x": np.float32(0.5)}) == b'{"n":3,"x":0.5}'


def test_input_file_fingerprint_is_its_content(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n1\n")
    b.write_text("x\n1\n")
    assert InputFile(a).__mlcore_fingerprint__() == InputFile(b).__mlcore_fingerprint__()
    before = InputFile(a).__mlcore_fingerprint__()
    a.write_text("x\n2\n")
    assert InputFile(a).__mlcore_fingerprint__() != before
    with pytest.raises(NotFound, match=r"input file .*missing.csv' not found"):
        InputFile(tmp_path / "missing.csv").__mlcore_fingerprint__()
