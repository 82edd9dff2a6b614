"""Class-rebalanced cross-entropy against soft-encoded ab targets (Zhang et al. 2016, eq. 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def rebalanced_soft_ce(logits: torch.Tensor, target_idx: torch.Tensor, target_w: torch.Tensor,
                       class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over pixels of ``v(Z) * -sum_q Z_q log softmax(logits)_q``.

    Parameters
    ----------
    logits : (B, Q, H, W)
    target_idx : (B, H, W, k) int64
        The k bins that carry a pixel's soft target, nearest first.
    target_w : (B, H, W, k)
        Their weights (summing to 1); gathering k bins avoids a dense (B, Q, H, W) target.
    class_weights : (Q,), optional
        Rebalancing weight ``v``, looked up at each pixel's nearest bin.

    References
    ----------
    .. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016.
    """
    if logits.shape[-2:] != target_idx.shape[1:3]:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(target_idx.shape)} differ in size")
    logp = F.log_softmax(logits.float(), dim=1).permute(0, 2, 3, 1)  # (B, H, W, Q)
    ce = -(logp.gather(-1, target_idx) * target_w).sum(-1)
    if class_weights is None:
        return ce.mean()
    return (class_weights[target_idx[..., 0]] * ce).mean()
