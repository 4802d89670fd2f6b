"""The ``mlcore`` command line: a thin typer shell over :mod:`mlcore.api`."""
