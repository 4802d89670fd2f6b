"""The operator TUI: k9s-style views of one store, live, keyboard first.

Architecture (as harlequin's): the app never touches the store on the UI
thread. Every read and every action runs in a thread worker that calls
:class:`~mlcore.tui.data.DataAccess` and posts a message back; handlers on the
UI thread only update widgets.

Refresh. One refresh is in flight at a time: :meth:`MlcoreApp.request_refresh`
fetches the active view, and the timer for the next one is armed only when that
fetch has finished (a request meanwhile is remembered and run right after). A
busy store (:class:`~mlcore.errors.StoreBusy`, raised after a short wait)
shows "store busy, retrying" and retries sooner; any other error is shown in
the status bar, never raised. Between refreshes the TUI holds no catalog
connection (the catalog lets go by itself once idle), so batch jobs write
while it is open.

Actions. A verb key asks the view for its target (the selected row), fetches
a preview (who acts, what changes, the gate for a release), shows it in a
confirmation dialog and, once confirmed, runs the action; a refusal (denied,
blocked by the gate, not allowed now) is shown with the store's reason.
``read_only`` turns every verb off and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input

from mlcore.errors import StoreBusy
from mlcore.tui import keymap
from mlcore.tui.screens.audit import AuditScreen
from mlcore.tui.screens.base import ViewScreen, bindings
from mlcore.tui.screens.dialogs import ConfirmScreen, RefusedScreen
from mlcore.tui.screens.features import FeaturesScreen
from mlcore.tui.screens.help import HelpScreen
from mlcore.tui.screens.models import ModelsScreen
from mlcore.tui.screens.monitoring import MonitoringScreen
from mlcore.tui.screens.overview import OverviewScreen
from mlcore.tui.screens.runs import RunsScreen
from mlcore.tui.widgets import Status

if TYPE_CHECKING:
    from mlcore.api import Store
    from mlcore.tui.data import DataAccess
    from mlcore.tui.viewmodels import ActionPreview, Target

__all__ = ["MlcoreApp", "run"]

#: Seconds before retrying after the store was busy (sooner than a normal tick).
BUSY_RETRY = 1.0

_VIEW_SCREENS: dict[str, type[ViewScreen]] = {
    "overview": OverviewScreen,
    "features": FeaturesScreen,
    "models": ModelsScreen,
    "runs": RunsScreen,
    "monitoring": MonitoringScreen,
    "audit": AuditScreen,
}
assert list(_VIEW_SCREENS) == [v.name for v in keymap.VIEWS]

# global actions that make no sense while a dialog is open
_VIEW_ACTIONS = {"help", "command", "filter", "switch", "reload", "quit", "back", "toggle_theme"}


class Fetched(Message):
    """A view's fetch finished: its view model, or the error it raised."""

    def __init__(self, screen: ViewScreen, model: Any, error: BaseException | None) -> None:
        super().__init__()
        self.screen = screen
        self.model = model
        self.error = error


class Previewed(Message):
    def __init__(self, preview: ActionPreview) -> None:
        super().__init__()
        self.preview = preview


class ActionDone(Message):
    """A verb ran (``message`` says what happened) or was refused (``error``)."""

    def __init__(
        self, verb: str, target: Target, message: str | None, error: BaseException | None
    ) -> None:
        super().__init__()
        self.verb = verb
        self.target = target
        self.message = message
        self.error = error


class MlcoreApp(App[None]):
    """The TUI over one :class:`~mlcore.tui.data.DataAccess`.

    Parameters
    ----------
    data
        The data layer (tests pass a fake with the same methods).
    read_only
        Turn every verb off.
    interval
        Seconds between the end of one refresh and the start of the next.
    clock
        The time shown as "refreshed at" (tests fix it).
    """

    TITLE = "mlcore"
    CSS_PATH = "app.tcss"
    MODES = dict(_VIEW_SCREENS)  # noqa: RUF012 - Textual reads it as a class variable
    BINDINGS = bindings(None)

    status: reactive[Status] = reactive(Status("starting"))

    def __init__(
        self,
        data: DataAccess,
        *,
        read_only: bool = False,
        interval: float = 2.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.data = data
        self.read_only = read_only
        self.interval = interval
        self.clock = clock or (lambda: datetime.now(UTC))
        self._inflight: ViewScreen | None = None
        self._again = False
        self._timer: Timer | None = None
        #: finished refreshes, counted (tests wait on it)
        self.refreshes = 0

    def on_mount(self) -> None:
        self.switch_mode("overview")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in _VIEW_ACTIONS and isinstance(self.screen, ModalScreen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for v in keymap.VIEWS:
            yield SystemCommand(f"View: {v.title}", v.description, partial(self.switch_to, v.name))

    # -- refresh: one at a time, re-armed when done -----------------------------------------

    def request_refresh(self) -> None:
        """Fetch the active view now, or right after the fetch in flight."""
        if self._inflight is not None:
            self._again = True
            return
        screen = self.screen
        if not isinstance(screen, ViewScreen):  # a dialog is open: look again later
            self._arm(self.interval)
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._inflight = screen
        self._fetch(screen)

    @work(thread=True, group="store", exit_on_error=False)
    def _fetch(self, screen: ViewScreen) -> None:
        try:
            model = screen.fetch(self.data)
        except Exception as exc:  # shown in the status bar; the TUI keeps running
            self.post_message(Fetched(screen, None, exc))
        else:
            self.post_message(Fetched(screen, model, None))

    def on_fetched(self, message: Fetched) -> None:
        self._inflight = None
        self.refreshes += 1
        error = message.error
        delay = self.interval
        if error is None:
            if message.screen.is_attached:
                message.screen.loaded_model(message.model)
            self.status = Status(f"refreshed {self.clock():%H:%M:%S} UTC", "ok")
        elif isinstance(error, StoreBusy):
            holder = f", held by {error.holder}" if error.holder else ""
            self.status = Status(f"store busy, retrying{holder}", "busy")
            delay = min(BUSY_RETRY, self.interval)
        else:
            self.status = Status(f"error: {error}", "bad")
        if self._again:
            self._again = False
            self.request_refresh()
        else:
            self._arm(delay)

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(delay, self.request_refresh)

    # -- actions on the store ----------------------------------------------------------------

    def start_action(self, verb: str, target: Target | None) -> None:
        if self.read_only:
            self.notify(
                f"read-only: {verb} is off (the TUI was started with --read-only)",
                severity="warning",
            )
            return
        if target is None:
            self.notify(f"nothing to {verb} here: select a row it applies to", severity="warning")
            return
        self._preview(verb, target)

    @work(thread=True, group="store", exit_on_error=False)
    def _preview(self, verb: str, target: Target) -> None:
        try:
            preview = self.data.preview(verb, target)
        except Exception as exc:
            self.post_message(ActionDone(verb, target, None, exc))
        else:
            self.post_message(Previewed(preview))

    def on_previewed(self, message: Previewed) -> None:
        preview = message.preview

        def confirmed(reason: str | None) -> None:
            if reason is not None:
                self._perform(preview.verb, preview.target, reason)

        self.push_screen(ConfirmScreen(preview), confirmed)

    @work(thread=True, group="store", exit_on_error=False)
    def _perform(self, verb: str, target: Target, reason: str) -> None:
        try:
            done = self.data.perform(verb, target, reason)
        except Exception as exc:
            self.post_message(ActionDone(verb, target, None, exc))
        else:
            self.post_message(ActionDone(verb, target, done, None))

    def on_action_done(self, message: ActionDone) -> None:
        if message.error is not None:
            self.push_screen(RefusedScreen(message.verb, message.target.label, message.error))
        else:
            self.notify(message.message or f"{message.verb} done")
            self.request_refresh()

    # -- key actions -------------------------------------------------------------------------

    def _view(self) -> ViewScreen | None:
        return self.screen if isinstance(self.screen, ViewScreen) else None

    def _typed(self, action: str) -> bool:
        """Type a global key's character into the focused input, if one has focus."""
        focused = self.focused
        char = keymap.find(action).display
        if isinstance(focused, Input) and len(char) == 1:
            focused.insert_text_at_cursor(char)
            return True
        return False

    def action_switch(self, view: str) -> None:
        if not self._typed(f"switch('{view}')"):
            self.switch_to(view)

    def switch_to(self, view: str) -> None:
        """Show ``view``; the current view's own key goes back to its top."""
        if self.current_mode == view:
            while len(self.screen_stack) > 1:
                self.pop_screen()
        else:
            self.switch_mode(view)

    def action_help(self) -> None:
        if not self._typed("help"):
            self.show_help()

    def show_help(self) -> None:
        screen = self._view()
        self.push_screen(HelpScreen(screen.VIEW if screen else "", self.read_only))

    def action_command(self) -> None:
        if not self._typed("command") and (screen := self._view()) is not None:
            screen.open_prompt(":")

    def action_filter(self) -> None:
        if not self._typed("filter") and (screen := self._view()) is not None:
            screen.open_prompt("/")

    async def action_back(self) -> None:
        if (screen := self._view()) is not None:
            screen.back()

    async def action_quit(self) -> None:
        if not self._typed("quit"):
            self.exit()

    def action_reload(self) -> None:
        self.request_refresh()

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def run_command(self, text: str) -> None:
        """A ``:`` command: a view name (or prefix, alias, number), ``help`` or ``quit``."""
        word = text.strip().lower()
        if word in ("q", "quit", "exit"):
            self.exit()
        elif word in ("help", "?"):
            self.show_help()
        elif (view := keymap.resolve_view(word)) is not None:
            self.switch_to(view)
        elif word:
            near = keymap.did_you_mean(word)
            hint = f" Did you mean :{near}?" if near else ""
            self.notify(f"no view '{word}'.{hint}", severity="warning")


def run(
    store: Store, *, read_only: bool = False, interval: float = 2.0
) -> None:  # pragma: no cover - drives a real terminal; tested through tmux
    """Open the TUI on ``store`` until the operator quits."""
    from mlcore.tui.data import DataAccess

    MlcoreApp(DataAccess(store), read_only=read_only, interval=interval).run()
