r"""Optical flow: estimation on sRGB frames, backward warping, consistency and error.

The temporal-affinity step of FAGDN (``002_*``, Sec. 4.2):

* :func:`estimate_flow` -- :math:`o_{t\to t+1} = \Theta(x_t, x_{t+1})` (Eq. 4) with
  OpenCV's DIS or Farneback; not differentiable; any callable of the same signature
  (:data:`FlowFn`) can replace it (:mod:`rawkit.flow.estimate`);
* :func:`warp` -- :math:`\tilde y_{t+1} = \Omega(y_t, o_{t\to t+1})` (Eq. 5), backward
  bilinear warping, differentiable, exact for integer flows (:mod:`rawkit.flow.warp`);
  :func:`warp_packed` warps a packed RAW plane by plane with the flow read at each
  plane's Bayer sites;
* :func:`forward_backward_error`, :func:`out_of_frame` -- consistency of a flow pair
  and where a flow leaves the frame; :func:`rawkit.masks.occlusion` turns them into an
  occlusion estimate;
* :func:`endpoint_error` -- the flow error against a reference (e.g. the true flow of
  :func:`rawkit.data.synthesize_video`).

One pixel convention (pixel centres at integer coordinates, ``align_corners=True``)
and one flow convention (backward: ``frame_b(p) ~ frame_a(p + flow(p))``) hold
throughout; :mod:`rawkit.flow.warp` states them.
"""

from rawkit.flow.estimate import DIS_PRESETS, METHODS, DISPreset, FlowFn, Method, estimate_flow
from rawkit.flow.warp import (
    PADDINGS,
    Padding,
    endpoint_error,
    forward_backward_error,
    out_of_frame,
    warp,
    warp_packed,
)

__all__ = [
    "DIS_PRESETS",
    "METHODS",
    "PADDINGS",
    "DISPreset",
    "FlowFn",
    "Method",
    "Padding",
    "endpoint_error",
    "estimate_flow",
    "forward_backward_error",
    "out_of_frame",
    "warp",
    "warp_packed",
]
