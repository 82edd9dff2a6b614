"""``tinct serve``: the web page and JSON API (needs the ``serve`` extra: fastapi, uvicorn, python-multipart).

``create_app`` builds the FastAPI application, ``run`` serves it with uvicorn; see
``docs/web.md``. Importing this package does not import FastAPI: that happens on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tinct.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'tinct.serve' has no attribute {name!r}")
