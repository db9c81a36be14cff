r"""The encoder-decoder U-Net used across the reverse-ISP papers (AIM 2022 baseline).

:class:`UNet` maps an sRGB image ``(*, 3, H, W)`` to a packed RAW ``(*, 4, H/2, W/2)``
(``output="packed"``) or to a demosaiced RAW ``(*, 3, H, W)`` (``output="rgb"``).

**Layout** (the AIM 2022 challenge baseline, ``004_*``, deepened to 1/16 as PriorRAW's
RAW encoder-decoder, Sec. 3.4)::

    stem        packed: pixel-unshuffle by 2, (3, H, W) -> (12, H/2, W/2)  [lossless]
                rgb:    identity
    encoder     level l = 0..depth-1: two 3x3 conv + LeakyReLU(0.2) with width * 2**l
                channels, then 2x2 max-pooling; bottleneck at 1/2**depth
    decoder     2x2 transposed conv (stride 2) up, concatenate the encoder's skip
                feature map of the same level, two 3x3 conv + LeakyReLU(0.2)
    head        1x1 conv to ``out_channels``, then a sigmoid (``head="sigmoid"``) or
                nothing (``head=None``, unbounded output)

The challenge's baseline has three levels (64-128-256 channels), ReLU, convolutions
without bias, a 1x1 head, and *resizes* its full-resolution output to ``H/2 x W/2``
(nearest neighbour, which drops three of every four predictions) and clamps it to
``[0, 1]``.  rawkit's :class:`UNet` keeps the same blocks, pooling, transposed
convolutions and skip connections, and changes three things, each deliberate:

* the packed output comes from a **pixel-unshuffle stem**: every 2x2 block of sRGB
  pixels becomes the 12 channels of one packed-RAW site, so the network works at the
  RAW's resolution, sees exactly the sRGB pixels co-sited with each Bayer quad, and
  costs a quarter of the full-resolution compute (``output="packed"``);
* LeakyReLU(0.2), convolutions with bias and He initialisation, so that the short CPU
  trainings rawkit runs start fast and no unit dies (ReLU units can switch off for
  good at small batch sizes; PyTorch's default initialisation shrinks the signal
  layer by layer);
* a sigmoid head (PriorRAW Sec. 3.4: "limit the value range to 0-1") instead of the
  clamp, whose gradient is zero outside ``[0, 1]``; pass ``head=None`` for a linear one.

**Sizes that are not multiples of the total stride.**  The encoder halves the working
resolution ``depth`` times, so the working height and width (``H/2, W/2`` for
``"packed"``, ``H, W`` for ``"rgb"``) must be multiples of ``2**depth``.  Other sizes are
padded internally on the bottom and right edge (``"reflect"`` padding, or
``"replicate"`` when the image is smaller than the padding) and the output is cropped
back, so any size works and the output always has the input's (or half the input's)
size.  ``output="packed"`` needs an even ``H`` and ``W`` (a packed RAW covers 2x2 blocks).

Example:
    >>> import torch
    >>> net = UNet(width=8, depth=2, seed=0)
    >>> net(torch.rand(2, 3, 20, 28)).shape
    torch.Size([2, 4, 10, 14])
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from rawkit._checks import check_choice
from rawkit.nets.base import make_base

__all__ = ["HEADS", "OUTPUTS", "Head", "Output", "UNet", "count_parameters"]

#: What the network predicts: packed RAW at half resolution, or RAW-RGB at full resolution.
Output = Literal["packed", "rgb"]
#: Outputs of :class:`UNet`: packed RAW or RGB.
OUTPUTS: tuple[str, ...] = ("packed", "rgb")

#: Output non-linearity: a sigmoid (values in (0, 1)) or none.
Head = Literal["sigmoid"] | None
#: Output heads of :class:`UNet`: a sigmoid, or none (linear).
HEADS: tuple[str | None, ...] = ("sigmoid", None)

_SLOPE = 0.2  # LeakyReLU negative slope


def count_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (scalars) in ``module``.

    Example:
        >>> count_parameters(torch.nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def seeded_init(seed: int | None) -> Iterator[None]:
    """Create layers inside this block from ``torch.manual_seed(seed)`` without touching
    the caller's global generator (``seed=None``: draw from the global one, as PyTorch)."""
    if seed is None:
        yield
        return
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed: expected an int or None, got {type(seed).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def check_int(value: Any, name: str, *, minimum: int) -> int:
    """An int ``>= minimum`` (bool refused), else TypeError/ValueError naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return value


def check_image(
    x: Any, name: str, *, channels: int, even: bool, like: nn.Module | None = None
) -> None:
    """Validate a network input ``(*, channels, H, W)``: a finite floating tensor, even H, W
    if asked, and (with ``like``) the dtype and device of the module's parameters."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name}: expected a torch.Tensor (networks take tensors; wrap NumPy arrays with "
            f"torch.from_numpy), got {type(x).__name__}"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating dtype, got {x.dtype}")
    param = next(like.parameters(), None) if like is not None else None
    if param is not None and x.dtype != param.dtype:
        raise TypeError(
            f"{name}: expected dtype {param.dtype} (the network's parameters; convert the input "
            f"with .to({param.dtype}) or the network with .to({x.dtype})), got {x.dtype}"
        )
    if param is not None and x.device != param.device:
        raise ValueError(
            f"{name}: expected a tensor on {param.device} (the network's device), got {x.device}"
        )
    if x.ndim < 3 or x.shape[-3] != channels:
        raise ValueError(f"{name}: expected shape (*, {channels}, H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h < 1 or w < 1:
        raise ValueError(f"{name}: expected H, W >= 1, got H={h}, W={w}")
    if even and (h % 2 or w % 2):
        raise ValueError(
            f"{name}: expected an even height and width (each packed RAW site covers a 2x2 "
            f"block of sRGB pixels), got H={h}, W={w}"
        )
    if x.numel() and not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name}: expected finite values, got NaN or Inf")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad ``(B, C, h, w)`` on the bottom/right to multiples of ``multiple``.

    Reflect padding, or replicate where the image is too small to reflect.  Returns the
    padded tensor and the original ``(h, w)`` for :func:`crop_to`.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def crop_to(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: keep the top-left ``hw``."""
    return x[..., : hw[0], : hw[1]]


def flatten_batch(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """``(*, C, H, W)`` -> ``(B, C, H, W)`` and the leading shape ``*``."""
    lead = tuple(x.shape[:-3])
    return x.reshape(math.prod(lead), *x.shape[-3:]), lead


def init_weights(module: nn.Module) -> None:
    """He initialisation for LeakyReLU(0.2) of every (transposed) convolution, zero biases.

    PyTorch's default initialisation shrinks the signal by about ``1/sqrt(3)`` a layer,
    which makes deep U-Nets start slowly; He-normal keeps its variance.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, a=_SLOPE, nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _act() -> nn.Module:
    return nn.LeakyReLU(_SLOPE)


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        _act(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        _act(),
    )


class UNetTrunk(nn.Module):
    """Encoder-decoder with skip connections, ``(B, in, h, w) -> (B, width, h, w)``.

    Level ``l`` has ``width * 2**l`` channels; the bottleneck sits at ``1 / 2**depth``.
    With ``guide_channels > 0`` every decoder level also fuses a guide feature map
    (PriorRAW Sec. 3.4): the guide is bilinearly interpolated to the level's size,
    concatenated to the upsampled-and-skip-fused feature map, and mixed by a 3x3
    convolution + LeakyReLU.  Inputs of any size are padded to multiples of
    ``2**depth`` and cropped back (module notes).
    """

    def __init__(
        self, in_channels: int, *, width: int, depth: int, guide_channels: int = 0
    ) -> None:
        super().__init__()
        check_int(in_channels, "in_channels", minimum=1)
        check_int(width, "width", minimum=1)
        check_int(depth, "depth", minimum=0)
        check_int(guide_channels, "guide_channels", minimum=0)
        self.in_channels, self.width, self.depth = in_channels, width, depth
        self.guide_channels = guide_channels
        widths = [width * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList(
            conv_block(in_channels if i == 0 else widths[i - 1], widths[i])
            for i in range(depth + 1)
        )
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth)
        )
        self.decoders = nn.ModuleList(conv_block(2 * widths[i], widths[i]) for i in range(depth))
        self.fusions = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i] + guide_channels, widths[i], 3, padding=1), _act())
            for i in range(depth)
            if guide_channels
        )
        # depth == 0: the single block is the whole network; fuse the guide once at its end
        self.fuse0 = (
            nn.Sequential(nn.Conv2d(widths[0] + guide_channels, widths[0], 3, padding=1), _act())
            if guide_channels and depth == 0
            else None
        )

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, width={self.width}, depth={self.depth}, "
            f"guide_channels={self.guide_channels}"
        )

    def forward(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        x, hw = pad_to_multiple(x, 2**self.depth)
        if self.guide_channels:
            if guide is None:
                raise ValueError("guide: expected a guide feature map, got None")
            guide, _ = pad_to_multiple(guide, 2**self.depth)
        skips = []
        for i, enc in enumerate(self.encoders):
            x = enc(x)
            if i < self.depth:
                skips.append(x)
                x = self.pool(x)
        for i in reversed(range(self.depth)):
            x = self.ups[i](x)
            x = self.decoders[i](torch.cat([x, skips[i]], dim=1))
            if guide is not None and self.guide_channels:
                g = guide
                if g.shape[-2:] != x.shape[-2:]:
                    g = F.interpolate(g, size=x.shape[-2:], mode="bilinear", align_corners=False)
                x = self.fusions[i](torch.cat([x, g], dim=1))
        if self.fuse0 is not None and guide is not None:
            x = self.fuse0(torch.cat([x, guide], dim=1))
        return crop_to(x, hw)


# --------------------------------------------------------------------------- UNet


class UNet(nn.Module):
    r"""U-Net from sRGB to packed RAW ``(*, 4, H/2, W/2)`` or RAW-RGB ``(*, 3, H, W)``.

    The AIM 2022 reversed-ISP baseline (``004_*``), deepened to 1/16 resolution as the
    RAW encoder-decoder of PriorRAW (Sec. 3.4), which is also its sRGB-only ablation row
    (Table 1, "sRGB+UNet").  Layout, the pixel-unshuffle stem and the padding rule are
    in the module notes.

    Shapes:
        - input: ``(*, in_channels, H, W)`` floating (sRGB in [0, 1] by convention;
          nothing is checked or clipped).  ``output="packed"`` needs even ``H, W``.
        - output: ``(*, out_channels, H/2, W/2)`` for ``"packed"``, ``(*, out_channels,
          H, W)`` for ``"rgb"``; in ``(0, 1)`` with the sigmoid head, unbounded without.
          Same dtype and device as the input (and the parameters).

    Args:
        in_channels: input channels (3 for sRGB).
        out_channels: output channels; ``None`` means 4 for ``"packed"`` ([R, Gr, Gb, B],
            the order of :func:`rawkit.cfa.pack`) and 3 for ``"rgb"``.
        width: channels of the first level; level ``l`` has ``width * 2**l``.
        depth: number of 2x downsamplings (4: down to 1/16 of the working resolution).
        output: ``"packed"`` (pixel-unshuffle stem, half resolution) or ``"rgb"`` (full
            resolution).
        head: ``"sigmoid"`` or ``None`` (linear output).
        base: ``"none"``, or ``"generic_inverse"``: the output is the blind generic
            inverse of ``camera`` plus the network's linear, zero-initialised head,
            clipped to ``[0, 1]`` in eval mode (:mod:`rawkit.nets.base`; needs
            ``output="packed"`` and ``head=None``).
        camera: the built-in camera of ``base="generic_inverse"`` (else ``None``).
        seed: if given, initialise the weights from ``torch.manual_seed(seed)`` without
            changing the global generator; ``None`` draws from the global generator
            (so ``torch.manual_seed`` before construction also makes it reproducible).

    Raises:
        TypeError, ValueError: bad settings (non-int widths, ``depth < 0``, unknown
            ``output``/``head``), and in ``forward`` an input that is not a floating
            tensor of shape ``(*, in_channels, H, W)`` (odd ``H``/``W`` for ``"packed"``).

    Example:
        >>> import torch
        >>> net = UNet(width=8, depth=2, seed=0)
        >>> y = net(torch.rand(3, 16, 16))
        >>> y.shape, bool(((y > 0) & (y < 1)).all())
        (torch.Size([4, 8, 8]), True)
        >>> UNet(output="rgb", width=8, depth=1, seed=0)(torch.rand(1, 3, 9, 7)).shape
        torch.Size([1, 3, 9, 7])
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int | None = None,
        *,
        width: int = 32,
        depth: int = 4,
        output: Output = "packed",
        head: Head = "sigmoid",
        base: str = "none",
        camera: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_choice(output, OUTPUTS, "output")
        check_choice(head, HEADS, "head")
        base_module = make_base(base, camera)
        if base_module is not None and (output != "packed" or head is not None):
            raise ValueError(
                "base: a residual over the generic inverse needs output='packed' and a linear "
                f"head (head=None), got output={output!r}, head={head!r}"
            )
        check_int(in_channels, "in_channels", minimum=1)
        if out_channels is None:
            out_channels = 4 if output == "packed" else 3
        check_int(out_channels, "out_channels", minimum=1)
        check_int(width, "width", minimum=1)
        check_int(depth, "depth", minimum=0)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.width, self.depth, self.output, self.head_kind = width, depth, output, head
        self.base_kind, self.camera = base, camera
        stem_channels = 4 * in_channels if output == "packed" else in_channels
        with seeded_init(seed):
            self.stem = nn.PixelUnshuffle(2) if output == "packed" else nn.Identity()
            self.trunk = UNetTrunk(stem_channels, width=width, depth=depth)
            self.head = nn.Conv2d(width, out_channels, 1)
            init_weights(self)
        self.base = base_module
        if base_module is not None:  # the untrained network is the generic inverse
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor settings as plain values (``UNet(**net.config)`` rebuilds it)."""
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "width": self.width,
            "depth": self.depth,
            "output": self.output,
            "head": self.head_kind,
            "base": self.base_kind,
            "camera": self.camera,
        }

    def extra_repr(self) -> str:
        scale = "H/2, W/2" if self.output == "packed" else "H, W"
        return (
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, width={self.width}, "
            f"depth={self.depth}, output={self.output!r}, head={self.head_kind!r}, "
            f"base={self.base_kind!r}: "
            f"(*, {self.in_channels}, H, W) -> (*, {self.out_channels}, {scale})"
        )

    def forward(self, srgb: torch.Tensor) -> torch.Tensor:
        check_image(
            srgb, "srgb", channels=self.in_channels, even=self.output == "packed", like=self
        )
        x, lead = flatten_batch(srgb)
        y = self.head(self.trunk(self.stem(x)))
        if self.head_kind == "sigmoid":
            y = torch.sigmoid(y)
        if self.base is not None:
            y = y + self.base(x)
            if not self.training:  # clipped to the RAW's range (module rawkit.nets.base)
                y = y.clamp(0.0, 1.0)
        return y.reshape(*lead, *y.shape[-3:])
