"""Colours read on dark and light themes: contrast ratios computed as WCAG 2 defines them."""

from __future__ import annotations

from textual.app import App

from mlcore.tui.widgets.heatmap import heat_style
from mlcore.tui.widgets.table import tone_style

THEMES = ("textual-dark", "textual-light")


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#RRGGBB``."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_reference_values() -> None:
    assert contrast("#000000", "#FFFFFF") == 21.0
    assert round(contrast("#777777", "#FFFFFF"), 2) == 4.48  # WCAG's classic borderline grey


async def test_heat_cells_and_tones_read_on_both_themes() -> None:
    app = App()
    async with app.run_test() as pilot:
        for theme in THEMES:
            app.theme = theme
            await pilot.pause()
            variables = app.theme_variables
            backgrounds = set()
            for status in ("ok", "warn", "drift"):
                style = heat_style(variables, status).removeprefix("bold ")
                foreground, _, background = style.partition(" on ")
                backgrounds.add(background)
                # AAA for normal text: the cell's number reads as well as body text
                assert contrast(foreground, background) >= 7.0, (theme, status)
            assert len(backgrounds) == 3  # three statuses, three colours
            assert heat_style(variables, "drift").startswith("bold ")  # also without colour
            for tone in ("ok", "bad", "warn"):
                colour, bold = tone_style(variables, tone).split()
                assert bold == "bold"
                # bold text: WCAG's large-text level (3:1) on the screen's background
                assert contrast(colour, variables["background"]) >= 3.0, (theme, tone)
