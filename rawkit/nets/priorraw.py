r"""PriorRAW's reconstructor (Sec. 3.4, Eq. 4-8, Alg. 3): sRGB + prior bank -> packed RAW.

Given the target sRGB image, its Pixel-Searching-Encoder features ``f_t``
(:class:`~rawkit.nets.PixelSearchEncoder`, frozen) and a prior bank of ``K`` entries
(features ``f_r``, sRGB, RAW; :class:`rawkit.prior.PriorBank`), :class:`PriorRAWNet`
runs Alg. 3 on the packed-RAW grid (``h, w = H/2, W/2``, where the features live):

1. **Assembly, Eq. 4** (:func:`~rawkit.nets.assemble_prior`, :mod:`rawkit.nets.assembly`): ``FsRGB_t, FRAW_t = Softmax(A / tau) x
   [sRGB_r, RAW_r]`` with :func:`rawkit.search.assemble` (chunked; ``tau`` is the
   encoder's temperature, see :mod:`rawkit.nets.encoder`).
2. **Distance, Eq. 5** (:func:`~rawkit.nets.distance_map`): ``D = |FsRGB_t - sRGB_t|``, where
   ``sRGB_t`` is the target averaged over 2x2 blocks, as the bank's sRGB values are.
3. **Fusion, Eq. 6**: ``f_p = Conv_fuse([D, sRGB_t, FRAW_t])`` (two 3x3 conv); here
   ``sRGB_t`` enters pixel-unshuffled (12 channels: all four sRGB pixels of each site).
4. **Reliable attention, Eq. 7**: ``f_c = f_p * Sigmoid(Conv_conf(f_p))``, a one-channel
   spatial confidence map (two 3x3 conv) that suppresses unreliable matches.
5. **Non-local fusion, Eq. 8** (:class:`BankAttention`): ``f_o = FFN(MHA(f_c, f_r,
   RAW_r))``: multi-head attention with queries from ``f_c``, keys from the bank
   features and values from the bank RAW, then a feed-forward network; written as a
   pre-norm Transformer block (LayerNorm and a residual around each of MHA and FFN,
   rawkit's reading: the paper gives the composition only, and without the residual
   the per-pixel detail of ``f_c`` would reach the decoder only through the weights).
6. **RAW encoder-decoder** (Alg. 3 line 9, ``UNet(f_o, sRGB_t)``): a U-Net to 1/16 on
   ``[unshuffled sRGB_t, f_o]`` whose decoder also fuses ``f_o``, bilinearly
   interpolated to each level and mixed by a 3x3 conv after the skip connection
   (Sec. 3.4); a 1x1 head and a **sigmoid** give the packed RAW in ``(0, 1)``.  (The
   paper's head decodes 3-channel RAW-RGB at full resolution, for NUS; rawkit's
   predicts ``raw_channels`` channels on the features' grid: packed RAW with 4.)

**Ablations (Table 1).**  Three switches remove parts, in the order the paper adds them;
:data:`ABLATIONS` names the four rows and :meth:`PriorRAWNet.from_ablation` builds them:

* ``"srgb"`` (all three off): the U-Net on the sRGB alone, which is :class:`UNet`
  (the "sRGB+UNet" row; no features or bank needed);
* ``"prior_raw"`` (``use_prior``): ``f_o = f_p = Conv_fuse([sRGB_t, FRAW_t])`` feeds the
  U-Net and its decoder ("+ Prior RAW");
* ``"reliable_attention"`` (``+ use_confidence``): ``D`` joins Conv_fuse's input and
  Eq. 7 gates ``f_p`` ("+ Reliable Attention");
* ``"non_local"`` (``+ use_nonlocal``): Eq. 8 after Eq. 7, the full PriorRAW
  ("+ Non Local").

Modules that a row does not use are not built (no dead parameters), so the parameter
count grows row by row.  Without the prior no features or bank are needed.

Example:
    >>> import torch
    >>> from rawkit.nets import BankTensors, PixelSearchEncoder
    >>> enc = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0).requires_grad_(False)
    >>> bank = BankTensors(torch.nn.functional.normalize(torch.randn(50, 8), dim=1),
    ...                    torch.rand(50, 3), torch.rand(50, 4))
    >>> net = PriorRAWNet(feature_dim=8, width=8, depth=2, seed=0)
    >>> srgb = torch.rand(2, 3, 24, 20)
    >>> net(srgb, enc(srgb), bank).shape
    torch.Size([2, 4, 12, 10])
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from rawkit._checks import check_choice
from rawkit.nets.assembly import _bank_like, assemble_prior, distance_map
from rawkit.nets.base import make_base
from rawkit.nets.unet import (
    UNetTrunk,
    check_image,
    check_int,
    conv_block,
    flatten_batch,
    init_weights,
    seeded_init,
)

__all__ = [
    "ABLATIONS",
    "Ablation",
    "BankAttention",
    "PriorRAWNet",
    "PriorRAWOutput",
]

#: The reconstructor rows of PriorRAW's Table 1.
Ablation = Literal["srgb", "prior_raw", "reliable_attention", "non_local"]

#: Table 1 row -> the switches ``(use_prior, use_confidence, use_nonlocal)``.
ABLATIONS: dict[str, dict[str, bool]] = {
    "srgb": {"use_prior": False, "use_confidence": False, "use_nonlocal": False},
    "prior_raw": {"use_prior": True, "use_confidence": False, "use_nonlocal": False},
    "reliable_attention": {"use_prior": True, "use_confidence": True, "use_nonlocal": False},
    "non_local": {"use_prior": True, "use_confidence": True, "use_nonlocal": True},
}

_SLOPE = 0.2


def _half_srgb(srgb: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` averaged over 2x2 blocks -> ``(B, 3, H/2, W/2)``."""
    return F.avg_pool2d(srgb, 2)


# --------------------------------------------------------------------------- attention


class BankAttention(nn.Module):
    r"""Eq. 8 of PriorRAW: :math:`f_o = FFN(MHA(f_c, f_r, RAW_r))` over the prior bank.

    Every pixel of ``f_c`` is a query; the ``K`` bank entries give the keys (their
    features ``f_r``) and values (their RAW).  Multi-head scaled dot-product attention
    (``heads`` heads of ``channels / heads`` dims) with learned projections of
    queries, keys, values and output, then a two-layer feed-forward network
    (``ffn_ratio * channels`` hidden units, GELU), as a pre-norm Transformer block::

        x   = f_c + MHA(LayerNorm(f_c), f_r, RAW_r)
        f_o = x + FFN(LayerNorm(x))

    The attention is :func:`torch.nn.functional.scaled_dot_product_attention`, whose
    fused kernels (flash attention on the CPU, flash or memory-efficient attention on
    CUDA) never hold the ``M x K`` attention matrix: memory stays ``O((M + K) x
    channels)`` for ``M`` pixels and ``K`` bank entries.

    Shapes:
        ``f_c (B, channels, h, w)``, ``keys (K, key_channels)``,
        ``values (K, value_channels)`` -> ``(B, channels, h, w)``.

    Example:
        >>> import torch
        >>> att = BankAttention(8, 4, 3, heads=2)
        >>> att(torch.rand(2, 8, 5, 6), torch.rand(10, 4), torch.rand(10, 3)).shape
        torch.Size([2, 8, 5, 6])
    """

    def __init__(
        self,
        channels: int,
        key_channels: int,
        value_channels: int,
        *,
        heads: int = 2,
        ffn_ratio: int = 2,
    ) -> None:
        super().__init__()
        check_int(channels, "channels", minimum=1)
        check_int(key_channels, "key_channels", minimum=1)
        check_int(value_channels, "value_channels", minimum=1)
        check_int(heads, "heads", minimum=1)
        check_int(ffn_ratio, "ffn_ratio", minimum=1)
        if channels % heads:
            raise ValueError(f"heads: expected a divisor of the channels ({channels}), got {heads}")
        self.channels, self.heads = channels, heads
        self.norm_q = nn.LayerNorm(channels)
        self.q = nn.Linear(channels, channels)
        self.k = nn.Linear(key_channels, channels)
        self.v = nn.Linear(value_channels, channels)
        self.out = nn.Linear(channels, channels)
        self.norm_ffn = nn.LayerNorm(channels)
        self.ffn = nn.Sequential(
            nn.Linear(channels, ffn_ratio * channels),
            nn.GELU(),
            nn.Linear(ffn_ratio * channels, channels),
        )

    def extra_repr(self) -> str:
        return f"channels={self.channels}, heads={self.heads}"

    def forward(self, f_c: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f_c.shape
        n, d = self.heads, c // self.heads
        tokens = f_c.flatten(2).transpose(1, 2)  # (B, M, c)
        q = self.q(self.norm_q(tokens)).reshape(b, h * w, n, d).transpose(1, 2)  # (B, n, M, d)
        k = self.k(keys).reshape(1, -1, n, d).transpose(1, 2).expand(b, -1, -1, -1)
        v = self.v(values).reshape(1, -1, n, d).transpose(1, 2).expand(b, -1, -1, -1)
        m = h * w
        att = F.scaled_dot_product_attention(q, k, v)  # (B, n, M, d)
        x = tokens + self.out(att.transpose(1, 2).reshape(b, m, c))
        x = x + self.ffn(self.norm_ffn(x))
        return x.transpose(1, 2).reshape(b, c, h, w)


# --------------------------------------------------------------------------- network


class PriorRAWOutput(NamedTuple):
    """The reconstruction and the intermediate maps of Alg. 3 (``None`` where ablated).

    Attributes:
        raw: ``(*, R, h, w)`` the reconstructed packed RAW, in ``(0, 1)``.
        assembled_srgb: ``(*, 3, h, w)`` FsRGB of Eq. 4.
        assembled_raw: ``(*, R, h, w)`` FRAW of Eq. 4.
        distance: ``(*, 3, h, w)`` D of Eq. 5.
        confidence: ``(*, 1, h, w)`` the sigmoid gate of Eq. 7, in ``(0, 1)``.
    """

    raw: torch.Tensor
    assembled_srgb: torch.Tensor | None
    assembled_raw: torch.Tensor | None
    distance: torch.Tensor | None
    confidence: torch.Tensor | None


class PriorRAWNet(nn.Module):
    r"""PriorRAW's prior-metadata-based reconstructor (Sec. 3.4, Eq. 4-8, Alg. 3).

    Steps, shapes and the Table 1 ablation switches are in the module notes.  The
    encoder that made ``features`` (and the bank) is not part of this module: it is
    trained first (Alg. 1) and frozen, so that the bank stays valid.

    Shapes (``h, w = H/2, W/2``):
        - ``srgb``: ``(*, 3, H, W)``, even ``H, W``, floating (sRGB in [0, 1]).
        - ``features``: ``(*, feature_dim, h, w)`` encoder output for ``srgb`` (or the
          encoder itself, called on ``srgb``).
        - ``bank``: ``features (K, feature_dim)``, ``srgb (K, 3)``, ``raw (K,
          raw_channels)`` (:class:`~rawkit.nets.BankTensors` or a :class:`rawkit.prior.PriorBank`).
        - output: ``(*, raw_channels, h, w)`` packed RAW in ``(0, 1)``.

    ``h`` and ``w`` need not be multiples of 16: the U-Net pads and crops
    (:mod:`rawkit.nets.unet`).

    Args:
        feature_dim: channels ``C`` of the encoder features and bank features.
        raw_channels: channels of the bank RAW and of the output (4: packed RAW).
        width: channels of the fusion features and the U-Net's first level.
        depth: U-Net downsamplings (4: down to 1/16 of ``h, w``).
        heads: attention heads of Eq. 8 (must divide ``width``).
        temperature: ``tau`` of Eq. 4 (the encoder's :attr:`~rawkit.nets.PixelSearchEncoder.temperature`).
        use_prior, use_confidence, use_nonlocal: the ablation switches (module notes).
        base: ``"none"`` (the paper: a sigmoid head, output in ``(0, 1)``) or
            ``"generic_inverse"``: the output is the blind generic inverse of ``camera``
            plus a linear, zero-initialised head, clipped to ``[0, 1]`` in eval mode
            (:mod:`rawkit.nets.base`; rawkit's choice).
        camera: the built-in camera of ``base="generic_inverse"`` (else ``None``).
        chunk_size: target pixels per chunk in Eq. 4 (``None``: automatic).
        seed: if given, initialise from ``torch.manual_seed(seed)`` without changing
            the global generator.

    Raises:
        TypeError, ValueError: bad settings (``use_confidence``/``use_nonlocal`` without
            ``use_prior``, ``heads`` not dividing ``width``...), and in ``forward`` wrong
            shapes, dtypes or a missing bank/features when the prior is used.

    Example:
        >>> import torch
        >>> net = PriorRAWNet.from_ablation("srgb", width=8, depth=2, seed=0)
        >>> net(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 4, 4, 4])
    """

    def __init__(
        self,
        *,
        feature_dim: int = 32,
        raw_channels: int = 4,
        width: int = 16,
        depth: int = 4,
        heads: int = 2,
        temperature: float = 0.1,
        use_prior: bool = True,
        use_confidence: bool = True,
        use_nonlocal: bool = True,
        base: str = "none",
        camera: str | None = None,
        chunk_size: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        base_module = make_base(base, camera)
        check_int(feature_dim, "feature_dim", minimum=1)
        check_int(raw_channels, "raw_channels", minimum=1)
        check_int(width, "width", minimum=1)
        check_int(depth, "depth", minimum=0)
        check_int(heads, "heads", minimum=1)
        for name, flag in (
            ("use_prior", use_prior),
            ("use_confidence", use_confidence),
            ("use_nonlocal", use_nonlocal),
        ):
            if not isinstance(flag, bool):
                raise TypeError(f"{name}: expected a bool, got {type(flag).__name__}")
        if not use_prior and (use_confidence or use_nonlocal):
            raise ValueError(
                "use_prior: use_confidence and use_nonlocal refine the prior and need "
                f"use_prior=True, got use_prior=False with use_confidence={use_confidence}, "
                f"use_nonlocal={use_nonlocal} (for the sRGB-only row pass all three False, "
                "or use PriorRAWNet.from_ablation('srgb'))"
            )
        if use_nonlocal and width % heads:
            raise ValueError(f"heads: expected a divisor of width ({width}), got {heads}")
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
            raise TypeError(f"temperature: expected a float, got {type(temperature).__name__}")
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature: expected a finite value > 0, got {temperature}")
        self.feature_dim, self.raw_channels = feature_dim, raw_channels
        self.width, self.depth, self.heads = width, depth, heads
        self.temperature = float(temperature)
        self.use_prior, self.use_confidence = use_prior, use_confidence
        self.use_nonlocal = use_nonlocal
        self.chunk_size = chunk_size
        self.base_kind, self.camera = base, camera
        srgb_channels = 12  # pixel-unshuffled sRGB: the four pixels of each packed site
        with seeded_init(seed):
            self.unshuffle = nn.PixelUnshuffle(2)
            if use_prior:
                fuse_in = srgb_channels + raw_channels + (3 if use_confidence else 0)
                self.conv_fuse = conv_block(fuse_in, width)  # Eq. 6
            if use_confidence:
                self.conv_conf = nn.Sequential(  # Eq. 7
                    nn.Conv2d(width, width, 3, padding=1),
                    nn.LeakyReLU(_SLOPE),
                    nn.Conv2d(width, 1, 3, padding=1),
                )
            if use_nonlocal:
                self.attention = BankAttention(width, feature_dim, raw_channels, heads=heads)
            guide = width if use_prior else 0
            self.unet = UNetTrunk(
                srgb_channels + guide, width=width, depth=depth, guide_channels=guide
            )
            self.head = nn.Conv2d(width, raw_channels, 1)
            init_weights(self)  # He init of the convolutions; Linear layers keep PyTorch's
        self.base = base_module
        if base_module is not None:
            if raw_channels != 4:
                raise ValueError(
                    f"base: the generic inverse gives packed RAW (4 channels), got raw_channels={raw_channels}"
                )
            nn.init.zeros_(self.head.weight)  # the untrained network is the generic inverse
            nn.init.zeros_(self.head.bias)

    @classmethod
    def from_ablation(cls, row: Ablation, **kwargs: Any) -> PriorRAWNet:
        """The network of one row of Table 1 (:data:`ABLATIONS`); other settings as kwargs.

        Example:
            >>> PriorRAWNet.from_ablation("reliable_attention", width=8).use_nonlocal
            False
        """
        check_choice(row, list(ABLATIONS), "row")
        clash = sorted(set(kwargs) & set(ABLATIONS[row]))
        if clash:
            raise TypeError(f"from_ablation: {clash} are set by the row {row!r}; do not pass them")
        return cls(**ABLATIONS[row], **kwargs)

    @property
    def ablation(self) -> str:
        """The Table 1 row these switches build (see :data:`ABLATIONS`)."""
        flags = {
            "use_prior": self.use_prior,
            "use_confidence": self.use_confidence,
            "use_nonlocal": self.use_nonlocal,
        }
        for row, f in ABLATIONS.items():
            if f == flags:
                return row
        return "custom"  # e.g. use_nonlocal without use_confidence

    @property
    def config(self) -> dict[str, Any]:
        """Constructor settings (``PriorRAWNet(**net.config)`` rebuilds it)."""
        return {
            "feature_dim": self.feature_dim,
            "raw_channels": self.raw_channels,
            "width": self.width,
            "depth": self.depth,
            "heads": self.heads,
            "temperature": self.temperature,
            "use_prior": self.use_prior,
            "use_confidence": self.use_confidence,
            "use_nonlocal": self.use_nonlocal,
            "base": self.base_kind,
            "camera": self.camera,
            "chunk_size": self.chunk_size,
        }

    def extra_repr(self) -> str:
        return (
            f"ablation={self.ablation!r}, feature_dim={self.feature_dim}, "
            f"raw_channels={self.raw_channels}, width={self.width}, depth={self.depth}, "
            f"heads={self.heads}, temperature={self.temperature:g}: (*, 3, H, W) + features "
            f"(*, {self.feature_dim}, H/2, W/2) + bank (K, {self.feature_dim}|3|"
            f"{self.raw_channels}) -> (*, {self.raw_channels}, H/2, W/2)"
        )

    # ------------------------------------------------------------------ forward

    def _features(self, srgb: torch.Tensor, features: Any, lead: tuple[int, ...]) -> torch.Tensor:
        if isinstance(features, nn.Module):
            features = features(srgb.reshape(*lead, *srgb.shape[-3:]))
        if not isinstance(features, torch.Tensor):
            raise TypeError(
                "features: expected the encoder's features (a torch.Tensor) or the encoder "
                f"(an nn.Module), got {type(features).__name__}"
            )
        want = (*lead, self.feature_dim, srgb.shape[-2] // 2, srgb.shape[-1] // 2)
        if tuple(features.shape) != want:
            raise ValueError(
                f"features: expected shape {want} (the encoder's output for srgb "
                f"{(*lead, *srgb.shape[-3:])}), got {tuple(features.shape)}"
            )
        return features.reshape(-1, *features.shape[-3:])

    def _assembled(
        self, assembled: Any, lead: tuple[int, ...], x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not (isinstance(assembled, (tuple, list)) and len(assembled) == 2):
            raise TypeError(
                "assembled: expected a pair (FsRGB, FRAW) of tensors (from assemble_prior), "
                f"got {type(assembled).__name__}"
            )
        h, w = x.shape[-2] // 2, x.shape[-1] // 2
        out = []
        for name, t, ch in zip(("FsRGB", "FRAW"), assembled, (3, self.raw_channels), strict=True):
            if not isinstance(t, torch.Tensor) or tuple(t.shape) != (*lead, ch, h, w):
                got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                raise ValueError(
                    f"assembled: expected {name} of shape {(*lead, ch, h, w)}, got {got}"
                )
            out.append(t.reshape(-1, ch, h, w).to(x.dtype))
        return out[0], out[1]

    def intermediates(
        self,
        srgb: torch.Tensor,
        features: Any = None,
        bank: Any = None,
        *,
        assembled: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> PriorRAWOutput:
        """Run Alg. 3 and return the RAW with the maps of Eq. 4, 5 and 7 (for figures).

        Arguments as :meth:`forward`; maps that the ablation row does not compute are
        ``None``.
        """
        check_image(srgb, "srgb", channels=3, even=True)
        x, lead = flatten_batch(srgb)
        s12 = self.unshuffle(x)
        fs = fr = dist = conf = None
        if not self.use_prior:
            u = self.unet(s12)
        else:
            need_bank = self.use_nonlocal or assembled is None
            if (assembled is None and features is None) or (need_bank and bank is None):
                raise ValueError(
                    "features, bank: this network uses the prior (use_prior=True) and needs "
                    "the encoder features and the prior bank (or the assembled maps, and the "
                    f"bank for the attention), got features={type(features).__name__}, "
                    f"bank={type(bank).__name__}"
                )
            b = _bank_like(bank, x, self.feature_dim, self.raw_channels) if need_bank else None
            if assembled is not None:
                fs, fr = self._assembled(assembled, lead, x)
            else:
                f_t = self._features(srgb, features, lead)
                fs, fr = assemble_prior(  # Eq. 4
                    f_t.to(x.dtype), b, temperature=self.temperature, chunk_size=self.chunk_size
                )
            parts = [s12, fr]
            if self.use_confidence:
                dist = distance_map(fs, _half_srgb(x))  # Eq. 5
                parts.insert(0, dist)
            f = self.conv_fuse(torch.cat(parts, dim=1))  # Eq. 6: f_p
            if self.use_confidence:
                conf = torch.sigmoid(self.conv_conf(f))  # Eq. 7
                f = f * conf  # f_c
            if self.use_nonlocal and b is not None:
                f = self.attention(f, b.features, b.raw)  # Eq. 8: f_o
            u = self.unet(torch.cat([s12, f], dim=1), guide=f)
        if self.base is None:
            y = torch.sigmoid(self.head(u))
        else:
            y = self.head(u) + self.base(x)
            if not self.training:  # clipped to the RAW's range (module rawkit.nets.base)
                y = y.clamp(0.0, 1.0)

        def back(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.reshape(*lead, *t.shape[-3:])

        return PriorRAWOutput(back(y), back(fs), back(fr), back(dist), back(conf))  # type: ignore[arg-type]

    def forward(
        self,
        srgb: torch.Tensor,
        features: Any = None,
        bank: Any = None,
        *,
        assembled: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Reconstruct packed RAW ``(*, raw_channels, H/2, W/2)`` from ``srgb (*, 3, H, W)``.

        Args:
            srgb: target sRGB ``(*, 3, H, W)``, even ``H, W``.
            features: its encoder features ``(*, feature_dim, H/2, W/2)``, or the
                encoder (an ``nn.Module``, called on ``srgb``); unused (may be None)
                for the sRGB-only row or when ``assembled`` is given.
            bank: the prior bank (:class:`~rawkit.nets.BankTensors`, :class:`rawkit.prior.PriorBank`
                or any object with ``features``, ``srgb``, ``raw``); unused for the
                sRGB-only row, and with ``assembled`` needed only for Eq. 8.
            assembled: optional ``(FsRGB, FRAW)`` of Eq. 4 for ``srgb``, shapes ``(*, 3,
                h, w)`` and ``(*, raw_channels, h, w)`` (:func:`~rawkit.nets.assemble_prior` with this
                network's ``temperature``).  The encoder and bank are fixed while the
                reconstructor trains, so a pipeline can assemble each training image
                once and crop the maps with the image, instead of every step.

        Returns:
            Packed RAW in ``(0, 1)``, same dtype and device as ``srgb``.
        """
        return self.intermediates(srgb, features, bank, assembled=assembled).raw
