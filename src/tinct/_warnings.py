"""Silencing warnings from code that may run in several threads at once.

``warnings.catch_warnings`` swaps the process-wide filter list on entry and puts its saved
copy back on exit, so two threads inside it at the same time leave one thread's filters
behind for good (tinct serve decodes uploads in a thread pool). Every silencing context of
tinct goes through :func:`ignoring`, which lets one thread in at a time.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any

_LOCK = threading.RLock()  # re-entrant: an ignoring() block may call code that uses another


@contextlib.contextmanager
def ignoring(*rules: dict[str, Any]) -> Iterator[None]:
    """Ignore the warnings matching ``rules`` (keyword arguments of ``warnings.filterwarnings``;
    none = every warning) inside the block, thread-safely."""
    with _LOCK, warnings.catch_warnings():
        for rule in rules or ({},):
            warnings.filterwarnings("ignore", **rule)
        yield
