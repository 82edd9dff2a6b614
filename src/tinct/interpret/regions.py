"""Regions of a photo and the candidate colours of each.

The photo's lightness is cut into superpixels with SLIC (Achanta et al. 2012) at the
network's working resolution (so the cost does not grow with the photo), and the label
map is brought back to full resolution by nearest-neighbour resizing. A region's colour
distribution is the mean of the distributions of the network cells under it, weighted by
how many of the region's working pixels each cell holds; its candidates are the top-k
distinct colours of that distribution (:func:`tinct.interpret.suggest.top_colours`), drawn
at the region's mean lightness.

References
----------
.. [1] R. Achanta, A. Shaji, K. Smith, A. Lucchi, P. Fua, S. Suesstrunk, "SLIC
   Superpixels Compared to State-of-the-Art Superpixel Methods", IEEE TPAMI 34(11), 2012.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

from tinct.colorizer import DEFAULT_SIZE, STRIDE, working_light
from tinct.interpret.suggest import Suggestion, top_colours

__all__ = ["Region", "segment", "describe_regions", "DEFAULT_REGIONS"]

DEFAULT_REGIONS = 40  # SLIC's target count; it returns roughly 25-45 on ordinary photos
COMPACTNESS = 0.3  # on L in 0-100: boundaries follow lightness edges (1.0 gives a near-grid)


@dataclass
class Region:
    """One superpixel and the network's candidate colours for it.

    Attributes
    ----------
    id : int
        Its value in :attr:`Explanation.labels`.
    centroid : (x, y) float
        Centre of mass in pixels.
    bbox : (x0, y0, x1, y1) int
        Bounding box in pixels, end exclusive.
    area : int
        Pixels.
    area_fraction : float
        Share of the photo.
    mean_l : float
        Mean Lab lightness (0-100): the candidates are drawn at it.
    entropy : float
        Mean per-pixel entropy over the region, bits.
    candidates : list of Suggestion
        Top-k distinct colours of the region's mean distribution (temperature 1).
    """

    id: int
    centroid: tuple[float, float]
    bbox: tuple[int, int, int, int]
    area: int
    area_fraction: float
    mean_l: float
    entropy: float
    candidates: list[Suggestion] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict (the ``regions`` items of ``suggestions.json``)."""
        return {"id": self.id, "centroid": [round(v, 1) for v in self.centroid], "bbox": list(self.bbox),
                "area_fraction": round(self.area_fraction, 5), "mean_l": round(self.mean_l, 2),
                "entropy_bits": round(self.entropy, 4), "candidates": [c.to_dict() for c in self.candidates]}


def segment_working(light: np.ndarray, *, n_regions: int = DEFAULT_REGIONS, size: int = DEFAULT_SIZE) -> np.ndarray:
    """SLIC labels (int32, 0..R-1) at the working resolution."""
    from skimage.segmentation import slic

    if n_regions < 1:
        raise ValueError(f"n_regions must be >= 1, got {n_regions}")
    work = working_light(light, size)
    labels = slic(work, n_segments=n_regions, compactness=COMPACTNESS, channel_axis=None, start_label=0,
                  sigma=1.0, enforce_connectivity=True)
    return labels.astype(np.int32)


def _to_full(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if labels.shape == shape:
        return labels.copy()
    im = Image.fromarray(labels.astype(np.int32), mode="I").resize((shape[1], shape[0]), Image.Resampling.NEAREST)
    return np.asarray(im, np.int32)


def segment(light: np.ndarray, *, n_regions: int = DEFAULT_REGIONS, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Superpixel labels of a photo's lightness, shape (H, W), int32, values 0..R-1.

    Parameters
    ----------
    light : ndarray, shape (H, W)
        Lab L, 0-100.
    n_regions : int
        SLIC's target number of superpixels (it returns roughly this many).
    """
    labels, _ = _segment_both(light, n_regions=n_regions, size=size)
    return labels


def _segment_both(light: np.ndarray, *, n_regions: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution and working-resolution labels, both numbered 0..R-1 consistently."""
    work = segment_working(light, n_regions=n_regions, size=size)
    full = _to_full(work, light.shape)
    # Regions too small to survive the resize to full resolution are dropped; renumber.
    kept, full = np.unique(full, return_inverse=True)
    full = full.reshape(light.shape).astype(np.int32)
    lut = np.full(int(work.max()) + 1, -1, np.int32)
    lut[kept] = np.arange(len(kept), dtype=np.int32)
    return full, lut[work]


def describe_regions(light: np.ndarray, prob: np.ndarray, entropy: np.ndarray, *, k: int = 5,
                     n_regions: int = DEFAULT_REGIONS, size: int = DEFAULT_SIZE) -> tuple[np.ndarray, list[Region]]:
    """Segment a photo and give each region its mean distribution's top-k colours.

    Parameters
    ----------
    light : ndarray, shape (H, W)
        Full-resolution L.
    prob : ndarray, shape (Q, h, w)
        The network's probabilities (temperature 1) on its grid.
    entropy : ndarray, shape (H, W)
        Full-resolution entropy map, bits.

    Returns
    -------
    labels : ndarray, shape (H, W), int32
    regions : list of Region, ordered by id.
    """
    full, work = _segment_both(light, n_regions=n_regions, size=size)
    q, h, w = prob.shape
    if (work.shape[0] // STRIDE, work.shape[1] // STRIDE) != (h, w):
        raise ValueError(f"probabilities {prob.shape} do not match the working size {work.shape}")
    n = int(full.max()) + 1
    # counts[r, cell]: working pixels of region r in each network cell.
    rows, cols = np.indices(work.shape)
    cell = (rows // STRIDE) * w + cols // STRIDE
    valid = work >= 0
    counts = np.bincount(work[valid] * (h * w) + cell[valid], minlength=n * h * w).reshape(n, h * w)
    counts = counts.astype(np.float64)
    dist = counts @ prob.reshape(q, h * w).T.astype(np.float64)
    dist /= np.maximum(dist.sum(axis=1, keepdims=True), 1e-12)
    # Full-resolution statistics.
    flat = full.ravel()
    area = np.bincount(flat, minlength=n)
    safe = np.maximum(area, 1)
    mean_l = np.bincount(flat, weights=light.ravel(), minlength=n) / safe
    mean_h = np.bincount(flat, weights=entropy.ravel(), minlength=n) / safe
    # Centroids from the working labels (a full-resolution index grid would cost 16 bytes a pixel).
    wflat = work[valid]
    wsafe = np.maximum(np.bincount(wflat, minlength=n), 1)
    fy, fx = full.shape[0] / work.shape[0], full.shape[1] / work.shape[1]
    cx = (np.bincount(wflat, weights=cols[valid], minlength=n) / wsafe + 0.5) * fx - 0.5
    cy = (np.bincount(wflat, weights=rows[valid], minlength=n) / wsafe + 0.5) * fy - 0.5
    boxes = ndimage.find_objects(full + 1, max_label=n)
    total = full.size
    regions = []
    for r in range(n):
        sy, sx = boxes[r]
        regions.append(Region(
            id=r, centroid=(float(cx[r]), float(cy[r])), bbox=(sx.start, sy.start, sx.stop, sy.stop),
            area=int(area[r]), area_fraction=float(area[r] / total), mean_l=float(mean_l[r]),
            entropy=float(mean_h[r]), candidates=top_colours(dist[r], float(mean_l[r]), k)))
    return full, regions
