"""Builders of random evaluation data (seeded, with tied scores on purpose), of policy
files, and of a store with a team and registered model versions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest


def binary_data(n: int, seed: int, *, decimals: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities that carry signal; rounding makes many tied scores."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.25 * y + rng.uniform(0, 0.75, n), 0, 1)
    return y, np.round(p, decimals)


# -- store-level builders ---------------------------------------------------------------


def scored_rows(n: int = 1200, seed: int = 0, *, labels: tuple[Any, Any] = (0, 1)) -> pl.DataFrame:
    """Customers with two inputs, slice and sensitive columns, and a label driven by x and z."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    positive = x + 0.6 * z + rng.normal(size=n) > 0
    return pl.DataFrame(
        {
            "x": x,
            "z": z,
            "region": rng.choice(["north", "south", "east"], n),
            "sex": rng.choice(["F", "M"], n),
            "age_band": rng.choice(["18-30", "31-50", "51+"], n),
            "y": np.where(positive, labels[1], labels[0]),
        }
    )


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # strings, numbers, booleans and lists read the same in TOML


def policy_text(name: str, rules: list[dict[str, Any]], scope: dict[str, Any] | None = None) -> str:
    """A policy file: each rule dict gets description, citation and severity unless given."""
    lines = [f'name = "{name}"', ""]
    if scope:
        lines += ["[scope]", *(f"{k} = {toml_value(v)}" for k, v in scope.items()), ""]
    for rule in rules:
        full = {"description": f"rule {rule['id']}", "citation": "Test standard 1.1"}
        full |= {"severity": "block"} | rule
        lines += ["[[rules]]", *(f"{k} = {toml_value(v)}" for k, v in full.items()), ""]
    return "\n".join(lines)


@pytest.fixture
def team(store):
    """The store and its people: ana (admin, author), bob (reviewer), rita (risk officer),
    emil (ml engineer, releases), dana (data scientist)."""
    for actor, role in [
        ("bob", "reviewer"),
        ("rita", "risk-officer"),
        ("emil", "ml-engineer"),
        ("dana", "data-scientist"),
    ]:
        store.grant(actor, role)
    people = {a: store.as_actor(a) for a in ("bob", "rita", "emil", "dana")}
    return {"admin": store, **people}


def register(store, rows: pl.DataFrame, inputs: list[str], **card: Any):
    """A logistic regression on ``inputs`` registered as the next version of 'churn'."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(rows.select(inputs), rows["y"])
    card = {"description": "Churn in 30 days", "intended_use": "Retention offers"} | card
    return store.models.register("churn", model, training_data=rows.select(inputs), card=card)


def approve(team, version: int) -> None:
    """Submit (as the author) and approve by a reviewer and a risk officer."""
    team["admin"].models.submit("churn", version)
    team["bob"].models.approve("churn", version)
    if team["admin"].models.get("churn", version).state != "approved":
        team["rita"].models.approve("churn", version)
