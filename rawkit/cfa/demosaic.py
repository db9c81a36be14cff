"""Linear Bayer demosaicing: bilinear and Malvar-He-Cutler (2004).

Both methods are linear filters of the mosaic whose kernel depends on the output
colour and on the pixel's site in the 2x2 tile.  rawkit evaluates them on the
packed planes: a full-resolution 5x5 kernel at a given site touches only the
neighbouring tiles, so the whole demosaic is one ``conv2d`` from the four site
planes ``(*, 4, H/2, W/2)`` to twelve outputs (three colours at four sites) with 3x3
kernels, followed by a depth-to-space shuffle.  Each kernel is applied only where it
belongs, which is why this is several times faster than convolving the full mosaic
with every kernel and masking (what colour-demosaicing does).

On the CPU without autograd (float32/float64) both run as one compiled pass instead
(``rawkit.cfa._kernels``: three mosaic rows in for bilinear, five for Malvar, the three
colours of the middle row out, the same taps), which is memory bound like OpenCV's;
the ``conv2d`` path serves autograd, other devices and other dtypes, and the tests
hold the two to each other.

Border conventions (the only place the methods differ from colour-demosaicing,
whose ``reflect`` padding is half-sample symmetric and so shifts the Bayer phase at
the border, its issue #8):

* bilinear: every missing colour is the *mean of the same-colour neighbours that
  exist* in the 3x3 window (normalised convolution).  At the border this is exactly
  LibRaw's bilinear border rule; in the interior it is textbook bilinear.
* Malvar: the mosaic is padded by two pixels with whole-sample symmetric reflection
  (``d c b | a b c d``), which keeps the CFA phase because a pixel and its mirror
  image are an even distance apart.

With either rule a constant mosaic demosaics to the same constant everywhere.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rawkit._checks import (
    check_choice,
    check_dtype,
    check_even_hw,
    check_finite,
    check_shape,
    check_tensor_like,
)
from rawkit._tensor import Array, empty_output, numpy_compat
from rawkit.cfa.pattern import Pattern, check_pattern

__all__ = ["DemosaicMethod", "demosaic", "demosaic_bilinear", "demosaic_malvar"]

#: Demosaicing methods accepted by :func:`demosaic` (``method=``).
DemosaicMethod = Literal["bilinear", "malvar", "menon"]

_RGB = "RGB"

# Malvar, He & Cutler (2004), Fig. 2, in units of 1/8.  Keys: (target colour, case).
_MALVAR: dict[str, list[list[float]]] = {
    # G at an R or B site.
    "G@RB": [
        [0, 0, -1, 0, 0],
        [0, 0, 2, 0, 0],
        [-1, 2, 4, 2, -1],
        [0, 0, 2, 0, 0],
        [0, 0, -1, 0, 0],
    ],
    # R (resp. B) at a G site whose row holds R (resp. B): horizontal neighbours.
    "RB@G_row": [
        [0, 0, 0.5, 0, 0],
        [0, -1, 0, -1, 0],
        [-1, 4, 5, 4, -1],
        [0, -1, 0, -1, 0],
        [0, 0, 0.5, 0, 0],
    ],
    # R (resp. B) at a G site whose column holds R (resp. B): vertical neighbours.
    "RB@G_col": [
        [0, 0, -1, 0, 0],
        [0, -1, 4, -1, 0],
        [0.5, 0, 5, 0, 0.5],
        [0, -1, 4, -1, 0],
        [0, 0, -1, 0, 0],
    ],
    # R at a B site, or B at an R site: diagonal neighbours.
    "RB@BR": [
        [0, 0, -1.5, 0, 0],
        [0, 2, 0, 2, 0],
        [-1.5, 0, 6, 0, -1.5],
        [0, 2, 0, 2, 0],
        [0, 0, -1.5, 0, 0],
    ],
}


def _malvar_case(pattern: str, target: str, dy: int, dx: int) -> str:
    here = pattern[2 * dy + dx]
    if target == "G":
        return "G@RB"
    if here == "G":
        same_row = pattern[2 * dy + (1 - dx)]  # horizontal neighbour's colour
        return "RB@G_row" if same_row == target else "RB@G_col"
    return "RB@BR"


def _site_kernel(
    pattern: str, method: str, c: int, dy: int, dx: int
) -> list[tuple[int, int, float]]:
    """Full-resolution taps ``(oy, ox, weight)`` producing colour ``c`` at site (dy, dx)."""
    target = _RGB[c]
    if pattern[2 * dy + dx] == target:
        return [(0, 0, 1.0)]
    if method == "bilinear":
        taps = [
            (oy, ox)
            for oy in (-1, 0, 1)
            for ox in (-1, 0, 1)
            if pattern[2 * ((dy + oy) % 2) + (dx + ox) % 2] == target
        ]
        return [(oy, ox, 1.0 / len(taps)) for oy, ox in taps]
    k = _MALVAR[_malvar_case(pattern, target, dy, dx)]
    return [(oy - 2, ox - 2, k[oy][ox] / 8.0) for oy in range(5) for ox in range(5) if k[oy][ox]]


@functools.cache
def _plane_weights(pattern: str, method: str) -> torch.Tensor:
    """conv2d weight ``(12, 4, 3, 3)`` from site planes to (colour, site) planes.

    Input channel ``s = 2*dy + dx`` is the plane of site (dy, dx) (``pixel_unshuffle``
    order); output channel ``4*c + s`` is colour ``c`` at site ``s`` (``pixel_shuffle``
    order).  A tap at full-resolution offset (oy, ox) from site (dy, dx) reads site
    ((dy+oy) mod 2, (dx+ox) mod 2) in the tile ((dy+oy) div 2, (dx+ox) div 2) away.
    """
    w = torch.zeros(12, 4, 3, 3, dtype=torch.float64)
    for c in range(3):
        for dy in range(2):
            for dx in range(2):
                for oy, ox, k in _site_kernel(pattern, method, c, dy, dx):
                    sy, ty = (dy + oy) % 2, (dy + oy) // 2
                    sx, tx = (dx + ox) % 2, (dx + ox) // 2
                    w[4 * c + 2 * dy + dx, 2 * sy + sx, ty + 1, tx + 1] += k
    return w


def _check_mosaic(
    mosaic: torch.Tensor, pattern: str, min_side: int, *, finite: bool = True
) -> None:
    """The boundary checks; ``finite=False`` leaves NaN/Inf to the caller (the compiled
    bilinear pass checks each row while it reads it)."""
    check_tensor_like(mosaic, "mosaic")
    check_pattern(pattern)
    check_shape(mosaic, ["*", "1", "H", "W"], "mosaic")
    check_even_hw(mosaic, "mosaic")
    check_dtype(mosaic, ["float"], "mosaic")
    h, w = mosaic.shape[-2:]
    if h < min_side or w < min_side:
        raise ValueError(f"mosaic: expected H and W >= {min_side}, got H={h}, W={w}")
    if finite and mosaic.numel():
        lo, hi = torch.aminmax(mosaic.detach())  # one read-only pass; NaN/Inf show up here
        if not bool(torch.isfinite(lo) & torch.isfinite(hi)):
            check_finite(mosaic, "mosaic")  # raises with the standard message


def _shuffle_into(y: torch.Tensor, batch: list[int], like: torch.Tensor) -> torch.Tensor:
    """Depth-to-space ``(N, 12, h, w) -> (*batch, 3, 2h, 2w)`` into a fast buffer."""
    n, _, h, w = y.shape
    out = empty_output((*batch, 3, 2 * h, 2 * w), like=like if not y.requires_grad else y)
    out.view(n, 3, h, 2, w, 2).copy_(y.view(n, 3, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3))
    return out


def _site_planes(x: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W) -> (N, 4, H/2, W/2)`` site planes, stored channels-last.

    Channels-last makes the following 4->12 channel ``conv2d`` about twice as fast on
    the CPU (oneDNN's preferred layout).  Going through a planar buffer first is
    faster than gathering 2x2 tiles directly (two streaming copies instead of one
    scattered one).
    """
    n, _, h, w = x.shape
    planar = empty_output((n, 2, 2, h // 2, w // 2), like=x)
    planar.copy_(x.view(n, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3))
    planes = empty_output((n, h // 2, w // 2, 4), like=x).permute(0, 3, 1, 2)
    planes.copy_(planar.view(n, 4, h // 2, w // 2))
    return planes


#: ``(oy, ox)`` with the site of pixel ``(y, x)`` at ``((y + oy) % 2, (x + ox) % 2)`` of RGGB.
_RGGB_SHIFT = {"RGGB": (0, 0), "GRBG": (0, 1), "GBRG": (1, 0), "BGGR": (1, 1)}


def _compiled(x: torch.Tensor, pattern: str, method: str, out: torch.Tensor) -> None:
    """Bilinear or Malvar demosaic ``(N, 1, H, W) -> out (N, 3, H, W)`` in one pass (no autograd).

    The compiled loops of :mod:`rawkit.cfa._kernels` read three (bilinear) or five
    (Malvar, of the mosaic padded as the ``conv2d`` path pads it) mosaic rows and write
    the three colours of the middle one; bilinear's one-pixel frame is the mean of the
    neighbours that exist.  The ``conv2d`` path does the same arithmetic with autograd
    and on other devices.
    """
    from rawkit.cfa import _kernels

    n, _, h, w = x.shape
    oy, ox = _RGGB_SHIFT[pattern]
    if method == "malvar":
        padded = F.pad(x.detach(), (2, 2, 2, 2), mode="reflect")  # as the conv2d path
        src = padded.reshape(n, h + 4, w + 4).numpy()
        _kernels.malvar_rows(src, out.detach().numpy(), oy, ox, 0, n * h)
        return
    src = x.detach().reshape(n, h, w).numpy()
    bits = src.view(np.uint32 if src.dtype == np.float32 else np.uint64)
    expo = np.uint32(0x7F800000) if src.dtype == np.float32 else np.uint64(0x7FF0000000000000)
    # Row bands on torch's intra-op thread count (what the caller set), taken from a
    # shared counter so that a starved thread on a loaded machine takes fewer of them.
    args = (src, bits, expo, out.detach().numpy(), oy, ox)
    if _kernels.run_rows(_kernels.bilinear_rows, args, n * h, torch.get_num_threads()):
        check_finite(x, "mosaic")  # raises the boundary's message; the fresh output is dropped


def _border_weights(pattern: str, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Kernel weight inside the image, ``(12, min(h,3), min(w,3))``: first/inner/last rows and cols."""
    weight = _plane_weights(pattern, "bilinear").to(dtype=like.dtype, device=like.device)
    ones = torch.ones(1, 4, min(h, 3), min(w, 3), dtype=like.dtype, device=like.device)
    return F.conv2d(ones, weight, padding=1)[0]


def _divide_border(y: torch.Tensor, den: torch.Tensor) -> None:
    """In place: divide the outermost rows/columns of ``y (..., h, w)`` by ``den (hs, ws)``.

    A 3x3 plane kernel loses taps only on the first/last row/column, and what it keeps
    there depends only on which border the pixel touches, so ``den`` computed on a tiny
    all-ones image says it for every pixel: row 0 -> den row 0, last row -> den's last
    row, inner rows -> den row 1 (likewise for columns).
    """
    h, w = y.shape[-2:]
    hs, ws = den.shape
    cols = torch.tensor([0] + [1] * (w - 2) + ([ws - 1] if w > 1 else []), device=y.device)
    for r_small, r_full in ((0, 0), (hs - 1, h - 1)) if h > 1 else ((0, 0),):
        y[..., r_full, :] /= den[r_small, cols]
    if h > 2:
        y[..., 1:-1, 0] /= den[1, 0]
        if w > 1:
            y[..., 1:-1, -1] /= den[1, ws - 1]


def _compiled_path(x: torch.Tensor) -> bool:
    """Whether ``x`` goes through the compiled CPU pass (no autograd, float32/float64)."""
    return (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and not (x.requires_grad and torch.is_grad_enabled())
    )


def _linear_demosaic(mosaic: torch.Tensor, pattern: str, method: str) -> torch.Tensor:
    *batch, _, h, w = mosaic.shape
    x = mosaic.reshape(-1, 1, h, w)
    if _compiled_path(x):
        out = empty_output((*batch, 3, h, w), like=mosaic)
        _compiled(x, pattern, method, out.view(-1, 3, h, w))
        return out
    weight = _plane_weights(pattern, method).to(dtype=x.dtype, device=x.device)
    if method == "malvar":
        x = F.pad(x, (2, 2, 2, 2), mode="reflect")  # whole-sample symmetric: keeps CFA phase
        y = F.conv2d(_site_planes(x), weight)
    else:
        y = F.conv2d(_site_planes(x), weight, padding=1)
        den = _border_weights(pattern, h // 2, w // 2, x)
        y = y.clone()  # keep autograd's saved tensors intact
        for k in range(12):
            _divide_border(y[:, k], den[k])
    return _shuffle_into(y, batch, mosaic)


@numpy_compat
def demosaic_bilinear(mosaic: Array, *, pattern: Pattern) -> Array:
    r"""Bilinear demosaicing: each missing colour is the mean of its same-colour neighbours.

    For a missing colour at pixel ``p`` the value is the mean of the mosaic samples of
    that colour in the 3x3 window centred on ``p`` (2 or 4 neighbours in the
    interior; fewer at the border, where only existing neighbours are averaged,
    as LibRaw does).  Sampled values are kept exactly.

    Args:
        mosaic: ``(*, 1, H, W)`` floating, finite; ``H``, ``W`` even and >= 2.  Any
            value range (linear RAW is usually in [0, 1]); the output is not clipped.
        pattern: Bayer pattern of ``mosaic``.

    Returns:
        ``(*, 3, H, W)`` RGB, same dtype and device.  Differentiable (a linear map).

    Raises:
        ValueError: wrong shape, odd or too small ``H``/``W``, unknown pattern, NaN/Inf.
        TypeError: not an array, or an integer dtype (convert to float explicitly,
            e.g. with :func:`rawkit.isp.normalize_levels`).

    Notes:
        In the interior this equals ``colour_demosaicing.demosaicing_CFA_Bayer_bilinear``
        (to float rounding); at the border rawkit is correct where colour-demosaicing
        is not (its issue #8): a constant mosaic gives that constant everywhere.

    Example:
        >>> import numpy as np
        >>> m = np.full((1, 4, 4), 0.25, dtype=np.float32)
        >>> rgb = demosaic_bilinear(m, pattern="RGGB")
        >>> rgb.shape, float(rgb.min()), float(rgb.max())
        ((3, 4, 4), 0.25, 0.25)
    """
    check_tensor_like(mosaic, "mosaic")
    # The compiled pass checks NaN/Inf on the rows it reads (no separate pass over the input).
    _check_mosaic(mosaic, pattern, 2, finite=not _compiled_path(mosaic))
    return _linear_demosaic(mosaic, pattern, "bilinear")


@numpy_compat
def demosaic_malvar(mosaic: Array, *, pattern: Pattern) -> Array:
    r"""Malvar-He-Cutler (2004) gradient-corrected linear demosaicing.

    Bilinear interpolation corrected by the Laplacian of the colour sampled at the
    pixel, with the gains of Malvar, He & Cutler, "High-quality linear interpolation
    for demosaicing of Bayer-patterned color images", ICASSP 2004 (their 5x5 filters of
    Fig. 2, e.g. ``G = (4 R_0 + 2 sum G_{+} - sum R_{2}) / 8`` at a red site).  Sampled
    values are kept exactly.

    Args:
        mosaic: ``(*, 1, H, W)`` floating, finite; ``H``, ``W`` even and >= 4.  Any
            value range.  The output is **not** clipped: the correction can overshoot
            [0, 1] near edges, as in the paper.
        pattern: Bayer pattern of ``mosaic``.

    Returns:
        ``(*, 3, H, W)`` RGB, same dtype and device.  Differentiable (a linear map).

    Raises:
        ValueError: wrong shape, odd or too small ``H``/``W``, unknown pattern, NaN/Inf.
        TypeError: not an array, or an integer dtype.

    Notes:
        Border: two-pixel whole-sample symmetric padding, which keeps the CFA phase,
        so a constant mosaic demosaics to that constant everywhere.  Two pixels away
        from the border this equals ``colour_demosaicing.demosaicing_CFA_Bayer_Malvar2004``.

    Example:
        >>> import torch
        >>> m = torch.full((1, 4, 4), 0.5, dtype=torch.float64)
        >>> demosaic_malvar(m, pattern="BGGR").allclose(torch.tensor(0.5, dtype=torch.float64))
        True
    """
    _check_mosaic(mosaic, pattern, 4)
    return _linear_demosaic(mosaic, pattern, "malvar")


def demosaic(mosaic: Array, *, pattern: Pattern, method: DemosaicMethod = "malvar") -> Array:
    """Demosaic a Bayer mosaic ``(*, 1, H, W)`` to RGB ``(*, 3, H, W)``.

    Dispatches to :func:`demosaic_bilinear`, :func:`demosaic_malvar` or
    :func:`rawkit.cfa.demosaic_menon`; see those for details, sizes and tolerances.

    Args:
        mosaic: ``(*, 1, H, W)`` floating mosaic.
        pattern: its Bayer pattern.
        method: ``"bilinear"``, ``"malvar"`` (default) or ``"menon"``.

    Example:
        >>> import numpy as np
        >>> demosaic(np.ones((1, 4, 4)), pattern="GBRG", method="bilinear").shape
        (3, 4, 4)
    """
    check_choice(method, ("bilinear", "malvar", "menon"), "method")
    if method == "bilinear":
        return demosaic_bilinear(mosaic, pattern=pattern)
    if method == "malvar":
        return demosaic_malvar(mosaic, pattern=pattern)
    from rawkit.cfa.menon import demosaic_menon

    return demosaic_menon(mosaic, pattern=pattern)
