"""Laplacian pyramid and its loss (the overexposure fusion's perceptual loss), and checks.

Private home of :func:`rawkit.nets.overexposure.laplacian_pyramid` and
:func:`~rawkit.nets.overexposure.laplacian_pyramid_loss`, which that module re-exports
(documented and tested there).
"""

from __future__ import annotations

from typing import Any, Literal, cast

import torch
import torch.nn.functional as F

from rawkit._checks import check_choice, check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, numpy_compat
from rawkit.nets.unet import check_int

__all__: list[str] = []

# Burt & Adelson's 5-tap binomial filter (1, 4, 6, 4, 1) / 16, applied separably.
_BINOMIAL = (1.0 / 16, 4.0 / 16, 6.0 / 16, 4.0 / 16, 1.0 / 16)


# ------------------------------------------------------------------ Laplacian pyramid


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable 5-tap binomial blur of ``(B, C, H, W)`` with replicate padding."""
    c = x.shape[1]
    k = torch.tensor(_BINOMIAL, dtype=x.dtype, device=x.device)
    x = F.pad(x, (2, 2, 2, 2), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def _down(x: torch.Tensor) -> torch.Tensor:
    return _blur(x)[..., ::2, ::2]


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """EXPAND a Gaussian level back to ``size`` by bilinear interpolation.

    Burt & Adelson expand by zero insertion and the 4x binomial filter; bilinear
    interpolation (weights summing to 1 everywhere, borders included) is the choice
    here so that a constant image has all-zero bands up to its edges.
    """
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _check_levels(levels: Any) -> int:
    return check_int(levels, "levels", minimum=1)


def _pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    bands = []
    for _ in range(levels - 1):
        low = _down(x)
        bands.append(x - _up(low, (x.shape[-2], x.shape[-1])))
        x = low
    bands.append(x)
    return bands


def _flat(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    return x.reshape(-1, *x.shape[-3:]), tuple(x.shape[:-3])


@numpy_compat
def laplacian_pyramid(x: Array, *, levels: int = 4) -> list[Array]:
    r"""Laplacian pyramid of ``x`` (Burt & Adelson 1983): band-pass levels and the low-pass rest.

    :math:`G_0 = x`, :math:`G_{j+1} = \downarrow_2(g * G_j)`, band
    :math:`L_j = G_j - \mathrm{expand}(G_{j+1})` for :math:`j < J - 1` and
    :math:`L_{J-1} = G_{J-1}`, with the binomial filter :math:`g = (1, 4, 6, 4, 1)/16`
    (separable, replicate padding) and ``expand`` bilinear upsampling (exact on
    constants, so flat regions have zero bands up to the border).  Summing the expanded levels back gives ``x``
    exactly (up to float rounding): the pyramid loses nothing.

    Args:
        x: ``(*, C, H, W)`` float, any value range.
        levels: number of levels ``J >= 1`` (1 gives ``[x]``); each level halves the
            size (rounding up).

    Returns:
        A list of ``J`` arrays, finest first, level ``j`` of shape ``(*, C,
        ceil(H / 2**j), ceil(W / 2**j))``; same kind, dtype and device as ``x``.

    Raises:
        TypeError: ``x`` not a floating array, ``levels`` not an int.
        ValueError: bad shape, NaN/Inf, ``levels < 1``.

    Example:
        >>> import numpy as np
        >>> bands = laplacian_pyramid(np.ones((1, 8, 8), np.float32), levels=3)
        >>> [b.shape for b in bands], float(abs(bands[0]).max())
        ([(1, 8, 8), (1, 4, 4), (1, 2, 2)], 0.0)
    """
    check_tensor_like(x, "x")
    check_shape(x, ["*", "C", "H", "W"], "x")
    check_dtype(x, ["float"], "x")
    x = cast(torch.Tensor, x)
    check_finite(x, "x")
    n = _check_levels(levels)
    flat, lead = _flat(x)
    return [b.reshape(*lead, *b.shape[-3:]) for b in _pyramid(flat, n)]


@numpy_compat
def laplacian_pyramid_loss(
    pred: Array,
    target: Array,
    *,
    levels: int = 4,
    mask: Array | None = None,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> Array:
    r"""Perceptual loss with no learned weights: L1 between Laplacian pyramids.

    The "Lap1" loss of Bojanowski et al. (2018, Eq. 3),
    :math:`\sum_j 2^{2j} \lVert L_j(y) - L_j(Y) \rVert_1`: with the per-level *sum*
    weighted by :math:`2^{2j}`, every level counts as much as the finest one, which
    is what this function computes as the plain sum over levels of each level's mean
    absolute difference (Bojanowski et al.'s value divided by the pixel count
    ``C H W``).  It is the perceptual loss of rawkit's overexposure fusion (the poster
    names perceptual losses without choosing one; this one needs no downloaded
    network, see the module notes).

    **Masks** follow :mod:`rawkit.losses`: weights ``>= 0`` of shape ``(*, 1, H, W)``
    or ``(*, C, H, W)``; at level ``j`` the mask is reduced like the image's
    Gaussian level (blur and decimate) and each level's term is the weighted mean
    ``sum(m_j |L_j(y) - L_j(Y)|) / sum(m_j)``.  An image whose mask is all zero
    contributes 0 and no gradient.

    Args:
        pred: ``(*, C, H, W)`` float prediction ``y``.
        target: ``(*, C, H, W)`` float ground truth ``Y``.
        levels: pyramid levels ``J >= 1`` (1 is plain L1).
        mask: optional weights (see above).
        reduction: ``"mean"`` / ``"sum"`` over images, or ``"none"`` for ``(*,)``.

    Returns:
        The loss, a scalar (or ``(*,)``), ``>= 0``, zero for identical images;
        differentiable in both inputs.

    Raises:
        TypeError, ValueError: as :func:`rawkit.losses.l2_ssim_loss` (shapes differ,
            NaN/Inf, bad mask, unknown ``reduction``) and ``levels < 1``.

    Example:
        >>> import numpy as np
        >>> y = np.zeros((1, 1, 16, 16), np.float32)
        >>> float(laplacian_pyramid_loss(y, y))
        0.0
        >>> round(float(laplacian_pyramid_loss(y + 0.5, y, levels=3)), 6)  # only the low-pass differs
        0.5
    """
    check_choice(reduction, ["mean", "sum", "none"], "reduction")
    n = _check_levels(levels)
    pred = _check_float_image(pred, "pred", "C")
    target = _check_float_image(target, "target", "C")
    if pred.shape != target.shape:
        raise ValueError(
            f"target: expected the shape of pred {tuple(pred.shape)}, got {tuple(target.shape)}"
        )
    m = None if mask is None else _loss_mask(mask, pred)
    flat_p, lead = _flat(pred)
    flat_t, _ = _flat(target)
    bands_p, bands_t = _pyramid(flat_p, n), _pyramid(flat_t, n)
    mk = None if m is None else _flat(m)[0]
    total = flat_p.new_zeros(flat_p.shape[0])
    for j, (bp, bt) in enumerate(zip(bands_p, bands_t, strict=True)):
        d = (bp - bt).abs()
        if mk is None:
            total = total + d.mean(dim=(-3, -2, -1))
        else:
            if j:
                mk = _down(mk)
            w = mk.expand_as(d)
            den = w.sum(dim=(-3, -2, -1))
            num = (w * d).sum(dim=(-3, -2, -1))
            total = total + torch.where(den > 0, num / den.clamp_min(1e-12), num * 0)
    per = total.reshape(lead)
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.mean()


# --------------------------------------------------------------------- shared checks


def _check_float_image(x: Any, name: str, channels: str) -> torch.Tensor:
    check_tensor_like(x, name)
    check_shape(x, ["*", channels, "H", "W"], name)
    check_dtype(x, ["float"], name)
    check_finite(cast(torch.Tensor, x), name)
    return cast(torch.Tensor, x)


def _loss_mask(mask: Any, like: torch.Tensor) -> torch.Tensor:
    """Check a loss mask ``(*, 1|C, H, W)`` of weights >= 0 and return it as ``like``'s dtype."""
    check_tensor_like(mask, "mask")
    m = torch.as_tensor(mask, device=like.device)
    check_dtype(m, ["float", "integer", torch.bool], "mask")
    m = m.to(like.dtype)
    check_finite(m, "mask")
    ok = m.ndim == like.ndim and m.shape[-3] in (1, like.shape[-3])
    if not ok or m.shape[:-3] != like.shape[:-3] or m.shape[-2:] != like.shape[-2:]:
        raise ValueError(
            f"mask: expected shape {(*like.shape[:-3], 1, *like.shape[-2:])} or "
            f"{tuple(like.shape)}, got {tuple(m.shape)}"
        )
    if bool((m < 0).any()):
        raise ValueError("mask: expected weights >= 0, got negative values")
    return m
