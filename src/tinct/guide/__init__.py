"""Guided colorization: colour hints, scribbles and a reference photo steer the result.

The network's prediction is a soft data term everywhere; hints are near-hard
constraints propagated edge-aware over the lightness (:mod:`tinct.guide.levin`); a
reference photo re-weights the network's per-pixel colour distribution towards the
reference's palette (:mod:`tinct.guide.reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tinct.color.gamut import clip_ab_to_gamut
from tinct.color.upsample import guided_upsample
from tinct.colorizer import (
    DEFAULT_BALANCE,
    DEFAULT_SIZE,
    DEFAULT_TEMPERATURE,
    MAX_ASPECT,
    Prepared,
    compose,
    decode_ab,
    light_at,
    predict_logits,
    prepare,
)
from tinct.guide.hints import (
    Hint,
    hint_pixels,
    hints_from_json,
    hints_from_scribbles,
    parse_color,
    parse_hint,
    rasterize,
)
from tinct.guide.levin import PropagationSolver

__all__ = ["Hint", "parse_hint", "parse_color", "hints_from_json", "hints_from_scribbles", "GuidedSession",
           "colorize_guided", "ENGINES"]

ENGINES = ("auto", "levin")  # network + hints, or hints alone (no network)
SOLVE_SIZE = 192  # short side of the grid the hints are propagated on (finer than the working size)


def solve_shape(height: int, width: int, size: int = SOLVE_SIZE) -> tuple[int, int]:
    """Propagation grid: short side ``size``, long side at most ``MAX_ASPECT * size`` (never
    larger than the photo)."""
    scale = min(1.0, size / min(height, width), MAX_ASPECT * size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


@dataclass
class GuidedSession:
    """One photo being colorized interactively: the network runs once, hints re-solve fast.

    Examples
    --------
    >>> s = GuidedSession(gray)                      # doctest: +SKIP
    >>> out = s.render([Hint(120, 80, (200, 30, 40), radius=3)])  # doctest: +SKIP
    """

    image: np.ndarray
    engine: str = "auto"
    model: str = "default"
    size: int = DEFAULT_SIZE
    reference: np.ndarray | None = None
    levels: bool = False  # stretch a faded scan's L for the network (tinct.colorizer.stretch_levels)
    # logit adjustment (tinct.colorizer.balance_shift); with a reference it does not apply: the
    # reference's palette replaces the whole training prior (tinct.guide.reference.reference_shift)
    balance: float = DEFAULT_BALANCE
    prep: Prepared = field(init=False, repr=False)
    logits: np.ndarray | None = field(init=False, default=None, repr=False)
    _solver: PropagationSolver | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        self.prep = prepare(self.image)
        if self.engine == "auto":
            self.logits = predict_logits(self.prep.light, model=self.model, size=self.size, levels=self.levels,
                                         balance=self.balance if self.reference is None else 0.0)
            if self.reference is not None:
                from tinct.guide.reference import reweight_by_reference

                self.logits = reweight_by_reference(self.logits, self.reference, model=self.model)
        elif self.reference is not None:
            raise ValueError("a reference photo needs the network: use engine='auto'")
        h, w = self.prep.light.shape
        self.grid = solve_shape(h, w)
        self.light_grid = light_at(self.prep.light, self.grid)

    def check_hints(self, hints: Sequence[Hint]) -> None:
        h, w = self.prep.light.shape
        for hi in hints:
            if not isinstance(hi, Hint):
                raise TypeError(f"hints must be tinct.Hint(x, y, rgb, radius) objects, got {hi!r}")
            if not (0 <= hi.x < w and 0 <= hi.y < h):
                raise ValueError(f"hint at ({hi.x:g}, {hi.y:g}) is outside the {w}x{h} photo")

    def auto_ab(self, *, temperature: float, saturation: float) -> np.ndarray:
        """The network's chroma on the propagation grid (zero for the levin engine)."""
        if self.logits is None:
            return np.zeros(self.grid + (2,), np.float32)
        light_lo = light_at(self.prep.light, self.logits.shape[1:])
        ab_lo = decode_ab(self.logits, light_lo, temperature=temperature, saturation=saturation)
        ab = guided_upsample(ab_lo, light_lo, self.light_grid)
        if self.reference is not None:
            from tinct.guide.reference import match_reference_chroma

            ab = match_reference_chroma(self.light_grid, ab, self.reference)
        return ab

    def render(self, hints: Sequence[Hint] = (), *, temperature: float = DEFAULT_TEMPERATURE,
               saturation: float = 1.0) -> np.ndarray:
        """The photo colorized with these hints (same size, dtype and alpha as the input)."""
        self.check_hints(hints)
        target = self.auto_ab(temperature=temperature, saturation=saturation)
        h, w = self.prep.light.shape
        if hints:
            scale = (self.grid[0] / h, self.grid[1] / w)
            mask, hint_ab = rasterize(list(hints), self.grid, scale=scale)
            if self._solver is None:
                # Without a network there is no data term to fall back on: hints must travel far.
                self._solver = PropagationSolver(self.light_grid,
                                                 data_weight=1e-3 if self.logits is not None else 1e-6)
            target = target + self._solver.solve(mask, hint_ab - target)
        lab_grid = clip_ab_to_gamut(np.concatenate([self.light_grid[..., None], target], axis=-1))
        exact = None
        if hints:
            # Hints are exact where they were given (the grid solve is at lower resolution),
            # within the gamut at the photo's own lightness there.
            ys, xs, values = hint_pixels(list(hints), (h, w))
            lab = clip_ab_to_gamut(np.concatenate([self.prep.light[ys, xs][:, None], values], axis=-1))
            exact = (ys, xs, lab[:, 1:])
        return compose(lab_grid[..., 1:], self.light_grid, self.prep, exact=exact)


def colorize_guided(image: np.ndarray, *, hints: Sequence[Hint] = (), reference: np.ndarray | None = None,
                    engine: str = "auto", model: str = "default", temperature: float = DEFAULT_TEMPERATURE,
                    saturation: float = 1.0, size: int = DEFAULT_SIZE, levels: bool = False,
                    balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Colorize with hints and/or a reference photo (see :func:`tinct.colorize`)."""
    session = GuidedSession(image, engine=engine, model=model, size=size, reference=reference, levels=levels,
                            balance=balance)
    return session.render(hints, temperature=temperature, saturation=saturation)
