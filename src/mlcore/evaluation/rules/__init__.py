"""Rule kinds of evaluation policies, one module each.

==================  ==============================================  ===========================
kind                class                                           judges
==================  ==============================================  ===========================
``metric``          :class:`~.metric_bound.MetricBound`             a metric, overall or per slice
``champion``        :class:`~.champion_change.ChampionChange`       the drop vs production
``fairness``        :class:`~.fairness_bound.FairnessBound`         a disparity between groups
``sample_size``     :class:`~.sample_size.SampleSize`               rows and positives evaluated
``model_card``      :class:`~.model_card.ModelCardComplete`         card fields filled in
``approvals``       :class:`~.approvals.Approvals`                  approvals (at release)
``drift``           :class:`~.data_drift.DataDrift`                 evaluation vs training data
``revalidation``    :class:`~.revalidation.Revalidation`            the evaluation's age per tier
==================  ==============================================  ===========================

Every rule also has ``id``, ``description``, ``citation`` and ``severity`` (see
:class:`~.base.Rule`). :func:`read_rule` builds one from a policy file's table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlcore import names
from mlcore.errors import InvalidInput
from mlcore.evaluation.rules.approvals import Approvals
from mlcore.evaluation.rules.base import SEVERITIES, Context, Needs, Outcome, Rule
from mlcore.evaluation.rules.champion_change import ChampionChange
from mlcore.evaluation.rules.data_drift import DataDrift
from mlcore.evaluation.rules.fairness_bound import FairnessBound
from mlcore.evaluation.rules.metric_bound import MetricBound
from mlcore.evaluation.rules.model_card import ModelCardComplete
from mlcore.evaluation.rules.revalidation import Revalidation
from mlcore.evaluation.rules.sample_size import SampleSize

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["KINDS", "Context", "Needs", "Outcome", "Rule", "read_rule", "rule_from_spec"]

KINDS: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (
        MetricBound,
        ChampionChange,
        FairnessBound,
        SampleSize,
        ModelCardComplete,
        Approvals,
        DataDrift,
        Revalidation,
    )
}


def read_rule(fields: Fields) -> Rule:
    """A rule from one ``[[rules]]`` table: common fields, then its kind's own."""
    rule_id = fields.text("id")
    try:
        names.validate("rule id", rule_id)
    except InvalidInput as exc:
        raise fields.error("id", exc.message, exc.hint) from None
    kind = fields.choice("kind", tuple(KINDS))
    common: dict[str, Any] = {
        "id": rule_id,
        "description": fields.text("description"),
        "citation": fields.text("citation"),
        "severity": fields.choice("severity", SEVERITIES),
    }
    own = KINDS[kind].read(fields)
    fields.done()
    return KINDS[kind](**common, **own)


def rule_from_spec(spec: dict[str, Any]) -> Rule:
    """A rule from its stored :meth:`Rule.spec` (already validated when applied)."""
    cls = KINDS[spec["kind"]]
    fields: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in spec.items() if k != "kind"
    }
    return cls(**fields)
