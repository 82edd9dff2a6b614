"""tinct: bring colour to photographs.

Automatic and guided colorization, colour transfer between photos, explanations of
what the network predicts. ``import tinct`` is light: torch is imported only when a
network is first used, and the I/O and transfer modules when first touched.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_EXPORTS = {
    "colorize": "tinct.api",
    "transfer": "tinct.match",
    "Palette": "tinct.match",
    "suggest_colors": "tinct.interpret",
    "explain": "tinct.interpret",
    "Hint": "tinct.guide.hints",
    "GuidedSession": "tinct.guide",
    "imread": "tinct.io",
    "imwrite": "tinct.io",
    "ImageError": "tinct.io",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tinct' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
