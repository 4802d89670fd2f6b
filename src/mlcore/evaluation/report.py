"""An evaluation as a document a risk reviewer can file: HTML, Markdown or JSON.

The report is built once as a list of :class:`Section` (facts and tables) and rendered
by :func:`to_html` or :func:`to_markdown`; JSON is the evaluation's full record. The HTML
is one self-contained file -- inline CSS, no script, no external asset -- holding the
verdict, every rule with its measured value, threshold, status, severity, citation and
waiver, the metrics with their intervals, the champion deltas, every slice, the fairness
tables, the drift of the evaluation data, the dataset hash, the policy versions and the
model version's lineage and card.

Examples
--------
>>> table = Table(["metric", "value"], [["roc_auc", 0.81234], ["f1", None]])
>>> print(to_markdown("Evaluation", [Section("Metrics", tables=[table])]))
# Evaluation
<BLANKLINE>
## Metrics
<BLANKLINE>
| metric | value |
|---|---|
| roc_auc | 0.8123 |
| f1 | — |
<BLANKLINE>
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from mlcore.evaluation.records import Evaluation

__all__ = ["FORMATS", "Section", "Table", "render", "sections", "to_html", "to_markdown"]

FORMATS = ("html", "md", "json")


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str | None = None


@dataclass(frozen=True)
class Section:
    title: str
    facts: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return str(value)


# -- content ------------------------------------------------------------------------


def sections(evaluation: Evaluation, slices: pl.DataFrame | None, version: Any) -> list[Section]:
    """The report's content, in reading order."""
    res = evaluation.results
    out = [_summary(evaluation, version), _rules(evaluation), _metrics(res)]
    if res.get("comparison"):
        out.append(_comparison(res))
    if slices is not None:
        out.append(_slices(res, slices))
    if res.get("fairness"):
        out.append(_fairness(res["fairness"]))
    if (res.get("drift") or {}).get("columns") or (res.get("drift") or {}).get("source"):
        out.append(_drift(res["drift"]))
    out.append(_lineage(version))
    if res.get("warnings"):
        out.append(Section("Warnings", notes=list(res["warnings"])))
    return out


def _summary(e: Evaluation, version: Any) -> Section:
    data = e.dataset
    source = data.get("id") or data.get("path") or "in-memory frame"
    settings = e.results.get("settings", {})
    champion = e.results.get("champion") or {}
    return Section(
        "Summary",
        facts=[
            ("Verdict", e.verdict),
            ("Evaluation", e.id),
            ("Model version", f"{e.model}/{e.version} ({version.state})"),
            ("Evaluated", f"{_cell(e.created_at)} by {e.created_by}"),
            ("Task", e.task),
            ("Rows", e.n_rows),
            ("Dataset", f"{data['source']}: {source}"),
            ("Rows selected by", data.get("where") or "all rows"),
            ("Dataset sha256", data["sha256"]),
            ("Policies", [f"{p['name']} v{p['version']} ({p['sha256'][:12]})" for p in e.policies]
             or "none in force"),
            ("Champion", f"version {champion['version']}" if e.champion else champion.get("reason")),
            ("Label, threshold", f"{settings.get('label')}, {settings.get('threshold')}"),
            ("Bootstrap", f"{settings.get('n_resamples')} resamples, "
             f"{settings.get('confidence')} confidence, seed {settings.get('seed')}"),
        ],
    )  # fmt: skip


def _rules(e: Evaluation) -> Section:
    rows = []
    for r in e.rules:
        waiver = r.waiver
        waived = (
            None
            if waiver is None
            else f"{waiver.justification} ({waiver.created_by}, until {_cell(waiver.expires_at)})"
        )
        rows.append(
            [r.policy, r.rule, r.kind, r.severity, r.effective, r.value, r.op, r.threshold,
             r.message, r.citation, waived]
        )  # fmt: skip
    columns = ["policy", "rule", "kind", "severity", "status", "value", "op", "threshold"]
    columns += ["message", "citation", "waiver"]
    notes = [] if rows else ["No policy was in force for this version."]
    return Section("Rules", tables=[Table(columns, rows)] if rows else [], notes=notes)


def _metrics(res: dict[str, Any]) -> Section:
    doc = res["metrics"]
    rows = [[m["metric"], m["value"], m["low"], m["high"], m["reason"]] for m in doc["metrics"]]
    note = f"{doc['confidence']:.0%} percentile bootstrap intervals, {doc['n_resamples']} resamples"
    return Section(
        "Metrics", tables=[Table(["metric", "value", "low", "high", "undefined because"], rows)],
        notes=[note],
    )  # fmt: skip


def _comparison(res: dict[str, Any]) -> Section:
    rows = [
        [d["metric"], d["challenger"]["value"], d["champion"]["value"], d["delta"], d["low"],
         d["high"], d["significant"], d["better"]]
        for d in res["comparison"]["deltas"]
    ]  # fmt: skip
    columns = ["metric", "candidate", "champion", "delta", "low", "high", "significant", "better"]
    version = (res.get("champion") or {}).get("version")
    return Section(
        "Champion comparison",
        facts=[("Champion", f"version {version}")],
        tables=[Table(columns, rows, "paired bootstrap: both models on the same resamples")],
    )


def _slices(res: dict[str, Any], slices: pl.DataFrame) -> Section:
    import polars as pl

    about = res.get("slices") or {}
    wide = slices.pivot(on="metric", index=["slice", "n_rows", "n_positive"], values="value")
    metrics = [c for c in wide.columns if c not in ("slice", "n_rows", "n_positive")]
    ordered = wide.with_row_index("_order").sort("_order").drop("_order")
    rows = [list(r) for r in ordered.select(pl.all()).iter_rows()]
    worst = about.get("worst") or {}
    return Section(
        "Slices",
        facts=[
            ("Slice columns", about.get("columns")),
            ("Slices", about.get("count")),
            ("Worst slice", f"{worst.get('slice')} ({worst.get('n_rows')} rows) by "
             f"{about.get('worst_by')}, among slices of {about.get('min_support')}+ rows"
             if worst else "none with enough rows"),
        ],
        tables=[Table(["slice", "rows", "positives", *metrics], rows)],
    )  # fmt: skip


def _fairness(doc: dict[str, Any]) -> Section:
    measures = ["demographic_parity_ratio", "demographic_parity_difference"]
    measures += ["equal_opportunity_difference", "equalized_odds_difference"]
    rows, tables = [], []
    for d in doc["disparities"]:
        rows.append([" & ".join(d["attributes"]), *(d[m] for m in measures),
                     d["selection_test"]["method"], d["selection_test"]["p_value"]])  # fmt: skip
        group_rows = [
            [g["group"], g["n_rows"], g["n_positive"], g["n_selected"], g["selection_rate"],
             g["true_positive_rate"], g["false_positive_rate"]]
            for g in d["groups"]
        ]  # fmt: skip
        columns = ["group", "rows", "positives", "selected", "selection rate", "TPR", "FPR"]
        tables.append(Table(columns, group_rows, " & ".join(d["attributes"])))
    summary = Table(["attributes", *measures, "selection test", "p-value"], rows)
    note = f"a row is selected when its score is at least {doc['threshold']}"
    return Section("Fairness", tables=[summary, *tables], notes=[note])


def _drift(doc: dict[str, Any]) -> Section:
    source = doc.get("id") or doc.get("path") or doc.get("source")
    facts = [("Training data", source), ("Training data sha256", doc.get("sha256"))]
    if doc.get("reason"):
        facts.append(("Not computed", doc["reason"]))
    columns = doc.get("columns") or {}
    stats = list(dict.fromkeys(s for values in columns.values() for s in values))
    rows = [[c, *(v.get(s) for s in stats)] for c, v in columns.items()]
    tables = [Table(["column", *stats], rows)] if rows else []
    return Section("Drift of the evaluation data vs training data", facts=facts, tables=tables)


def _lineage(version: Any) -> Section:
    lineage = version.lineage or {}
    training = lineage.get("training_data") or {}
    code = lineage.get("code") or {}
    git = lineage.get("git") or {}
    dataset = lineage.get("dataset") or {}
    facts = [
        ("Artifact sha256", version.artifact_sha256),
        ("Registered", f"{_cell(version.created_at)} by {version.created_by}"),
        ("State", version.state),
        ("Training data", f"{training.get('rows')} rows, sha256 {training.get('sha256')}"
         if training else None),
        ("Training dataset", f"{dataset.get('id')} (sha256 {dataset.get('sha256')})"
         if dataset else None),
        ("Features", list(version.features) or None),
        ("Pipeline run", lineage.get("pipeline_run")),
        ("Code sha256", code.get("sha256")),
        ("Git commit", git.get("commit")),
    ]  # fmt: skip
    card = [(f"Card: {k.replace('_', ' ')}", v or None) for k, v in version.card.to_dict().items()]
    return Section("Model version and lineage", facts=facts + card)


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# -- rendering ----------------------------------------------------------------------


def to_markdown(title: str, content: Sequence[Section]) -> str:
    """GitHub-flavoured Markdown."""

    def esc(value: Any) -> str:
        return _cell(value).replace("|", "\\|").replace("\n", " ")

    lines = [f"# {title}", ""]
    for section in content:
        lines += [f"## {section.title}", ""]
        lines += [f"- **{k}**: {esc(v)}" for k, v in section.facts]
        if section.facts:
            lines.append("")
        for table in section.tables:
            if table.caption:
                lines += [f"*{table.caption}*", ""]
            lines.append("| " + " | ".join(table.columns) + " |")
            lines.append("|" + "---|" * len(table.columns))
            lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in table.rows]
            lines.append("")
        lines += [f"> {note}" for note in section.notes]
        if section.notes:
            lines.append("")
    return "\n".join(lines)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1d232a}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:13px}
th,td{border:1px solid #d6dae0;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f1f3f6}caption{text-align:left;font-style:italic;padding:.2rem 0}
dl{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem}dt{font-weight:600}
dd{margin:0;word-break:break-all}.note{color:#555}
.pass{background:#e3f4e6}.fail{background:#fbe1e1}.waived{background:#fff3cd}
.skipped,.deferred{background:#eef1f5}
"""
_STATUS_CLASSES = {"pass", "fail", "waived", "skipped", "deferred"}


def _css_class(value: Any) -> str:
    """Statuses and verdicts get a colour."""
    return f' class="{value}"' if isinstance(value, str) and value in _STATUS_CLASSES else ""


def to_html(title: str, content: Sequence[Section]) -> str:
    """One self-contained HTML page: inline CSS, no script, no external asset."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    for section in content:
        parts.append(f"<section><h2>{esc(section.title)}</h2>")
        if section.facts:
            parts.append("<dl>")
            for key, value in section.facts:
                parts.append(f"<dt>{esc(key)}</dt><dd{_css_class(value)}>{esc(_cell(value))}</dd>")
            parts.append("</dl>")
        for table in section.tables:
            parts.append("<table>")
            if table.caption:
                parts.append(f"<caption>{esc(table.caption)}</caption>")
            parts.append("<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in table.columns))
            parts.append("</tr></thead><tbody>")
            for row in table.rows:
                cells = []
                for value in row:
                    cells.append(f"<td{_css_class(value)}>{esc(_cell(value))}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table>")
        parts += [f'<p class="note">{esc(note)}</p>' for note in section.notes]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render(
    evaluation: Evaluation, slices: pl.DataFrame | None, version: Any, format: str = "html"
) -> str:
    """The evaluation as ``html``, ``md`` or ``json`` text."""
    if format not in FORMATS:
        from mlcore.errors import NotFound

        raise NotFound("report format", format, candidates=FORMATS)
    if format == "json":
        document = evaluation.to_dict() | {
            "slices": None if slices is None else slices.to_dicts(),
            "model_version": version.to_dict(),
        }
        return json.dumps(document, indent=2, sort_keys=True, default=_plain)
    title = f"Evaluation {evaluation.id} of {evaluation.model}/{evaluation.version}"
    content = sections(evaluation, slices, version)
    return to_html(title, content) if format == "html" else to_markdown(title, content)
