"""The screens of the TUI: one module per view, with the screens it drills into."""
