"""Explanations of automatic colorization (issue #7).

The network predicts, for every 4 x 4 working pixels, a probability distribution over Q
quantized ab colours; the colorized photo shows one colour decoded from it. This package
shows the rest of the distribution:

- :func:`explain` — per-pixel entropy (how unsure the network is, in bits), the top-k
  candidate colours of each superpixel region, the colorized photo and a gradient
  saliency map, in one :class:`Explanation`.
- :func:`suggest_colors` — the top-k distinct colours at a clicked pixel (cached, fast).
- :func:`saliency` — which part of the photo drove a region's predicted colour.
- :func:`render_heatmap`, :func:`render_swatches` — pictures of the above.
- :func:`tinct.interpret.report.run_explain` — all of it written to a folder per photo.

See ``docs/explain.md`` for how to read the pictures. torch is imported only when a
network runs.
"""

from __future__ import annotations

from tinct.interpret._distribution import cache_info, clear_cache, entropy_bits, max_entropy_bits
from tinct.interpret.core import Explanation, explain
from tinct.interpret.regions import Region, segment
from tinct.interpret.render import apply_colormap, outline_regions, render_colorbar, render_heatmap, render_swatches
from tinct.interpret.saliency import saliency
from tinct.interpret.suggest import Suggestion, suggest_colors, top_colours

__all__ = [
    "Explanation",
    "Region",
    "Suggestion",
    "apply_colormap",
    "cache_info",
    "clear_cache",
    "entropy_bits",
    "explain",
    "max_entropy_bits",
    "outline_regions",
    "render_colorbar",
    "render_heatmap",
    "render_swatches",
    "saliency",
    "segment",
    "suggest_colors",
    "top_colours",
]
