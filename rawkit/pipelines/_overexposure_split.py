"""The overexposed data split and the scores inside/outside the mask (overexposure fusion).

Private home of :func:`rawkit.pipelines.overexposure.overexpose`,
:func:`~rawkit.pipelines.overexposure.clipped_fraction` and
:func:`~rawkit.pipelines.overexposure.mask_scores`, which that module re-exports (they
are documented and tested there).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from rawkit._checks import check_int, check_number, check_seed
from rawkit._tensor import Array, to_numpy
from rawkit.data import SyntheticPair, libraw_render, write_pair_dng
from rawkit.isp import process
from rawkit.masks import overexposure
from rawkit.metrics import psnr, ssim
from rawkit.pipelines._common import RandomCrops

__all__: list[str] = []


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


# ---------------------------------------------------------------------- training crops


class OverexposedCrops(RandomCrops):
    """Random crops that each contain an overexposed pixel (the OE branch's training data).

    Item ``i`` draws, from ``numpy.random.default_rng([seed, i, 1])``, one of the packed
    RAW's quads that the hard mask ``masks[k]`` marks (pairs cycled in order among those
    with at least one), and a crop placing that quad at a uniformly random position
    inside the crop, shifted only as far as needed to stay in the image.  Items are
    the dicts of :class:`RandomCrops` (``extras`` cropped with the RAW).

    Why: the OE branch's loss only counts overexposed pixels; on random crops most
    of its batch would hold none (5-30 % of the pixels of an overexposed image, none
    of most normal ones) and its steps would be spent on a handful of pixels.
    """

    def __init__(
        self,
        pairs: Any,
        *,
        masks: list[torch.Tensor],
        crop: int,
        length: int,
        seed: int,
        extras: Any = None,
    ) -> None:
        super().__init__(pairs, crop=crop, length=length, seed=seed, extras=extras)
        self.sites = [(k, torch.nonzero(m.reshape(m.shape[-2:]) > 0)) for k, m in enumerate(masks)]
        self.sites = [(k, s) for k, s in self.sites if len(s)]
        if not self.sites:
            raise ValueError("data: no training pair has an overexposed pixel")

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        k, sites = self.sites[index % len(self.sites)]
        p = self.pairs[k]
        rng = np.random.default_rng([self.seed, index, 1])
        cy, cx = (int(v) for v in sites[int(rng.integers(len(sites)))])
        c = self.crop // 2
        h, w = p.packed.shape[-2:]
        y = min(max(cy - int(rng.integers(0, c)), 0), h - c)
        x = min(max(cx - int(rng.integers(0, c)), 0), w - c)
        item: dict[str, Any] = {
            "srgb": p.srgb[:, 2 * y : 2 * (y + c), 2 * x : 2 * (x + c)],
            "packed": p.packed[:, y : y + c, x : x + c],
            "group": self.group_index[p.group],
        }
        for name, maps in self.extras.items():
            item[name] = maps[k][:, y : y + c, x : x + c]
        return item
