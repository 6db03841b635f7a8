"""stackwise: recommend a Python web framework and scaffold a production-ready project for it."""

from __future__ import annotations

__version__ = "0.1.0"
