"""Gradient saliency: which part of the photo drove the colour of a region.

For a target region of the photo, the network's prediction there is reduced to one
number, and its gradient with respect to the input lightness says how much each input
pixel influences it ("vanilla gradient" saliency, Simonyan et al. 2014). The number is
either the mean log-probability of the region's most likely ab bin (``target="bin"``,
the default: "what made the network pick this colour") or the mean annealed-mean chroma
over the region (``target="chroma"``: "what made it colourful at all"). The absolute
gradient is smoothed with a Gaussian (raw gradients are speckled at the encoder's
stride) and divided by its 99.5th percentile, clipped at 1, so the map is in [0, 1] with
1 on the most influential 0.5 % of the working pixels.

Saliency maps show sensitivity, not cause: a high value says that changing the
lightness there would change the prediction most, to first order.

References
----------
.. [1] K. Simonyan, A. Vedaldi, A. Zisserman, "Deep Inside Convolutional Networks:
   Visualising Image Classification Models and Saliency Maps", ICLR workshop 2014.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from tinct.color.gamut import ab_bins
from tinct.color.upsample import resize_plane
from tinct.colorizer import (
    DEFAULT_BALANCE,
    DEFAULT_SIZE,
    DEFAULT_TEMPERATURE,
    STRIDE,
    Prepared,
    balance_shift,
    prepare,
    working_shape,
)
from tinct.interpret._distribution import cached_logits, entropy_bits, grid_box, grid_index

__all__ = ["saliency", "TARGETS"]

TARGETS = ("bin", "chroma")
NORM_PERCENTILE = 99.5  # the map is |gradient| / this percentile of it, clipped at 1


def _check_box(box: tuple, height: int, width: int) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(v) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"box must be (x0, y0, x1, y1), got {box!r}") from None
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(f"box {box!r} must satisfy 0 <= x0 < x1 <= {width} and 0 <= y0 < y1 <= {height}")
    return x0, y0, x1, y1


def _check_point(point: tuple, height: int, width: int) -> tuple[int, int]:
    try:
        x, y = (int(np.floor(float(v))) for v in point)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"point must be (x, y), got {point!r}") from None
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"point {point!r} is outside the image (need 0 <= x < {width}, 0 <= y < {height})")
    return x, y


def point_cells(x: int, y: int, shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """Cells (h, w) mask of a point's target: its cell and the 8 around it (about 12 x 12 working px)."""
    r, c = grid_index(x, y, shape, grid)
    mask = np.zeros(grid, bool)
    mask[max(0, r - 1):r + 2, max(0, c - 1):c + 2] = True
    return mask


def mask_cells(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Cells (h, w) mask of a full-resolution pixel mask: cells holding any of its pixels."""
    mask = np.asarray(mask, bool)
    rows, cols = np.nonzero(mask)
    height, width = mask.shape
    out = np.zeros(grid, bool)
    out[np.minimum(grid[0] - 1, ((rows + 0.5) * grid[0] / height).astype(int)),
        np.minimum(grid[1] - 1, ((cols + 0.5) * grid[1] / width).astype(int))] = True
    return out


def cells_box(cells: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Full-resolution bounding box (x0, y0, x1, y1) of a cell mask."""
    rows, cols = np.nonzero(cells)
    h, w = cells.shape
    height, width = shape
    return (int(cols.min() * width // w), int(rows.min() * height // h),
            int(-(-(cols.max() + 1) * width // w)), int(-(-(rows.max() + 1) * height // h)))


def gradient_map(light: np.ndarray, cells: np.ndarray, *, model: str = "default", size: int = DEFAULT_SIZE,
                 target: str = "bin", temperature: float = DEFAULT_TEMPERATURE,
                 sigma: float | None = None, levels: bool = False, balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Saliency (H, W) in [0, 1] of the full-resolution ``light`` for the target ``cells`` (h, w)."""
    import torch

    from tinct.models._weights import load_model

    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    net = load_model(model)
    from tinct.colorizer import working_light

    work = working_light(light, size, levels=levels)  # the image predict_logits feeds the network
    # the logits predict_logits returns: the balance shift picks the target bin and weighs the
    # gradient (d log softmax(z + c)_k = dz_k - sum_j p_j(z + c) dz_j), so it must be there
    shift = balance_shift(model, balance)
    hw, ww = work.shape
    x = torch.from_numpy(work)[None, None].requires_grad_(True)
    with torch.enable_grad():
        logits = net(x)[0]
        if shift is not None:
            logits = logits + torch.from_numpy(shift)[:, None, None]
        if logits.shape[1:] != cells.shape:
            raise ValueError(f"target cells {cells.shape} do not match the network grid {tuple(logits.shape[1:])}")
        m = torch.from_numpy(np.ascontiguousarray(cells))
        picked = logits[:, m]  # (Q, n)
        if target == "bin":
            logp = torch.log_softmax(picked, dim=0)
            top = int(logp.detach().exp().mean(dim=1).argmax())
            objective = logp[top].mean()
        else:
            p = torch.softmax(picked / temperature, dim=0)
            ab = p.T @ torch.from_numpy(ab_bins())
            objective = ab.pow(2).sum(dim=1).add(1e-6).sqrt().mean()
        (grad,) = torch.autograd.grad(objective, x)
    g = grad[0, 0].abs().numpy().astype(np.float32)
    # Smooth out the stride speckle, normalise (a few hot pixels must not flatten the rest).
    g = gaussian_filter(g, sigma if sigma is not None else max(1.0, min(hw, ww) / 64))
    peak = float(np.percentile(g, NORM_PERCENTILE))
    if not np.isfinite(peak) or peak <= 0:
        peak = float(g.max())
    if not np.isfinite(peak) or peak <= 0:
        return np.zeros(light.shape, np.float32)
    g = np.minimum(g / peak, 1.0)
    return np.clip(resize_plane(g, light.shape), 0.0, 1.0)


def target_cells(prep: Prepared, grid: tuple[int, int], *, box=None, point=None, mask=None,
                 entropy_lo: np.ndarray | None = None, labels: np.ndarray | None = None,
                 size: int = DEFAULT_SIZE) -> tuple[np.ndarray, str]:
    """The target's cell mask and a description of it (default: the most uncertain region)."""
    shape = prep.light.shape
    given = sum(v is not None for v in (box, point, mask))
    if given > 1:
        raise ValueError("give at most one of box, point and mask")
    if box is not None:
        x0, y0, x1, y1 = _check_box(box, *shape)
        return grid_box((x0, y0, x1, y1), shape, grid), f"box ({x0}, {y0}, {x1}, {y1})"
    if point is not None:
        x, y = _check_point(point, *shape)
        return point_cells(x, y, shape, grid), f"point ({x}, {y})"
    if mask is not None:
        mask = np.asarray(mask, bool)
        if mask.shape != shape:
            raise ValueError(f"mask must have the image's shape {shape}, got {mask.shape}")
        if not mask.any():
            raise ValueError("mask is empty")
        return mask_cells(mask, grid), "mask"
    # Default: the region with the highest mean entropy.
    from tinct.interpret.regions import segment

    if labels is None:
        labels = segment(prep.light, size=size)
    ent = resize_plane(entropy_lo, shape)
    counts = np.bincount(labels.ravel(), minlength=labels.max() + 1)
    mean = np.bincount(labels.ravel(), weights=ent.ravel(), minlength=len(counts)) / np.maximum(counts, 1)
    worst = int(np.argmax(np.where(counts > 0, mean, -np.inf)))
    return mask_cells(labels == worst, grid), f"most uncertain region #{worst} ({mean[worst]:.2f} bits)"


def saliency(image: np.ndarray, *, box: tuple[int, int, int, int] | None = None,
             point: tuple[int, int] | None = None, mask: np.ndarray | None = None, model: str = "default",
             size: int = DEFAULT_SIZE, target: str = "bin", temperature: float = DEFAULT_TEMPERATURE,
             sigma: float | None = None, levels: bool = False,
             balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Which part of the photo drove the predicted colour of a region.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C in 1-4
        The photo (uint8, uint16 or float in [0, 1]).
    box : (x0, y0, x1, y1), optional
        Target region in pixels, end exclusive.
    point : (x, y), optional
        Target pixel; the target is the network cell holding it and its 8 neighbours
        (about 12 x 12 working pixels, 1/20 of a 256-px working size across).
    mask : ndarray of bool, shape (H, W), optional
        Target pixels.
    model, size, levels, balance :
        As in :func:`tinct.colorize`.
    target : {"bin", "chroma"}
        What is explained: the mean log-probability of the region's most likely ab bin, or
        the region's mean annealed-mean chroma (at ``temperature``).
    sigma : float, optional
        Gaussian smoothing of |gradient| in working pixels (default: short side / 64).

    Returns
    -------
    ndarray, shape (H, W), float32 in [0, 1]
        Smoothed absolute gradient of the target with respect to the input lightness,
        divided by its 99.5th percentile and clipped at 1. With no box, point or mask the target is the photo's most
        uncertain region (the superpixel with the highest mean entropy, see
        :func:`tinct.interpret.explain`).

    References
    ----------
    .. [1] K. Simonyan, A. Vedaldi, A. Zisserman, "Deep Inside Convolutional Networks:
       Visualising Image Classification Models and Saliency Maps", ICLR workshop 2014.

    Examples
    --------
    >>> import skimage.data
    >>> from tinct.interpret import saliency
    >>> s = saliency(skimage.data.camera(), box=(200, 100, 300, 200))
    >>> s.shape, float(s.max()) <= 1.0
    ((512, 512), True)
    """
    prep = prepare(image)
    hw, ww = working_shape(*prep.light.shape, size)
    grid = (hw // STRIDE, ww // STRIDE)
    entropy_lo = None
    if box is None and point is None and mask is None:
        entropy_lo = entropy_bits(cached_logits(image, model=model, size=size, light=prep.light, levels=levels,
                                                balance=balance))
    cells, _ = target_cells(prep, grid, box=box, point=point, mask=mask, entropy_lo=entropy_lo, size=size)
    return gradient_map(prep.light, cells, model=model, size=size, target=target, temperature=temperature,
                        sigma=sigma, levels=levels, balance=balance)
