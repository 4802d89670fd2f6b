"""Policies as code: TOML files of rules that cite what they encode, validated line by line.

A policy file names itself, says which models it covers, and lists rules::

    name = "credit"
    description = "Consumer credit scoring models"

    [scope]                      # every key narrows; leave [scope] out for all models
    risk_tiers = ["high", "critical"]
    tags = ["domain=credit"]     # "key" or "key=value"
    models = ["credit_*"]        # names, shell-style wildcards

    [[rules]]
    id = "four-fifths"
    kind = "fairness"
    description = "Selection rates of protected groups within 80% of the highest"
    citation = "29 CFR 1607.4(D) four-fifths rule"
    severity = "block"           # or "warn"
    measure = "demographic_parity_ratio"
    min = 0.8
    attributes = ["sex", "age_band"]

A model is in scope when it matches every key given (any of a key's values). The
rule kinds and their fields are in :mod:`mlcore.evaluation.rules` and
docs/policies/reference.md.

Validation reads the whole file before anything is stored and stops at the first
problem with ``file:line:`` and the field in the message: TOML syntax, an unknown rule
kind, an unknown metric (with the closest name), a threshold that is not a number or
outside the metric's range, a missing citation or severity, an unknown field.

Examples
--------
>>> policy = parse_policy('''
... name = "general"
... [[rules]]
... id = "auc"
... kind = "metric"
... description = "Discrimination"
... citation = "Model risk standard 4.2"
... severity = "block"
... metric = "roc_auc"
... min = 0.7
... ''')
>>> policy.name, [r.id for r in policy.rules], policy.scope.describe()
('general', ['auc'], 'all models')
>>> parse_policy(policy.source.replace("roc_auc", "roc_acu"), source_name="general.toml")
Traceback (most recent call last):
...
mlcore.evaluation.rules.fields.PolicyError: general.toml:9: rule 'auc', field 'metric': unknown metric 'roc_acu'. Did you mean 'roc_auc'?
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.errors import InvalidInput
from mlcore.evaluation.rules.fields import Fields, Locator, PolicyError, locator
from mlcore.registry.models import RISK_TIERS

if TYPE_CHECKING:
    from mlcore.evaluation.rules import Rule

__all__ = [
    "RISK_TIERS",
    "Fields",
    "Policy",
    "PolicyDiff",
    "PolicyError",
    "Scope",
    "diff_policies",
    "parse_policy",
    "read_policy",
]

#: Scopes and revalidation name the registry's model card risk tiers (RISK_TIERS),
#: or "unassessed" for versions whose card names none.
UNASSESSED = "unassessed"


# -- policies -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which model versions a policy covers: all, or those matching every key given."""

    models: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    risk_tiers: tuple[str, ...] = ()

    def matches(self, name: str, tags: Mapping[str, str], risk_tier: str | None) -> bool:
        """Whether a version (its model name, tags and card risk tier) is in scope."""
        if self.models and not any(fnmatch.fnmatchcase(name, p) for p in self.models):
            return False
        if self.tags and not any(_tag_matches(t, tags) for t in self.tags):
            return False
        return not self.risk_tiers or (risk_tier or UNASSESSED) in self.risk_tiers

    def describe(self) -> str:
        parts = [
            f"{label} {', '.join(values)}"
            for label, values in (
                ("models", self.models),
                ("tags", self.tags),
                ("risk tiers", self.risk_tiers),
            )
            if values
        ]
        return "; ".join(parts) if parts else "all models"

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "tags": list(self.tags),
            "risk_tiers": list(self.risk_tiers),
        }


def _tag_matches(wanted: str, tags: Mapping[str, str]) -> bool:
    key, sep, value = wanted.partition("=")
    return key in tags and (not sep or tags[key] == value)


@dataclass(frozen=True)
class Policy:
    """A parsed, validated policy. ``sha256`` fingerprints its meaning (:meth:`spec`),
    so re-applying a file that differs only in comments or layout changes nothing."""

    name: str
    description: str
    scope: Scope
    rules: tuple[Rule, ...]
    source: str = field(default="", repr=False, compare=False)
    source_name: str | None = field(default=None, compare=False)

    def spec(self) -> dict[str, Any]:
        """The canonical content: every field of every rule, defaults filled in."""
        return {
            "name": self.name,
            "description": self.description,
            "scope": self.scope.to_dict(),
            "rules": [rule.spec() for rule in self.rules],
        }

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.spec(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def rule(self, rule_id: str) -> Rule:
        from mlcore.errors import NotFound

        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise NotFound(f"rule of policy {self.name}", rule_id, candidates=self.rule_ids)

    @property
    def rule_ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def to_dict(self) -> dict[str, Any]:
        return self.spec() | {"sha256": self.sha256, "source_name": self.source_name}


def parse_policy(text: str, *, source_name: str = "<policy>") -> Policy:
    """Parse and validate a policy from TOML text; PolicyError on the first problem."""
    from mlcore.evaluation.rules import read_rule

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise PolicyError(
            f"not valid TOML: {exc}",
            source=source_name,
            line=int(found.group(1)) if found else None,
            hint="Fix the syntax; see docs/policies/reference.md",
        ) from None
    locate = locator(text)
    top = Fields(document, path=(), source=source_name, locate=locate)
    name = top.text("name")
    try:
        names.validate("policy name", name)
    except InvalidInput as exc:
        raise top.error("name", exc.message, exc.hint) from None
    description = top.text("description", required=False)
    scope = _scope(top, locate, source_name)
    rules = top.raw("rules")
    if not isinstance(rules, list) or not rules:
        raise top.error(
            "rules", "a policy needs at least one [[rules]] table", hint="Add a [[rules]] table"
        )
    top.done()
    parsed: list[Rule] = []
    for i, table in enumerate(rules):
        rule_id = table.get("id") if isinstance(table.get("id"), str) else None
        fields = Fields(table, path=("rules", i), source=source_name, locate=locate, rule=rule_id)
        rule = read_rule(fields)
        if rule.id in {r.id for r in parsed}:
            raise fields.error("id", f"rule id '{rule.id}' is used twice in this policy")
        parsed.append(rule)
    return Policy(name, description, scope, tuple(parsed), text, source_name)


def _scope(top: Fields, locate: Locator, source: str) -> Scope:
    raw = top.raw("scope")
    if raw is None:
        return Scope()
    if not isinstance(raw, dict):
        raise top.error("scope", "scope must be a table: [scope]")
    fields = Fields(raw, path=("scope",), source=source, locate=locate)
    scope = Scope(
        models=fields.names("models", what="model pattern"),
        tags=fields.names("tags", what="tag"),
        risk_tiers=fields.names("risk_tiers", allowed=(*RISK_TIERS, UNASSESSED), what="risk tier"),
    )
    fields.done()
    return scope


def read_policy(path_or_text: str | Path) -> Policy:
    """A policy from a TOML file path, or from TOML text (anything with a newline or '=')."""
    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and "=" not in path_or_text):
        path = Path(path_or_text)
        if not path.is_file():
            from mlcore.errors import NotFound

            raise NotFound("policy file", str(path), hint="Check the path")
        return parse_policy(path.read_text(encoding="utf-8"), source_name=path.name)
    return parse_policy(path_or_text)


# -- what would change ----------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDiff:
    """What applying a policy would change: ``version`` is the version it would become
    (None when nothing changes), ``changes`` one line per difference."""

    name: str
    current: int | None
    version: int | None
    changes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.version is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "current": self.current,
            "version": self.version,
            "changed": self.changed,
            "changes": list(self.changes),
        }


def diff_policies(old: Policy | None, new: Policy, current: int | None = None) -> PolicyDiff:
    """The differences between the applied version ``old`` (number ``current``) and ``new``.

    >>> base = 'name = "p"\\n[[rules]]\\nid = "n"\\nkind = "sample_size"\\ndescription = "d"\\n'
    >>> base += 'citation = "c"\\nseverity = "block"\\nmin_rows = 100\\n'
    >>> diff_policies(parse_policy(base), parse_policy(base.replace("100", "500")), 1).changes
    ('~ rule n: min_rows 100 -> 500',)
    """
    if old is None:
        lines = [f"+ policy {new.name}: {new.scope.describe()}"]
        lines += [f"+ rule {r.id} ({r.kind}, {r.severity})" for r in new.rules]
        return PolicyDiff(new.name, None, 1, tuple(lines))
    if old.sha256 == new.sha256:
        return PolicyDiff(new.name, current, None, ())
    lines = []
    if old.description != new.description:
        lines.append("~ description")
    if old.scope != new.scope:
        lines.append(f"~ scope: {old.scope.describe()} -> {new.scope.describe()}")
    before = {r.id: r.spec() for r in old.rules}
    after = {r.id: r.spec() for r in new.rules}
    for rule_id, spec in after.items():
        if rule_id not in before:
            lines.append(f"+ rule {rule_id} ({spec['kind']}, {spec['severity']})")
        elif before[rule_id] != spec:
            changed = [
                f"{key} {_shown(before[rule_id].get(key))} -> {_shown(spec.get(key))}"
                for key in dict.fromkeys([*before[rule_id], *spec])
                if before[rule_id].get(key) != spec.get(key)
            ]
            lines.append(f"~ rule {rule_id}: {'; '.join(changed)}")
    lines += [f"- rule {rule_id}" for rule_id in before if rule_id not in after]
    if list(before) != list(after) and set(before) == set(after):
        lines.append("~ rule order")
    return PolicyDiff(new.name, current, (current or 0) + 1, tuple(lines))


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value) if isinstance(value, list | dict) else str(value)
