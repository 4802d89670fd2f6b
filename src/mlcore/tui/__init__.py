"""The operator TUI (Textual): ``mlcore tui``.

Only this package imports Textual; the API, the CLI and the capabilities never
do (a test checks). :mod:`mlcore.tui.data` turns API calls into the plain view
models of :mod:`mlcore.tui.viewmodels`; :mod:`mlcore.tui.keymap` is the one
table of keys; :mod:`mlcore.tui.app` runs the views of :mod:`mlcore.tui.screens`.
"""
