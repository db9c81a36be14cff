"""Lens shading: a radial gain map and its inverse.

Lenses pass less light to the corners of the sensor (vignetting).  An ISP corrects it by
multiplying the RAW by a gain map that grows with the distance from the optical centre.
rawkit uses the simplest smooth radial model,

.. math::  g(y, x) = 1 + s\\, r^2, \\qquad
           r^2 = \\frac{(y - c_y)^2 + (x - c_x)^2}{c_y^2 + c_x^2},

with the centre :math:`(c_y, c_x) = ((H-1)/2, (W-1)/2)` in full-resolution pixel
coordinates, so ``r = 1`` at the corner pixels' centres and the corner gain is ``1 + s``.
A packed RAW's four channels sit at different full-resolution sites, so each channel is
evaluated at its own sites (which needs the Bayer ``pattern``): correcting a packed RAW
equals packing the corrected mosaic.
"""

from __future__ import annotations

from typing import Any

import torch

from rawkit._checks import check_int, check_number
from rawkit._tensor import Array, numpy_compat
from rawkit.cfa.pattern import Pattern, channel_sites, check_pattern
from rawkit.isp._common import Layout, check_image, check_layout_shape

__all__ = ["invert_lens_shading", "lens_shading", "lens_shading_gain"]


#: Largest corner gain minus 1 accepted (a corner 16x brighter than the centre, 4 stops:
#: far beyond real lens vignetting).
MAX_STRENGTH = 15.0


def _check_strength(strength: Any) -> None:
    v = check_number(strength, "strength", maximum=MAX_STRENGTH)
    if not v > -1.0:
        raise ValueError(
            f"strength: expected a finite number > -1 (gains stay positive) and "
            f"<= {MAX_STRENGTH}, got {strength!r}"
        )


def _gain(h: int, w: int, strength: float, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    r2 = ((ys[:, None] - cy) ** 2 + (xs[None, :] - cx) ** 2) / (cy**2 + cx**2)
    return 1.0 + strength * r2


def lens_shading_gain(
    height: int,
    width: int,
    *,
    strength: float,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The full-resolution radial gain map ``1 + strength * r^2``, shape ``(H, W)``.

    Args:
        height, width: full-resolution size, both >= 2 (``r`` is normalised by the corner).
        strength: gain at the corners minus 1; ``> -1`` and ``<= 15``.  0 means no shading.
        dtype, device: of the result.

    Returns:
        ``(H, W)`` tensor, 1 at the centre and ``1 + strength`` at the corner pixels.

    Raises:
        ValueError: size < 2, ``strength <= -1`` or not finite.

    Example:
        >>> g = lens_shading_gain(3, 3, strength=0.5, dtype=torch.float64)
        >>> g[1, 1].item(), g[0, 0].item()
        (1.0, 1.5)
    """
    _check_strength(strength)
    check_int(height, "height")
    check_int(width, "width")
    if height < 2 or width < 2:
        raise ValueError(f"height, width: expected >= 2, got {height}, {width}")
    ys = torch.arange(height, dtype=torch.float64, device=device)
    xs = torch.arange(width, dtype=torch.float64, device=device)
    return _gain(height, width, strength, ys, xs).to(dtype)


def _gain_for(x: torch.Tensor, strength: float, layout: str, pattern: Any) -> torch.Tensor:
    if layout not in ("mosaic", "packed", "rgb"):
        raise ValueError(f"layout: expected one of ['mosaic', 'packed', 'rgb'], got {layout!r}")
    check_layout_shape(x, layout, "x")
    _check_strength(strength)
    h, w = x.shape[-2:]
    if layout != "packed":
        if pattern is not None:
            raise ValueError(f"pattern: only used with layout='packed', got pattern={pattern!r}")
        if h < 2 or w < 2:
            raise ValueError(f"x: expected H and W >= 2, got H={h}, W={w}")
        return lens_shading_gain(h, w, strength=strength, dtype=x.dtype, device=x.device)
    if pattern is None:
        raise ValueError("pattern: a packed RAW needs its Bayer pattern (channel sites differ)")
    check_pattern(pattern)
    planes = []
    for dy, dx in channel_sites(pattern):
        ys = torch.arange(h, dtype=torch.float64, device=x.device) * 2 + dy
        xs = torch.arange(w, dtype=torch.float64, device=x.device) * 2 + dx
        planes.append(_gain(2 * h, 2 * w, strength, ys, xs))
    return torch.stack(planes).to(x.dtype)


@numpy_compat
def lens_shading(
    x: Array, *, strength: float, layout: Layout, pattern: Pattern | None = None
) -> Array:
    """Correct lens shading: multiply by the radial gain map (an ISP step).

    Args:
        x: floating, finite; ``(*, 1, H, W)`` mosaic, ``(*, 4, H/2, W/2)`` packed or
            ``(*, 3, H, W)`` RGB as ``layout`` says.  Not clipped.
        strength: corner gain minus 1, ``> -1`` and ``<= 15`` (see :func:`lens_shading_gain`).
        layout: ``"mosaic"``, ``"packed"`` or ``"rgb"``.
        pattern: Bayer pattern, required for ``layout="packed"`` only.

    Returns:
        Same shape/dtype/device.  Differentiable in ``x``.

    Raises:
        ValueError: shape not matching ``layout``, H or W < 2 (full resolution), bad
            ``strength``, missing/unknown ``pattern``, NaN/Inf.
        TypeError: ``x`` not floating.

    Example:
        >>> import numpy as np
        >>> lens_shading(np.ones((1, 2, 2)), strength=1.0, layout="mosaic").tolist()
        [[[2.0, 2.0], [2.0, 2.0]]]
    """
    check_image(x, "x", "*")
    return x * _gain_for(x, strength, layout, pattern)


@numpy_compat
def invert_lens_shading(
    x: Array, *, strength: float, layout: Layout, pattern: Pattern | None = None
) -> Array:
    """Undo :func:`lens_shading`: divide by the gain map (puts the vignetting back).

    Same arguments, returns and errors as :func:`lens_shading`.

    Example:
        >>> import numpy as np
        >>> invert_lens_shading(np.full((1, 2, 2), 2.0), strength=1.0, layout="mosaic")[0, 0].tolist()
        [1.0, 1.0]
    """
    check_image(x, "x", "*")
    return x / _gain_for(x, strength, layout, pattern)
