"""Search agrees with a brute-force filter over every version, for any combination of filters."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlcore
from mlcore.errors import InvalidInput

from .conftest import TEAM, fit, training_frame

# (model, owner, metrics, tags, features, final state) for each version registered.
VERSIONS = [
    ("churn", "dana", {"auc": 0.81, "f1": 0.6}, {"team": "retention"}, ["customers:age"], "draft"),
    (
        "churn",
        "dana",
        {"auc": 0.86},
        {"team": "retention", "pii": ""},
        ["customers:*"],
        "in_review",
    ),
    ("churn", "emil", {"auc": 0.9, "f1": 0.7}, {}, ["customers:age", "visits:count"], "approved"),
    ("churn", "emil", {}, {"team": "growth"}, [], "archived"),
    ("churn-eu", "dana", {"auc": 0.79}, {"pii": ""}, ["visits:count"], "approved"),
    ("fraud", "otto", {"auc": 0.95, "recall": 0.5}, {"team": "risk"}, ["payments:amount"], "draft"),
    (
        "fraud",
        "otto",
        {"recall": 0.55},
        {"team": "risk"},
        ["payments:*", "customers:age"],
        "rejected",
    ),
]
DESCRIPTIONS = {"churn": "Customers leaving within 30 days", "fraud": "Card fraud", "churn-eu": ""}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    store = mlcore.open(tmp_path_factory.mktemp("search") / "s", create=True, actor="admin")
    for actor, role in TEAM.items():
        store.grant(actor, role)
    model = fit(training_frame())
    for name, owner, metrics, tags, features, state in VERSIONS:
        models = store.as_actor("dana").models
        v = models.register(
            name,
            model,
            metrics=metrics,
            tags=tags,
            features=features,
            card={"owner": owner, "description": DESCRIPTIONS[name]},
        ).version
        if state != "draft" and state != "archived":
            models.submit(name, v)
        if state == "approved":
            store.as_actor("rita").models.approve(name, v)
        elif state == "rejected":
            store.as_actor("rita").models.reject(name, v, reason="no")
        elif state == "archived":
            store.as_actor("emil").models.archive(name, v)
    yield store
    store.close()


def brute_force(store, **query):
    """Every version, filtered in Python from its full record."""
    out = []
    for summary in store.models.search():
        v = store.models.get(summary.name, summary.version)
        name = query.get("name")
        if name is not None and not (
            v.name.startswith(name[:-1]) if name.endswith("*") else v.name == name
        ):
            continue
        text = query.get("text")
        if text and text.lower() not in (v.name + "\0" + v.card.description).lower():
            continue
        if query.get("state") and v.state != query["state"]:
            continue
        if query.get("owner") and v.card.owner != query["owner"]:
            continue
        tag = query.get("tag")
        if tag:
            key, _, value = tag.partition("=")
            if key not in v.tags or ("=" in tag and v.tags[key] != value):
                continue
        metric = query.get("metric")
        if metric:
            key, op, bound = metric
            value = v.metrics.get(key)
            if value is None or not {">=": value >= bound, "<=": value <= bound}[op]:
                continue
        feature = query.get("feature")
        if feature:
            view = feature.partition(":")[0]
            if ":" in feature:
                hit = feature in v.features or f"{view}:*" in v.features
            else:
                hit = any(f.startswith(view + ":") for f in v.features)
            if not hit:
                continue
        out.append((v.name, v.version))
    return out


queries = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["churn", "churn*", "fraud", "nope"]),
        "text": st.sampled_from(["churn", "CUSTOMERS", "fraud", "eu", "30 days"]),
        "state": st.sampled_from(["draft", "in_review", "approved", "rejected", "archived"]),
        "owner": st.sampled_from(["dana", "emil", "otto"]),
        "tag": st.sampled_from(["team", "pii", "team=risk", "team=retention", "team=none"]),
        "metric": st.tuples(
            st.sampled_from(["auc", "f1", "recall"]),
            st.sampled_from([">=", "<="]),
            st.sampled_from([0.5, 0.8, 0.86, 0.9, 1.0]),
        ),
        "feature": st.sampled_from(
            ["customers", "customers:age", "visits:count", "payments:amount", "visits"]
        ),
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries)
def test_search_matches_brute_force(searched, query) -> None:
    kwargs = dict(query)
    if "metric" in kwargs:
        key, op, bound = kwargs["metric"]
        kwargs["metrics"] = f"{key}{op}{bound}"
        del kwargs["metric"]
    if "tag" in kwargs:
        kwargs["tags"] = kwargs.pop("tag")
    found = [(v.name, v.version) for v in searched.models.search(**kwargs)]
    assert found == brute_force(searched, **query)


def test_search_examples(searched) -> None:
    def refs(**kw):
        return [v.ref for v in searched.models.search(**kw)]

    assert refs(metrics={"auc": (0.85, 0.9)}) == ["churn/2", "churn/3"]
    assert refs(metrics=["auc>0.81", "auc<0.9"]) == ["churn/2"]
    assert refs(tags={"team": "risk"}, state=["draft", "rejected"]) == ["fraud/1", "fraud/2"]
    assert refs(feature="customers:age") == ["churn/1", "churn/2", "churn/3", "fraud/2"]
    assert refs(name="churn*", owner="dana", limit=3) == ["churn/1", "churn/2", "churn-eu/1"]


def test_versions_of_a_pipeline_run(team, model) -> None:
    team["dana"].models.register("churn", model, pipeline_run="run-1")
    team["dana"].models.register("churn", model, pipeline_run="run-2")
    team["dana"].models.register("fraud", model, pipeline_run="run-1")
    found = team["admin"].models.search(pipeline_run="run-1")
    assert [v.ref for v in found] == ["churn/1", "fraud/1"]


def test_using_features_for_discovery(searched) -> None:
    assert searched.models.using_features("payments") == [("fraud", 1), ("fraud", 2)]
    assert searched.models.using_features(["visits:count", "payments:amount"]) == [
        ("churn", 3),
        ("churn-eu", 1),
        ("fraud", 1),
        ("fraud", 2),
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"state": "live"}, "not a lifecycle state"),
        ({"metrics": "auc>>1"}, "not a metric condition"),
        ({"tags": "bad tag"}, "not a valid name"),
        ({"feature": "a:b:c"}, "not a valid name"),
        ({"name": "churn[0-9]"}, "pattern 'churn\\[0-9\\]' is not valid"),
    ],
)
def test_bad_search_input(searched, kwargs, match) -> None:
    with pytest.raises(InvalidInput, match=match):
        searched.models.search(**kwargs)
