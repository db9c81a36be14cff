r"""Overexposure mask fusion (Kim, Jiang & Gu, AIM 2022 reversed-ISP entry, ``003_*``).

The registered pipeline ``"overexposure"`` (:class:`OverexposurePipeline`) and the
pieces it is built from:

* :func:`branch_ground_truth` -- the Bayer ground truth demosaiced into a demosaiced
  RAW ``D`` and split by the overexposure mask ``M`` into GT(OE) ``= M D`` and
  GT(NOE) ``= (1 - M) D`` (poster, "Method": "two separate ground-truth images after
  passing the Bayer ground truth into a pre-trained Demosaic Net");
* :func:`fusion_loss` -- each branch's loss on its own pixels: L2 + (1 - SSIM)
  (:func:`rawkit.losses.l2_ssim_loss`) + the Laplacian-pyramid perceptual loss
  (:func:`rawkit.nets.laplacian_pyramid_loss`), weighted by ``M`` for the OE branch
  and by ``1 - M`` for the NOE branch;
* :func:`overexpose` / :func:`clipped_fraction` -- the "overexposed" data split: the
  same RAW rendered with a larger exposure so that 5-30 % of the sRGB pixels clip;
* :func:`mask_scores` -- PSNR/SSIM overall, inside and outside the overexposure mask.

**Choices where the poster is silent** (it is a one-page poster):

* *Demosaicer for the ground truth.*  The poster uses a pre-trained Demosaic Net;
  rawkit uses Menon's DDFAPD (:func:`rawkit.cfa.demosaic_menon`, ``demosaic="menon"``,
  the best of rawkit's demosaicers, no training, no downloaded weights).  Menon keeps
  every sampled value, so re-mosaicing the ground truth gives the Bayer ground truth
  back exactly: the demosaiced target is consistent with the packed one.  Its
  interpolated values can overshoot ``[0, 1]`` near edges; the target is clamped to
  ``[0, 1]``, the range of the branches' sigmoid heads (only interpolated values
  change, never a sampled one).
* *Mask.*  :func:`rawkit.masks.overexposure` with threshold 0.95 and a 0.05 ramp
  (the same smooth mask weighs the losses and blends the branches).
* *Loss weights.*  1 for L2, 1 for ``1 - SSIM`` (as PriorRAW's Eq. 9 in rawkit) and 1
  for the Laplacian-pyramid term.  MS-SSIM needs images of at least 161 pixels on a
  side at five scales, more than the training crops, so the SSIM term is single-scale.
* *Training.*  Both branches train together, every step, on the same random crops;
  Adam with cosine decay, as rawkit's sRGB-only U-Net, so that the two compare at
  equal budget (same steps, batch and crop).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import torch
import torch.nn.functional as F

from rawkit._checks import check_int, check_number, check_seed
from rawkit._tensor import Array, to_numpy, to_tensor
from rawkit.cfa import PATTERNS, Pattern, demosaic, demosaic_menon, unpack
from rawkit.data import SyntheticPair, libraw_render, write_pair_dng
from rawkit.data.pairs import PairSet
from rawkit.isp import process
from rawkit.losses import l2_ssim_loss
from rawkit.masks import overexposure
from rawkit.metrics import psnr, ssim
from rawkit.nets import train
from rawkit.nets.overexposure import (
    RESOLUTIONS,
    OverexposureFusionNet,
    laplacian_pyramid_loss,
    remosaic_pack,
)
from rawkit.pipelines._common import RandomCrops, crops_length, lr_scheduler
from rawkit.pipelines.base import Pipeline, PipelineConfig, register, setting

__all__ = [
    "DEMOSAICERS",
    "BranchTruth",
    "OverexposureConfig",
    "OverexposurePipeline",
    "branch_ground_truth",
    "clipped_fraction",
    "fusion_loss",
    "mask_scores",
    "overexpose",
]

#: rawkit demosaicers that can make the branches' ground truth.
DEMOSAICERS: tuple[str, ...] = ("menon", "malvar", "bilinear")


# ---------------------------------------------------------------------- ground truth


class BranchTruth(NamedTuple):
    """The ground truths of the two branches (:func:`branch_ground_truth`).

    Attributes:
        demosaiced: ``(*, 3, H, W)`` demosaiced RAW ``D`` in ``[0, 1]``.
        mask: ``(*, 1, H, W)`` overexposure mask ``M`` of the sRGB, in ``[0, 1]``.
        oe: ``(*, 3, H, W)`` GT(OE) ``= M D``.
        noe: ``(*, 3, H, W)`` GT(NOE) ``= (1 - M) D``.
    """

    demosaiced: Array
    mask: Array
    oe: Array
    noe: Array


def _demosaic(mosaic: torch.Tensor, pattern: str, method: str) -> torch.Tensor:
    if method == "menon":
        return cast(torch.Tensor, demosaic_menon(mosaic, pattern=pattern))  # type: ignore[arg-type]
    return cast(torch.Tensor, demosaic(mosaic, pattern=pattern, method=method))  # type: ignore[arg-type]


def branch_ground_truth(
    srgb: Array,
    packed: Array,
    *,
    pattern: Pattern,
    demosaic: str = "menon",
    threshold: float = 0.95,
    softness: float = 0.05,
) -> BranchTruth:
    r"""The two branches' ground truths: the Bayer truth demosaiced, split by the mask.

    Poster ``003_*``, "Method": the Bayer ground truth is demosaiced (here by a rawkit
    demosaicer, Menon's DDFAPD by default, instead of the poster's pre-trained
    Demosaic Net) into ``D``; with :math:`M` = :func:`rawkit.masks.overexposure`
    ``(srgb)``, GT(OE) :math:`= M \odot D` and GT(NOE) :math:`= (1 - M) \odot D`, so
    that :math:`\text{GT(OE)} + \text{GT(NOE)} = D` and each branch's loss is computed
    on its own pixels (:func:`fusion_loss`).  ``D`` is clamped to ``[0, 1]``
    (module notes: only interpolated values that overshoot change).

    Args:
        srgb: ``(*, 3, H, W)`` float sRGB in ``[0, 1]``.
        packed: ``(*, 4, H/2, W/2)`` float packed RAW ``[R, Gr, Gb, B]``.
        pattern: the camera's Bayer pattern (where each packed channel sits).
        demosaic: ``"menon"`` (default), ``"malvar"`` or ``"bilinear"``.
        threshold, softness: of :func:`rawkit.masks.overexposure`.

    Returns:
        :class:`BranchTruth` (NumPy arrays for a NumPy ``packed``, else tensors; the
        dtype and device of ``packed``).

    Raises:
        TypeError, ValueError: bad shapes or dtypes, NaN/Inf, unknown pattern or
            demosaicer, bad mask settings.

    Example:
        >>> import numpy as np
        >>> srgb = np.ones((3, 4, 4), np.float32); srgb[:, :2] = 0.2
        >>> gt = branch_ground_truth(srgb, np.full((4, 2, 2), 0.5, np.float32), pattern="RGGB")
        >>> gt.mask[0, :, 0].tolist(), gt.oe[0, :, 0].tolist(), gt.noe[0, :, 0].tolist()
        ([0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 0.0, 0.0])
    """
    if demosaic not in DEMOSAICERS:
        raise ValueError(f"demosaic: expected one of {list(DEMOSAICERS)}, got {demosaic!r}")
    s = to_tensor(srgb) if isinstance(srgb, np.ndarray) else srgb
    m = cast(torch.Tensor, overexposure(s, threshold=threshold, softness=softness))
    p = to_tensor(packed) if isinstance(packed, np.ndarray) else packed
    mos = cast(torch.Tensor, unpack(p, pattern=pattern))
    if mos.shape[:-3] != m.shape[:-3] or mos.shape[-2:] != m.shape[-2:]:
        raise ValueError(
            f"packed: expected shape {(*srgb.shape[:-3], 4, srgb.shape[-2] // 2, srgb.shape[-1] // 2)} "
            f"for srgb {tuple(srgb.shape)}, got {tuple(packed.shape)}"
        )
    if not mos.is_floating_point():
        raise TypeError(f"packed: expected a floating dtype, got {mos.dtype}")
    d = _demosaic(mos, pattern, demosaic).clamp(0.0, 1.0)
    m = m.to(d.dtype)
    out = BranchTruth(d, m, m * d, (1 - m) * d)
    if isinstance(packed, np.ndarray):
        return BranchTruth(*(to_numpy(t) for t in out))
    return out


def fusion_loss(
    out: Any,
    demosaiced: torch.Tensor,
    *,
    l2_weight: float = 1.0,
    ssim_weight: float = 1.0,
    perceptual_weight: float = 1.0,
    levels: int = 4,
) -> torch.Tensor:
    r"""Training loss of the two branches, each on its own pixels.

    .. math::

        \mathcal{L} = \ell(D_{oe}, D; M) + \ell(D_{noe}, D; 1 - M), \quad
        \ell(y, Y; w) = a\,L_2^w(y, Y) + b\,(1 - SSIM^w(y, Y)) + c\,\mathrm{Lap}_1^w(y, Y)

    where a superscript ``w`` is the ``w``-weighted mean over pixels
    (:func:`rawkit.losses.l2_ssim_loss` and :func:`rawkit.nets.laplacian_pyramid_loss`
    with ``mask=w``).  Weighting by ``M`` equals a loss between ``M D_{oe}`` and
    GT(OE) ``= M D`` restricted to the mask (:func:`branch_ground_truth`); an image
    without overexposed pixels adds nothing to the OE branch.

    Args:
        out: a :class:`rawkit.nets.FusionOutput` of ``(B, 3, H, W)`` branches and the
            ``(B, 1, H, W)`` mask, ``H, W >= 11`` when ``ssim_weight > 0``.
        demosaiced: ``(B, 3, H, W)`` the demosaiced ground truth ``D``.
        l2_weight, ssim_weight, perceptual_weight: ``a``, ``b``, ``c`` (>= 0).
        levels: Laplacian pyramid levels.

    Returns:
        Scalar loss (mean over images), differentiable.

    Example:
        >>> import torch
        >>> from rawkit.nets.overexposure import OverexposureFusionNet
        >>> net = OverexposureFusionNet(width=4, depth=1, seed=0)
        >>> srgb = torch.rand(2, 3, 16, 16)
        >>> loss = fusion_loss(net(srgb), torch.rand(2, 3, 16, 16))
        >>> loss.shape, bool(loss > 0)
        (torch.Size([]), True)
    """
    total = demosaiced.new_zeros(())
    for pred, w in ((out.oe, out.mask), (out.noe, 1 - out.mask)):
        total = total + l2_ssim_loss(
            pred, demosaiced, data_range=1.0, alpha=l2_weight, beta=ssim_weight, mask=w
        )
        if perceptual_weight:
            total = total + perceptual_weight * laplacian_pyramid_loss(
                pred, demosaiced, levels=levels, mask=w
            )
    return total


# ---------------------------------------------------------------------- data split


def clipped_fraction(srgb: Array, *, level: float = 1.0 - 0.5 / 255) -> float:
    """Fraction of pixels of an sRGB image with at least one channel clipped.

    A channel counts as clipped at or above ``level`` (default: half an 8-bit code
    below 1, i.e. the code 255 of an 8-bit sRGB).

    Args:
        srgb: ``(*, 3, H, W)`` float sRGB in ``[0, 1]``.
        level: the clipping level in ``(0, 1]``.

    Returns:
        The fraction in ``[0, 1]`` over all pixels (and images) of ``srgb``.

    Example:
        >>> import numpy as np
        >>> x = np.zeros((3, 2, 2)); x[1, 0, 0] = 1.0
        >>> clipped_fraction(x)
        0.25
    """
    lv = check_number(level, "level", minimum=0.0, maximum=1.0)
    m = overexposure(srgb, threshold=lv, softness=0.0) if lv > 0 else None
    if m is None:
        raise ValueError("level: expected a value in (0, 1], got 0")
    return float(np.asarray(to_numpy(m) if isinstance(m, torch.Tensor) else m).mean())


def _render(pair: SyntheticPair, gain: float, look: Any) -> np.ndarray:
    params = pair.params.replace(exposure=pair.params.exposure * gain)
    if pair.render == "rawkit":
        srgb = np.asarray(
            process(pair.mosaic, camera=pair.camera, params=params, convention=pair.convention)  # type: ignore[arg-type]
        )
    else:
        if not 0.25 <= params.exposure <= 8:
            raise ValueError(
                f"pair: LibRaw's exposure shift is limited to [0.25, 8]; reaching the "
                f"clipped fraction needs {params.exposure:.3g}"
            )
        with tempfile.TemporaryDirectory(prefix="rawkit-oe-") as d:
            path = write_pair_dng(Path(d) / "pair.dng", pair.raw, pair.camera, params)
            srgb = libraw_render(path, exposure=params.exposure)
    if look is not None:  # the benchmark camera's look (pairs of the "default" data preset)
        from rawkit.isp import apply_look  # type: ignore[attr-defined]

        srgb = np.asarray(apply_look(srgb, look=look))
    bits = pair.srgb_bits
    if bits is not None:
        scale = float(2**bits - 1)
        srgb = np.round(np.clip(srgb, 0.0, 1.0) * scale) / scale
    return np.ascontiguousarray(srgb, dtype=np.float32)


def overexpose(
    pair: SyntheticPair,
    *,
    fraction: float | None = None,
    seed: int = 0,
    low: float = 0.05,
    high: float = 0.30,
    iterations: int = 20,
) -> SyntheticPair:
    """The same RAW rendered with more exposure, so that a chosen share of the sRGB clips.

    The "overexposed" split of the overexposure-fusion method: a real camera whose
    auto-exposure overshoots (or a bright scene) keeps the highlights in its RAW,
    up to the sensor's white, but its sRGB saturates.  Here the pair's linear RAW
    (``pair.mosaic``, unchanged: it is the ground truth) is rendered again with its
    exposure gain multiplied by ``k`` (scaling the RAW by ``k`` before the render's
    clip), ``k`` found by bisection on ``log2 k`` in ``[-4, 6]`` so that
    :func:`clipped_fraction` of the new sRGB is ``fraction`` (to within the
    bisection's resolution).  The render is the pair's own: rawkit's
    :func:`rawkit.isp.process` for ``render="rawkit"``, LibRaw through a DNG for
    ``"libraw"`` (exposure limited to LibRaw's ``[0.25, 8]``), then the pair's camera
    look (``pair.look``, :func:`rawkit.isp.apply_look`; the benchmark camera's) if it
    has one, and the pair's sRGB quantisation.

    Args:
        pair: a :class:`rawkit.data.SyntheticPair`.
        fraction: the share of pixels to clip, in ``[low, high]``; ``None`` draws it
            uniformly in ``[low, high]`` from ``seed``.
        seed: for the draw of ``fraction``.
        low, high: the range of clipped shares (default 5-30 %).
        iterations: bisection steps (20: ``k`` to about 1e-5 stops).

    Returns:
        A :class:`rawkit.data.SyntheticPair` with the new ``srgb`` and ``params``
        (exposure multiplied by ``k``); ``mosaic``, ``packed`` and ``raw`` unchanged.

    Raises:
        TypeError: ``pair`` is not a SyntheticPair.
        ValueError: bad ``fraction``/``low``/``high``; a share outside ``[low,
            high]`` that no gain in ``[1/16, 64]`` reaches (e.g. an image that is dark
            everywhere but a few pixels); a LibRaw exposure out of its range.

    Example:
        >>> from rawkit.data import synthesize
        >>> pair = synthesize("chelsea", camera="nikon_d5100", seed=0, max_side=64)
        >>> oe = overexpose(pair, fraction=0.2)
        >>> 0.15 < clipped_fraction(oe.srgb) < 0.25, bool((oe.packed == pair.packed).all())
        (True, True)
    """
    if not isinstance(pair, SyntheticPair):
        raise TypeError(f"pair: expected a rawkit.data.SyntheticPair, got {type(pair).__name__}")
    lo = check_number(low, "low", minimum=0.0, maximum=1.0)
    hi = check_number(high, "high", minimum=lo, maximum=1.0)
    seed = check_seed(seed)
    if fraction is None:
        target = float(np.random.default_rng(seed).uniform(lo, hi))
    else:
        target = check_number(fraction, "fraction", minimum=lo, maximum=hi)
    n = check_int(iterations, "iterations", minimum=1)
    look = getattr(pair, "look", None)
    a, b = -4.0, 6.0
    if pair.render == "libraw":
        base = math.log2(pair.params.exposure)
        a, b = max(a, -2.0 - base), min(b, 3.0 - base)
    span = (2.0**a, 2.0**b)
    best: tuple[float, float, np.ndarray] | None = None  # closest in-range candidate
    seen: list[float] = []
    for _ in range(n):
        mid = 0.5 * (a + b)
        srgb = _render(pair, 2.0**mid, look)
        f = clipped_fraction(srgb)
        seen.append(f)
        if lo <= f <= hi and (best is None or abs(f - target) < abs(best[1] - target)):
            best = (mid, f, srgb)
        if f < target:
            a = mid
        else:
            b = mid
    if best is None:
        closest = min(seen, key=lambda v: abs(v - target))
        raise ValueError(
            f"pair: no exposure gain in [{span[0]:.3g}, {span[1]:.3g}] clips between {lo:.0%} "
            f"and {hi:.0%} of the pixels of {pair.photo or 'the image'} (closest {closest:.1%})"
        )
    log_k, f, srgb = best
    params = pair.params.replace(exposure=pair.params.exposure * 2.0**log_k)
    return dataclasses.replace(pair, srgb=srgb, params=params)


# ---------------------------------------------------------------------- evaluation


def _packed_mask(srgb: torch.Tensor, threshold: float) -> torch.Tensor:
    """Hard overexposure mask on the packed grid: a 2x2 quad counts if any pixel does."""
    m = cast(torch.Tensor, overexposure(srgb, threshold=threshold, softness=0.0))
    lead = m.shape[:-3]
    p = F.max_pool2d(m.reshape(-1, *m.shape[-3:]), 2)
    return p.reshape(*lead, *p.shape[-3:])


def mask_scores(
    pred: Array, true: Array, srgb: Array, *, threshold: float = 0.95
) -> dict[str, float]:
    """PSNR/SSIM of a packed RAW overall, inside and outside the overexposure mask.

    The mask is the hard :func:`rawkit.masks.overexposure` ``(srgb, threshold,
    softness=0)`` moved to the packed grid (a 2x2 quad is inside when any of its four
    sRGB pixels is).  PSNR with :func:`rawkit.metrics.psnr` and SSIM with
    :func:`rawkit.metrics.ssim` (``data_range=1``, masked means), per image.

    Args:
        pred: ``(3 or 4 dims)`` packed RAW ``(4, h, w)`` (or a batch) from a method.
        true: the true packed RAW, same shape.
        srgb: the sRGB ``(3, 2h, 2w)`` the method saw.
        threshold: the mask's threshold.

    Returns:
        ``{"psnr", "ssim", "psnr_in", "ssim_in", "psnr_out", "ssim_out", "mask_share"}``
        (means over the batch; ``nan`` inside when the mask is empty).

    Example:
        >>> import numpy as np
        >>> srgb = np.zeros((3, 24, 24), np.float32); srgb[:, :12] = 1.0
        >>> true = np.full((4, 12, 12), 0.5, np.float32)
        >>> s = mask_scores(true + 0.01, true, srgb)
        >>> round(s["psnr"], 2), round(s["psnr_in"], 2), s["mask_share"]
        (40.0, 40.0, 0.5)
    """
    p = torch.as_tensor(np.asarray(pred) if not isinstance(pred, torch.Tensor) else pred)
    t = torch.as_tensor(np.asarray(true) if not isinstance(true, torch.Tensor) else true)
    s = torch.as_tensor(np.asarray(srgb) if not isinstance(srgb, torch.Tensor) else srgb)
    p, t = p.to(torch.float64), t.to(torch.float64)
    m = _packed_mask(s.to(torch.float64), threshold)
    out: dict[str, float] = {
        "psnr": float(psnr(p, t, data_range=1.0).mean()),
        "ssim": float(ssim(p, t, data_range=1.0).mean()),
        "mask_share": float(m.mean()),
    }
    for tag, w in (("in", m), ("out", 1 - m)):
        out[f"psnr_{tag}"] = float(torch.nanmean(psnr(p, t, data_range=1.0, mask=w)))
        out[f"ssim_{tag}"] = float(torch.nanmean(ssim(p, t, data_range=1.0, mask=w)))
    return out


# ---------------------------------------------------------------------- pipeline


def _positive_int(v: Any, name: str, minimum: int = 1, even: bool = False) -> None:
    check_int(v, name, minimum=minimum, even=even)


@dataclasses.dataclass(frozen=True)
class OverexposureConfig(PipelineConfig):
    """Settings of :class:`OverexposurePipeline` (module notes for the choices)."""

    pattern: str = setting(
        "RGGB", "the camera's Bayer pattern (ground-truth demosaic and re-mosaic)", choices=PATTERNS
    )
    width: int = setting(16, "channels of each branch U-Net's first level")
    depth: int = setting(4, "downsamplings of each branch U-Net")
    resolution: str = setting(
        "half", "branch U-Nets at the packed RAW's resolution or at full", choices=RESOLUTIONS
    )
    threshold: float = setting(0.95, "overexposure mask threshold (sRGB channel maximum)")
    softness: float = setting(0.05, "width of the mask's smooth ramp below the threshold")
    demosaic: str = setting("menon", "demosaicer of the ground truth", choices=DEMOSAICERS)
    steps: int = setting(500, "optimiser steps (Adam)")
    batch_size: int = setting(8, "crops per step")
    crop: int = setting(96, "side of the random sRGB training crops (even)")
    lr: float = setting(1e-3, "learning rate (cosine decay to 0)")
    l2_weight: float = setting(1.0, "weight of the masked L2 term")
    ssim_weight: float = setting(1.0, "weight of the masked 1 - SSIM term")
    perceptual_weight: float = setting(1.0, "weight of the masked Laplacian-pyramid term")
    levels: int = setting(4, "Laplacian pyramid levels of the perceptual term")

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive_int(self.width, "width")
        check_int(self.depth, "depth", minimum=0)
        _positive_int(self.steps, "steps")
        _positive_int(self.batch_size, "batch_size")
        check_int(self.crop, "crop", minimum=22, even=True)
        _positive_int(self.levels, "levels")
        check_number(self.lr, "lr", minimum=0.0)
        for k in ("l2_weight", "ssim_weight", "perceptual_weight"):
            check_number(getattr(self, k), k, minimum=0.0)
        overexposure(torch.zeros(1, 1, 1), threshold=self.threshold, softness=self.softness)


@register
class OverexposurePipeline(Pipeline):
    """Overexposure mask fusion: two U-Nets to demosaiced RAW, blended, re-mosaiced, packed.

    ``fit`` demosaics every training pair's Bayer truth (:func:`branch_ground_truth`)
    and trains :class:`rawkit.nets.OverexposureFusionNet` with :func:`fusion_loss` on
    random crops; ``reconstruct`` blends the branches by the mask of the input sRGB
    (:func:`rawkit.nets.fuse`), re-mosaics with ``config.pattern`` and packs to
    ``[R, Gr, Gb, B]`` (:func:`rawkit.nets.remosaic_pack`), tile by tile.

    Example:
        >>> import torch
        >>> from rawkit.data import synthesize
        >>> pairs = [synthesize("chelsea", camera="nikon_d5100", seed=0, max_side=64)]
        >>> cfg = OverexposureConfig(width=4, depth=1, steps=2, batch_size=2, crop=32)
        >>> pipe = OverexposurePipeline.fit(pairs, cfg, progress=False)
        >>> pipe.reconstruct(pairs[0].srgb).shape
        (4, 21, 32)
    """

    name = "overexposure"
    Config = OverexposureConfig
    learned = True
    stores_metadata = False
    description = "overexposure mask fusion: two U-Nets (overexposed / not) to demosaiced RAW"
    config: OverexposureConfig

    def __init__(self, config: OverexposureConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.net = OverexposureFusionNet(
            width=c.width, depth=c.depth, resolution=c.resolution,  # type: ignore[arg-type]
            threshold=c.threshold, softness=c.softness, seed=0,
        )  # fmt: skip

    def check_training_data(self, data: PairSet | None) -> None:
        if data is not None and data.min_side < self.config.crop:
            raise ValueError(
                f"crop: {self.config.crop} is larger than the smallest training image "
                f"({data.min_side} pixels); use a smaller crop"
            )

    def _fit(self, data: PairSet, *, seed: int, progress: bool) -> None:
        c = self.config
        self.net = OverexposureFusionNet(
            width=c.width, depth=c.depth, resolution=c.resolution,  # type: ignore[arg-type]
            threshold=c.threshold, softness=c.softness, seed=seed,
        )  # fmt: skip
        pairs = list(data)
        truth = [
            F.pixel_unshuffle(
                branch_ground_truth(
                    p.srgb, p.packed, pattern=c.pattern, demosaic=c.demosaic,  # type: ignore[arg-type]
                    threshold=c.threshold, softness=c.softness,
                ).demosaiced,
                2,
            )
            for p in pairs
        ]  # fmt: skip
        ds = RandomCrops(
            pairs,  # type: ignore[arg-type]
            crop=c.crop, length=crops_length(c.steps, c.batch_size), seed=seed,
            extras={"demosaiced": truth},
        )  # fmt: skip

        def step(net: torch.nn.Module, batch: dict[str, Any]) -> torch.Tensor:
            out = net(batch["srgb"])
            d = F.pixel_shuffle(batch["demosaiced"], 2)
            return fusion_loss(
                out, d, l2_weight=c.l2_weight, ssim_weight=c.ssim_weight,
                perceptual_weight=c.perceptual_weight, levels=c.levels,
            )  # fmt: skip

        hist = train(
            self.net, step, ds, steps=c.steps, batch_size=c.batch_size, lr=c.lr, seed=seed,
            scheduler=lr_scheduler("cosine", c.steps), progress=progress,
            desc="overexposure fusion",
        )  # fmt: skip
        self.net.eval()
        self.info["steps"] = hist.steps
        self.info["final_loss"] = float(hist.train_loss[-1]) if hist.train_loss else None

    def branches(self, srgb: Array) -> dict[str, np.ndarray]:
        """The mask, both branches' demosaiced RAW and their blend for one image (figures).

        Args:
            srgb: ``(3, H, W)`` float sRGB in ``[0, 1]``, even ``H, W``.

        Returns:
            ``{"mask": (1, H, W), "oe": (3, H, W), "noe": (3, H, W), "fused": (3, H, W)}``
            NumPy float32 (whole image, not tiled).
        """
        self._check_fitted()
        x = torch.as_tensor(np.asarray(srgb, dtype=np.float32))
        with torch.no_grad():
            out = self.net(x.to(self.device))
        return {k: to_numpy(getattr(out, k).cpu()) for k in ("mask", "oe", "noe", "fused")}

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        out = self.net(srgb)
        return cast(torch.Tensor, remosaic_pack(out.fused, pattern=self.config.pattern))  # type: ignore[arg-type]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.net.state_dict())

    def load_state_tensors(self, tensors: Any) -> None:
        self.net.load_state_dict(dict(tensors), strict=True)
