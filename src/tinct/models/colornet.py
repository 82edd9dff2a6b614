"""ColorNet: L channel in, a distribution over quantized ab colours per pixel out.

Zhang et al. (2016) colorize by classification over in-gamut ab bins with a VGG-style
network trained from scratch on 1.3M photos. With a few thousand photos we instead
start from an ImageNet-pretrained EfficientNet-Lite encoder (the gray photo is
replicated to RGB) and add a light FPN/U-Net decoder: lateral 1x1 convolutions, a
top-down path with 3x3 conv + BN + ReLU refinements, a global-context vector from the
deepest features (as in Iizuka et al. 2016), dropout, and a 1x1 classifier at stride 4.

References
----------
.. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016.
.. [2] T.-Y. Lin et al., "Feature Pyramid Networks for Object Detection", CVPR 2017.
.. [3] S. Iizuka, E. Simo-Serra, H. Ishikawa, "Let there be Color!", SIGGRAPH 2016.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tinct.models._efficientnet_lite import MEAN, STD, EfficientNetLite


@dataclass(frozen=True)
class ColorNetConfig:
    """Architecture of a :class:`ColorNet`; stored beside its weights."""

    encoder: str = "lite0"
    num_bins: int = 262  # len(tinct.color.gamut.ab_bins())
    width: int = 128  # decoder channels at strides 32, 16, 8
    width_fine: int = 96  # decoder channels at stride 4
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def l_to_encoder_input(light: torch.Tensor) -> torch.Tensor:
    """Lab L in [0, 100], shape (B, 1, H, W) -> the encoder's normalised gray RGB."""
    # L -> relative luminance Y (CIE inverse) -> sRGB gamma, i.e. what a gray photo stores.
    f = (light + 16) / 116
    y = torch.where(f > 6 / 29, f**3, (light / (24389 / 27)))
    srgb = torch.where(y > 0.0031308, 1.055 * y.clamp_min(0.0031308) ** (1 / 2.4) - 0.055, 12.92 * y)
    return ((srgb - MEAN) / STD).expand(-1, 3, -1, -1)


class ColorNet(nn.Module):
    """Predict logits over ``num_bins`` ab bins at 1/4 of the input resolution.

    ``forward(L)`` takes Lab lightness (B, 1, H, W) in [0, 100] and returns logits of
    shape (B, Q, ceil(H/4), ceil(W/4)).
    """

    def __init__(self, config: ColorNetConfig = ColorNetConfig()) -> None:
        super().__init__()
        self.config = config
        self.encoder = EfficientNetLite(config.encoder, head=False)
        c4, c8, c16, c32 = self.encoder.feature_channels()[1:]
        w, wf = config.width, config.width_fine
        self.lateral = nn.ModuleList([nn.Conv2d(c, w, 1) for c in (c32, c16, c8)])
        self.lateral4 = nn.Conv2d(c4, wf, 1)
        self.context = nn.Sequential(nn.Linear(c32, w), nn.ReLU(inplace=True))
        self.refine = nn.ModuleList([_conv_bn_relu(w, w) for _ in range(3)])
        self.reduce4 = nn.Conv2d(w, wf, 1)
        self.refine4 = nn.Sequential(_conv_bn_relu(wf, wf), _conv_bn_relu(wf, wf))
        self.dropout = nn.Dropout2d(config.dropout)
        self.classifier = nn.Conv2d(wf, config.num_bins, 1)

    def load_pretrained_encoder(self) -> None:
        """Initialise the encoder from the ImageNet weights package (training only)."""
        self.encoder.load_pretrained()

    def forward(self, light: torch.Tensor) -> torch.Tensor:
        if light.ndim != 4 or light.shape[1] != 1:
            raise ValueError(f"expected L of shape (B, 1, H, W), got {tuple(light.shape)}")
        _, f4, f8, f16, f32 = self.encoder.features(l_to_encoder_input(light))
        x = self.lateral[0](f32) + self.context(f32.mean(dim=(2, 3)))[:, :, None, None]
        x = self.refine[0](x)
        for lat, ref, skip in zip(self.lateral[1:], self.refine[1:], (f16, f8), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = ref(x + lat(skip))
        x = F.interpolate(self.reduce4(x), size=f4.shape[-2:], mode="bilinear", align_corners=False)
        x = self.refine4(x + self.lateral4(f4))
        return self.classifier(self.dropout(x))


@dataclass(frozen=True)
class EnsembleConfig:
    """Architecture of a :class:`ColorEnsemble`: its members' configs, in order."""

    members: tuple[ColorNetConfig, ...]

    def __post_init__(self) -> None:
        if len(self.members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(self.members)}")
        bins = {m.num_bins for m in self.members}
        if len(bins) != 1:
            raise ValueError(f"ensemble members predict different numbers of ab bins: {sorted(bins)}")

    @property
    def num_bins(self) -> int:
        return self.members[0].num_bins

    def to_dict(self) -> dict:
        return {"members": [m.to_dict() for m in self.members]}


class ColorEnsemble(nn.Module):
    """Several ColorNets on the same photo; returns the mean of their log-probabilities.

    The output has :class:`ColorNet`'s shape and is used as logits: its softmax is the
    normalised geometric mean of the members' distributions: the colours that every member
    allows. The arithmetic mixture of Lakshminarayanan et al. [1]_ was measured against it on
    the shipped pair (docs/training.md, session 10): more colourful on the held-out training
    photos, but at its own best setting worse on val in PSNR, AuC and rebalanced AuC.

    References
    ----------
    .. [1] B. Lakshminarayanan, A. Pritzel, C. Blundell, "Simple and Scalable Predictive
       Uncertainty Estimation using Deep Ensembles", NeurIPS 2017.
    """

    def __init__(self, config: EnsembleConfig, members: Sequence[ColorNet] | None = None) -> None:
        """``members``: trained networks to hold as they are (their configs must be ``config``'s);
        without them, untrained ones are built from ``config``."""
        super().__init__()
        if members is not None and tuple(m.config for m in members) != config.members:
            raise ValueError("the members' configs are not the ensemble config's")
        self.config = config
        self.members = nn.ModuleList(members if members is not None else [ColorNet(c) for c in config.members])

    def forward(self, light: torch.Tensor) -> torch.Tensor:
        logp = [F.log_softmax(m(light), dim=1) for m in self.members]
        return torch.stack(logp).mean(dim=0)


def build_network(config: dict) -> ColorNet | ColorEnsemble:
    """The (untrained) network a weight file's ``config`` describes: a ColorNet or an ensemble."""
    if "members" in config:
        return ColorEnsemble(EnsembleConfig(tuple(ColorNetConfig(**c) for c in config["members"])))
    return ColorNet(ColorNetConfig(**config))
