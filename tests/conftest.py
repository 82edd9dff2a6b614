"""Shared fixtures: small real photos (scikit-image's samples, the shared data set)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    import skimage.data

    return {n: getattr(skimage.data, n)() for n in ("camera", "astronaut", "coffee", "chelsea", "rocket")}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED
