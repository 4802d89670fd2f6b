"""``kind = "model_card"``: named model card fields present and not empty.

Fields: ``fields``, a list of card fields (``owner``, ``description``,
``intended_use``, ``limitations``, ``risk_tier``). The measured value is the number of
missing fields, held against 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.evaluation.rules.base import Context, Outcome, Rule
from mlcore.registry.models import ModelCard

if TYPE_CHECKING:
    from mlcore.evaluation.rules.fields import Fields

__all__ = ["CARD_FIELDS", "ModelCardComplete"]

#: The registry's ModelCard fields.
CARD_FIELDS = tuple(f.name for f in dataclasses.fields(ModelCard))


@dataclass(frozen=True)
class ModelCardComplete(Rule):
    kind = "model_card"

    fields: tuple[str, ...]

    @classmethod
    def read(cls, fields: Fields) -> dict[str, Any]:
        named = fields.names("fields", allowed=CARD_FIELDS, what="model card field")
        if not named:
            raise fields.error(
                "fields", "name the card fields that must be filled", hint=f"e.g. {CARD_FIELDS}"
            )
        return {"fields": named}

    def check(self, context: Context) -> Outcome:
        missing = [f for f in self.fields if not str(context.card.get(f) or "").strip()]
        message = (
            f"missing card fields ({', '.join(missing)})" if missing else "missing card fields"
        )
        return Outcome.bound(len(missing), 0, "<=", message, {"missing": missing})
