"""The footer: the keys of this screen, straight from the keymap table.

One line of text rather than a widget per key: it is rebuilt never, and it
shows exactly the keys the table marks for the footer (verbs first, struck
through in ``--read-only`` mode).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mlcore.tui import keymap

__all__ = ["KeyBar", "footer_keys"]


def footer_keys(screen: str) -> list[keymap.Key]:
    """The footer's keys on ``screen``: its own (verbs) first, then the global ones.

    >>> [k.display for k in footer_keys("audit")]
    ['?', ':', '/', 'q']
    >>> [k.footer_label for k in footer_keys("model")][:3]
    ['submit', 'approve', 'reject']
    """
    return [k for k in keymap.active_in(screen) if k.footer] + [
        k for k in keymap.KEYS if not k.screens and k.footer
    ]


class KeyBar(Static):
    def __init__(self, screen: str, *, read_only: bool = False) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for k in footer_keys(screen):
            off = read_only and k.verb
            text.append(f" {k.display} ", style="bold reverse" if not off else "dim")
            text.append(f" {k.footer_label}  ", style="strike dim" if off else "")
        super().__init__(text, id="keybar")
