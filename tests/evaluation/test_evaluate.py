"""evaluate(): one frame in, every table out, equal to the numeric core called directly;
bad input gives clear errors or documented outcomes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from mlcore.errors import InvalidInput, NotFound
from mlcore.evaluation.comparison import compare_models
from mlcore.evaluation.evaluate import evaluate, infer_task
from mlcore.evaluation.fairness import fairness_metrics
from mlcore.evaluation.slices import slice_metrics

from .conftest import binary_data


@pytest.fixture
def frame() -> pl.DataFrame:
    y, p = binary_data(1500, seed=4)
    rng = np.random.default_rng(4)
    return pl.DataFrame(
        {
            "y": y,
            "p": p,
            "p_old": np.round(np.clip(p + rng.normal(0, 0.2, len(p)), 0, 1), 2),
            "region": rng.choice(["n", "s", "e"], len(y)),
            "sex": rng.choice(["F", "M"], len(y)),
        }
    )


def test_every_table_equals_the_numeric_core_called_directly(frame) -> None:
    result = evaluate(
        frame,
        label="y",
        score="p",
        slices=["region", "sex"],
        sensitive=["sex"],
        champion="p_old",
        n_resamples=30,
        seed=3,
    )
    assert result.task == "binary" and result.n_rows == 1500
    assert result.metrics["roc_auc"].value == pytest.approx(
        skm.roc_auc_score(frame["y"], frame["p"]), abs=1e-12
    )
    direct = slice_metrics("y", "p", ["region", "sex"], data=frame)
    assert result.slices.to_dict() == direct.to_dict()
    fair = fairness_metrics("y", "p", ["sex"], data=frame, seed=3)
    assert result.fairness.to_dict() == fair.to_dict()
    compared = compare_models("y", "p", "p_old", data=frame, n_resamples=30, seed=3)
    assert result.comparison.to_dict() == compared.to_dict()
    # The overall interval uses the same resamples as the comparison's challenger.
    assert result.metrics["roc_auc"].low == compared["roc_auc"].challenger.low


def test_slice_intervals_are_opt_in(frame) -> None:
    plain = evaluate(frame, label="y", score="p", slices=["region"], n_resamples=20)
    assert all(e.low is None for s in plain.slices.slices for e in s.metrics.values())
    with_ci = evaluate(
        frame, label="y", score="p", slices=["region"], n_resamples=20, slice_intervals=True
    )
    assert all(s.metrics["roc_auc"].low is not None for s in with_ci.slices.slices)


def test_task_is_inferred_from_labels_and_scores() -> None:
    assert infer_task(pl.Series([True, False]), "p") == "binary"
    assert infer_task(pl.Series([0.0, 1.0, 1.0]), "p") == "binary"
    assert infer_task(pl.Series([0.5, 2.0]), "p") == "regression"
    assert infer_task(pl.Series([0, 1, 2]), ["p0", "p1", "p2"]) == "multiclass"
    assert infer_task(pl.Series(["yes", "no"]), "p", pos_label="yes") == "binary"
    with pytest.raises(InvalidInput, match="cannot tell the task"):
        infer_task(pl.Series(["yes", "no"]), "p")


def test_multiclass_scores_from_several_columns() -> None:
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([1, 1, 1], 300)
    y = rng.integers(0, 3, 300)
    frame = pl.DataFrame({"y": y, "a": proba[:, 0], "b": proba[:, 1], "c": proba[:, 2]})
    result = evaluate(frame, label="y", score=["a", "b", "c"], n_resamples=0)
    assert result.task == "multiclass"
    assert result.metrics["log_loss"].value == pytest.approx(skm.log_loss(y, proba), rel=1e-12)


def test_regression() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=400)
    frame = pl.DataFrame({"y": y, "pred": y + rng.normal(0, 0.5, 400)})
    result = evaluate(frame, label="y", score="pred", n_resamples=10)
    assert result.task == "regression"
    assert result.metrics["r2"].value == pytest.approx(skm.r2_score(y, frame["pred"]), rel=1e-9)


# -- bad input ---------------------------------------------------------------------------


def test_labels_and_scores_of_different_lengths(frame) -> None:
    with pytest.raises(InvalidInput, match=r"differ in length: y_true has 1500, y_score has 10"):
        evaluate(frame, label="y", score=np.full(10, 0.5), n_resamples=0)


def test_single_class_label_column_is_a_documented_outcome(frame) -> None:
    ones = frame.with_columns(y=pl.lit(1))
    result = evaluate(ones, label="y", score="p", n_resamples=10)
    assert result.metrics["roc_auc"].value is None
    assert result.metrics["roc_auc"].reason == "only one class present"
    assert "roc_auc undefined: only one class present" in result.warnings
    assert result.metrics["recall"].value is not None  # what is defined is still reported


def test_nan_scores_name_the_rows(frame) -> None:
    broken = frame.with_columns(
        p=pl.when(pl.int_range(pl.len()) == 7).then(float("nan")).otherwise("p")
    )
    with pytest.raises(InvalidInput, match="1 NaN or infinite value") as err:
        evaluate(broken, label="y", score="p", n_resamples=0)
    assert err.value.rows == [{"row": 7}]


def test_null_labels_are_an_error(frame) -> None:
    broken = frame.with_columns(y=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise("y"))
    with pytest.raises(InvalidInput, match="null value"):
        evaluate(broken, label="y", score="p", n_resamples=0)


def test_slices_with_zero_support_are_reported_not_raised(frame) -> None:
    enum = pl.Enum(["e", "n", "s", "w"])  # "w" never occurs
    result = evaluate(
        frame.with_columns(pl.col("region").cast(enum)), label="y", score="p", slices=["region"],
        n_resamples=0,
    )  # fmt: skip
    empty = result.slices.get(region="w")
    assert empty.n_rows == 0 and empty.metrics["roc_auc"].reason == "no rows"
    assert "slices with no rows: region=w" in result.warnings


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ({"sensitive": ["gender"]}, "sensitive attribute 'gender' not found"),
        ({"slices": ["regoin"]}, "slice column 'regoin' not found. Did you mean 'region'?"),
        ({"label": "label"}, "label column 'label' not found"),
        ({"score": "score"}, "score column 'score' not found"),
    ],
)
def test_unknown_columns_say_which_and_suggest(frame, option, kind) -> None:
    args = {"label": "y", "score": "p", "n_resamples": 0} | option
    with pytest.raises(NotFound, match=kind):
        evaluate(frame, **args)


def test_unknown_sensitive_attribute_suggests_the_closest(frame) -> None:
    with pytest.raises(NotFound) as err:
        evaluate(frame, label="y", score="p", sensitive=["sexe"], n_resamples=0)
    assert "Did you mean 'sex'?" in str(err.value)


def test_fairness_of_a_regression_is_refused() -> None:
    frame = pl.DataFrame({"y": [0.5, 1.5, 2.5], "pred": [1.0, 1.0, 2.0], "sex": ["F", "M", "F"]})
    with pytest.raises(InvalidInput, match="fairness is measured on binary decisions"):
        evaluate(frame, label="y", score="pred", sensitive=["sex"], n_resamples=0)
