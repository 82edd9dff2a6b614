"""Guided colorization speed: 1 MP photo with 20 hints, and one more hint after that.

    python benchmarks/bench_guide.py

Targets (issue #7): <= 1 s for 20 hints after the network pass; re-solving after one more
hint faster still (the cached factorisation preconditions a warm-started CG solve).
Baseline in the same run: the automatic result alone (no hints) from the same session.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from PIL import Image


def main() -> None:
    import skimage.data

    from tinct.guide import GuidedSession, Hint

    gray = np.asarray(Image.fromarray(skimage.data.astronaut()).convert("L").resize((1155, 866)))  # 1.0 MP
    rng = np.random.default_rng(0)
    hints = [Hint(float(x), float(y), tuple(int(c) for c in rng.integers(0, 256, 3)), 3)
             for x, y in zip(rng.integers(0, 1155, 21), rng.integers(0, 866, 21), strict=True)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        session = GuidedSession(gray)
        t_net = time.perf_counter() - t
        t = time.perf_counter()
        session.render([])
        t_auto = time.perf_counter() - t
        t = time.perf_counter()
        session.render(hints[:20])
        t_20 = time.perf_counter() - t
        t = time.perf_counter()
        session.render(hints)
        t_21 = time.perf_counter() - t
    print(f"network pass (once per photo): {t_net:.2f} s")
    print(f"render without hints (baseline): {t_auto:.2f} s")
    print(f"render with 20 hints: {t_20:.2f} s (target <= 1 s); {t_20 / t_auto:.2f}x the baseline")
    print(f"render after one more hint: {t_21:.2f} s ({t_21 / t_20:.2f}x the 20-hint solve); "
          f"solver: {session._solver.solves}")


if __name__ == "__main__":
    main()
