r"""PriorRAW's Pixel Searching Encoder (Sec. 3.2, Eq. 1): sRGB -> unit per-pixel embeddings.

A small ResNet-like feature extractor whose total downsampling is 2, so that every
embedding sits on the grid of the packed RAW (one vector per 2x2 block of sRGB pixels,
one per packed-RAW site)::

    stem      3x3 conv (in -> width) + LeakyReLU(0.2), full resolution
              one residual block (two 3x3 conv) at full resolution
    down      3x3 conv, stride 2 (width -> width) + LeakyReLU(0.2)
    body      ``blocks`` residual blocks at half resolution
    project   1x1 conv (width -> dim), then L2 normalisation over the channels

The paper keeps the network small ("the similarity among RAW pixels is considered a
low-level feature, so we decrease the parameter number") and the resolution high
("we adjust the total down-sampling ratio of the encoder to 2").  Its receptive field
(25x25 sRGB pixels with the defaults) is the "surrounding sRGB context" that
tells the scene and lighting apart.

**Normalisation and temperature.**  The embeddings are L2-normalised, so the affinity
of Eq. 2 between two pixels is their cosine similarity in ``[-1, 1]`` (which matches
the paper's observation that well-matched pixels have a maximum affinity near 0.9 and
mismatched ones below 0.6).  A softmax over cosine similarities (Eq. 3) needs a
temperature ``tau`` to be selective: ``Softmax(A / tau)``.  The encoder carries it as
``log_temperature`` (a learnable parameter with ``learn_temperature=True``, a buffer
otherwise), so that it is trained together with the embeddings in Alg. 1 and saved in
the same checkpoint.  Cosines of nearby pixels differ by ~1e-4, so a useful temperature
is small (default ``tau = 1e-3``; the range allowed is ``[1e-5, 10]``).  Use it as::

    f_t, f_r = enc(srgb_t), enc(srgb_r)                                # Eq. 1
    raw_t = rawkit.search.assemble(f_t / enc.temperature, f_r, raw_r)   # Eq. 2-3, learns tau
    raw_t = rawkit.search.assemble(f_t, f_r, raw_r,
                                   temperature=float(enc.temperature))  # same, tau fixed

**Block initialisation** (``block_init=True``, default; needs ``in_channels = 3``,
``width >= 12`` and ``dim >= 13``).  Plain He initialisation with zero biases, LeakyReLU
and L2 normalisation makes a fresh encoder blind to brightness (a pixel and its double
point the same way).  Instead the fresh encoder computes, up to small random extra
channels, ``f = normalise([b, 1])`` where ``b`` are the 12 sRGB values of the 2x2 block
under the site: the stem copies the colours, every residual block starts as the
identity (its second convolution is zero, the "zero-init residual" trick), the
stride-2 convolution gathers the block (``pixel_unshuffle``), the projection keeps the
12 values and adds a constant channel.  Then ``1 - cos`` between two sites grows with
the distance between their blocks, brightness included, so a fresh encoder with a small
temperature already performs a soft nearest-neighbour search on the blocks' sRGB, and
Alg. 1 starts from there.  The remaining channels start random (He), so training can
use them.

Example:
    >>> import torch
    >>> enc = PixelSearchEncoder(seed=0)
    >>> f = enc(torch.rand(2, 3, 16, 24))
    >>> f.shape, round(f.norm(dim=-3).mean().item(), 4)
    (torch.Size([2, 32, 8, 12]), 1.0)
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rawkit.nets.unet import check_image, check_int, flatten_batch, init_weights, seeded_init

__all__ = ["PixelSearchEncoder", "ResidualBlock"]

_SLOPE = 0.2
_TAU_MIN, _TAU_MAX = 1e-5, 10.0
#: Scale of the 12 block values and the constant in the block initialisation.
_BLOCK_GAIN, _BLOCK_CONST = 1.0, 1.0


def _conv_params(conv: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of a convolution built with a bias (for in-place initialisation)."""
    assert isinstance(conv, nn.Conv2d) and conv.bias is not None
    return conv.weight, conv.bias


class ResidualBlock(nn.Module):
    """``x + conv(act(conv(x)))`` followed by LeakyReLU(0.2): a basic ResNet block
    without normalisation layers, ``(B, C, H, W) -> (B, C, H, W)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(_SLOPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


class PixelSearchEncoder(nn.Module):
    r"""Pixel Searching Encoder of PriorRAW (Sec. 3.2, Eq. 1): ``f = Encoder(sRGB)``.

    Maps an sRGB image ``(*, in_channels, H, W)`` (even ``H``, ``W``) to unit-norm
    per-pixel embeddings ``(*, dim, H/2, W/2)`` for the affinity of Eq. 2 and the
    softmax assembly of Eq. 3/4 (:func:`rawkit.search.assemble`).  Architecture and the
    temperature are described in the module notes.

    Args:
        in_channels: input channels (3 for sRGB).
        dim: embedding size ``C`` (the paper's prior bank stores these vectors).
        width: channels of the convolutional layers.
        blocks: residual blocks at half resolution.
        temperature: initial softmax temperature ``tau`` in ``[1e-5, 10]`` for cosine
            affinities.
        learn_temperature: make ``log(tau)`` a trainable parameter (else a buffer).
        block_init: start as a soft nearest-neighbour search on the 2x2 blocks' sRGB
            (module notes); ignored (plain He) when the sizes do not allow it.
        seed: if given, initialise from ``torch.manual_seed(seed)`` without changing
            the global generator.

    Attributes:
        temperature: ``tau`` as a 0-d tensor, clamped to ``[1e-3, 10]``
            (differentiable when learnable).

    Raises:
        TypeError, ValueError: bad settings, or in ``forward`` an input that is not a
            floating tensor ``(*, in_channels, H, W)`` with even ``H`` and ``W``.

    Example:
        >>> import torch
        >>> enc = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0)
        >>> enc(torch.rand(3, 4, 6)).shape
        torch.Size([8, 2, 3])
        >>> round(enc.temperature.item(), 4)
        0.001
        >>> big = PixelSearchEncoder(seed=0)   # block initialisation: sees brightness
        >>> x = torch.rand(1, 3, 8, 8) * 0.5
        >>> bool((big(x) * big(2 * x)).sum(1).min() < 0.999)
        True
    """

    def __init__(
        self,
        in_channels: int = 3,
        *,
        dim: int = 32,
        width: int = 32,
        blocks: int = 2,
        temperature: float = 1e-3,
        learn_temperature: bool = True,
        block_init: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_int(in_channels, "in_channels", minimum=1)
        check_int(dim, "dim", minimum=1)
        check_int(width, "width", minimum=1)
        check_int(blocks, "blocks", minimum=0)
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
            raise TypeError(f"temperature: expected a float, got {type(temperature).__name__}")
        if not (math.isfinite(temperature) and _TAU_MIN <= temperature <= _TAU_MAX):
            raise ValueError(
                f"temperature: expected a value in [{_TAU_MIN}, {_TAU_MAX}], got {temperature}"
            )
        if not isinstance(learn_temperature, bool):
            raise TypeError(
                f"learn_temperature: expected a bool, got {type(learn_temperature).__name__}"
            )
        self.in_channels, self.dim, self.width, self.blocks = in_channels, dim, width, blocks
        if not isinstance(block_init, bool):
            raise TypeError(f"block_init: expected a bool, got {type(block_init).__name__}")
        self.initial_temperature = float(temperature)
        self.learn_temperature = learn_temperature
        self.block_init = block_init
        with seeded_init(seed):
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 3, padding=1),
                nn.LeakyReLU(_SLOPE),
                ResidualBlock(width),
            )
            self.down = nn.Sequential(
                nn.Conv2d(width, width, 3, stride=2, padding=1), nn.LeakyReLU(_SLOPE)
            )
            self.body = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
            self.project = nn.Conv2d(width, dim, 1)
            init_weights(self)
            if block_init and in_channels == 3 and width >= 12 and dim >= 13:
                self._init_blocks()
        log_tau = torch.tensor(math.log(temperature))
        if learn_temperature:
            self.log_temperature = nn.Parameter(log_tau)
        else:
            self.register_buffer("log_temperature", log_tau)

    @torch.no_grad()
    def _init_blocks(self) -> None:
        """The block initialisation of the module notes (called under ``seeded_init``)."""
        stem_w, stem_b = _conv_params(self.stem[0])
        stem_w[:3].zero_()
        stem_b[:3].zero_()
        for c in range(3):
            stem_w[c, c, 1, 1] = 1.0
        for block in [self.stem[2], *self.body]:
            block.conv2.weight.zero_()
            block.conv2.bias.zero_()
        down_w, down_b = _conv_params(self.down[0])
        down_w[:12].zero_()
        down_b[:12].zero_()
        for c in range(3):
            for dy in range(2):
                for dx in range(2):
                    down_w[4 * c + 2 * dy + dx, c, 1 + dy, 1 + dx] = 1.0
        proj_w, proj_b = _conv_params(self.project)
        proj_w.mul_(1e-3)
        proj_b.zero_()
        proj_w[:13].zero_()
        for i in range(12):
            proj_w[i, i, 0, 0] = _BLOCK_GAIN
        proj_b[12] = _BLOCK_CONST

    @property
    def temperature(self) -> torch.Tensor:
        """Softmax temperature ``tau`` (0-d tensor) for the cosine affinities."""
        return self.log_temperature.exp().clamp(_TAU_MIN, _TAU_MAX)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor settings (``PixelSearchEncoder(**enc.config)`` rebuilds it)."""
        return {
            "in_channels": self.in_channels,
            "dim": self.dim,
            "width": self.width,
            "blocks": self.blocks,
            "temperature": self.initial_temperature,
            "learn_temperature": self.learn_temperature,
            "block_init": self.block_init,
        }

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, dim={self.dim}, width={self.width}, "
            f"blocks={self.blocks}, learn_temperature={self.learn_temperature}: "
            f"(*, {self.in_channels}, H, W) -> unit-norm (*, {self.dim}, H/2, W/2)"
        )

    def forward(self, srgb: torch.Tensor) -> torch.Tensor:
        check_image(srgb, "srgb", channels=self.in_channels, even=True, like=self)
        x, lead = flatten_batch(srgb)
        f = self.project(self.body(self.down(self.stem(x))))
        f = F.normalize(f, dim=1, eps=1e-12)
        return f.reshape(*lead, *f.shape[-3:])
