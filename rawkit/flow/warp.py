r"""Backward warping with bilinear sampling (FAGDN Eq. 5), flow consistency and error.

**Pixel convention (one, everywhere in rawkit).** Pixel ``(x, y)`` of an image has its
centre at the integer coordinates ``x`` (column) and ``y`` (row); the first pixel's
centre is ``(0, 0)`` and the last one's ``(W - 1, H - 1)``.  This is OpenCV's
``cv2.remap`` convention and ``torch.nn.functional.grid_sample``'s with
``align_corners=True``, and the one of :func:`rawkit.data.synthesize_video`.  There is
no half-pixel offset anywhere: a zero flow returns the image unchanged and an integer
flow moves pixels by whole pixels, bit-exactly.

**Flow convention: backward flow.** A flow ``(*, 2, H, W)`` holds ``(dx, dy)`` in
pixels on the grid of the image being *made*: :func:`warp` returns

.. math::  \tilde x(p) = x\big(p + \mathrm{flow}(p)\big),

bilinearly interpolated.  So if ``flow`` is the backward flow from frame ``t`` to frame
``t - 1`` (``frame_t(p) ~ frame_{t-1}(p + flow(p))``), ``warp(frame_{t-1}, flow)``
predicts ``frame_t``; this is :math:`\Omega(y_t, o_{t\to t+1})` of FAGDN Eq. (5)
with :math:`o_{t\to t+1}` the flow :func:`rawkit.flow.estimate_flow` returns for
``(x_t, x_{t+1})``.

**Sampling.** Bilinear from the four neighbours ``floor(p + flow)`` and ``+1``, with
weights the fractional parts.  The sampler is written with ``gather`` rather than
``grid_sample`` so that integer flows are exact (``grid_sample`` normalises the
coordinates to ``[-1, 1]`` and back, which costs a few ulps) and images of width or
height 1 work; the tests check it against ``grid_sample(align_corners=True)``,
``cv2.remap(INTER_LINEAR)`` and a loop written from the definition.

**Padding** (where ``p + flow`` leaves the image): ``"border"`` clamps the sample
position into the image (the edge pixel repeats; ``grid_sample``'s and OpenCV's
``BORDER_REPLICATE``), ``"zeros"`` gives every neighbour outside the image weight
zero (``grid_sample``'s ``"zeros"``, OpenCV's ``BORDER_CONSTANT`` with 0), and
``"reflection"`` mirrors the position about the edge pixels' centres
(``grid_sample``'s ``"reflection"`` with ``align_corners=True``, OpenCV's
``BORDER_REFLECT_101``).
"""

from __future__ import annotations

from typing import Literal, cast

import torch

from rawkit._checks import check_choice, check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, numpy_compat
from rawkit.cfa import Pattern, channel_sites, check_pattern

__all__ = [
    "PADDINGS",
    "Padding",
    "endpoint_error",
    "forward_backward_error",
    "out_of_frame",
    "warp",
    "warp_packed",
]

#: What a backward warp samples outside the frame: the border, zeros or a reflection.
Padding = Literal["border", "zeros", "reflection"]
#: Every value of ``Padding``.
PADDINGS: tuple[str, ...] = ("border", "zeros", "reflection")


def check_flow(flow: Array, name: str = "flow") -> None:
    """A floating, finite ``(*, 2, H, W)`` array (raises naming ``name``)."""
    check_tensor_like(flow, name)
    check_shape(flow, ["*", "2", "H", "W"], name)
    check_dtype(flow, ["float"], name)
    check_finite(cast(torch.Tensor, flow), name)


def _check_pair(x: Array, flow: Array) -> tuple[torch.Tensor, torch.Tensor]:
    check_tensor_like(x, "x")
    check_shape(x, ["*", "C", "H", "W"], "x")
    check_dtype(x, ["float"], "x")
    check_flow(flow)
    x, flow = cast(torch.Tensor, x), cast(torch.Tensor, flow)
    check_finite(x, "x")
    if x.shape[-2:] != flow.shape[-2:]:
        raise ValueError(
            f"flow: expected the spatial size of x {tuple(x.shape[-2:])}, got {tuple(flow.shape[-2:])}"
        )
    try:
        lead = torch.broadcast_shapes(x.shape[:-3], flow.shape[:-3])
    except RuntimeError as e:
        raise ValueError(
            f"flow: leading dims {tuple(flow.shape[:-3])} do not broadcast with x's "
            f"{tuple(x.shape[:-3])}"
        ) from e
    return x.expand(*lead, *x.shape[-3:]), flow.expand(*lead, *flow.shape[-3:])


def _reflect(p: torch.Tensor, size: int) -> torch.Tensor:
    """Mirror positions about ``0`` and ``size - 1`` (period ``2 (size - 1)``)."""
    if size == 1:
        return torch.zeros_like(p)
    period = 2.0 * (size - 1)
    q = torch.remainder(p, period)
    return (size - 1) - (q - (size - 1)).abs()


@numpy_compat
def warp(x: Array, flow: Array, *, padding: Padding = "border") -> Array:
    r"""Backward-warp ``x`` by ``flow`` with bilinear sampling (FAGDN Eq. 5, :math:`\Omega`).

    ``out[..., y, x] = x[..., y + dy, x + dx]`` with ``(dx, dy) = flow[..., :, y, x]``,
    bilinearly interpolated (module notes: one pixel convention, backward flow,
    padding).  Differentiable in ``x`` and in ``flow`` (the gradient in ``flow`` is
    the bilinear slope; at integer positions it is the one-sided slope towards
    ``+x``/``+y``, and zero where ``"border"`` clamps).

    Args:
        x: ``(*, C, H, W)`` float, any values (sRGB frames, packed RAW, features).
        flow: ``(*, 2, H, W)`` float backward flow ``(dx, dy)`` in pixels; leading dims
            broadcast with ``x``'s.
        padding: ``"border"`` (default), ``"zeros"`` or ``"reflection"``.

    Returns:
        ``(*, C, H, W)`` warped image, dtype of ``x`` (the flow is cast to it), device
        of ``x``.  A zero flow returns ``x``'s values exactly; an integer flow moves
        them exactly.  Nothing is clipped.

    Raises:
        TypeError: not arrays, not floating.
        ValueError: wrong shapes (flow not 2 channels, different H, W, leading dims that
            do not broadcast), NaN/Inf in ``flow``, unknown ``padding``.

    Example:
        >>> import torch
        >>> x = torch.arange(6.0).reshape(1, 2, 3)
        >>> flow = torch.zeros(2, 2, 3); flow[0] = 1.0  # every pixel reads its right neighbour
        >>> warp(x, flow)[0].tolist()
        [[1.0, 2.0, 2.0], [4.0, 5.0, 5.0]]
        >>> flow[0] = 0.5
        >>> warp(x, flow, padding="zeros")[0].tolist()
        [[0.5, 1.5, 1.0], [3.5, 4.5, 2.5]]
    """
    check_choice(padding, PADDINGS, "padding")
    x, flow = _check_pair(x, flow)
    c, h, w = x.shape[-3:]
    lead = x.shape[:-3]
    flow = flow.to(x.dtype)
    ys = torch.arange(h, device=x.device, dtype=x.dtype).view(h, 1)
    xs = torch.arange(w, device=x.device, dtype=x.dtype).view(1, w)
    px = xs + flow[..., 0, :, :]  # (*, H, W) sample positions
    py = ys + flow[..., 1, :, :]
    if padding == "border":
        px, py = px.clamp(0, w - 1), py.clamp(0, h - 1)
    elif padding == "reflection":
        px, py = _reflect(px, w), _reflect(py, h)
    x0, y0 = torch.floor(px), torch.floor(py)
    fx, fy = px - x0, py - y0  # fractional parts, in [0, 1)
    x0l, y0l = x0.long(), y0.long()
    flat = x.reshape(-1, c, h * w)
    out = torch.zeros_like(flat)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0l + dx, y0l + dy
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            weight = (wx * wy * inside).reshape(-1, 1, h * w)
            index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).reshape(-1, 1, h * w)
            out = out + weight * flat.gather(2, index.expand(-1, c, -1))
    return out.reshape(*lead, c, h, w)


@numpy_compat
def warp_packed(
    packed: Array, flow: Array, *, pattern: Pattern, padding: Padding = "border"
) -> Array:
    r"""Backward-warp a packed RAW ``(*, 4, H/2, W/2)`` by a full-resolution flow (Eq. 5).

    Each packed channel is a plane of Bayer sites: channel ``k`` of ``[R, Gr, Gb, B]``
    holds the mosaic pixels ``(2i + dy_k, 2j + dx_k)`` (:func:`rawkit.cfa.channel_sites`
    of ``pattern``).  A site that moves by ``flow`` mosaic pixels moves by ``flow / 2``
    plane pixels, so plane ``k`` is warped by :func:`warp` with
    ``flow[..., dy_k::2, dx_k::2] / 2``: the flow is read at the plane's own sites, with
    no resampling of the flow and no half-pixel shift between planes.  Each plane is
    interpolated from its own sites only (no demosaicing).  An even integer flow moves
    the planes exactly.

    Args:
        packed: ``(*, 4, h, w)`` float packed RAW.
        flow: ``(*, 2, 2h, 2w)`` float backward flow in mosaic pixels (the sRGB frame's
            grid), leading dims broadcasting with ``packed``'s.
        pattern: the Bayer pattern the RAW was packed with.
        padding: as :func:`warp`, applied on each plane's grid.

    Returns:
        ``(*, 4, h, w)`` warped packed RAW, dtype and device of ``packed``;
        differentiable in ``packed`` and ``flow``.

    Raises:
        TypeError, ValueError: as :func:`warp`; a flow whose size is not twice the
            planes', an unknown pattern.

    Example:
        >>> import torch
        >>> from rawkit.cfa import pack
        >>> m = torch.arange(16.0).reshape(1, 4, 4)
        >>> flow = torch.zeros(2, 4, 4); flow[0] = 2.0  # two mosaic pixels = one plane pixel
        >>> a = warp_packed(pack(m, pattern="RGGB"), flow, pattern="RGGB", padding="zeros")
        >>> torch.equal(a, pack(warp(m, flow, padding="zeros"), pattern="RGGB"))
        True
    """
    check_pattern(pattern)
    check_tensor_like(packed, "packed")
    check_shape(packed, ["*", "4", "h", "w"], "packed")
    check_dtype(packed, ["float"], "packed")
    check_flow(flow)
    packed, flow = cast(torch.Tensor, packed), cast(torch.Tensor, flow)
    check_finite(packed, "packed")
    h, w = packed.shape[-2:]
    if tuple(flow.shape[-2:]) != (2 * h, 2 * w):
        raise ValueError(
            f"flow: expected the full resolution {(2 * h, 2 * w)} of packed {(h, w)}, "
            f"got {tuple(flow.shape[-2:])}"
        )
    plane_flows = torch.stack(
        [flow[..., dy::2, dx::2] for dy, dx in channel_sites(pattern)], dim=-4
    )  # (*, 4, 2, h, w)
    out = warp(packed.unsqueeze(-3), plane_flows / 2, padding=padding)  # (*, 4, 1, h, w)
    return cast(torch.Tensor, out).squeeze(-3)


@numpy_compat
def out_of_frame(flow: Array) -> Array:
    """Where the backward flow points outside the image: ``(*, 1, H, W)`` bool.

    A pixel ``p`` is out of frame when ``p + flow(p)`` lies outside
    ``[0, W - 1] x [0, H - 1]`` (pixel centres, module notes): the previous frame did
    not show that point at all.  Not differentiable (a comparison).

    Example:
        >>> import torch
        >>> flow = torch.zeros(2, 1, 3); flow[0] = 1.0
        >>> out_of_frame(flow).flatten().tolist()
        [False, False, True]
    """
    check_flow(flow)
    flow = cast(torch.Tensor, flow)
    h, w = flow.shape[-2:]
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype)
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype).view(h, 1)
    px, py = xs + flow[..., 0, :, :], ys + flow[..., 1, :, :]
    return ((px < 0) | (px > w - 1) | (py < 0) | (py > h - 1)).unsqueeze(-3)


@numpy_compat
def forward_backward_error(flow: Array, reverse: Array) -> Array:
    r"""Forward-backward inconsistency of a flow pair: :math:`|w(p) + \hat w(p + w(p))|`.

    ``flow`` is the backward flow of frame ``b`` into frame ``a`` (on ``b``'s grid) and
    ``reverse`` the flow of ``a`` into ``b`` (on ``a``'s grid).  Where a pixel is seen
    in both frames and both flows are right, following ``flow`` and then ``reverse``
    returns to the start, so the residual
    :math:`r(p) = w(p) + \hat w(p + w(p))` is zero (``reverse`` is sampled with
    :func:`warp`, border padding).  Large residuals mark occlusions and flow errors
    (Sundaram, Brox & Keutzer, "Dense point trajectories by GPU-accelerated large
    displacement optical flow", ECCV 2010); :func:`rawkit.masks.occlusion` turns them
    into a mask.

    Args:
        flow: ``(*, 2, H, W)`` float, frame ``b`` -> frame ``a``, pixels.
        reverse: ``(*, 2, H, W)`` float, frame ``a`` -> frame ``b``, same shape.

    Returns:
        ``(*, 1, H, W)`` residual length in pixels, >= 0; differentiable.

    Raises:
        TypeError, ValueError: as :func:`warp`; shapes that differ.

    Example:
        >>> import torch
        >>> fw = torch.zeros(2, 4, 4); fw[0] = 1.0  # b shows a shifted by one pixel
        >>> float(forward_backward_error(fw, -fw).max())
        0.0
    """
    check_flow(flow, "flow")
    check_flow(reverse, "reverse")
    flow, reverse = cast(torch.Tensor, flow), cast(torch.Tensor, reverse)
    if flow.shape != reverse.shape:
        raise ValueError(
            f"reverse: expected the shape of flow {tuple(flow.shape)}, got {tuple(reverse.shape)}"
        )
    back = cast(torch.Tensor, warp(reverse, flow, padding="border"))
    return (flow + back).square().sum(dim=-3, keepdim=True).sqrt()


@numpy_compat
def endpoint_error(
    flow: Array,
    reference: Array,
    *,
    valid: Array | None = None,
    reduction: Literal["mean", "none"] = "mean",
) -> Array:
    r"""End-point error :math:`\|w - w^\ast\|_2` of a flow against a reference flow.

    Args:
        flow: ``(*, 2, H, W)`` float estimate, pixels.
        reference: ``(*, 2, H, W)`` float reference (e.g. :attr:`rawkit.data.SyntheticVideo.flow`).
        valid: optional ``(*, 1, H, W)`` bool (or 0/1) mask of the pixels to average
            over (e.g. :attr:`rawkit.data.SyntheticVideo.valid`).
        reduction: ``"mean"``: mean EPE per image ``(*,)`` over the (valid) pixels
            (``nan`` for an image without valid pixel); ``"none"``: the map
            ``(*, 1, H, W)`` (``valid`` ignored).

    Returns:
        EPE in pixels, dtype of ``flow``.

    Raises:
        TypeError, ValueError: bad arrays or shapes, unknown ``reduction``.

    Example:
        >>> import torch
        >>> a = torch.zeros(2, 2, 2); b = a.clone(); b[0] = 3.0; b[1] = 4.0
        >>> float(endpoint_error(a, b))
        5.0
    """
    check_flow(flow, "flow")
    check_flow(reference, "reference")
    check_choice(reduction, ("mean", "none"), "reduction")
    flow, reference = cast(torch.Tensor, flow), cast(torch.Tensor, reference)
    if flow.shape != reference.shape:
        raise ValueError(
            f"reference: expected the shape of flow {tuple(flow.shape)}, got {tuple(reference.shape)}"
        )
    epe = (flow - reference.to(flow.dtype)).square().sum(dim=-3, keepdim=True).sqrt()
    if reduction == "none":
        return epe
    if valid is None:
        return epe.mean(dim=(-3, -2, -1))
    check_tensor_like(valid, "valid")
    check_shape(valid, ["*", "1", "H", "W"], "valid")
    v = cast(torch.Tensor, valid)
    if v.shape != epe.shape:
        raise ValueError(f"valid: expected shape {tuple(epe.shape)}, got {tuple(v.shape)}")
    m = v.to(flow.dtype)
    return (epe * m).sum(dim=(-3, -2, -1)) / m.sum(dim=(-3, -2, -1))
