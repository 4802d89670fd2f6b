"""The demo's story, step by step: a store, features, a training set, a released model.

:func:`run` plays the whole lifecycle on the 2013 New York departures:

1. a store, with roles for a small team; the feature definitions applied and the
   data known before production (January to 1 September) ingested;
2. the training set -- every January-August flight that arrived, labelled
   "more than 15 minutes late", with features as of two hours before its
   scheduled departure -- saved as a dataset;
3. the training pipeline (validate, clean, time split, tune, register,
   evaluate) run on it;
4. the version reviewed under the demo policy: submitted, refused to its own
   author, approved by a reviewer, released through the gate;
5. September to December replayed week by week (:mod:`mlcore.demo.replay`);
6. a rollback, the history, and the audit chain verified.

Everything is seeded: the same ``seed`` and ``fast`` give the same summary.

The cast, each acting under their own role: ``eli`` (data engineer) owns the
features, ``dana`` (data scientist) builds the training set and the model,
``ola`` (risk officer) writes the policy, ``rui`` (reviewer) approves, ``mia``
(ML engineer) releases, monitors, retrains and rolls back.
"""

from __future__ import annotations

import datetime as dt
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore.errors import CheckFailed, Conflict, PermissionDenied

if TYPE_CHECKING:
    import polars as pl

    from mlcore.api import Store
    from mlcore.demo.summary import Summary

__all__ = ["CAST", "Cast", "DemoOptions", "run"]

Narrate = Callable[[str], None]

#: Who does what in the demo, and the roles each holds. dana also reviews her
#: colleagues' models, so only the registry's author rule stops her approving her own.
CAST = {
    "eli": ("data-engineer",),
    "dana": ("data-scientist", "reviewer"),
    "ola": ("risk-officer",),
    "rui": ("reviewer",),
    "mia": ("ml-engineer",),
}

#: Training flights are scheduled before this instant (1 September, New York).
TRAIN_END = dt.datetime(2013, 9, 1, 4, tzinfo=dt.UTC)
#: Production starts on the first Monday of September (UTC, where monitor weeks start)
#: and runs 17 whole weeks; the year's last two days, a partial week, are left out.
PRODUCTION_START = dt.datetime(2013, 9, 2, tzinfo=dt.UTC)
PRODUCTION_END = PRODUCTION_START + dt.timedelta(weeks=17)

POLICY = Path(__file__).with_name("policy.toml")
PIPELINE = Path(__file__).with_name("pipeline.py")


@dataclass(frozen=True)
class DemoOptions:
    """How big the run is: ``fast`` keeps a seeded tenth of the flights and tunes less."""

    fast: bool = False
    seed: int = 0

    @property
    def fraction(self) -> float:
        return 0.1 if self.fast else 1.0

    @property
    def pipeline_params(self) -> dict[str, Any]:
        return {"seed": self.seed, "n_iter": 2 if self.fast else 4, "cv": 2 if self.fast else 3}


class Cast:
    """The store as each member of the demo team (see :data:`CAST`)."""

    def __init__(self, store: Store) -> None:
        self.admin = store
        for actor, roles in CAST.items():
            for role in roles:
                store.grant(actor, role)
        self.eli, self.dana, self.ola, self.rui, self.mia = (
            store.as_actor(actor) for actor in CAST
        )


def run(
    path: str | Path | None = None,
    *,
    fast: bool = False,
    seed: int = 0,
    actor: str | None = None,
    narrate: Narrate | None = None,
    threads: int | None = 1,
) -> Summary:
    """Play the whole lifecycle on NYC flights 2013 in a new store; return what happened.

    Parameters
    ----------
    path
        Folder of the new store (must not exist, or be empty); default a fresh
        temporary folder.
    fast
        A seeded tenth of the flights and a smaller search: well under a minute.
    seed
        Seeds the subsample, the tuning and the evaluations' bootstrap.
    actor
        Who creates the store and becomes its admin (default: as for
        :func:`mlcore.open`).
    narrate
        Called with each line of the story as it happens (the CLI writes them
        to stderr).
    threads
        Cap the native thread pools (OpenMP, BLAS) of the training code; None
        leaves the libraries' default (a thread per core). One by default:
        OpenMP threads wait for each other by spinning, and when other jobs
        share the cores a gradient-boosting fit becomes many times slower
        (25 times was measured on a busy 2-core machine), while on an idle one
        a second thread saves about a third of the training time.
    """
    import tempfile

    import mlcore
    from mlcore.demo import data, replay
    from mlcore.demo.summary import Summary

    started = time.perf_counter()
    say = narrate or (lambda _line: None)
    options = DemoOptions(fast=fast, seed=seed)
    root = Path(path) if path is not None else Path(tempfile.mkdtemp(prefix="mlcore-demo-"))
    if root.exists() and any(root.iterdir()):
        raise Conflict(
            f"{root} is not empty", hint="Give a new folder: the demo builds a store of its own"
        )
    flights, weather, planes = data.read_flights(), data.read_weather(), data.read_planes()
    summary = Summary(str(root), fast=fast, seed=seed)
    with _thread_limit(threads), mlcore.open(root, create=True, actor=actor) as store:
        team = ", ".join(f"{a} ({' and '.join(r)})" for a, r in CAST.items())
        say(f"store {root} (admin: {store.actor}); team: {team}")
        cast = Cast(store)
        events = feature_events(flights, weather)
        _features(cast, events, planes, summary, say)
        rows = _training_set(cast, flights, options, summary, say)
        result = _train(cast, options, summary, say)
        version = result.output("register")["version"]
        if not review_and_release(cast, version, "first release", summary, say, first=True):
            raise CheckFailed(
                f"the gate kept flight_delays/{version} out of production",
                hint=f"See mlcore models release flight_delays {version} --check --store {root}",
            )
        replay.replay(cast, rows, events, result, options, summary, say)
        _roll_back(cast, summary, say)
        _wrap_up(store, summary, say)
    summary.seconds = round(time.perf_counter() - started, 1)
    return summary


@contextmanager
def _thread_limit(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    # threadpoolctl limits the runtimes loaded when it is called: load OpenMP first
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield


# -- 1. features ------------------------------------------------------------------------


def feature_events(flights: pl.DataFrame, weather: pl.DataFrame) -> dict[str, tuple[str, Any]]:
    """Per time-stamped view: its event column and its rows, as the sources deliver them."""
    import polars as pl

    departed = flights.filter(pl.col("departed_at").is_not_null())
    return {
        "weather": ("observed_at", weather),
        "origin_delays": (
            "departed_at",
            departed.select("origin", "departed_at", pl.col("dep_delay").alias("origin_delay")),
        ),
        "carrier_delays": (
            "departed_at",
            departed.select("carrier", "departed_at", pl.col("dep_delay").alias("carrier_delay")),
        ),
    }


def ingest_between(
    store: Store, events: dict[str, tuple[str, Any]], start: dt.datetime | None, end: dt.datetime
) -> int:
    """Ingest every event in ``[start, end)`` (from the beginning if ``start`` is None)."""
    import polars as pl

    rows = 0
    for view, (column, frame) in events.items():
        moment = pl.col(column)
        chosen = frame.filter(
            moment < end if start is None else moment.is_between(start, end, "left")
        )
        if chosen.height:
            rows += store.features.ingest(view, chosen).rows
    return rows


def _features(
    cast: Cast,
    events: dict[str, tuple[str, Any]],
    planes: pl.DataFrame,
    summary: Summary,
    say: Narrate,
) -> None:
    from mlcore.demo.definitions import VIEWS

    plan = cast.eli.features.apply(list(VIEWS))
    summary.features["views"] = [v.name for v in VIEWS]
    summary.features["definitions"] = dict(plan.versions)
    ingested = cast.eli.features.ingest("planes", planes).rows
    ingested += ingest_between(cast.eli, events, None, PRODUCTION_START)
    summary.features["rows_before_production"] = ingested
    say(
        f"1. eli applied {len(VIEWS)} feature views (weather by airport, planes, recent delays "
        f"by airport and by airline) and ingested {ingested:,} rows known before 2 September"
    )


# -- 2. the training set -------------------------------------------------------------


def _training_set(
    cast: Cast, flights: pl.DataFrame, options: DemoOptions, summary: Summary, say: Narrate
) -> pl.DataFrame:
    import polars as pl

    from mlcore.demo import traffic
    from mlcore.demo.definitions import FEATURES
    from mlcore.demo.pipeline import DATASET

    rows = traffic.subsample(traffic.entity_rows(flights), options.fraction, options.seed)
    training = rows.filter(pl.col("scheduled_departure") < TRAIN_END)
    dataset = cast.dana.features.save_dataset(
        DATASET,
        training,
        FEATURES,
        timestamp=traffic.TIMESTAMP,
        description="January-August 2013 departures, labelled 'arrived more than 15 min late', "
        "features as of two hours before scheduled departure",
    )
    summary.datasets.append(dataset_facts(dataset, training))
    say(
        f"2. dana saved the training set {dataset.id}: {dataset.rows:,} January-August flights, "
        f"{_delayed_share(training):.1%} delayed, features as of 2 h before departure"
    )
    return rows


def _delayed_share(rows: pl.DataFrame) -> float:
    from mlcore.demo.traffic import LABEL

    # Polars types a mean as any Python scalar; the label is boolean, so it is a float.
    return typing.cast(float, rows[LABEL].mean())


def dataset_facts(dataset: Any, rows: pl.DataFrame) -> dict[str, Any]:
    departures = rows["scheduled_departure"]
    # as for _delayed_share: the column is a datetime, so are its extremes
    first = typing.cast(dt.datetime, departures.min())
    last = typing.cast(dt.datetime, departures.max())
    return {
        "id": dataset.id,
        "rows": dataset.rows,
        "delayed_share": round(_delayed_share(rows), 4),
        "from": str(first.date()),
        "until": str(last.date()),
        "sha256": dataset.sha256,
    }


# -- 3. training ----------------------------------------------------------------------


def version_facts(store: Store, result: Any) -> dict[str, Any]:
    """What a training run made: the version, its search and its evaluation."""
    facts: dict[str, Any] = {"run": result.id, "status": str(result.status)}
    record = result.record.steps.get("register")
    if record is None or not record.status.done:
        return facts
    made = result.output("register")
    version = store.models.get(made["model"], made["version"])
    facts.update(
        version=version.version,
        author=version.created_by,
        best_params=version.params,
        cv_roc_auc=round(version.metrics["cv_roc_auc"], 4),
    )
    evaluations = store.evals.evaluations(made["model"], made["version"])
    if evaluations:
        latest = evaluations[-1]
        facts["evaluation"] = {
            "id": latest.id,
            "verdict": latest.verdict,
            "rows": latest.n_rows,
            "roc_auc": round(latest.metrics["roc_auc"], 4),
            "ece": round(latest.metrics["ece"], 4),
            "rules": {r.rule: r.effective for r in latest.rules},
        }
        for delta in (latest.results.get("comparison") or {}).get("deltas", []):
            if delta["metric"] == "roc_auc":
                facts["evaluation"]["champion"] = {
                    "version": latest.champion,
                    "roc_auc": round(delta["champion"]["value"], 4),
                }
    return facts


def _train(cast: Cast, options: DemoOptions, summary: Summary, say: Narrate) -> Any:
    policy = cast.ola.evals.apply_policy(POLICY)
    say(f"3. ola applied the policy {policy.ref}; dana runs the training pipeline")
    result = cast.dana.pipelines.run(f"{PIPELINE}:flight_delays", options.pipeline_params)
    facts = version_facts(cast.dana, result)
    summary.versions.append(facts)
    evaluation = facts.get("evaluation")
    if evaluation is None or evaluation["verdict"] != "pass":
        raise CheckFailed(
            f"the first delay model did not pass the flight-delays policy (run {result.id}: "
            f"{result.status})",
            hint=f"See mlcore runs show {result.id} --store {cast.admin.path}",
        )
    say(
        f"   run {result.id} made flight_delays/{facts['version']}: cross-validated ROC AUC "
        f"{facts['cv_roc_auc']}, held-out ROC AUC {evaluation['roc_auc']}, "
        f"ECE {evaluation['ece']}: {evaluation['verdict']}"
    )
    return result


# -- 4. review and release -----------------------------------------------------------------


def review_and_release(
    cast: Cast, version: int, reason: str, summary: Summary, say: Narrate, *, first: bool = False
) -> bool:
    """The author submits, rui approves, mia releases through the gate; False when blocked.

    ``first``: the author also tries to approve their own version, which the
    registry refuses (and audits).
    """
    from mlcore.demo.pipeline import MODEL
    from mlcore.errors import GateFailed

    author = cast.admin.as_actor(cast.admin.models.get(MODEL, version).created_by)
    author.models.submit(MODEL, version, reason="ready for review")
    if first:
        try:
            author.models.approve(MODEL, version)
        except PermissionDenied as refused:
            summary.refusals.append(str(refused))
            say(f"4. {author.actor} submitted it and tried to approve it too: {refused}")
    cast.rui.models.approve(MODEL, version, reason="evaluation passes the flight-delays policy")
    problems = cast.mia.models.check_release(MODEL, version)
    summary.gates.append({"version": version, "blocked_by": [p.get("rule") for p in problems]})
    try:
        cast.mia.models.release(MODEL, version, reason=reason)
    except GateFailed as blocked:
        say(f"   the gate blocked {MODEL}/{version}: {blocked}")
        return False
    evidence = cast.mia.models.show(MODEL).production.evidence
    say(f"   rui approved; mia released {MODEL}/{version} through the gate (evidence: {evidence})")
    return True


# -- 6. rollback and wrap-up ------------------------------------------------------------------


def _roll_back(cast: Cast, summary: Summary, say: Narrate) -> None:
    from mlcore.demo.pipeline import MODEL

    releases = [m for m in cast.mia.models.pointer_history(MODEL) if m.action == "release"]
    if len(releases) < 2:
        say("6. no second release, so no rollback to demonstrate")
        return
    reason = "rollback drill: rehearse restoring the previous production version in one step"
    restored = cast.mia.models.rollback(MODEL, reason=reason)
    summary.rollback = {"from": releases[-1].to_version, "to": restored.version, "reason": reason}
    say(f"6. mia rolled back {MODEL} to version {restored.version} ({reason})")


def _wrap_up(store: Store, summary: Summary, say: Narrate) -> None:
    from mlcore.demo.pipeline import MODEL

    summary.history = [
        {
            "action": e.action,
            "version": e.version if e.kind == "version" else e.to_version,
            "actor": e.actor,
            **({"to_state": e.to_state} if e.kind == "version" else {"pointer": e.alias}),
            "reason": e.reason,
        }
        for e in store.models.history(MODEL)
    ]
    production = store.models.show(MODEL).production
    summary.production = None if production is None else production.version
    for facts in summary.versions:
        if "version" in facts:
            facts["state"] = store.models.get(MODEL, facts["version"]).state
    verification = store.verify_audit()
    summary.audit = {"entries": verification.checked, "verified": verification.ok}
    verdict = "verified" if verification.ok else f"NOT verified: {verification.problem}"
    say(f"   audit chain: {verification.checked} entries, {verdict}")
