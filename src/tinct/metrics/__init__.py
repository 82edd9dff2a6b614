"""Colorization metrics, one module per metric, computed as the field computes them.

Images are numpy ``(H, W, 3)`` RGB arrays, uint8 (0-255), uint16 or float in [0, 1]; the
metrics work on the 0-255 scale. :mod:`~tinct.metrics.perceptual` and
:mod:`~tinct.metrics.semantic` import torch only when called. ``docs/metrics.md`` states
exactly how each number is computed.
"""

from tinct.metrics.auc import (
    THRESHOLDS,
    ab_error_curve,
    auc,
    auc_from_curves,
    count_ab_bins,
    inverse_frequency_weights,
)
from tinct.metrics.bootstrap import paired_bootstrap_interval
from tinct.metrics.ciede2000 import deltae_ciede2000, mean_ciede2000
from tinct.metrics.colorfulness import colorfulness, delta_colorfulness
from tinct.metrics.perceptual import feature_distance, feature_distances
from tinct.metrics.psnr import psnr
from tinct.metrics.semantic import semantic_agreement, top1_classes
from tinct.metrics.ssim import ssim

__all__ = [
    "THRESHOLDS",
    "ab_error_curve",
    "auc",
    "auc_from_curves",
    "colorfulness",
    "count_ab_bins",
    "delta_colorfulness",
    "deltae_ciede2000",
    "feature_distance",
    "feature_distances",
    "inverse_frequency_weights",
    "mean_ciede2000",
    "paired_bootstrap_interval",
    "psnr",
    "semantic_agreement",
    "ssim",
    "top1_classes",
]
