"""Training losses: L2 + SSIM, the multi-scale auxiliary loss, rate-distortion.

Losses are functions; :class:`L2SSIMLoss`, :class:`MultiScaleLoss` and
:class:`RateDistortionLoss` are thin ``nn.Module`` wrappers that only store the
settings, for training loops that hold the loss as a layer.  Layout
``(*, C, H, W)``; NumPy in -> NumPy out (a 0-d array for a scalar).

The SSIM term is :func:`rawkit.metrics.ssim`, the same differentiable code as the
metric (scikit-image's convention: 11x11 Gaussian window, the 5-pixel border cropped
before averaging), so ``1 - loss`` terms and reported scores agree.

**Masks.** Every image loss takes an optional ``mask`` of weights ``>= 0`` (bool,
integer or float; a confidence map, an overexposure mask...), shaped
``(*, 1, H, W)`` (one weight per pixel, shared by the channels) or
``(*, C, H, W)``.  A masked term is the *weighted mean* of its per-pixel values,
``sum(m * v) / sum(m)`` over each image (for SSIM over the cropped map and the
cropped mask), so a mask of ones gives the unmasked loss.  An image whose mask
weight is all zero contributes **0** (not NaN) and no gradient: there is nothing
to fit.  With ``reduction="mean"`` each image counts once, whatever its weight.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rawkit._checks import check_choice, check_dtype, check_finite, check_tensor_like
from rawkit._ssim import (
    CROP,
    RADIUS,
    check_data_range,
    check_min_size,
    crop,
    masked_mean,
    prepare_mask,
    prepare_pair,
    ssim_cs_maps,
)
from rawkit._tensor import Array, numpy_compat, to_tensor

__all__ = [
    "L2_TERMS",
    "L2SSIMLoss",
    "MultiScaleLoss",
    "PSNR_FLOOR",
    "RateDistortionLoss",
    "Reduction",
    "bits_per_pixel",
    "l2_ssim_loss",
    "multiscale_loss",
    "rate_distortion_loss",
]

#: How per-image losses ``(*,)`` are reduced: mean, sum, or kept.
Reduction = Literal["mean", "sum", "none"]


#: The L2 terms of :func:`l2_ssim_loss`: the mean squared error, or minus the PSNR (dB).
L2_TERMS = ("mse", "psnr")
#: The smallest ``MSE / R^2`` the ``"psnr"`` term sees (a 100 dB cap).
PSNR_FLOOR = 1e-10


def _check_weight(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value}")
    return float(value)


def _reduce(per_image: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_image.mean()
    if reduction == "sum":
        return per_image.sum()
    return per_image


def _as_tensor(x: Array, name: str) -> torch.Tensor:
    check_tensor_like(x, name)
    return to_tensor(x) if isinstance(x, np.ndarray) else x


def _l2_ssim_per_image(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None,
    data_range: float,
    alpha: float,
    beta: float,
    l2: str = "mse",
) -> torch.Tensor:
    """``alpha * MSE + beta * (1 - SSIM)`` per image, on checked tensors (``l2="psnr"``:
    ``alpha * 10 log10(MSE / R^2)`` as the first term)."""
    dims = (-3, -2, -1)
    err = (pred - target) ** 2
    mse = err.mean(dim=dims) if mask is None else masked_mean(err, mask, dims, 0.0)
    if l2 == "psnr":  # -PSNR in dB, floored at -100 dB (MSE = 1e-10 R^2)
        mse = 10 * torch.log10(torch.clamp(mse / data_range**2, min=PSNR_FLOOR))
    loss = alpha * mse
    if beta:
        s = ssim_cs_maps(pred, target, data_range, RADIUS, RADIUS - CROP)[0]  # cropped map
        if mask is None:
            dssim = (1 - s).mean(dim=dims)
        else:
            dssim = masked_mean(1 - s, crop(mask, CROP), dims, 0.0)
        loss = loss + beta * dssim
    return loss


def _check_l2_ssim_args(data_range: float, alpha: float, beta: float, reduction: str):
    check_choice(reduction, ["mean", "sum", "none"], "reduction")
    return check_data_range(data_range), _check_weight(alpha, "alpha"), _check_weight(beta, "beta")


@numpy_compat
def l2_ssim_loss(
    pred: Array,
    target: Array,
    *,
    data_range: float,
    alpha: float = 1.0,
    beta: float = 1.0,
    mask: Array | None = None,
    reduction: Reduction = "mean",
    l2: str = "mse",
) -> Array:
    r"""L2 + SSIM loss, Eq. (9) of PriorRAW: :math:`\alpha L_2(y, Y) + \beta (1 - SSIM(y, Y))`.

    The paper writes :math:`\alpha L_2 + \beta\, SSIM` and calls both terms losses;
    SSIM is a similarity (1 = identical), so the term minimised is its dissimilarity
    ``1 - SSIM``.  :math:`L_2` is the mean squared error (as ``torch.nn.MSELoss``).
    The paper does not state alpha and beta; both default to 1.  FAGDN's per-level
    loss (its Eq. 8) is the same combination.

    Args:
        pred: ``(*, C, H, W)`` prediction ``y``.
        target: ``(*, C, H, W)`` ground truth ``Y``; ``H, W >= 11`` unless ``beta == 0``.
        data_range: peak-to-peak range of the data (``1.0`` for RAW in [0, 1]); sets
            the SSIM constants.
        alpha: weight of the L2 term, ``>= 0``.
        beta: weight of the SSIM term, ``>= 0``.
        mask: optional weights ``(*, 1|C, H, W)``; see the module notes.
        reduction: ``"mean"`` / ``"sum"`` over images, or ``"none"`` for ``(*,)``.
        l2: ``"mse"`` (the paper's :math:`L_2`) or ``"psnr"``: the L2 term of each image
            is :math:`10 \log_{10}(\mathrm{MSE} / R^2)`, minus its PSNR in dB (floored
            at -100 dB), so that the mean over images is minus the mean PSNR a benchmark
            reports.  The MSE of the mean weighs the images by their error (a dark or
            badly-lit crop dominates); minus PSNR weighs each image's error relative to
            its own size.  Not in the paper: rawkit's shipped recipes use it (their
            cards compare it with ``"mse"``).

    Returns:
        The loss (a scalar, or ``(*,)``), differentiable w.r.t. both inputs.

    Raises:
        ValueError: shapes differ, image smaller than 11x11 with ``beta > 0``, NaN/Inf,
            ``data_range <= 0``, negative weights, bad mask, unknown ``reduction`` or
            ``l2``.
        TypeError: not an array, bool/complex dtype, a weight that is not a number.

    Example:
        >>> import numpy as np
        >>> y = np.zeros((1, 1, 16, 16))
        >>> round(float(l2_ssim_loss(y + 0.1, y, data_range=1.0, beta=0.0)), 6)
        0.01
        >>> round(float(l2_ssim_loss(y + 0.1, y, data_range=1.0, beta=0.0, l2="psnr")), 6)
        -20.0
    """
    r, a, b = _check_l2_ssim_args(data_range, alpha, beta, reduction)
    check_choice(l2, list(L2_TERMS), "l2")
    pred, target = prepare_pair(pred, target, ("pred", "target"))
    if b:
        check_min_size(pred, 2 * RADIUS + 1, "pred", "the 11x11 SSIM window")
    m = None if mask is None else prepare_mask(mask, pred)
    return _reduce(_l2_ssim_per_image(pred, target, m, r, a, b, l2), reduction)


def _area_downsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Box-average ``(*, C, H, W)`` down to ``size`` (exact 2x2, 4x4... means when it divides)."""
    if tuple(x.shape[-2:]) == size:
        return x
    flat = x.reshape(-1, *x.shape[-3:])
    return F.adaptive_avg_pool2d(flat, size).reshape(*x.shape[:-2], *size)


@numpy_compat
def multiscale_loss(
    pred: Array,
    aux: Sequence[Array],
    target: Array,
    *,
    data_range: float,
    lam: float = 0.5,
    alpha: float = 1.0,
    beta: float = 1.0,
    mask: Array | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Loss with auxiliary decoder outputs, Eq. (8) of FAGDN.

    :math:`\mathcal{L} = \ell(\hat y, y) + \lambda \sum_n \ell(\hat y^n, y^n)` where
    :math:`\ell` is :func:`l2_ssim_loss` (``alpha``, ``beta``), :math:`\hat y^n` the
    output of decoder level ``n`` and :math:`y^n` the ground truth downsampled to its
    resolution (FAGDN uses three levels and :math:`\lambda = 0.5`).  The paper does not
    say how the ground truth is downsampled; rawkit averages boxes (area
    downsampling, ``adaptive_avg_pool2d``: exact 2x2, 4x4... means when the sizes
    divide), which keeps a linear RAW's local mean.  A ``mask`` is downsampled the same
    way (a level's weight is the fraction of its box the mask covers).

    Args:
        pred: ``(*, C, H, W)`` final output, full resolution.
        aux: decoder-level outputs, each ``(*, C, h_n, w_n)`` with ``h_n <= H`` and
            ``w_n <= W`` (``>= 11`` unless ``beta == 0``); may be empty.
        target: ``(*, C, H, W)`` ground truth.
        data_range: peak-to-peak range of the data.
        lam: weight :math:`\lambda \ge 0` of the auxiliary terms.
        alpha: L2 weight of :math:`\ell`.
        beta: SSIM weight of :math:`\ell`.
        mask: optional weights ``(*, 1|C, H, W)`` at full resolution (module notes).
        reduction: ``"mean"`` / ``"sum"`` over images, or ``"none"`` for ``(*,)``.

    Returns:
        The loss (a scalar, or ``(*,)``), differentiable w.r.t. ``pred`` and ``aux``.

    Raises:
        ValueError: shape mismatch (the level is named), a level larger than the
            target or too small for SSIM, NaN/Inf, bad weights/mask/``reduction``.
        TypeError: not an array, ``aux`` not a sequence, bad dtype.

    Example:
        >>> import torch
        >>> y = torch.zeros(1, 4, 32, 32)
        >>> aux = [torch.full((1, 4, 16, 16), 0.1)]
        >>> round(float(multiscale_loss(y, aux, y, data_range=1.0, beta=0.0)), 6)
        0.005
    """
    r, a, b = _check_l2_ssim_args(data_range, alpha, beta, reduction)
    lam = _check_weight(lam, "lam")
    if isinstance(aux, (torch.Tensor, np.ndarray)) or not isinstance(aux, Sequence):
        raise TypeError(f"aux: expected a sequence of arrays, got {type(aux).__name__}")
    pred, target = prepare_pair(pred, target, ("pred", "target"))
    if b:
        check_min_size(pred, 2 * RADIUS + 1, "pred", "the 11x11 SSIM window")
    m = None if mask is None else prepare_mask(mask, pred)
    loss = _l2_ssim_per_image(pred, target, m, r, a, b)
    lead_c = tuple(target.shape[:-2])
    for n, level in enumerate(aux, start=1):
        name = f"aux[{n - 1}]"
        level = _as_tensor(level, name)
        check_dtype(level, ["float"], name)
        h, w = level.shape[-2:] if level.ndim >= 3 else (0, 0)
        if level.ndim != target.ndim or tuple(level.shape[:-2]) != lead_c:
            raise ValueError(
                f"{name}: expected shape ({', '.join(map(str, lead_c))}, h, w), "
                f"got {tuple(level.shape)}"
            )
        if h > target.shape[-2] or w > target.shape[-1]:
            raise ValueError(
                f"{name}: expected a size <= the target's {tuple(target.shape[-2:])}, got {(h, w)}"
            )
        if b:
            check_min_size(level, 2 * RADIUS + 1, name, "the 11x11 SSIM window")
        level = level.to(pred.dtype)
        check_finite(level, name)
        t_n = _area_downsample(target, (h, w))
        m_n = None if m is None else _area_downsample(m, (h, w))
        loss = loss + lam * _l2_ssim_per_image(level, t_n, m_n, r, a, b)
    return _reduce(loss, reduction)


def _likelihood_bits(
    likelihoods: Array | Sequence[Array] | Mapping[str, Array] | None,
) -> torch.Tensor:
    items: Iterable[Array]
    if likelihoods is None:
        items = []
    elif isinstance(likelihoods, (torch.Tensor, np.ndarray)):
        items = [likelihoods]
    elif isinstance(likelihoods, Mapping):
        items = likelihoods.values()
    else:
        items = likelihoods
    total = None
    for k, p in enumerate(items):
        p = _as_tensor(p, f"likelihoods[{k}]")
        check_dtype(p, ["float"], f"likelihoods[{k}]")
        check_finite(p, f"likelihoods[{k}]")
        if p.numel() and bool(((p <= 0) | (p > 1)).any()):
            raise ValueError(
                f"likelihoods[{k}]: expected probabilities in (0, 1], got min "
                f"{float(p.min()):g}, max {float(p.max()):g}"
            )
        bits = -torch.log2(p).sum()
        total = bits if total is None else total + bits
    if total is None:
        raise ValueError("likelihoods: expected at least one tensor, got none")
    return total


def _check_num_pixels(num_pixels: int) -> int:
    if isinstance(num_pixels, bool) or not isinstance(num_pixels, (int, np.integer)):
        raise TypeError(f"num_pixels: expected an int, got {type(num_pixels).__name__}")
    if num_pixels <= 0:
        raise ValueError(f"num_pixels: expected an int > 0, got {num_pixels}")
    return int(num_pixels)


@numpy_compat
def bits_per_pixel(
    likelihoods: Array | Sequence[Array] | Mapping[str, Array], *, num_pixels: int
) -> Array:
    r"""Estimated rate :math:`R = \sum -\log_2 p / N` in bits per pixel.

    Args:
        likelihoods: probabilities in (0, 1] that an entropy model gives the coded
            symbols: one tensor, a sequence, or a mapping (e.g. ``{"y": ..., "z": ...}``);
            every element is summed.
        num_pixels: ``N``, the number of image pixels the symbols describe (e.g.
            ``batch * H * W`` of the RAW), ``> 0``.

    Returns:
        Scalar bits per pixel, differentiable w.r.t. the likelihoods.

    Raises:
        ValueError: a probability outside (0, 1], NaN, no tensor, ``num_pixels <= 0``.
        TypeError: not arrays, a non-float dtype, ``num_pixels`` not an int.

    Example:
        >>> import numpy as np
        >>> float(bits_per_pixel(np.full(8, 0.5), num_pixels=4))
        2.0
    """
    n = _check_num_pixels(num_pixels)
    return _likelihood_bits(likelihoods) / n


@numpy_compat
def rate_distortion_loss(
    distortion: Array,
    *,
    lam: float,
    num_pixels: int,
    likelihoods: Array | Sequence[Array] | Mapping[str, Array] | None = None,
    bits: Array | None = None,
) -> Array:
    r"""Rate-distortion loss :math:`\lambda D + R` of a learned codec, ``R`` in bits/pixel.

    ``R`` comes either from the entropy model's ``likelihoods``
    (:func:`bits_per_pixel`) or from a number of ``bits`` (e.g. a differentiable
    estimate, or the real bitstream length for logging), divided by ``num_pixels``.
    ``D`` is averaged to a scalar.  ``lam`` trades rate for distortion and depends on
    ``D``'s scale (for MSE on [0, 1] data, values from ~10 to ~10^4 are common): it has
    no default.

    Args:
        distortion: ``D``, any shape (e.g. per-image MSE), averaged.
        lam: :math:`\lambda \ge 0`.
        num_pixels: pixels the coded symbols describe, ``> 0``.
        likelihoods: probabilities in (0, 1] (see :func:`bits_per_pixel`).
        bits: total bits, any shape (summed), ``>= 0``; exactly one of ``likelihoods``
            and ``bits`` is given.

    Returns:
        Scalar loss, differentiable w.r.t. ``distortion`` and the rate input.

    Raises:
        ValueError: both or neither rate input, negative ``bits``, NaN, bad ``lam`` or
            ``num_pixels``.
        TypeError: not arrays, non-float dtypes, bad argument types.

    Example:
        >>> import torch
        >>> d = torch.tensor([0.01, 0.03])
        >>> float(rate_distortion_loss(d, lam=100.0, bits=torch.tensor(64.0), num_pixels=32))
        4.0
    """
    lam = _check_weight(lam, "lam")
    n = _check_num_pixels(num_pixels)
    if (likelihoods is None) == (bits is None):
        raise ValueError(
            "likelihoods/bits: expected exactly one of them, got "
            f"{'both' if bits is not None else 'neither'}"
        )
    distortion = _as_tensor(distortion, "distortion")
    check_dtype(distortion, ["float"], "distortion")
    check_finite(distortion, "distortion")
    if bits is not None:
        bits = _as_tensor(bits, "bits")
        check_dtype(bits, ["float", "integer"], "bits")
        check_finite(bits, "bits")
        if bits.numel() and bool((bits < 0).any()):
            raise ValueError(f"bits: expected values >= 0, got a minimum of {float(bits.min())}")
        rate = bits.to(distortion.dtype).sum() / n
    else:
        rate = _likelihood_bits(likelihoods).to(distortion.dtype) / n
    return lam * distortion.mean() + rate


class L2SSIMLoss(nn.Module):
    """Module form of :func:`l2_ssim_loss` (PriorRAW Eq. 9); stores the settings.

    Example:
        >>> import torch
        >>> crit = L2SSIMLoss(data_range=1.0)
        >>> y = torch.rand(2, 4, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> float(crit(y, y))
        0.0
    """

    def __init__(
        self,
        *,
        data_range: float,
        alpha: float = 1.0,
        beta: float = 1.0,
        reduction: Reduction = "mean",
        l2: str = "mse",
    ) -> None:
        super().__init__()
        _check_l2_ssim_args(data_range, alpha, beta, reduction)
        check_choice(l2, list(L2_TERMS), "l2")
        self.data_range, self.alpha, self.beta, self.reduction = data_range, alpha, beta, reduction
        self.l2 = l2

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = l2_ssim_loss(
            pred,
            target,
            data_range=self.data_range,
            alpha=self.alpha,
            beta=self.beta,
            mask=mask,
            reduction=self.reduction,
            l2=self.l2,
        )
        return cast(torch.Tensor, out)

    def extra_repr(self) -> str:
        return (
            f"data_range={self.data_range}, alpha={self.alpha}, beta={self.beta}, "
            f"reduction={self.reduction!r}, l2={self.l2!r}"
        )


class MultiScaleLoss(nn.Module):
    """Module form of :func:`multiscale_loss` (FAGDN Eq. 8); stores the settings.

    Example:
        >>> import torch
        >>> crit = MultiScaleLoss(data_range=1.0, lam=0.5)
        >>> y = torch.rand(1, 4, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> float(crit(y, [], y))
        0.0
    """

    def __init__(
        self,
        *,
        data_range: float,
        lam: float = 0.5,
        alpha: float = 1.0,
        beta: float = 1.0,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        _check_l2_ssim_args(data_range, alpha, beta, reduction)
        _check_weight(lam, "lam")
        self.data_range, self.lam, self.alpha, self.beta = data_range, lam, alpha, beta
        self.reduction = reduction

    def forward(
        self,
        pred: torch.Tensor,
        aux: Sequence[torch.Tensor],
        target: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        out = multiscale_loss(
            pred,
            aux,
            target,
            data_range=self.data_range,
            lam=self.lam,
            alpha=self.alpha,
            beta=self.beta,
            mask=mask,
            reduction=self.reduction,
        )
        return cast(torch.Tensor, out)

    def extra_repr(self) -> str:
        return (
            f"data_range={self.data_range}, lam={self.lam}, alpha={self.alpha}, "
            f"beta={self.beta}, reduction={self.reduction!r}"
        )


class RateDistortionLoss(nn.Module):
    """Module form of :func:`rate_distortion_loss`; stores ``lam``.

    Example:
        >>> import torch
        >>> crit = RateDistortionLoss(lam=100.0)
        >>> float(crit(torch.tensor(0.02), bits=torch.tensor(64.0), num_pixels=32))
        4.0
    """

    def __init__(self, *, lam: float) -> None:
        super().__init__()
        self.lam = _check_weight(lam, "lam")

    def forward(
        self,
        distortion: torch.Tensor,
        *,
        num_pixels: int,
        likelihoods: torch.Tensor
        | Sequence[torch.Tensor]
        | Mapping[str, torch.Tensor]
        | None = None,
        bits: torch.Tensor | None = None,
    ) -> torch.Tensor:
        out = rate_distortion_loss(
            distortion, lam=self.lam, num_pixels=num_pixels, likelihoods=likelihoods, bits=bits
        )
        return cast(torch.Tensor, out)

    def extra_repr(self) -> str:
        return f"lam={self.lam}"
