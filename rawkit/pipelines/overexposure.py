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
  ``[0, 1]``, the RAW's range (only interpolated values change, never a sampled
  one).
* *Mask.*  :func:`rawkit.masks.overexposure` with threshold 0.95 and a 0.05 ramp
  (the same smooth mask weighs the losses and blends the branches).
* *Loss weights.*  1 for L2, 1 for ``1 - SSIM`` (as PriorRAW's Eq. 9 in rawkit) and 1
  for the Laplacian-pyramid term.  MS-SSIM needs images of at least 161 pixels on a
  side at five scales, more than the training crops, so the SSIM term is single-scale.
* *Training.*  Both branches train together, every step, each on its own batch of
  ``batch_size`` crops: the NOE branch on random crops (those of rawkit's sRGB-only
  U-Net, same seed), the OE branch (``oe_crops=True``) on crops that each hold an
  overexposed pixel (``OverexposedCrops``: on random crops most of its batch would
  hold none).  Each branch's loss is normalised by its mask area over the batch
  (:func:`fusion_loss`).  Adam with cosine decay, as rawkit's sRGB-only U-Net, so
  that the two compare at equal steps, batch, crop and learning rate; a step of the
  fusion runs two U-Nets, each the size of the single one.
* *Base and exposure gain* (``base="generic"``, :class:`rawkit.nets.OverexposureFusionNet`):
  the branches correct the blind generic inverse of ``camera`` times a global
  exposure gain (a constant for normally exposed images, a regression for overexposed
  ones, mixed by a logistic gate) fitted to the mean PSNR of the gained inverse over
  the training images, normal and overexposed together, before the branches train
  (zero-initialised heads: the untrained fusion is that inverse).
  ``base="none"`` gives the poster's plain branches.
* *Inference.*  ``reconstruct`` runs the branches on ``crop``-sized windows
  overlapping by a quarter (:meth:`rawkit.nets.OverexposureFusionNet.forward`,
  ``tile``), while the mask, the generic inverse and its exposure gain see the whole
  image (or each tile of ``reconstruct(tile=...)``): U-Nets trained on small crops
  behave worse on whole images (measured, see the method's ``forward``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple, cast

import numpy as np
import torch
import torch.nn.functional as F

from rawkit._checks import check_int, check_number
from rawkit._tensor import Array, to_numpy, to_tensor
from rawkit.cfa import PATTERNS, Pattern, demosaic, demosaic_menon, unpack
from rawkit.data.pairs import PairSet
from rawkit.isp import BUILTIN_CAMERAS
from rawkit.losses import l2_ssim_loss
from rawkit.masks import overexposure
from rawkit.nets import train
from rawkit.nets.overexposure import (
    BRANCH_BASES,
    RESOLUTIONS,
    OverexposureFusionNet,
    laplacian_pyramid_loss,
    remosaic_pack,
)
from rawkit.pipelines._common import RandomCrops, crops_length, lr_scheduler
from rawkit.pipelines._overexposure_split import (
    OverexposedCrops,
    _packed_mask,
    clipped_fraction,
    mask_scores,
    overexpose,
)
from rawkit.pipelines.base import Pipeline, PipelineConfig, register, setting

# Public here (documented, listed and tested as this module's): their home is private.
for _f in (clipped_fraction, mask_scores, overexpose):
    _f.__module__ = __name__

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

    where a superscript ``w`` is the ``w``-weighted mean over the pixels of one
    image (:func:`rawkit.losses.l2_ssim_loss` and
    :func:`rawkit.nets.laplacian_pyramid_loss` with ``mask=w``), and the batch mean
    weighs image ``i`` by its share of the batch's mask area,
    :math:`\sum_i \frac{|w_i|}{\sum_k |w_k|} \ell_i`.  Normalising by the *area*
    (not by the image count) gives each branch full-strength gradients however few
    of the batch's pixels are its own: a crop with 3 % overexposed pixels weighs what
    its 3 % are, and a batch whose crops are 97 % well exposed does not shrink the OE
    branch's loss 30-fold.  Weighting by ``M`` equals a loss between ``M D_{oe}`` and
    GT(OE) ``= M D`` restricted to the mask (:func:`branch_ground_truth`); an image
    without overexposed pixels adds nothing to the OE branch.

    Args:
        out: a :class:`rawkit.nets.FusionOutput` of ``(B, 3, H, W)`` branches and the
            ``(B, 1, H, W)`` mask, ``H, W >= 11`` when ``ssim_weight > 0``.
        demosaiced: ``(B, 3, H, W)`` the demosaiced ground truth ``D``.
        l2_weight, ssim_weight, perceptual_weight: ``a``, ``b``, ``c`` (>= 0).
        levels: Laplacian pyramid levels.

    Returns:
        Scalar loss (area-weighted mean over images), differentiable.

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
        total = total + _branch_loss(
            pred, demosaiced, w, a=l2_weight, b=ssim_weight, c=perceptual_weight, levels=levels
        )
    return total


def _branch_loss(
    pred: torch.Tensor, target: torch.Tensor, w: torch.Tensor, *, a: float, b: float, c: float,
    levels: int,
) -> torch.Tensor:  # fmt: skip
    """One branch's term of :func:`fusion_loss`: per-image ``w``-weighted means, averaged
    over the batch with weights proportional to each image's ``sum(w)``."""
    area = w.sum(dim=(-3, -2, -1))
    share = area / area.sum().clamp_min(1e-12)
    per = l2_ssim_loss(pred, target, data_range=1.0, alpha=a, beta=b, mask=w, reduction="none")
    if c:
        per = per + c * laplacian_pyramid_loss(
            pred, target, levels=levels, mask=w, reduction="none"
        )
    return cast(torch.Tensor, (share * per).sum())


# ---------------------------------------------------------------------- pipeline


class _BranchCrops(torch.utils.data.Dataset):
    """Item ``i``: ``{"noe": noe[i], "oe": oe[i]}`` (each branch's crop of one step)."""

    def __init__(self, noe: RandomCrops, oe: RandomCrops) -> None:
        self.noe, self.oe = noe, oe

    def __len__(self) -> int:
        return len(self.noe)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"noe": self.noe[i], "oe": self.oe[i]}


def _positive_int(v: Any, name: str, minimum: int = 1, even: bool = False) -> None:
    check_int(v, name, minimum=minimum, even=even)


@dataclasses.dataclass(frozen=True)
class OverexposureConfig(PipelineConfig):
    """Settings of :class:`OverexposurePipeline` (module notes for the choices)."""

    V2_DEFAULTS: ClassVar[dict[str, Any]] = {"base": "none"}  # the poster's plain branches

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
    base: str = setting(
        "generic",
        "branches correct the blind generic inverse, or predict the RAW",
        choices=BRANCH_BASES,
    )
    camera: str = setting(
        "nikon_d5100",
        "built-in camera of the generic inverse (colour matrix)",
        choices=BUILTIN_CAMERAS,
    )
    oe_crops: bool = setting(
        True, "the OE branch trains on its own crops, each holding overexposed pixels"
    )
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
        self.net = self._build(seed=0)

    def _build(self, *, seed: int) -> OverexposureFusionNet:
        c = self.config
        return OverexposureFusionNet(
            width=c.width, depth=c.depth, resolution=c.resolution,  # type: ignore[arg-type]
            threshold=c.threshold, softness=c.softness, base=c.base,  # type: ignore[arg-type]
            camera=c.camera, seed=seed,
        )  # fmt: skip

    def check_training_data(self, data: PairSet | None) -> None:
        if data is not None and data.min_side < self.config.crop:
            raise ValueError(
                f"crop: {self.config.crop} is larger than the smallest training image "
                f"({data.min_side} pixels); use a smaller crop"
            )

    def _fit(self, data: PairSet, *, seed: int, progress: bool) -> None:
        c = self.config
        self.net = net = self._build(seed=seed)
        pairs = list(data)
        srgbs = [torch.as_tensor(p.srgb) for p in pairs]
        truths, masks, fits = [], [], []
        for p, s in zip(pairs, srgbs, strict=True):  # per image once: Menon truth, masks
            gt = branch_ground_truth(
                s, torch.as_tensor(p.packed), pattern=c.pattern, demosaic=c.demosaic,  # type: ignore[arg-type]
                threshold=c.threshold, softness=c.softness,
            )  # fmt: skip
            truths.append(cast(torch.Tensor, gt.demosaiced))
            masks.append(_packed_mask(s, c.threshold))
            hard = cast(torch.Tensor, overexposure(s, threshold=c.threshold, softness=0.0))
            fits.append((s, truths[-1], 1 - hard))
        # the global exposure gain (gated; fitted to the mean PSNR of the gained base) before
        # the branches train (nets notes)
        self.info["gain_fit_images"] = net.fit_gain(fits)
        extras = {"demosaiced": [F.pixel_unshuffle(d, 2) for d in truths]}
        if c.base == "generic":
            extras["base"] = [
                F.pixel_unshuffle(cast(torch.Tensor, net.base(s[None]))[0], 2) for s in srgbs
            ]
        n = crops_length(c.steps, c.batch_size)
        noe = RandomCrops(pairs, crop=c.crop, length=n, seed=seed, extras=extras)  # type: ignore[arg-type]
        oe = noe
        if c.oe_crops and any(bool(m.any()) for m in masks):
            oe = OverexposedCrops(
                pairs, masks=masks, crop=c.crop, length=n, seed=seed, extras=extras
            )
        self.info["oe_crops"] = oe is not noe
        ds = _BranchCrops(noe, oe)
        kw = {"a": c.l2_weight, "b": c.ssim_weight, "c": c.perceptual_weight, "levels": c.levels}

        def step(model: torch.nn.Module, batch: dict[str, Any]) -> torch.Tensor:
            total = 0
            for key, branch in (("oe", model.oe), ("noe", model.noe)):
                b = batch[key]
                x, d = b["srgb"], F.pixel_shuffle(b["demosaiced"], 2)
                base = F.pixel_shuffle(b["base"], 2) if c.base == "generic" else None
                m = model.mask(x).to(d.dtype)
                w = m if key == "oe" else 1 - m
                total = total + _branch_loss(branch(x, base), d, w, **kw)
            return cast(torch.Tensor, total)

        hist = train(
            net, step, ds, steps=c.steps, batch_size=c.batch_size, lr=c.lr, seed=seed,
            scheduler=lr_scheduler("cosine", c.steps), progress=progress,
            desc="overexposure fusion",
        )  # fmt: skip
        net.eval()
        self.info["steps"] = hist.steps
        self.info["final_loss"] = float(hist.train_loss[-1]) if hist.train_loss else None

    def branches(self, srgb: Array) -> dict[str, np.ndarray]:
        """The mask, the generic inverse, both branches' demosaiced RAW and their blend (figures).

        Args:
            srgb: ``(3, H, W)`` float sRGB in ``[0, 1]``, even ``H, W``.

        Returns:
            ``{"mask": (1, H, W), "oe": (3, H, W), "noe": (3, H, W), "fused": (3, H, W)}``
            and ``"base"`` ``(3, H, W)`` (the blind generic inverse, ``base="generic"``
            only), NumPy float32 (whole image, not tiled; branches unclamped).
        """
        self._check_fitted()
        x = torch.as_tensor(np.asarray(srgb, dtype=np.float32))
        with torch.no_grad():
            out = self.net(x.to(self.device), tile=self.config.crop)
        keys = ("mask", "oe", "noe", "fused") + (("base",) if out.base is not None else ())
        return {k: to_numpy(getattr(out, k).cpu()) for k in keys}

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        # branches on crop-sized windows (OverexposureFusionNet.forward); clamped to the
        # RAW's range (the residual heads are not bounded to it)
        fused = self.net(srgb, tile=self.config.crop).fused.clamp(0.0, 1.0)
        return cast(torch.Tensor, remosaic_pack(fused, pattern=self.config.pattern))  # type: ignore[arg-type]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.net.state_dict())

    def load_state_tensors(self, tensors: Any) -> None:
        d = dict(tensors)
        if "gain_weights" in d and "gain_gate" not in d:
            # saved before the gated exposure gain: its plain regression w . f (gate at 1)
            d["gain_gate"] = torch.zeros_like(d["gain_weights"])
            d["gain_gate"][0] = 40.0  # sigmoid(40) == 1 in float64
            d["gain_normal"] = torch.zeros((), dtype=d["gain_weights"].dtype)
        self.net.load_state_dict(d, strict=True)
