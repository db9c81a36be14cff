r"""The inverse ISP calibrated on a stored keyframe: the drift-free base of the chain.

*Added to the paper.*  FAGDN (CVPR 2024) starts every frame from the previous frame's
RAW warped along the flow, so each step inherits the previous step's error and a short
training drifts (measured on 30-frame chains in the tutorial).  But the stored RAW
frame tells more than its pixels: a camera keeps its illuminant, white balance,
exposure and lens through a clip (rawkit's synthetic videos draw **one**
:class:`rawkit.isp.ISPParams` per video), so the keyframe pair :math:`(x_k, y_k)`
calibrates the per-video unknowns of the blind inverse ISP once, and the calibrated
inverse of frame :math:`t` depends on :math:`x_t` alone: it cannot drift.

**Model.**  With :math:`\ell(x) = s^{-1}(\mathrm{EOTF}(x))` the linearised sRGB
(:func:`rawkit.isp.srgb_eotf`, then :func:`rawkit.isp.inverse_smoothstep` when
``tone=True``) and :math:`g_s(p) = 1 + s\,r(p)^2` the radial lens-shading gain of
:func:`rawkit.isp.lens_shading_gain` (``r = 1`` at the corners), the RAW at a packed
site :math:`p` of channel :math:`k` is

.. math::  \hat y_k(p) = \mathrm{clamp}\Big(\frac{\sum_c A_{\kappa(k) c}\,\ell_c(p)}{g_s(p)},
           0, 1\Big), \qquad \kappa(R, G_r, G_b, B) = (0, 1, 1, 2).

:math:`A` (3 x 3) folds the inverse colour matrix, the white-balance gains and the
exposure into one linear map (the inverse of ``process``'s camera -> sRGB step up to
its clipping); :math:`s` is the lens-shading strength.  Ten numbers per video.

**Fit** (:func:`calibrate_inverse`): for each :math:`s` on a grid (then a finer one
around the best), :math:`A` by linear least squares per colour row over the sites that
are neither clipped in the sRGB (any channel :math:`\ge` ``clip_level``: highlights
and out-of-gamut colours lose information there) nor saturated or black in the RAW;
the :math:`s` with the smallest squared residual wins (refined by the vertex of a
parabola through the three best points of the fine grid).  Every sample of a full frame
enters (subsampled evenly above ``max_sites``), so the 10 unknowns are well determined.

On rawkit's synthetic videos (whose ISP this model matches) the calibrated inverse
equals the inverse with the true parameters to a few hundredths of a dB; on another
ISP (a different tone curve, a local tone operator) it is only as good as this model.

Example:
    >>> from rawkit.data import synthesize_video
    >>> from rawkit.metrics import psnr
    >>> v = synthesize_video("kodim19", n_frames=3, motion="pan", seed=1, size=(64, 96))
    >>> inv = calibrate_inverse(v.srgb[0], v.packed[0], pattern=v.pattern)
    >>> bool(abs(inv.lens_shading - v.params.lens_shading) < 0.05)
    True
    >>> float(psnr(inv(v.srgb[2]), v.packed[2], data_range=1.0)) > 40
    True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import numpy as np
import torch

from rawkit._checks import check_finite, check_number
from rawkit._tensor import Array, to_numpy, to_tensor
from rawkit.cfa import Pattern, check_pattern, mosaic, pack
from rawkit.isp import inverse_smoothstep, invert_lens_shading, srgb_eotf

__all__ = ["KeyframeInverse", "calibrate_inverse"]

_ROW = (0, 1, 1, 2)  # colour row of packed channels R, Gr, Gb, B
_MIN_SITES = 16  # per colour row


def _image(x: Any, name: str, channels: int, batched: bool) -> torch.Tensor:
    t = to_tensor(x) if isinstance(x, np.ndarray) else x
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor or array, got {type(x).__name__}")
    shape = f"(*, {channels}, H, W)" if batched else f"({channels}, H, W)"
    if (t.ndim < 3 if batched else t.ndim != 3) or t.shape[-3] != channels:
        raise ValueError(f"{name}: expected shape {shape}, got {tuple(t.shape)}")
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating dtype, got {t.dtype}")
    check_finite(t, name)
    if t.numel() and (float(t.min()) < 0 or float(t.max()) > 1):
        raise ValueError(
            f"{name}: expected values in [0, 1], got [{float(t.min())}, {float(t.max())}]"
        )
    return t


def _linear(srgb: torch.Tensor, tone: bool) -> torch.Tensor:
    lin = srgb_eotf(srgb).clamp(0.0, 1.0)
    return inverse_smoothstep(lin) if tone else lin


@dataclasses.dataclass(frozen=True)
class KeyframeInverse:
    r"""An inverse ISP calibrated on one keyframe (module notes); call it on sRGB frames.

    Attributes:
        matrix: ``(3, 3)`` float64 :math:`A`, linearised sRGB -> camera RAW ``[R, G, B]``.
        lens_shading: the strength :math:`s` of :math:`g_s = 1 + s r^2`.
        pattern: the Bayer pattern of the RAW.
        tone: whether :math:`\ell` inverts the smoothstep tone curve.
        rms: root-mean-square residual of the fit on the sites used (RAW units).
        sites: packed sites the fit used.

    ``inv(srgb)``: ``(*, 3, H, W)`` float sRGB in ``[0, 1]`` (even ``H, W``) ->
    ``(*, 4, H/2, W/2)`` packed RAW in ``[0, 1]`` (the clamp of the module's equation),
    same dtype and device as the input; NumPy for NumPy input.  Differentiable.
    """

    matrix: np.ndarray
    lens_shading: float
    pattern: str
    tone: bool = True
    rms: float = 0.0
    sites: int = 0

    def __call__(self, srgb: Array) -> Array:
        t = _image(srgb, "srgb", 3, batched=True)
        if t.shape[-2] % 2 or t.shape[-1] % 2:
            raise ValueError(f"srgb: expected even height and width, got {tuple(t.shape[-2:])}")
        a = torch.as_tensor(self.matrix, dtype=t.dtype, device=t.device)
        cam = torch.einsum("rc,...chw->...rhw", a, _linear(t, self.tone))
        raw = pack(mosaic(cam, pattern=self.pattern), pattern=self.pattern)  # type: ignore[arg-type]
        if self.lens_shading != 0:
            raw = invert_lens_shading(
                raw,
                strength=self.lens_shading,
                layout="packed",
                pattern=self.pattern,  # type: ignore[arg-type]
            )
        out = raw.clamp(0.0, 1.0)
        return to_numpy(out) if isinstance(srgb, np.ndarray) else out


def calibrate_inverse(
    srgb: Array,
    raw: Array,
    *,
    pattern: Pattern,
    tone: bool = True,
    clip_level: float = 0.98,
    max_sites: int = 200_000,
) -> KeyframeInverse:
    r"""Fit the per-video unknowns of the inverse ISP on one keyframe (module notes).

    Args:
        srgb: ``(3, H, W)`` float sRGB of the keyframe in ``[0, 1]`` (even ``H, W``).
        raw: ``(4, H/2, W/2)`` its packed RAW ``[R, Gr, Gb, B]`` in ``[0, 1]``.
        pattern: the Bayer pattern the RAW was packed from.
        tone: invert the smoothstep tone curve of rawkit's ISP in :math:`\ell` (False:
            the sRGB transfer function only).
        clip_level: sites whose sRGB pixel has a channel at or above it, or whose RAW is,
            are left out of the fit (clipped: no information there); in ``(0, 1]``.
        max_sites: at most this many sites per packed channel enter the least squares
            (an even subsample of larger frames).

    Returns:
        A :class:`KeyframeInverse`.

    Raises:
        TypeError, ValueError: bad shapes, dtypes, values outside ``[0, 1]``, NaN/Inf,
            sizes that do not match, bad options; fewer than 16 usable sites per colour
            (a keyframe that is all clipped or black cannot calibrate anything).
    """
    x = _image(srgb, "srgb", 3, batched=False).to("cpu", torch.float64)
    y = _image(raw, "raw", 4, batched=False).to("cpu", torch.float64)
    check_pattern(pattern)
    if not isinstance(tone, bool):
        raise TypeError(f"tone: expected a bool, got {type(tone).__name__}")
    check_number(clip_level, "clip_level", minimum=0.0, maximum=1.0)
    if not clip_level > 0:
        raise ValueError(f"clip_level: expected a number in (0, 1], got {clip_level!r}")
    if isinstance(max_sites, bool) or not isinstance(max_sites, int) or max_sites < 1:
        raise ValueError(f"max_sites: expected an int >= 1, got {max_sites!r}")
    if x.shape[-2] % 2 or x.shape[-1] % 2:
        raise ValueError(f"srgb: expected even height and width, got {tuple(x.shape[-2:])}")
    if tuple(y.shape[-2:]) != (x.shape[-2] // 2, x.shape[-1] // 2):
        raise ValueError(
            f"raw: expected packed size {(x.shape[-2] // 2, x.shape[-1] // 2)} for the sRGB's "
            f"{tuple(x.shape[-2:])}, got {tuple(y.shape[-2:])}"
        )
    step = max(1, math.ceil(math.sqrt(y[0].numel() / max_sites)))
    packed = torch.stack(
        [cast(torch.Tensor, pack(x[c : c + 1], pattern=pattern)) for c in range(3)]
    )
    packed, y = packed[..., ::step, ::step], y[..., ::step, ::step]  # (3, 4, h', w'), (4, h', w')
    feats = _linear(packed, tone)  # only the sites that enter the fit are linearised
    ok = (packed.amax(0) < clip_level) & (y < clip_level) & (y > 0)
    # r^2 of every site (1 at the corners) from the library's gain map with strength 1
    ones = torch.ones(4, x.shape[-2] // 2, x.shape[-1] // 2, dtype=torch.float64)
    g1 = invert_lens_shading(ones, strength=1.0, layout="packed", pattern=pattern)
    r2 = (1.0 / cast(torch.Tensor, g1) - 1.0)[..., ::step, ::step]
    rows = [[k for k in range(4) if _ROW[k] == r] for r in range(3)]
    design, target, radius = [], [], []
    for r, ks in enumerate(rows):
        design.append(torch.cat([feats[:, k][:, ok[k]].T for k in ks]))  # (N, 3)
        target.append(torch.cat([y[k][ok[k]] for k in ks]))
        radius.append(torch.cat([r2[k][ok[k]] for k in ks]))
        if target[-1].numel() < _MIN_SITES:
            raise ValueError(
                f"raw: expected at least {_MIN_SITES} unclipped sites of colour {'RGB'[r]} to "
                f"calibrate on, got {target[-1].numel()}"
            )
    used = sum(int(t.numel()) for t in target)

    def solve(s: float) -> tuple[float, torch.Tensor]:
        """Least squares of every colour row for the strength ``s`` (normal equations)."""
        a, res = torch.zeros(3, 3, dtype=torch.float64), 0.0
        for r in range(3):
            d = design[r] / (1.0 + s * radius[r])[:, None]
            sol = torch.linalg.solve(d.T @ d, d.T @ target[r])
            a[r] = sol
            res += float(((d @ sol - target[r]) ** 2).sum())
        return res, a

    coarse = np.linspace(-0.5, 1.5, 41)  # lens-shading strengths of real lenses and more
    errs = [solve(float(s))[0] for s in coarse]
    i = int(np.argmin(errs))
    fine = np.linspace(coarse[max(i - 1, 0)], coarse[min(i + 1, coarse.size - 1)], 41)
    errs = [solve(float(s))[0] for s in fine]
    i = int(np.clip(np.argmin(errs), 1, fine.size - 2))
    s = float(fine[int(np.argmin(errs))])
    e0, e1, e2 = errs[i - 1], errs[i], errs[i + 1]
    curv = e0 - 2 * e1 + e2
    if curv > 0:  # the vertex of the parabola through the three best points
        vertex = float(fine[i] + 0.5 * (fine[1] - fine[0]) * (e0 - e2) / curv)
        if solve(vertex)[0] < min(errs):
            s = vertex
    res, a = solve(s)
    return KeyframeInverse(
        matrix=a.numpy(), lens_shading=s, pattern=pattern, tone=tone,
        rms=math.sqrt(res / used), sites=used,
    )  # fmt: skip
