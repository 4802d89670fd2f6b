"""split: train/test (or train/valid/test) frames with no leakage between them.

Three methods:

- ``random``: a seeded shuffle; with ``stratify`` each class (of one or more
  columns) is split in the same proportions, sizes allotted by largest remainder.
- ``time``: everything before a cutoff trains, everything from it on tests, so no
  row in train is later than a row in a later split. The cutoff is given, or it
  is the time at which the last ``test_size`` share of rows (in time order) starts;
  rows sharing that time all go to the later split.
- ``group``: whole groups go to one split (shuffled by seed, filled in row counts
  until each split reaches its share), so no group appears in two splits.

Every part keeps the input's row order. Sizes are shares of rows; with
``valid_size`` a validation frame comes back between train and test.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"x": range(10), "y": [0, 1] * 5})
>>> train, test = split(frame, test_size=0.2, seed=1)
>>> train.height, test.height
(8, 2)
>>> train, valid, test = split(frame, test_size=0.2, valid_size=0.2, stratify="y", seed=1)
>>> sorted(valid["y"]), sorted(test["y"])
([0, 1], [0, 1])
>>> train, test = split(frame, method="time", time_column="x", test_size=0.3)
>>> train["x"].max(), test["x"].min()
(6, 7)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInput
from mlcore.pipelines.components._frames import (
    as_comparable,
    as_list,
    as_polars,
    choose,
    require_columns,
)

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

__all__ = ["METHODS", "split"]

METHODS = ("random", "time", "group")
TRAIN, VALID, TEST = 0, 1, 2
_DEFAULT_TEST_SIZE = 0.2


def split(
    frame: Any,
    method: str = "random",
    *,
    test_size: float | None = None,
    valid_size: float = 0.0,
    seed: int = 0,
    stratify: str | list[str] | None = None,
    time_column: str | None = None,
    cutoff: Any = None,
    group_column: str | list[str] | None = None,
) -> tuple[pl.DataFrame, ...]:
    """Split ``frame`` into ``(train, test)``, or ``(train, valid, test)``.

    Parameters
    ----------
    frame
        A Polars, pandas or Arrow frame, or a Parquet/CSV path.
    method
        ``"random"``, ``"time"`` or ``"group"``.
    test_size, valid_size
        Shares of rows for test (default 0.2) and validation (default 0: no
        validation frame). Not used with ``cutoff``.
    seed
        Seeds the shuffle of ``random`` and ``group``; the same seed gives the
        same split.
    stratify
        ``random`` only: column(s) whose classes keep their proportions.
    time_column
        ``time`` only (required): any orderable column without nulls.
    cutoff
        ``time`` only: the first time of the test split, or ``[valid_start,
        test_start]`` for three splits; ISO-8601 strings are accepted.
    group_column
        ``group`` only (required): column(s) naming the groups.
    """
    import numpy as np
    import polars as pl

    data = as_polars(frame)
    method = choose(method, METHODS, what="split method")
    _refuse_foreign(
        method, stratify=stratify, time_column=time_column, cutoff=cutoff, group_column=group_column
    )
    if method == "time":
        labels = _by_time(data, time_column, cutoff, test_size, valid_size)
        three = valid_size > 0 or isinstance(cutoff, list | tuple)
    else:
        test_share = _DEFAULT_TEST_SIZE if test_size is None else test_size
        n_test, n_valid = _counts(data.height, test_share, valid_size)
        rng = np.random.default_rng(seed)
        if method == "random":
            labels = _at_random(data, n_test, n_valid, as_list(stratify), rng)
        else:
            labels = _by_group(data, as_list(group_column), n_test, n_valid, rng)
        three = valid_size > 0
    parts = (TRAIN, VALID, TEST) if three else (TRAIN, TEST)
    frames = tuple(data.filter(pl.Series(labels == part)) for part in parts)
    for name, part in zip(
        ("train", "valid", "test") if three else ("train", "test"), frames, strict=True
    ):
        if part.height == 0:
            raise InvalidInput(
                f"the {method} split leaves {name} empty ({data.height} rows in)",
                hint="Give more rows, more groups or times, or other sizes",
            )
    return frames


def _refuse_foreign(method: str, **options: Any) -> None:
    """Options of another method are mistakes, not things to ignore silently."""
    belongs = {
        "stratify": "random",
        "time_column": "time",
        "cutoff": "time",
        "group_column": "group",
    }
    for option, value in options.items():
        if value is not None and belongs[option] != method:
            raise InvalidInput(
                f"{option} does not apply to a {method} split",
                hint=f"It belongs to method='{belongs[option]}'",
            )
    required = {"time": "time_column", "group": "group_column"}.get(method)
    if required and options[required] is None:
        raise InvalidInput(f"a {method} split needs {required}", hint=f"Pass {required}=...")


def _counts(n_rows: int, test_size: float, valid_size: float) -> tuple[int, int]:
    if not 0.0 < test_size < 1.0 or not 0.0 <= valid_size < 1.0 or test_size + valid_size >= 1.0:
        raise InvalidInput(
            f"split sizes test={test_size}, valid={valid_size} are not shares that leave rows to train",
            hint="Give 0 < test_size, 0 <= valid_size and test_size + valid_size < 1",
        )
    return math.ceil(n_rows * test_size), math.ceil(n_rows * valid_size)


def _at_random(
    data: pl.DataFrame, n_test: int, n_valid: int, stratify: list[str], rng: np.random.Generator
) -> np.ndarray:
    import numpy as np

    labels = np.full(data.height, TRAIN, dtype=np.int8)
    if not stratify:
        order = rng.permutation(data.height)
        labels[order[:n_test]] = TEST
        labels[order[n_test : n_test + n_valid]] = VALID
        return labels
    require_columns(data, stratify)
    classes = (
        data.select(stratify)
        .with_row_index("row")
        .group_by(stratify, maintain_order=True)
        .agg("row")["row"]
        .to_list()
    )
    sizes = np.array([len(rows) for rows in classes])
    tests = _largest_remainder(sizes * n_test / data.height, n_test)
    valids = np.minimum(_largest_remainder(sizes * n_valid / data.height, n_valid), sizes - tests)
    for rows, n_t, n_v in zip(classes, tests, valids, strict=True):
        order = rng.permutation(np.asarray(rows))
        labels[order[:n_t]] = TEST
        labels[order[n_t : n_t + n_v]] = VALID
    return labels


def _largest_remainder(quotas: np.ndarray, total: int) -> np.ndarray:
    """Integers summing to ``total``, each the floor or ceiling of its quota."""
    import numpy as np

    counts = np.floor(quotas).astype(np.int64)
    short = total - int(counts.sum())
    # Stable sort: on equal remainders the class met first in the frame wins.
    counts[np.argsort(-(quotas - counts), kind="stable")[:short]] += 1
    return counts


def _by_time(
    data: pl.DataFrame,
    time_column: str | None,
    cutoff: Any,
    test_size: float | None,
    valid_size: float,
) -> np.ndarray:
    import polars as pl

    assert time_column is not None
    require_columns(data, [time_column])
    times = data[time_column]
    if times.null_count():
        raise InvalidInput(
            f"time column '{time_column}' has {times.null_count()} nulls: they belong to no split",
            hint="Drop or impute them first",
        )
    if cutoff is not None:
        if test_size is not None or valid_size:
            raise InvalidInput(
                "a time split takes either a cutoff or sizes, not both", hint="Drop one"
            )
        given = list(cutoff) if isinstance(cutoff, list | tuple) else [cutoff]
        cuts = [as_comparable(c, times.dtype, column=time_column) for c in given]
        if len(cuts) not in (1, 2) or (len(cuts) == 2 and cuts[0] > cuts[1]):
            raise InvalidInput(
                f"cutoff {cutoff!r} is not one time or two in order",
                hint="Give test_start, or [valid_start, test_start]",
            )
    else:
        n_test, n_valid = _counts(
            data.height, _DEFAULT_TEST_SIZE if test_size is None else test_size, valid_size
        )
        ordered = times.sort()
        cuts = [ordered[data.height - n_test]]
        if n_valid:
            cuts.insert(0, ordered[data.height - n_test - n_valid])
    valid_start, test_start = (cuts[0], cuts[-1])
    col = pl.col(time_column)
    label = (
        pl.when(col >= test_start).then(TEST).when(col >= valid_start).then(VALID).otherwise(TRAIN)
    )
    return data.select(label.cast(pl.Int8)).to_series().to_numpy()


def _by_group(
    data: pl.DataFrame, groups: list[str], n_test: int, n_valid: int, rng: np.random.Generator
) -> np.ndarray:
    import numpy as np
    import polars as pl

    require_columns(data, groups)
    # Sorting the groups first makes the seeded shuffle independent of row order.
    sizes = data.group_by(groups).len().sort(groups, nulls_last=True)
    counts = sizes["len"].to_numpy()
    assignment = np.full(len(counts), TRAIN, dtype=np.int8)
    filled = {TEST: 0, VALID: 0}
    for g in rng.permutation(len(counts)):
        for part, target in ((TEST, n_test), (VALID, n_valid)):
            if filled[part] < target:
                assignment[g] = part
                filled[part] += int(counts[g])
                break
        else:
            break
    keyed = sizes.select(groups).with_columns(pl.Series("__mlcore_part__", assignment))
    joined = data.select(groups).join(
        keyed, on=groups, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined["__mlcore_part__"].to_numpy()
