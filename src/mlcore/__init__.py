"""mlcore: the whole ML lifecycle in one directory and one Python process."""

from __future__ import annotations

from mlcore.errors import MlcoreError

__version__ = "0.1.0"
__all__ = ["MlcoreError", "__version__"]
