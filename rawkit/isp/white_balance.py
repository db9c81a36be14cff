"""White balance: per-colour gains in camera space, their inverse, and Brooks et al.'s
highlight-preserving ("safe") inverse.

Gains are always given as three numbers ``[R, G, B]`` (shape ``(*, 3)``, leading dims
broadcast with the image's batch dims).  They apply to

* a packed RAW ``(*, 4, h, w)`` (channels ``[R, Gr, Gb, B]``, any pattern: both greens get
  the green gain),
* a camera-RGB image ``(*, 3, H, W)``,
* a Bayer mosaic ``(*, 1, H, W)`` with its ``pattern``.

Following LibRaw, a camera's multipliers are ``1 / neutral`` normalised so the smallest is
1 (:func:`gains_from_neutral`), where ``neutral`` is the camera's response to the
illuminant (DNG ``AsShotNeutral``).
"""

from __future__ import annotations

from typing import Any

import torch

from rawkit._tensor import Array, numpy_compat
from rawkit.cfa.pattern import Pattern, channel_sites, check_pattern
from rawkit.isp._common import Layout, as_param, check_image, check_layout_shape

__all__ = [
    "gains_from_neutral",
    "invert_white_balance",
    "safe_gains_exact_mask",
    "safe_invert_white_balance",
    "white_balance",
]

_RGB_OF_CHANNEL = [0, 1, 1, 2]  # packed [R, Gr, Gb, B] -> RGB gain index


def _gains(gains: Any, x: torch.Tensor) -> torch.Tensor:
    g = as_param(gains, x, "gains", tail=(3,))
    if bool((g <= 0).any()):
        raise ValueError(f"gains: expected positive gains, got min {float(g.min())}")
    return g


def _gain_map(
    x: torch.Tensor, g: torch.Tensor, layout: str, pattern: Any
) -> tuple[torch.Tensor, Any]:
    """Gains shaped to multiply ``x`` (and, for a mosaic, the tile view to apply them on)."""
    if layout not in ("mosaic", "packed", "rgb"):
        raise ValueError(f"layout: expected one of ['mosaic', 'packed', 'rgb'], got {layout!r}")
    check_layout_shape(x, layout, "x")
    if layout == "mosaic":
        if pattern is None:
            raise ValueError("pattern: a mosaic (layout='mosaic') needs its Bayer pattern")
        check_pattern(pattern)
        tile = g.new_zeros((*g.shape[:-1], 2, 2))
        for (dy, dx), c in zip(channel_sites(pattern), _RGB_OF_CHANNEL, strict=True):
            tile[..., dy, dx] = g[..., c]
        return tile, "tile"
    if pattern is not None:
        raise ValueError(
            f"pattern: only used with layout='mosaic'; a {layout} image has a fixed channel order "
            f"(got pattern={pattern!r})"
        )
    if layout == "packed":
        g = g[..., _RGB_OF_CHANNEL]
    return g[..., :, None, None], None


def _apply(x: torch.Tensor, gains: Any, layout: str, pattern: Any, invert: bool) -> torch.Tensor:
    check_image(x, "x", "*")
    g = _gains(gains, x)
    m, kind = _gain_map(x, g, layout, pattern)
    if kind == "tile":
        *b, _, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(f"x: a Bayer mosaic needs even height and width, got H={h}, W={w}")
        tiles = x.reshape(*b, 1, h // 2, 2, w // 2, 2)
        m = m[..., None, None, :, None, :]  # (*, 2, 2) -> (*, 1, 1, 2, 1, 2)
        out = tiles / m if invert else tiles * m
        return out.reshape(*out.shape[:-5], 1, h, w)
    return x / m if invert else x * m


@numpy_compat
def white_balance(
    x: Array, *, gains: Array | list[float], layout: Layout, pattern: Pattern | None = None
) -> Array:
    """Multiply each colour by its white-balance gain (camera space, before demosaicing).

    Args:
        x: floating, finite; ``(*, 4, h, w)`` packed, ``(*, 3, H, W)`` RGB or
            ``(*, 1, H, W)`` mosaic, as ``layout`` says.  Not clipped.
        gains: ``[R, G, B]`` positive gains, shape ``(3,)`` or ``(*, 3)``.
        layout: ``"packed"``, ``"rgb"`` or ``"mosaic"``.
        pattern: the Bayer pattern, for ``layout="mosaic"`` only.

    Returns:
        Same shape, dtype and device as ``x``.  Differentiable in ``x`` and ``gains``.

    Raises:
        ValueError: shape not matching ``layout``, non-positive or non-finite gains,
            missing/unknown ``pattern``, NaN/Inf in ``x``.
        TypeError: ``x`` not a floating array.

    Example:
        >>> import numpy as np
        >>> packed = np.ones((4, 1, 1), np.float32)
        >>> white_balance(packed, gains=[2.0, 1.0, 1.5], layout="packed").ravel().tolist()
        [2.0, 1.0, 1.0, 1.5]
    """
    return _apply(x, gains, layout, pattern, invert=False)


@numpy_compat
def invert_white_balance(
    x: Array, *, gains: Array | list[float], layout: Layout, pattern: Pattern | None = None
) -> Array:
    """Divide each colour by its gain: the exact inverse of :func:`white_balance`.

    Same arguments, returns and errors as :func:`white_balance`.

    Example:
        >>> import numpy as np
        >>> invert_white_balance(np.full((3, 1, 1), 2.0), gains=[2.0, 1.0, 4.0], layout="rgb").ravel().tolist()
        [1.0, 2.0, 0.5]
    """
    return _apply(x, gains, layout, pattern, invert=True)


def _safe_gains(rgb: torch.Tensor, inv_gains: torch.Tensor, threshold: float) -> torch.Tensor:
    gray = rgb.mean(dim=-3, keepdim=True)
    # 0 up to the threshold, rising quadratically to 1 at gray = 1 (Brooks et al. 2019).  The
    # clamp at 1 (not in Brooks et al.) makes white map to exactly 1 despite float rounding.
    mask = torch.clamp((torch.clamp(gray - threshold, min=0.0) / (1.0 - threshold)) ** 2, max=1.0)
    g = inv_gains[..., :, None, None]
    return torch.maximum(mask + (1.0 - mask) * g, g)


def _check_threshold(threshold: float) -> None:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not 0 <= threshold < 1
    ):
        raise ValueError(f"threshold: expected a number in [0, 1), got {threshold!r}")


@numpy_compat
def safe_invert_white_balance(
    rgb: Array, *, gains: Array | list[float], threshold: float = 0.9
) -> Array:
    r"""Invert white balance while keeping bright pixels bright (Brooks et al. 2019, Sec. 3.3).

    Plain inversion divides red and blue by gains > 1, so a saturated white ``(1, 1, 1)``
    would become an unsaturated coloured RAW pixel that no camera can produce.  Brooks et
    al. blend the inverse gain ``1/g`` towards 1 for bright pixels:

    .. math::  m = \min\Bigl(\bigl(\tfrac{\max(\bar x - t, 0)}{1 - t}\bigr)^2, 1\Bigr),\quad
               s = \max\bigl(m + (1 - m)/g,\; 1/g\bigr),\quad  y = s\,x

    with :math:`\bar x` the mean of the three channels and :math:`t` the ``threshold``.

    Where this is exact: ``s == 1/g`` wherever :math:`\bar x \le t` or ``g <= 1``, so
    there ``white_balance(safe_invert_white_balance(x)) == x`` to float rounding
    (:func:`safe_gains_exact_mask` marks those pixels).  Elsewhere the inversion is
    deliberately lossy (highlights are kept, not recovered).

    Args:
        rgb: ``(*, 3, H, W)`` white-balanced camera RGB, floating, finite (usually [0, 1]).
        gains: the forward ``[R, G, B]`` gains (positive), ``(3,)`` or ``(*, 3)``.
        threshold: the mean intensity ``t`` in [0, 1) where the blend starts (0.9 as Brooks).

    Returns:
        ``(*, 3, H, W)`` camera RGB before white balance.  Differentiable.

    Raises:
        ValueError: bad shape, non-positive gains, ``threshold`` outside [0, 1), NaN/Inf.
        TypeError: ``rgb`` not a floating array.

    Example:
        >>> import torch
        >>> white = torch.ones(3, 1, 1)
        >>> safe_invert_white_balance(white, gains=[2.0, 1.0, 2.0]).ravel().tolist()
        [1.0, 1.0, 1.0]
    """
    check_image(rgb, "rgb", "3")
    _check_threshold(threshold)
    g = _gains(gains, rgb)
    return rgb * _safe_gains(rgb, 1.0 / g, threshold)


@numpy_compat
def safe_gains_exact_mask(
    rgb: Array, *, gains: Array | list[float], threshold: float = 0.9
) -> Array:
    """Pixels where :func:`safe_invert_white_balance` equals the plain inverse.

    Args:
        rgb, gains, threshold: as in :func:`safe_invert_white_balance`.

    Returns:
        ``(*, 1, H, W)`` bool: True where the safe gains equal ``1 / gains`` for all three
        channels (mean intensity ``<= threshold``, or every gain ``<= 1``).

    Example:
        >>> import torch
        >>> x = torch.tensor([0.5, 0.95]).expand(3, 1, 2)
        >>> safe_gains_exact_mask(x, gains=[2.0, 1.0, 1.5]).ravel().tolist()
        [True, False]
    """
    check_image(rgb, "rgb", "3")
    _check_threshold(threshold)
    g = _gains(gains, rgb)
    gray = rgb.mean(dim=-3, keepdim=True)
    above = (g > 1).any(dim=-1)[..., None, None, None]
    return ~((gray > threshold) & above)


def gains_from_neutral(neutral: Array | list[float]) -> torch.Tensor:
    """White-balance gains from the camera's response to the illuminant, LibRaw-style.

    ``gains = (1 / neutral) / min(1 / neutral)``: the smallest gain is 1, so no channel is
    darkened (DNG ``AsShotNeutral`` -> LibRaw's ``pre_mul``).

    Args:
        neutral: ``(*, 3)`` positive camera RGB of a white surface.

    Returns:
        ``(*, 3)`` float64 tensor (or ``neutral``'s floating dtype) on its device.

    Raises:
        ValueError: wrong shape, non-positive or non-finite values.

    Example:
        >>> gains_from_neutral([0.5, 1.0, 0.8]).tolist()
        [2.0, 1.0, 1.25]
    """
    like = neutral if isinstance(neutral, torch.Tensor) and neutral.is_floating_point() else None
    n = as_param(
        neutral,
        like if like is not None else torch.empty(0, dtype=torch.float64),
        "neutral",
        tail=(3,),
    )
    if bool((n <= 0).any()):
        raise ValueError(f"neutral: expected positive values, got {n.tolist()}")
    inv = 1.0 / n
    return inv / inv.amin(dim=-1, keepdim=True)
