"""Finding versions: by name, text, tag, state, owner, metric range, feature used, pipeline run.

Every filter becomes a bound parameter; a model name pattern may use ``*``.
Metric conditions are read from text (``auc>=0.8``) or given as ranges
(``{"auc": (0.8, None)}``, bounds inclusive). A feature filter matches a view
(``weather``: any of its features) or one feature (``weather:temp``), and
versions that recorded the whole view (``weather:*``).

Examples
--------
>>> parse_metric("auc>=0.8")
('auc', 0.8, None, False)
>>> parse_metric("log_loss<0.3")
('log_loss', None, 0.3, True)
>>> Query(states=("approved",), metrics={"auc": (0.8, None)}).where()
('state IN (?) AND metrics[?] >= ?', ['approved', 'auc', 0.8])
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.errors import InvalidInput
from mlcore.registry.lifecycle import State
from mlcore.registry.models import VersionSummary

if TYPE_CHECKING:
    from mlcore.store.storage import Tx

__all__ = ["Query", "parse_metric", "parse_tag", "summaries"]

_METRIC = re.compile(r"\s*([A-Za-z][\w\-.]*)\s*(>=|<=|>|<|==|=)\s*([-+0-9.eE]+|nan|inf)\s*")
_PATTERN = re.compile(r"[A-Za-z0-9_\-*]{1,64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Columns of a summary row; timestamps as integers (microseconds) because
# DuckDB builds aware datetimes an order of magnitude slower than Python does.
_SUMMARY = (
    "SELECT model, version, state, epoch_us(created_at), created_by, owner, risk_tier, "
    "to_json(metrics)::VARCHAR, to_json(tags)::VARCHAR, to_json(features)::VARCHAR "
    "FROM model_versions"
)


def parse_metric(text: str) -> tuple[str, float | None, float | None, bool]:
    """``name OP value`` -> (name, low, high, strict); OP is one of >=, <=, >, <, =."""
    m = _METRIC.fullmatch(text)
    if not m:
        raise InvalidInput(
            f"{text!r} is not a metric condition",
            hint="Write NAME>=VALUE, NAME<=VALUE, NAME>VALUE, NAME<VALUE or NAME=VALUE, e.g. auc>=0.8",
            field="metric",
        )
    name, op, raw = m.groups()
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a number", field="metric") from None
    strict = op in (">", "<")
    if op in (">=", ">"):
        return name, value, None, strict
    if op in ("<=", "<"):
        return name, None, value, strict
    return name, value, value, False


def parse_tag(text: str) -> tuple[str, str | None]:
    """``key`` -> (key, None); ``key=value`` -> (key, value).

    >>> parse_tag("team=risk"), parse_tag("pii")
    (('team', 'risk'), ('pii', None))
    """
    key, sep, value = text.partition("=")
    return names.validate("tag", key.strip()), (value if sep else None)


@dataclass(frozen=True)
class Query:
    """What to look for; every field narrows the result (all must hold)."""

    name: str | None = None
    text: str | None = None
    tags: Mapping[str, str | None] = field(default_factory=dict)
    states: Sequence[str] = ()
    owner: str | None = None
    metrics: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    strict: Sequence[str] = ()
    feature: str | None = None
    pipeline_run: str | None = None

    @classmethod
    def build(
        cls,
        *,
        name: str | None = None,
        text: str | None = None,
        tags: Mapping[str, str | None] | Sequence[str] | str | None = None,
        state: str | Sequence[str] | None = None,
        owner: str | None = None,
        metrics: Mapping[str, tuple[float | None, float | None]]
        | Sequence[str]
        | str
        | None = None,
        feature: str | None = None,
        pipeline_run: str | None = None,
    ) -> Query:
        """A query from friendly arguments (single values or lists, text conditions)."""
        if isinstance(tags, str):
            tags = [tags]
        tag_map = dict(tags) if isinstance(tags, Mapping) else dict(map(parse_tag, tags or ()))
        states = [state] if isinstance(state, str) else list(state or ())
        for value in states:
            if value not in State.__members__.values():
                raise InvalidInput(
                    f"state '{value}' is not a lifecycle state",
                    hint=f"States: {', '.join(State)}",
                    field="state",
                )
        if isinstance(metrics, str):
            metrics = [metrics]
        ranges: dict[str, tuple[float | None, float | None]] = {}
        strict: list[str] = []
        if isinstance(metrics, Mapping):
            ranges = {str(k): (v[0], v[1]) for k, v in metrics.items()}
        else:
            for condition in metrics or ():
                key, low, high, is_strict = parse_metric(condition)
                old_low, old_high = ranges.get(key, (None, None))
                ranges[key] = (
                    low if low is not None else old_low,
                    high if high is not None else old_high,
                )
                if is_strict:
                    strict.append(key)
        if name is not None and not _PATTERN.fullmatch(name):
            raise InvalidInput(
                f"model name pattern {name!r} is not valid",
                hint="Use letters, digits, '_', '-' and '*' for any text",
                field="name",
            )
        if feature is not None:
            view, _, feat = feature.partition(":")
            names.validate("feature view", view)
            if feat and feat != "*":
                names.validate("feature", feat)
        return cls(
            name,
            text,
            tag_map,
            states,
            owner,
            ranges,
            tuple(strict),
            feature,
            pipeline_run=pipeline_run,
        )

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause (without the keyword) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.name is not None:
            clauses.append("model GLOB ?" if "*" in self.name else "model = ?")
            params.append(self.name)
        if self.text:
            clauses.append(
                "(contains(lower(model), ?) OR contains(lower(card->>'$.description'), ?))"
            )
            params += [self.text.lower()] * 2
        for key, value in self.tags.items():
            if value is None:
                clauses.append("list_contains(map_keys(tags), ?)")
                params.append(key)
            else:
                clauses.append("tags[?] = ?")
                params += [key, value]
        if self.states:
            clauses.append(f"state IN ({', '.join('?' * len(self.states))})")
            params += list(self.states)
        if self.owner is not None:
            clauses.append("owner = ?")
            params.append(self.owner)
        for key, (low, high) in self.metrics.items():
            strict = key in self.strict
            if low is not None:
                clauses.append(f"metrics[?] {'>' if strict else '>='} ?")
                params += [key, float(low)]
            if high is not None:
                clauses.append(f"metrics[?] {'<' if strict else '<='} ?")
                params += [key, float(high)]
        if self.pipeline_run is not None:
            clauses.append("lineage->>'$.pipeline_run' = ?")
            params.append(self.pipeline_run)
        if self.feature is not None:
            view = self.feature.partition(":")[0]
            if ":" in self.feature and not self.feature.endswith(":*"):
                clauses.append("(list_contains(features, ?) OR list_contains(features, ?))")
                params += [self.feature, f"{view}:*"]
            else:
                clauses.append("len(list_filter(features, lambda f: starts_with(f, ?))) > 0")
                params.append(f"{view}:")
        return " AND ".join(clauses) or "TRUE", params


def summaries(tx: Tx, query: Query, *, limit: int | None = None) -> list[VersionSummary]:
    """Versions matching ``query``, by model name then version."""
    where, params = query.where()
    sql = f"{_SUMMARY} WHERE {where} ORDER BY model, version"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = tx.fetchall(sql, params)
    # One json.loads per column rather than per value: the per-call overhead was
    # most of a 1,000-version search.
    metrics, tags, features = (
        json.loads(f"[{','.join(row[i] for row in rows)}]") for i in (7, 8, 9)
    )
    return [
        VersionSummary(
            name,
            version,
            state,
            _EPOCH + timedelta(microseconds=created_us),
            created_by,
            owner,
            risk_tier,
            version_metrics,
            version_tags,
            tuple(version_features),
        )
        for (
            name,
            version,
            state,
            created_us,
            created_by,
            owner,
            risk_tier,
            *_,
        ), version_metrics, version_tags, version_features in zip(
            rows, metrics, tags, features, strict=True
        )
    ]
