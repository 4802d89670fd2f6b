"""Keys are data: one table drives the bindings, the footer, the help screen and the docs.

Each :class:`Key` names the key (as Textual spells it), the action it runs, what
it does, and the screens where it is active (none: everywhere). A *verb* changes
the store and is therefore refused in ``--read-only`` mode. :data:`VIEWS` lists
the six top-level views in number-key order; :data:`SCREENS` names every screen
a key may be scoped to.

This module imports nothing from Textual, so the docs test (and anything else)
can read the table without starting a terminal UI.

Examples
--------
>>> [v.name for v in VIEWS]
['overview', 'features', 'models', 'runs', 'monitoring', 'audit']
>>> find("approve").display, find("approve").verb
('a', True)
>>> resolve_view("mod"), resolve_view("3"), resolve_view("runz")
('models', 'models', None)
>>> sorted(k.display for k in active_in("model") if k.verb)
['a', 'b', 'r', 's', 'x']
"""

from __future__ import annotations

from dataclasses import dataclass

from mlcore.errors import closest

__all__ = [
    "KEYS",
    "SCREENS",
    "VERBS",
    "VIEWS",
    "Key",
    "View",
    "active_in",
    "did_you_mean",
    "find",
    "markdown",
    "resolve_view",
    "suggestions",
]


@dataclass(frozen=True)
class View:
    """A top-level view: its number key, its ``:`` name and what it shows."""

    number: int
    name: str
    title: str
    description: str


VIEWS: tuple[View, ...] = (
    View(1, "overview", "Overview", "production per model, approvals, alerts, runs, store health"),
    View(2, "features", "Features", "feature views; Enter: schema, stats, freshness, users"),
    View(3, "models", "Models", "models -> versions -> card, lineage, evaluation, timeline"),
    View(4, "runs", "Runs", "pipeline runs -> steps with status, timings, cache hits"),
    View(
        5, "monitoring", "Monitoring", "monitors -> drift heat map, sparklines, performance; alerts"
    ),
    View(6, "audit", "Audit", "the audit log and whether its hash chain verifies"),
)

#: Every screen a key may be scoped to: the views, then the screens drilled into.
SCREENS: dict[str, str] = {
    **{v.name: v.title for v in VIEWS},
    "feature": "Feature view detail",
    "model": "Model: its versions",
    "version": "Model version detail",
    "run": "Run detail",
    "monitor": "Monitor detail",
    "drift": "Drift of a column in a window",
    "entry": "Audit entry",
}


@dataclass(frozen=True)
class Key:
    """One key binding.

    ``key`` is Textual's key name, ``display`` how people write it, ``action`` the
    Textual action it runs, ``screens`` where it is active (empty: everywhere),
    ``footer`` whether the footer shows it, ``verb`` whether it changes the store.
    """

    key: str
    display: str
    action: str
    description: str
    screens: tuple[str, ...] = ()
    footer: bool = False
    verb: bool = False
    label: str = ""

    @property
    def footer_label(self) -> str:
        """The footer's one-word label: ``label`` if given, else the action's name."""
        return self.label or self.name

    @property
    def name(self) -> str:
        """The action's name without arguments: ``verb('approve')`` -> ``approve``."""
        head, _, arg = self.action.partition("(")
        return arg.strip("')\"") if head == "verb" else head


_VERSIONS = ("model", "version")
_ALERTS = ("monitoring", "monitor")

KEYS: tuple[Key, ...] = (
    Key("question_mark", "?", "help", "Show every key and where it works", footer=True),
    Key("colon", ":", "command", "Switch view by name (Tab completes)", footer=True, label="view"),
    Key("slash", "/", "filter", "Filter the rows shown", footer=True),
    Key("enter", "Enter", "open", "Open the selected row (drill down)"),
    Key("escape", "Esc", "back", "Close the prompt, clear the filter, or go back"),
    *(Key(str(v.number), str(v.number), f"switch('{v.name}')", f"Go to {v.title}") for v in VIEWS),
    Key("ctrl+r", "Ctrl+R", "reload", "Refresh now (views also refresh on a timer)"),
    Key("ctrl+t", "Ctrl+T", "toggle_theme", "Switch between dark and light colours"),
    Key("q", "q", "quit", "Quit", footer=True),
    Key("s", "s", "verb('submit')", "Submit the version for review", _VERSIONS, True, True),
    Key(
        "a",
        "a",
        "verb('approve')",
        "Approve the version (never one's own)",
        (*_VERSIONS, "overview"),
        True,
        True,
    ),
    Key(
        "x",
        "x",
        "verb('reject')",
        "Reject the version, with a reason",
        (*_VERSIONS, "overview"),
        True,
        True,
    ),
    Key(
        "r",
        "r",
        "verb('release')",
        "Release the version to production (gate checked)",
        _VERSIONS,
        True,
        True,
    ),
    Key(
        "b",
        "b",
        "verb('rollback')",
        "Roll production back to the previous version",
        ("models", *_VERSIONS, "overview"),
        True,
        True,
    ),
    Key(
        "k",
        "k",
        "verb('acknowledge')",
        "Acknowledge the alert, with a comment",
        (*_ALERTS, "overview"),
        True,
        True,
        "ack",
    ),
    Key(
        "t",
        "t",
        "verb('retrain')",
        "Run the alert's retrain pipeline now",
        _ALERTS,
        True,
        True,
    ),
    Key(
        "n",
        "n",
        "next_statistic",
        "Show the next drift statistic in the heat map",
        ("monitor",),
        True,
        label="stat",
    ),
)

#: The actions that change the store, in keymap order.
VERBS: tuple[str, ...] = tuple(k.name for k in KEYS if k.verb)


def find(name: str) -> Key:
    """The key whose action is ``name`` (a verb's name, or an action without arguments)."""
    for k in KEYS:
        if k.name == name or k.action == name:
            return k
    raise KeyError(name)


def active_in(screen: str) -> list[Key]:
    """Keys scoped to ``screen`` (not the global ones)."""
    return [k for k in KEYS if screen in k.screens]


_ALIASES = {"feat": "features", "fv": "features", "mod": "models", "mon": "monitoring"}


def suggestions() -> list[str]:
    """What the ``:`` prompt completes: view names, then ``help`` and ``quit``."""
    return [v.name for v in VIEWS] + ["help", "quit"]


def resolve_view(text: str) -> str | None:
    """The view a ``:`` command names: a name, a unique prefix, an alias or a number."""
    word = text.strip().lower().lstrip(":")
    if not word:
        return None
    names = [v.name for v in VIEWS]
    if word in names:
        return word
    if word in _ALIASES:
        return _ALIASES[word]
    if word.isdigit():
        return next((v.name for v in VIEWS if v.number == int(word)), None)
    starting = [n for n in names if n.startswith(word)]
    return starting[0] if len(starting) == 1 else None


def did_you_mean(text: str) -> str | None:
    """The closest view name to a ``:`` command nobody recognised."""
    return closest(text.strip().lower(), [v.name for v in VIEWS])


def markdown() -> str:
    """The key table as Markdown; docs/concepts/tui.md carries it verbatim (a test checks)."""
    lines = ["| Key | Does | Where |", "| --- | --- | --- |"]
    for k in KEYS:
        where = ", ".join(SCREENS[s] for s in k.screens) if k.screens else "everywhere"
        verb = " *(verb: off in --read-only)*" if k.verb else ""
        lines.append(f"| `{k.display}` | {k.description}{verb} | {where} |")
    return "\n".join(lines)
