"""``explain()``: everything the network "thinks" about one photo, in one object."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinct.color.gamut import ab_bins
from tinct.color.upsample import resize_plane
from tinct.colorizer import (
    DEFAULT_BALANCE,
    DEFAULT_SIZE,
    DEFAULT_TEMPERATURE,
    balance_shift,
    compose,
    decode_ab,
    light_at,
    prepare,
)
from tinct.interpret._distribution import cached_logits, entropy_bits, log_probabilities, max_entropy_bits
from tinct.interpret.regions import DEFAULT_REGIONS, Region, describe_regions
from tinct.interpret.saliency import cells_box, gradient_map, target_cells
from tinct.interpret.suggest import Suggestion, suggest_colors

__all__ = ["Explanation", "explain"]


@dataclass
class Explanation:
    """What :func:`explain` found out about one photo.

    Attributes
    ----------
    entropy : ndarray, shape (H, W), float32
        Entropy of the predicted ab distribution (temperature 1) in bits, bilinearly
        upsampled from the network's grid to the photo's size. 0 = all mass on one ab bin,
        ``max_entropy`` = spread evenly over all Q bins.
    entropy_lo : ndarray, shape (h, w), float32
        The same on the network's grid (one value per 4 x 4 working pixels).
    normalised_entropy : ndarray, shape (H, W), float32
        ``entropy / log2(Q)``, in [0, 1].
    colorized : ndarray
        The automatic colorization at ``temperature``, as :func:`tinct.colorize` returns it
        (input dtype, alpha kept).
    regions : list of Region
        Superpixels with their top-k candidate colours; ids match ``labels``.
    labels : ndarray, shape (H, W), int32
        Region id of every pixel.
    saliency : ndarray, shape (H, W), float32, or None
        Gradient saliency in [0, 1] for ``saliency_target`` (None with ``with_saliency=False``).
    saliency_box : (x0, y0, x1, y1) or None
        Bounding box, in pixels, of the network cells the saliency explains.
    saliency_target : str
        What the saliency explains, in words ("point (x, y)", "most uncertain region #7 ...").
    point : (x, y) or None
        The point asked about, with ``point_suggestions`` its top-k colours.
    model, size, temperature, k, levels, balance :
        The settings used (``levels``: the network saw the photo's lightness stretched, as for a
        faded scan; see :func:`tinct.colorizer.stretch_levels`; ``balance``: the logit adjustment
        applied, 0 when the weight file has no colour prior).
    """

    entropy: np.ndarray
    entropy_lo: np.ndarray
    normalised_entropy: np.ndarray
    colorized: np.ndarray
    regions: list[Region]
    labels: np.ndarray
    saliency: np.ndarray | None
    saliency_box: tuple[int, int, int, int] | None
    saliency_target: str
    model: str
    size: int
    temperature: float
    k: int
    point: tuple[int, int] | None = None
    point_suggestions: list[Suggestion] = field(default_factory=list)
    levels: bool = False
    balance: float = 0.0

    @property
    def num_bins(self) -> int:
        """Q, the number of ab bins of the network."""
        return len(ab_bins())

    @property
    def max_entropy(self) -> float:
        """log2(Q) bits: the entropy of a uniform distribution over the bins."""
        return max_entropy_bits(self.num_bins)


def explain(image: np.ndarray, *, model: str = "default", size: int = DEFAULT_SIZE, k: int = 5,
            temperature: float = DEFAULT_TEMPERATURE, n_regions: int = DEFAULT_REGIONS,
            point: tuple[int, int] | None = None, box: tuple[int, int, int, int] | None = None,
            saliency_target: str = "bin", with_saliency: bool = True, levels: bool = False,
            balance: float = DEFAULT_BALANCE) -> Explanation:
    """Explain the automatic colorization of a photo.

    Runs the network once (its logits are cached, so :func:`suggest_colors` on the same
    photo afterwards is instant) and, with saliency, one backward pass.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C in 1-4
        The photo (uint8, uint16 or float in [0, 1]); a colour photo is reduced to its
        lightness (no warning: explaining what the network would do is the point).
    model, size, temperature, levels, balance :
        As in :func:`tinct.colorize`; ``temperature`` is used only for ``colorized``
        (and ``saliency_target="chroma"``): entropies and probabilities are those of the
        distribution the colours are decoded from (after ``balance``) at temperature 1.
    k : int
        Candidate colours per region (and at ``point``).
    n_regions : int
        Target number of superpixels (SLIC gives roughly this many).
    point : (x, y), optional
        A pixel to explain: its suggestions are computed and the saliency explains it.
    box : (x0, y0, x1, y1), optional
        Region for the saliency instead (end exclusive). With neither ``point`` nor ``box``
        the saliency explains the most uncertain region.
    saliency_target : {"bin", "chroma"}
        See :func:`tinct.interpret.saliency`.
    with_saliency : bool
        Skip the backward pass with False (``saliency`` is then None).

    Returns
    -------
    Explanation

    Examples
    --------
    >>> import skimage.data
    >>> from tinct.interpret import explain
    >>> ex = explain(skimage.data.camera(), k=3)
    >>> ex.entropy.shape, 0 <= float(ex.normalised_entropy.min()) <= float(ex.normalised_entropy.max()) <= 1
    ((512, 512), True)
    >>> len(ex.regions[0].candidates)
    3
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if point is not None and box is not None:
        raise ValueError("give at most one of point and box")
    prep = prepare(image)
    shape = prep.light.shape
    logits = cached_logits(image, model=model, size=size, light=prep.light, levels=levels, balance=balance)
    grid = logits.shape[1:]
    # Distribution and its entropy on the grid, entropy at full resolution.
    prob = np.exp(log_probabilities(logits))
    entropy_lo = entropy_bits(logits)
    top = max_entropy_bits(len(prob))
    entropy = np.clip(resize_plane(entropy_lo, shape), 0.0, top)
    # The colorization itself, as colorize() makes it.
    light_lo = light_at(prep.light, grid)
    colorized = compose(decode_ab(logits, light_lo, temperature=temperature), light_lo, prep)
    # Regions and their candidate colours.
    labels, regions = describe_regions(prep.light, prob, entropy, k=int(k), n_regions=n_regions, size=size)
    del prob
    point_xy, point_suggestions = None, []
    if point is not None:
        point_suggestions = suggest_colors(image, point[0], point[1], k=int(k), model=model, size=size,
                                           levels=levels, balance=balance)
        point_xy = (int(np.floor(float(point[0]))), int(np.floor(float(point[1]))))
    sal, sal_box, sal_what = None, None, ""
    if with_saliency:
        cells, sal_what = target_cells(prep, grid, box=box, point=point, entropy_lo=entropy_lo, labels=labels,
                                       size=size)
        sal = gradient_map(prep.light, cells, model=model, size=size, target=saliency_target,
                           temperature=temperature, levels=levels, balance=balance)
        sal_box = cells_box(cells, shape)
    return Explanation(
        entropy=entropy.astype(np.float32), entropy_lo=entropy_lo,
        normalised_entropy=(entropy / top).astype(np.float32),
        colorized=colorized, regions=regions, labels=labels, saliency=sal, saliency_box=sal_box,
        saliency_target=sal_what, model=str(model), size=int(size), temperature=float(temperature), k=int(k),
        point=point_xy, point_suggestions=point_suggestions, levels=bool(levels),
        balance=float(balance) if balance_shift(model, balance) is not None else 0.0)

