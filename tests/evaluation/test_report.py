"""Reports: the HTML evidence bundle parses, is self-contained and carries every table."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser

import pytest

from mlcore.errors import NotFound

from .conftest import approve, policy_text, register, scored_rows

_VOID = {"meta", "br", "hr", "img", "input", "link"}


class Page(HTMLParser):
    """Collects tags, attributes, table cells and text; checks that tags nest."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs
        if tag not in _VOID:
            self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell or []))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def evaluated(team):
    store = team["admin"]
    rows = scored_rows()
    register(store, rows, ["x"])
    register(store, rows, ["x", "z"], limitations="Not for <business> customers & co")
    approve(team, 1)
    team["emil"].models.release("churn", 1)
    store.evals.apply_policy(
        policy_text(
            "credit",
            [
                {"id": "auc", "kind": "metric", "metric": "roc_auc", "min": 0.99,
                 "citation": "SR 11-7: outcomes analysis"},
                {"id": "four-fifths", "kind": "fairness", "measure": "demographic_parity_ratio",
                 "min": 0.8, "attributes": ["sex"], "citation": "29 CFR 1607.4(D) four-fifths rule"},
                {"id": "psi", "kind": "drift", "max": 0.2, "severity": "warn"},
            ],
        )
    )  # fmt: skip
    evaluation = store.evals.run(
        "churn", rows, version=2, label="y", slices=["region", "age_band"], reference=rows,
        n_resamples=20,
    )  # fmt: skip
    team["rita"].evals.waive(
        "churn", 2, "auc", "Model risk accepts <0.99> for Q3", dt.timedelta(days=30)
    )
    return store, store.evals.get(evaluation.id)


def test_html_is_a_self_contained_parseable_evidence_bundle(evaluated) -> None:
    store, evaluation = evaluated
    page = Page()
    page.feed(store.evals.report(evaluation.id, "html"))
    page.close()
    assert page.stack == []  # every tag closed, in order
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    assert not [a for a in page.attributes if a[0] in ("src", "href")]
    text = "".join(page.text)
    version = store.models.get("churn", 2)
    for needle in (
        evaluation.id,
        evaluation.dataset["sha256"],
        "credit v1",
        "29 CFR 1607.4(D) four-fifths rule",
        "Model risk accepts <0.99> for Q3",  # escaped in the page, plain in its text
        "Not for <business> customers & co",
        version.artifact_sha256,
        "version 1",  # the champion
    ):
        assert needle in text, needle
    headers = {tuple(t[0]) for t in page.tables}
    rules = next(t for t in page.tables if t[0][:2] == ["policy", "rule"])
    auc = next(r for r in rules if r[1] == "auc")
    assert auc[3:8] == ["block", "waived", f"{evaluation.metrics['roc_auc']:.4g}", ">=", "0.99"]
    assert "Model risk accepts" in auc[10]
    assert ("metric", "value", "low", "high", "undefined because") in headers
    assert any(h[:3] == ("metric", "candidate", "champion") for h in headers)
    slices = next(t for t in page.tables if t[0][:3] == ["slice", "rows", "positives"])
    assert len(slices) - 1 == evaluation.results["slices"]["count"] == 3 + 3 + 9
    assert any(h[0] == "group" for h in headers)  # fairness groups
    assert any(h[0] == "column" and "psi" in h for h in headers)  # drift


def test_markdown_and_json(evaluated) -> None:
    store, evaluation = evaluated
    md = store.evals.report(evaluation.id, "md")
    assert md.startswith(f"# Evaluation {evaluation.id} of churn/2")
    assert "| policy | rule | kind | severity | status |" in md
    assert "| credit | auc | metric | block | waived |" in md
    assert "Not for <business> customers & co" in md
    doc = json.loads(store.evals.report(evaluation.id, "json"))
    assert doc["id"] == evaluation.id and doc["verdict"] == "waived"
    assert len(doc["slices"]) == 15 * 9
    assert doc["model_version"]["artifact_sha256"] == store.models.get("churn", 2).artifact_sha256
    assert doc["rules"][0]["waiver"]["created_by"] == "rita"
    with pytest.raises(NotFound, match="report format 'pdf' not found"):
        store.evals.report(evaluation.id, "pdf")
