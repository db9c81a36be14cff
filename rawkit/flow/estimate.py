r"""Classical optical flow on sRGB frames through OpenCV (FAGDN Eq. 4, :math:`\Theta`).

FAGDN estimates :math:`o_{t\to t+1} = \Theta(x_t, x_{t+1})` with a learned network
(UniMatch, its ref. [32]) whose weights cannot be downloaded here.  rawkit uses
OpenCV's classical estimators instead:

* ``"dis"`` -- Dense Inverse Search (Kroeger et al., ECCV 2016),
  ``cv2.DISOpticalFlow`` with one of its presets (``"ultrafast"``, ``"fast"``,
  ``"medium"``); a few milliseconds for a 512x512 frame;
* ``"farneback"`` -- Farneback's polynomial expansion (SCIA 2003),
  ``cv2.calcOpticalFlowFarneback`` with the settings of OpenCV's own sample
  (pyramid scale 0.5, 5 levels, window 15, 3 iterations, ``poly_n=5``,
  ``poly_sigma=1.2``).

Any other estimator, e.g. a learned one, can be used wherever rawkit needs flow: pass a
callable with the signature of :func:`estimate_flow`, ``fn(frame_a, frame_b) ->
(*, 2, H, W)`` backward flow in pixels (:data:`FlowFn`).

**Convention** (that of :mod:`rawkit.flow.warp`): the flow is on ``frame_b``'s grid and
points into ``frame_a``: ``frame_b(p) ~ frame_a(p + flow(p))``, so
``warp(frame_a, flow)`` predicts ``frame_b``.  OpenCV's ``calc(prev, next)`` returns
the flow on ``prev``'s grid into ``next``; rawkit therefore calls it as
``calc(frame_b, frame_a)``.

**Not differentiable.**  The frames are converted to 8-bit grey (Rec. 601 luma
``0.299 R + 0.587 G + 0.114 B`` of the sRGB values, rounded: DIS works on 8-bit
images) and handed to OpenCV; the result carries no gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast

import cv2
import numpy as np
import torch

from rawkit._checks import check_choice, check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, empty_output, numpy_compat

__all__ = ["DIS_PRESETS", "METHODS", "DISPreset", "FlowFn", "Method", "estimate_flow"]

#: Optical-flow estimators: OpenCV's DIS or Farneback.
Method = Literal["dis", "farneback"]
#: Every value of ``Method``.
METHODS: tuple[str, ...] = ("dis", "farneback")
#: Speed/quality presets of OpenCV's DIS flow.
DISPreset = Literal["ultrafast", "fast", "medium"]
#: Every value of ``DISPreset``.
DIS_PRESETS: tuple[str, ...] = ("ultrafast", "fast", "medium")

#: A flow estimator: ``fn(frame_a, frame_b) -> (*, 2, H, W)`` backward flow (module notes).
FlowFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_LUMA = (0.299, 0.587, 0.114)
_DIS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _grey_u8(frames: torch.Tensor) -> np.ndarray:
    """``(N, C, H, W)`` float in [0, 1] -> ``(N, H, W)`` uint8 luma (C = 1 or 3)."""
    f = frames.detach().to(torch.float32)
    if f.shape[-3] == 3:
        w = torch.tensor(_LUMA, dtype=f.dtype, device=f.device).view(3, 1, 1)
        f = (f * w).sum(dim=-3)
    else:
        f = f[..., 0, :, :]
    return (f.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


@numpy_compat
def estimate_flow(
    frame_a: Array,
    frame_b: Array,
    *,
    method: Method = "dis",
    preset: DISPreset = "medium",
) -> Array:
    r"""Backward optical flow from ``frame_b`` into ``frame_a`` (FAGDN Eq. 4).

    :math:`o = \Theta(x_t, x_{t+1})` with ``frame_a`` :math:`= x_t` and ``frame_b``
    :math:`= x_{t+1}`: ``warp(frame_a, o)`` predicts ``frame_b`` (module notes for the
    convention and the grey conversion).  **Not differentiable**: OpenCV does the work,
    the result has no gradient.  Pixels are processed frame pair by frame pair over the
    leading dimensions.

    Args:
        frame_a: ``(*, C, H, W)`` float sRGB in ``[0, 1]`` with ``C`` = 3 (RGB) or 1
            (grey); values outside ``[0, 1]`` are clipped for the 8-bit conversion only.
        frame_b: same shape.
        method: ``"dis"`` (default) or ``"farneback"``.
        preset: DIS preset, ``"ultrafast"``, ``"fast"`` or ``"medium"`` (default; ignored
            by Farneback).

    Returns:
        ``(*, 2, H, W)`` float32 flow ``(dx, dy)`` in pixels on ``frame_b``'s grid, on
        ``frame_a``'s device.

    Raises:
        TypeError: not arrays, not floating.
        ValueError: shapes differ, not 1 or 3 channels, NaN/Inf, frames smaller than
            2x2, unknown ``method``/``preset``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.random((3, 64, 64), dtype=np.float32)
        >>> a = np.stack([np.convolve(r, np.ones(5) / 5, "same") for r in a.reshape(-1, 64)])
        >>> a = a.reshape(3, 64, 64).astype(np.float32)
        >>> b = np.roll(a, 2, axis=-1)  # content moves right by 2 px: b(p) = a(p - 2)
        >>> flow = estimate_flow(a, b)
        >>> flow.shape, round(float(np.median(flow[0])), 1), round(float(np.median(flow[1])), 1)
        ((2, 64, 64), -2.0, 0.0)
    """
    for name, f in (("frame_a", frame_a), ("frame_b", frame_b)):
        check_tensor_like(f, name)
        check_shape(f, ["*", "C", "H", "W"], name)
        check_dtype(f, ["float"], name)
    a, b = cast(torch.Tensor, frame_a), cast(torch.Tensor, frame_b)
    if a.shape != b.shape:
        raise ValueError(
            f"frame_b: expected the shape of frame_a {tuple(a.shape)}, got {tuple(b.shape)}"
        )
    if a.shape[-3] not in (1, 3):
        raise ValueError(f"frame_a: expected 1 or 3 channels, got {a.shape[-3]}")
    if a.shape[-2] < 2 or a.shape[-1] < 2:
        raise ValueError(f"frame_a: expected H, W >= 2, got {tuple(a.shape[-2:])}")
    check_finite(a, "frame_a")
    check_finite(b, "frame_b")
    check_choice(method, METHODS, "method")
    check_choice(preset, DIS_PRESETS, "preset")
    lead, (h, w) = a.shape[:-3], a.shape[-2:]
    ga = _grey_u8(a.reshape(-1, *a.shape[-3:]))
    gb = _grey_u8(b.reshape(-1, *b.shape[-3:]))
    out = empty_output((ga.shape[0], 2, h, w), like=a.detach(), dtype=torch.float32)
    dis = cv2.DISOpticalFlow_create(_DIS[preset]) if method == "dis" else None  # type: ignore[attr-defined]
    for i in range(ga.shape[0]):
        if dis is not None:
            f = dis.calc(gb[i], ga[i], None)
        else:
            f = cv2.calcOpticalFlowFarneback(gb[i], ga[i], None, 0.5, 5, 15, 3, 5, 1.2, 0)
        out[i] = torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1))).to(out.device)
    return out.reshape(*lead, 2, h, w)
