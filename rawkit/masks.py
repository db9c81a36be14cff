r"""Confidence masks: overexposure, warp error, forward-backward occlusion.

Every mask is ``(*, 1, H, W)`` float in ``[0, 1]`` on the input's device and dtype
(NumPy in -> NumPy out).  ``1`` means "the condition holds here" (overexposed,
reliable, occluded: each function says which).  Nothing is rescaled: sRGB inputs are
taken as floats in ``[0, 1]``, flows in pixels.

* :func:`overexposure` -- where an sRGB image is saturated (the mask of the
  overexposure-fusion method, ``003_*``), hard or with a smooth ramp;
* :func:`warp_error` and :func:`warp_error_confidence` -- the error
  :math:`|\tilde x_{t+1} - x_{t+1}|` between a warped sRGB frame and the current one,
  which Eq. (6) of FAGDN (``002_*``) feeds to its learned confidence head
  (:class:`rawkit.nets.FAGDN` holds the learned :math:`\sigma(\mathrm{conv}(\cdot))`);
  here the fixed, unlearned map;
* :func:`occlusion` -- pixels whose backward flow is not confirmed by the forward flow
  (Sundaram, Brox & Keutzer, ECCV 2010), computed with :mod:`rawkit.flow`.

All functions are differentiable (in their inputs) except the hard (``softness=0``)
versions, whose gradient is zero almost everywhere.
"""

from __future__ import annotations

from typing import Literal, cast

import torch

from rawkit._checks import check_choice, check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, numpy_compat
from rawkit.flow import forward_backward_error, out_of_frame, warp

__all__ = [
    "REDUCTIONS",
    "Reduction",
    "occlusion",
    "overexposure",
    "warp_error",
    "warp_error_confidence",
]

#: How a per-channel quantity becomes one value per pixel.
Reduction = Literal["max", "mean"]
#: Every value of ``Reduction``.
REDUCTIONS: tuple[str, ...] = ("max", "mean")


def _check_image(x: Array, name: str, channels: int | None = None) -> None:
    check_tensor_like(x, name)
    check_shape(x, ["*", str(channels) if channels else "C", "H", "W"], name)
    check_dtype(x, ["float"], name)
    check_finite(x, name)


def _check_number(value: object, name: str, *, low: float, high: float, closed_low: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    v = float(value)
    ok_low = v >= low if closed_low else v > low
    if not (ok_low and v <= high):
        bracket = "[" if closed_low else "("
        raise ValueError(f"{name}: expected a value in {bracket}{low}, {high}], got {value!r}")
    return v


def _smoothstep(t: torch.Tensor) -> torch.Tensor:
    """``3t^2 - 2t^3`` on ``[0, 1]``, 0 below, 1 above: monotone, C1, exact 0 and 1 at the ends."""
    t = t.clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@numpy_compat
def overexposure(
    srgb: Array,
    *,
    threshold: float = 0.95,
    softness: float = 0.05,
    reduce: Reduction = "max",
) -> Array:
    r"""Overexposure mask of an sRGB image: 1 where it is saturated, 0 where it is not.

    With ``v`` the channel maximum (``reduce="max"``: a pixel is overexposed as soon as
    one channel clips) or mean (``"mean"``) of each pixel:

    * ``softness == 0`` (hard): :math:`m = [v \ge \tau]`;
    * ``softness > 0`` (smooth): :math:`m = S\big((v - \tau + s) / s\big)` with the
      smoothstep :math:`S(t) = 3t^2 - 2t^3` on ``[0, 1]`` (0 below, 1 above): 0 for
      :math:`v \le \tau - s`, 1 for :math:`v \ge \tau`, a C1 ramp in between.  The
      ramp lies *below* the threshold, so the hard mask is the limit ``s -> 0`` and
      both agree that a pixel at or above the threshold is overexposed.

    The mask is monotone: brightening any channel of a pixel never lowers it; an image
    whose pixels all lie below ``threshold - softness`` gives an all-zero mask.  The
    overexposure-fusion poster (``003_*``) gives no threshold; 0.95 with a 0.05 ramp
    marks the 8-bit codes 243-255 (fully from 255) and is a choice made here.

    Args:
        srgb: ``(*, 3, H, W)`` (any channel count ``C >= 1`` works) float sRGB in
            ``[0, 1]``; values above 1 count as saturated, nothing is clipped.
        threshold: :math:`\tau \in (0, 1]`.
        softness: ramp width :math:`s \in [0, \tau)`; 0 gives the hard mask.
        reduce: ``"max"`` (default) or ``"mean"`` over channels.

    Returns:
        ``(*, 1, H, W)`` mask in ``[0, 1]``, same dtype and device as ``srgb``;
        differentiable for ``softness > 0``.

    Raises:
        TypeError: not an array, not floating, option of the wrong type.
        ValueError: bad shape, NaN/Inf, ``threshold``/``softness`` out of range, unknown
            ``reduce``.

    Example:
        >>> import numpy as np
        >>> x = np.array([0.5, 0.92, 0.95, 1.0], dtype=np.float32).reshape(1, 1, 4)
        >>> x = np.repeat(x, 3, axis=0)  # (3, 1, 4): a grey ramp
        >>> overexposure(x, threshold=0.95, softness=0.0).ravel().tolist()
        [0.0, 0.0, 1.0, 1.0]
        >>> overexposure(x, threshold=0.95, softness=0.05).ravel().round(3).tolist()
        [0.0, 0.352, 1.0, 1.0]
    """
    _check_image(srgb, "srgb")
    tau = _check_number(threshold, "threshold", low=0.0, high=1.0, closed_low=False)
    s = _check_number(softness, "softness", low=0.0, high=1.0, closed_low=True)
    if s >= tau:
        raise ValueError(f"softness: expected a value below threshold={tau}, got {softness!r}")
    check_choice(reduce, REDUCTIONS, "reduce")
    srgb = cast(torch.Tensor, srgb)  # numpy_compat handed a tensor in
    v = srgb.amax(dim=-3, keepdim=True) if reduce == "max" else srgb.mean(dim=-3, keepdim=True)
    if s == 0.0:
        return (v >= tau).to(srgb.dtype)
    return _smoothstep((v - (tau - s)) / s)


@numpy_compat
def warp_error(warped: Array, current: Array, *, reduce: Reduction = "mean") -> Array:
    r"""Per-pixel warp error :math:`|\tilde x_{t+1} - x_{t+1}|` (FAGDN Fig. 5d, Eq. 6 input).

    ``warped`` is the previous sRGB frame warped onto the current one
    (:math:`\tilde x_{t+1} = \Omega(x_t, o_{t\to t+1})`, :func:`rawkit.flow.warp`);
    large values mark pixels where the flow is wrong or the scene point was not
    visible (occlusion, disocclusion, leaving the frame).

    Args:
        warped: ``(*, C, H, W)`` float.
        current: ``(*, C, H, W)`` float, same shape.
        reduce: ``"mean"`` (default) or ``"max"`` of the absolute error over channels.

    Returns:
        ``(*, 1, H, W)`` absolute error >= 0, in the input's units (not clipped);
        differentiable (subgradient 0 at equality).

    Raises:
        TypeError, ValueError: not floating arrays, shapes differ, NaN/Inf, bad ``reduce``.

    Example:
        >>> import torch
        >>> a = torch.zeros(3, 2, 2); b = a.clone(); b[:, 0, 0] = torch.tensor([0.3, 0.0, 0.0])
        >>> warp_error(a, b).squeeze(0).round(decimals=4).tolist()
        [[0.1, 0.0], [0.0, 0.0]]
    """
    _check_image(warped, "warped")
    _check_image(current, "current")
    warped, current = cast(torch.Tensor, warped), cast(torch.Tensor, current)
    if warped.shape != current.shape:
        raise ValueError(
            f"current: expected the shape of warped {tuple(warped.shape)}, got {tuple(current.shape)}"
        )
    check_choice(reduce, REDUCTIONS, "reduce")
    err = (warped - current).abs()
    return err.amax(dim=-3, keepdim=True) if reduce == "max" else err.mean(dim=-3, keepdim=True)


@numpy_compat
def warp_error_confidence(
    warped: Array, current: Array, *, scale: float = 0.05, reduce: Reduction = "mean"
) -> Array:
    r"""Fixed confidence from the warp error: :math:`c = \exp(-e / \text{scale})`.

    ``e`` is :func:`warp_error` (``reduce`` over channels).  ``c = 1`` where the warped
    previous frame matches the current one exactly and decays towards 0 as the error
    grows (``c = 1/e`` at ``e = scale``).  This is the *unlearned* counterpart of
    FAGDN's Eq. (6), :math:`M = \sigma(\mathrm{conv}([\tilde x_{t+1}, x_{t+1}]))`, which
    learns the map from the same two frames (:class:`rawkit.nets.FAGDN`); use it to
    look at what the network sees, or as a baseline mask.

    Args:
        warped: ``(*, C, H, W)`` float, the previous frame warped onto the current one.
        current: ``(*, C, H, W)`` float, same shape.
        scale: error at which the confidence falls to ``1/e``; > 0, in the inputs' units.
        reduce: ``"mean"`` or ``"max"`` over channels.

    Returns:
        ``(*, 1, H, W)`` in ``(0, 1]``, 1 = reliable; differentiable.

    Raises:
        TypeError, ValueError: as :func:`warp_error`, and ``scale <= 0``.

    Example:
        >>> import torch
        >>> a = torch.zeros(1, 3, 1, 2); b = a.clone(); b[..., 1] = 0.05
        >>> [round(v, 4) for v in warp_error_confidence(a, b, scale=0.05).flatten().tolist()]
        [1.0, 0.3679]
    """
    sc = _check_number(scale, "scale", low=0.0, high=float("inf"), closed_low=False)
    err = cast(torch.Tensor, warp_error(warped, current, reduce=reduce))
    return torch.exp(-err / sc)


@numpy_compat
def occlusion(
    flow: Array,
    reverse: Array,
    *,
    alpha: float = 0.01,
    beta: float = 0.5,
    frame_edges: bool = True,
) -> Array:
    r"""Occlusion estimate from forward-backward consistency: 1 = occluded or unreliable.

    ``flow`` is the backward flow of frame ``b`` into frame ``a`` and ``reverse`` the
    flow of ``a`` into ``b`` (:func:`rawkit.flow.forward_backward_error`).  With
    :math:`\hat w = \mathrm{reverse}(p + w(p))` sampled by :func:`rawkit.flow.warp`, a
    pixel is marked when the round trip does not come back (Sundaram, Brox & Keutzer,
    ECCV 2010, Eq. 5):

    .. math::  |w + \hat w|^2 > \alpha\,(|w|^2 + |\hat w|^2) + \beta

    and, with ``frame_edges``, also where ``p + w(p)`` leaves frame ``a``
    (:func:`rawkit.flow.out_of_frame`).  Both disocclusions (points ``b`` shows that
    ``a`` hid) and flow failures are caught; what remains is where the backward warp
    of frame ``a`` can be trusted.  Not differentiable (a threshold).

    Args:
        flow: ``(*, 2, H, W)`` float, ``b`` -> ``a`` in pixels.
        reverse: ``(*, 2, H, W)`` float, ``a`` -> ``b``, same shape.
        alpha: relative tolerance >= 0 (0.01 as Sundaram et al.).
        beta: absolute tolerance in squared pixels >= 0 (0.5 as Sundaram et al.).
        frame_edges: also mark flows that leave the frame (default True).

    Returns:
        ``(*, 1, H, W)`` float 0/1 mask, dtype of ``flow``.

    Raises:
        TypeError, ValueError: bad flows or shapes, negative tolerances.

    Example:
        >>> import torch
        >>> fw = torch.zeros(2, 3, 4); fw[0] = -1.0  # b(p) = a(p - 1): a moved right
        >>> occlusion(fw, -fw)[0].tolist()  # column 0 of b was not in a
        [[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    """
    a = _check_number(alpha, "alpha", low=0.0, high=float("inf"), closed_low=True)
    b = _check_number(beta, "beta", low=0.0, high=float("inf"), closed_low=True)
    if not isinstance(frame_edges, bool):
        raise TypeError(f"frame_edges: expected a bool, got {type(frame_edges).__name__}")
    err = cast(torch.Tensor, forward_backward_error(flow, reverse))
    flow, reverse = cast(torch.Tensor, flow), cast(torch.Tensor, reverse)
    back = cast(torch.Tensor, warp(reverse, flow, padding="border"))
    bound = a * (flow.square().sum(-3, keepdim=True) + back.square().sum(-3, keepdim=True)) + b
    occluded = err.square() > bound
    if frame_edges:
        occluded = occluded | cast(torch.Tensor, out_of_frame(flow))
    return occluded.to(flow.dtype)
