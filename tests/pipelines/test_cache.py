from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlcore.errors import CorruptArtifact, InvalidInput, NotFound
from mlcore.pipelines import DirectoryArtifactStore, InputFile, MemoryArtifactStore
from mlcore.pipelines.cache import artifact_kind, cache_key, decode, encode, key_material
from mlcore.pipelines.hashing import sha256_hex


@pytest.fixture
def frame() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "id": np.arange(500),
            "x": rng.normal(size=500),
            "city": rng.choice(["a", "b", None], size=500).tolist(),
            "at": pl.datetime_range(
                pl.datetime(2024, 1, 1),
                pl.datetime(2024, 1, 1) + pl.duration(hours=499),
                "1h",
                time_zone="UTC",
                eager=True,
            ),
        }
    )


def fitted_model(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(100, 3))
    y = (x[:, 0] > 0).astype(int)
    return make_pipeline(StandardScaler(), LogisticRegression(random_state=0)).fit(x, y)


def test_frames_round_trip_with_dtypes(frame):
    kind, data = encode(frame, step="s")
    assert kind == "frame"
    assert_frame_equal(decode(kind, data), frame)
    kind, data = encode(frame.lazy(), step="s")
    assert_frame_equal(decode(kind, data), frame)


def test_equal_frames_give_equal_bytes_whatever_their_chunks(frame):
    chunked = pl.concat([frame[:200], frame[200:]], rechunk=False)
    assert chunked.n_chunks() == 2
    assert encode(chunked, step="s") == encode(frame, step="s")
    assert encode(frame.clone(), step="s") == encode(frame, step="s")
    assert encode(frame.with_columns(pl.col("x") + 1), step="s") != encode(frame, step="s")


def test_series_arrays_and_json_round_trip():
    series = pl.Series("p", [0.1, 0.7])
    kind, data = encode(series, step="s")
    assert kind == "series"
    assert_series_equal(decode(kind, data), series)
    array = np.arange(12, dtype="float32").reshape(3, 4)
    kind, data = encode(array, step="s")
    assert kind == "array"
    restored = decode(kind, data)
    assert restored.dtype == array.dtype
    np.testing.assert_array_equal(restored, array)
    assert encode({"b": [1, (2, 3)], "a": None}, step="s") == ("json", b'{"a":null,"b":[1,[2,3]]}')
    assert decode(*encode(np.float64(0.25), step="s")) == 0.25


def test_models_round_trip_and_predict_the_same():
    model = fitted_model()
    kind, data = encode(model, step="train")
    assert kind == "model"
    restored = decode(kind, data)
    x = np.random.default_rng(1).normal(size=(20, 3))
    np.testing.assert_array_equal(restored.predict_proba(x), model.predict_proba(x))


def test_equal_models_give_equal_bytes():
    # skops names entries after id() and stamps the clock; both are normalised.
    first, second = fitted_model(), fitted_model()
    assert encode(first, step="t") == encode(second, step="t")
    assert encode(first, step="t")[1] == encode(decode(*encode(first, step="t")), step="t")[1]
    assert encode(fitted_model(seed=1), step="t") != encode(first, step="t")


@pytest.mark.parametrize(
    "value", [object(), {1, 2}, {1: "non-string key"}, np.array([object()]), pl.Series([1]).dtype]
)
def test_unsupported_outputs_name_the_step(value):
    assert artifact_kind(value) is None
    with pytest.raises(InvalidInput, match=r"step 'train' returned a .* which mlcore cannot store"):
        encode(value, step="train")


def test_pandas_frames_are_refused_with_the_supported_list():
    import pandas as pd

    with pytest.raises(InvalidInput, match="Return a Polars DataFrame or Series"):
        encode(pd.DataFrame({"a": [1]}), step="load")


@settings(max_examples=50, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
        max_leaves=15,
    )
)
def test_json_values_round_trip(value):
    kind, data = encode(value, step="s")
    assert kind == "json"
    assert decode(kind, data) == value


def test_key_material(tmp_path, frame):
    path = tmp_path / "d.csv"
    path.write_text("a\n1\n")
    assert key_material(InputFile(path)) == {"fingerprint": sha256_hex(b"a\n1\n")}
    assert key_material(InputFile(path), resolve=False) == {"fingerprint": None}
    assert key_material(tmp_path) == {"path": str(tmp_path)}
    assert key_material(frame) == {"artifact": sha256_hex(encode(frame, step="?")[1])}
    with pytest.raises(TypeError, match="object values cannot enter a cache key"):
        key_material([1, object()])


def test_cache_key_changes_with_every_ingredient():
    base = dict(code="c", params={"k": 1}, inputs={"x": "ab"}, outputs=["o"], version="1")
    key = cache_key(**base)
    assert cache_key(**base) == key
    for change in (
        {"code": "d"},
        {"params": {"k": 2}},
        {"inputs": {"x": "ac"}},
        {"outputs": ["p"]},
        {"version": "2"},
    ):
        assert cache_key(**(base | change)) != key, change


@pytest.mark.parametrize("make", [MemoryArtifactStore, DirectoryArtifactStore])
def test_artifact_stores_address_by_content(tmp_path, make):
    store = make() if make is MemoryArtifactStore else make(tmp_path / "a")
    sha = store.put(b"hello")
    assert sha == sha256_hex(b"hello")
    assert store.put(b"hello") == sha
    assert store.exists(sha) and not store.exists(sha256_hex(b"other"))
    assert store.get(sha) == b"hello"
    with pytest.raises(NotFound, match=r"artifact '.*' not found"):
        store.get(sha256_hex(b"other"))


def test_directory_store_detects_a_damaged_file(tmp_path):
    store = DirectoryArtifactStore(tmp_path)
    sha = store.put(b"model bytes")
    store.path(sha).write_bytes(b"tampered")
    with pytest.raises(CorruptArtifact, match=f"artifact {sha[:12]} .* does not match its hash"):
        store.get(sha)


def test_tree_models_load_back_and_foreign_types_are_refused():
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.tree import DecisionTreeClassifier

    x = np.random.default_rng(0).normal(size=(50, 2))
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, x[:, 0] > 0)
    restored = decode(*encode(tree, step="fit"))
    np.testing.assert_array_equal(restored.predict(x), tree.predict(x))

    custom = FunctionTransformer(_double).fit(x)
    with pytest.raises(InvalidInput, match=r"types outside scikit-learn.*test_cache._double"):
        decode(*encode(custom, step="fit"))


def _double(x):
    return 2 * x
