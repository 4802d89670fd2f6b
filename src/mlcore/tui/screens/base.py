"""What every view shares: title, prompt, status bar, footer, filter, drill-down, verbs.

A view subclasses :class:`ViewScreen` and fills in four methods:

- :meth:`~ViewScreen.fetch` (runs in a worker thread): ask the data layer for
  this view's view model; it must not touch widgets;
- :meth:`~ViewScreen.show` (on the UI thread): put a view model on screen;
- :meth:`~ViewScreen.open_row`: Enter on a row, usually pushing a detail screen;
- :meth:`~ViewScreen.target`: what a verb key acts on (the selected row).

The app decides *when* to fetch (one refresh at a time, re-armed after each):
see :mod:`mlcore.tui.app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from mlcore.tui import keymap
from mlcore.tui.widgets import KeyBar, Prompt, RowsTable, StatusBar

if TYPE_CHECKING:
    from mlcore.tui.app import MlcoreApp
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import Target

__all__ = ["ViewScreen", "bindings"]


def bindings(screen: str | None) -> list[BindingType]:
    """Textual bindings for the keys of ``screen`` (None: the global keys) from the keymap.

    Global keys are priority bindings: the app acts on them as they arrive, so
    a key typed right after ``:`` already finds the prompt focused (a normal
    binding acts only once the key has bubbled up, after the next keys were
    dispatched). The app types them into a focused input instead.
    """
    keys = [k for k in keymap.KEYS if not k.screens] if screen is None else keymap.active_in(screen)
    return [
        Binding(
            k.key,
            k.action,
            k.footer_label,
            show=k.footer,
            key_display=k.display,
            priority=screen is None,
        )
        for k in keys
        if k.name != "open"  # Enter belongs to the focused table
    ]


class ViewScreen(Screen):
    """One view of the store; see the module docs for what a subclass provides."""

    #: The keymap's name for this screen (keys scoped to it become its bindings).
    VIEW: ClassVar[str] = ""

    def __init__(self, *crumbs: str) -> None:
        super().__init__()
        self.crumbs = crumbs
        self.filter_text = ""
        self.loaded = False

    @property
    def mlcore(self) -> MlcoreApp:
        return self.app  # type: ignore[return-value]

    # -- what a view provides -------------------------------------------------------

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def fetch(self, data: DataAccess) -> Any:
        raise NotImplementedError

    def show(self, model: Any) -> None:
        raise NotImplementedError

    def open_row(self, table: RowsTable, key: str) -> None:
        """Enter on a row of ``table``; nothing by default."""

    def target(self, verb: str) -> Target | None:
        """What ``verb`` would act on; None when nothing fitting is selected."""
        return None

    # -- shared parts -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self.heading(), id="title", markup=False)
        yield from self.body()
        yield Prompt()
        yield StatusBar()
        yield KeyBar(self.VIEW, read_only=self.mlcore.read_only)

    def heading(self) -> str:
        text = " › ".join(("mlcore", *(self.crumbs or (keymap.SCREENS[self.VIEW],))))
        if self.filter_text:
            text += f"   /{self.filter_text}"
        return text

    def loaded_model(self, model: Any) -> None:
        """Called by the app with a fetched view model."""
        first = not self.loaded
        self.loaded = True
        self.show(model)
        if first or self.focused is None:  # rows first; Tab reaches the rest
            self.focus_first_table()

    def focus_first_table(self) -> None:
        for table in self.query(RowsTable):
            if table.display and table.parent is not None and table.parent.display:
                table.focus()
                return

    @property
    def selected_table(self) -> RowsTable | None:
        """The focused table, else the first one shown."""
        focused = self.focused
        if isinstance(focused, RowsTable):
            return focused
        return next((t for t in self.query(RowsTable) if t.display), None)

    def on_screen_resume(self) -> None:
        self.mlcore.request_refresh()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, RowsTable) and event.row_key.value is not None:
            event.stop()
            self.open_row(event.data_table, event.row_key.value)

    def action_verb(self, verb: str) -> None:
        self.mlcore.start_action(verb, self.target(verb))

    # -- prompt, filter, back --------------------------------------------------------------

    @property
    def prompt(self) -> Prompt:
        return self.query_one(Prompt)

    def open_prompt(self, kind: str) -> None:
        self.prompt.open(kind, self.filter_text if kind == "/" else "")

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        for table in self.query(RowsTable):
            table.set_filter(text)
        self.query_one("#title", Static).update(self.heading())

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "prompt-input" and self.prompt.kind == "/":
            self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "prompt-input":
            return
        event.stop()
        self.prompt.close()
        self.focus_first_table()
        if self.prompt.kind == ":":
            self.mlcore.run_command(event.value)

    def back(self) -> None:
        """Esc: close the prompt, else clear the filter, else go back one screen."""
        if self.prompt.display:
            self.prompt.close()
            if self.prompt.kind == "/":
                self.set_filter("")
            self.focus_first_table()
        elif self.filter_text:
            self.set_filter("")
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()
