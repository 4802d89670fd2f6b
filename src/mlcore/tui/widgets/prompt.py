"""The one-line prompt at the bottom: ``:`` switches view, ``/`` filters the rows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from mlcore.tui import keymap

__all__ = ["Prompt", "PromptInput"]


class PromptInput(Input):
    """The prompt's text field; Tab accepts the completion, as Right does."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("tab", "complete", "Complete", show=False)]

    def action_complete(self) -> None:
        # Computed here rather than taken from the suggester, which answers a
        # moment later: Tab typed right after the letters must still complete.
        if self.suggester is None:
            return
        typed = self.value.lower()
        found = next((s for s in keymap.suggestions() if s.startswith(typed)), None)
        if found is not None:
            self.value = found
            self.cursor_position = len(found)


class Prompt(Horizontal):
    """Either the command line (``:``, completing view names) or the filter (``/``)."""

    def __init__(self) -> None:
        super().__init__(id="prompt")
        self.kind = ":"
        self.display = False

    def compose(self) -> ComposeResult:
        yield Static(":", id="prompt-kind", markup=False)
        yield PromptInput(id="prompt-input", compact=True)

    @property
    def input(self) -> PromptInput:
        return self.query_one(PromptInput)

    def open(self, kind: str, value: str = "") -> None:
        self.kind = kind
        self.query_one("#prompt-kind", Static).update(kind)
        field = self.input
        field.suggester = (
            SuggestFromList(keymap.suggestions(), case_sensitive=False) if kind == ":" else None
        )
        field.placeholder = "view name (Tab completes)" if kind == ":" else "filter rows"
        field.value = value
        self.display = True
        # focus now, not on the next loop turn (as focus() does): keys typed
        # right after ':' are already queued and must reach the prompt
        self.screen.set_focus(field)
        field.cursor_position = len(value)

    def close(self) -> None:
        self.display = False
