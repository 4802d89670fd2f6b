"""Steps and pipelines the tests run in worker processes.

A worker imports a step by its module and file, so these sit at module level in
a file the tests load with ``load_pipeline``. Heavy imports stay inside the
steps that need them, to keep worker start-up short.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlcore.pipelines import pipeline, step, steps


def spin(seconds: float) -> int:
    """Keep one core busy for ``seconds``; returns the number of iterations."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def meet(folder: str, me: str, other: str, patience: float = 120.0) -> bool:
    """Wait until ``other`` has arrived too: proof that both run at once, however
    slowly a loaded machine starts the second worker. False when it never came."""
    if not folder:
        return True
    Path(folder, me).touch()
    deadline = time.monotonic() + patience
    while not Path(folder, other).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@step
def left(seconds: float, rendezvous: str = "") -> int:
    met = meet(rendezvous, "left", "right")
    return min(spin(seconds), 1) if met else -100


@step
def right(seconds: float, rendezvous: str = "") -> int:
    met = meet(rendezvous, "right", "left")
    return min(spin(seconds), 1) + 1 if met else -100


@step
def combine(a: int, b: int) -> int:
    return a + b


@pipeline
def parallel(seconds: float = 0.4, rendezvous: str = ""):
    combine(left(seconds, rendezvous), right(seconds, rendezvous))


@step(timeout=0.3, retries=1, retry_backoff=0)
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pipeline
def timing_out(seconds: float = 60.0):
    sleepy(seconds)


@step(retries=3, retry_backoff=0.01)
def flaky(counter: str, failures: int) -> int:
    """Fail the first ``failures`` calls; calls are counted in a file, so across processes."""
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= failures:
        raise ConnectionError(f"call {calls} failed")
    return calls


@pipeline
def retrying(counter: str = "calls.txt", failures: int = 2):
    flaky(counter, failures)


@step
def crash(code: int) -> int:
    os._exit(code)


@pipeline
def crashing(code: int = 3):
    crash(code)


@step(outputs=("features", "target"))
def make_data(rows: int, seed: int):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = (x[:, 0] + rng.normal(scale=0.5, size=rows) > 0).astype("int64")
    return pl.DataFrame(x, schema=["a", "b", "c"]), y


@step
def fit(features, target, seed: int):
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=seed)
    return model.fit(features.to_numpy(), target)


@step
def score(model, features, target) -> dict:
    return {"accuracy": float((model.predict(features.to_numpy()) == target).mean())}


@pipeline
def training(rows: int = 200, seed: int = 7):
    features, target = make_data(rows, seed)
    score(fit(features, target, seed), features, target)


@pipeline
def timed_twice(seconds: float = 0.01):
    sleepy(sleepy(seconds))


@step
def echo(value):
    return value


@pipeline
def echoing(value=None):
    echo(value)


@step
def source_rows(n: int) -> list:
    return list(range(n))


@step
def fragile(values: list, flag: str) -> list:
    """Fails while the file ``flag`` says "fail"."""
    if Path(flag).read_text() == "fail":
        raise RuntimeError("the model server is down")
    return values


@step
def count_rows(values: list) -> int:
    return len(values)


@step
def sum_rows(values: list) -> int:
    return sum(values)


@pipeline
def breakable(flag: str = "flag.txt", n: int = 3):
    values = source_rows(n)
    count_rows(fragile(values, flag))
    sum_rows(values)


@step(uses_store=True)
def where_am_i(n: int) -> dict:
    from mlcore.pipelines import current_run

    run = current_run()
    return {"pid": os.getpid(), "run": run.run_id, "step": run.step, "n": n}


@step
def pid_of_worker(n: int) -> int:
    return os.getpid()


@pipeline
def bound(n: int = 1):
    where_am_i(n)
    pid_of_worker(n)


@step(outputs=("train", "test"))
def frames(rows: int, seed: int):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    y = (x[:, 0] + rng.normal(scale=0.5, size=rows) > 0).astype("int64")
    data = pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y})
    return data.head(rows * 3 // 4), data.tail(rows - rows * 3 // 4)


@step
def accuracy(model, test) -> dict:
    return {"accuracy": float((model.predict(test) == test["y"].to_numpy()).mean())}


@pipeline
def registering(rows: int = 120, seed: int = 3):
    train, test = frames(rows, seed)
    model = steps.train(train, "y", "sklearn.linear_model.LogisticRegression")
    steps.register(model, "churn", training_data=train, metrics=accuracy(model, test))


@pipeline
def evaluated(rows: int = 120, seed: int = 3, policy: str = "general"):
    train, test = frames(rows, seed)
    model = steps.train(train, "y", "sklearn.linear_model.LogisticRegression")
    version = steps.register(model, "churn", training_data=train)
    steps.evaluate(version, test, "y", policy=policy, n_resamples=20)


@step
def column_sum(frame) -> float:
    return float(frame["a"].sum())


@pipeline
def summed(rows: int = 40, seed: int = 1):
    train, _ = frames(rows, seed)
    column_sum(train)
