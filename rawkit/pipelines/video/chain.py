r"""The chain of Fig. 3, streaming: sRGB frames in, RAW frames out.

Three formulations, chosen by the network passed to :func:`derender_frames`:

* **calibrated base + FAGDN** (a :class:`rawkit.nets.FAGDN` with ``base_input=True``,
  the default of :class:`VideoPipeline`; added to the paper):
  :math:`\hat y_t = \mathrm{clamp}(\mathrm{FAGDN}(x_{t-1}, \hat y_{t-1}, x_t,
  \Theta(x_{t-1}, x_t);\ b_t), 0, 1)` with :math:`b_t = B_k(x_t)` the inverse ISP
  calibrated on the latest stored keyframe ``k`` (:func:`calibrate_inverse`): the
  network corrects a per-frame estimate that does not depend on earlier outputs;
* **calibrated base alone** (``net=None``): :math:`\hat y_t = B_k(x_t)`: no flow, no
  network, the fast path;
* **the paper** (``base_input=False``): :math:`\hat y_t = \mathrm{clamp}(\mathrm{FAGDN}
  (x_{t-1}, \hat y_{t-1}, x_t, \Theta(x_{t-1}, x_t)), 0, 1)`, starting from the warped
  previous RAW.

A stored keyframe (frame 0 and, with ``keyframes``, others) is returned as stored and
re-calibrates :math:`B`.  Each predicted frame is clamped to ``[0, 1]`` (the normalised
RAW range); nothing else is clipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

import numpy as np
import torch

from rawkit._checks import check_finite
from rawkit._tensor import Array, to_tensor
from rawkit.cfa import Pattern, check_pattern
from rawkit.flow import FlowFn, estimate_flow
from rawkit.nets import FAGDN
from rawkit.pipelines.video.calibrate import KeyframeInverse, calibrate_inverse

__all__ = ["derender_frames"]


def _as_frame(x: Any, name: str, channels: int) -> torch.Tensor:
    t = to_tensor(x) if isinstance(x, np.ndarray) else x
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor or array, got {type(x).__name__}")
    if t.ndim != 3 or t.shape[0] != channels:
        raise ValueError(f"{name}: expected shape ({channels}, H, W), got {tuple(t.shape)}")
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating dtype, got {t.dtype}")
    check_finite(t, name)
    return t.to(torch.float32)


def derender_frames(
    net: FAGDN | None,
    frames: Iterable[Array],
    first_raw: Array,
    *,
    flow_fn: FlowFn | None = None,
    keyframes: Mapping[int, Array] | None = None,
    pattern: Pattern | None = None,
    tone: bool = True,
) -> Iterator[torch.Tensor]:
    r"""RAW frames of a video from its sRGB frames and stored RAW keyframes (module notes).

    Only the previous frame, its RAW and the calibration are kept: memory is a few
    frames whatever the video's length.

    Args:
        net: a :class:`rawkit.nets.FAGDN` (its device is used; with ``base_input=True``
            it corrects the calibrated base, without it it is the paper's chain), or
            None for the calibrated base alone.
        frames: sRGB frames ``(3, H, W)`` float in ``[0, 1]`` in order (an iterator is
            fine, e.g. :func:`read_video_frames`).
        first_raw: ``(4, H/2, W/2)`` packed RAW of frame 0 in ``[0, 1]``.
        flow_fn: the flow estimator (default: DIS, medium preset), any callable with the
            signature of :func:`rawkit.flow.estimate_flow` on ``(1, 3, H, W)`` tensors;
            not called without a network.
        keyframes: optional stored RAW ``{t: (4, H/2, W/2)}`` that restart the chain
            and re-calibrate the base.
        pattern: the Bayer pattern of the calibration (default: the network's, RGGB
            without a network).
        tone: the calibration inverts the smoothstep tone curve
            (:func:`calibrate_inverse`).

    Yields:
        ``(4, H/2, W/2)`` float32 RAW of frames ``0, 1, ...`` (frame 0 is ``first_raw``).

    Raises:
        TypeError, ValueError: frames or RAW of the wrong type, shape, size or range
            (raised when the offending frame arrives); a keyframe too clipped to
            calibrate on.

    Example:
        >>> import torch
        >>> net = FAGDN(width=4, depth=2, patch=2, seed=0)  # the paper's, untrained
        >>> frames = torch.rand(3, 3, 8, 8)
        >>> still = lambda a, b: torch.zeros(1, 2, 8, 8)  # any flow estimator
        >>> out = list(derender_frames(net, frames, torch.full((4, 4, 4), 0.5), flow_fn=still))
        >>> len(out), out[2].shape, float(out[2].mean())  # an untrained net: the warped RAW
        (3, torch.Size([4, 4, 4]), 0.5)
        >>> from rawkit.data import synthesize_video
        >>> v = synthesize_video("kodim19", n_frames=3, motion="pan", seed=1, size=(32, 48))
        >>> base = list(derender_frames(None, v.srgb, v.packed[0], pattern=v.pattern))
        >>> float((base[2] - torch.from_numpy(v.packed[2])).abs().mean()) < 0.01
        True
    """
    if net is not None and not isinstance(net, FAGDN):
        raise TypeError(f"net: expected a rawkit.nets.FAGDN or None, got {type(net).__name__}")
    fn: FlowFn = flow_fn if flow_fn is not None else cast(FlowFn, estimate_flow)
    if not callable(fn):
        raise TypeError(f"flow_fn: expected a callable, got {type(flow_fn).__name__}")
    if pattern is None:
        pattern = cast(Pattern, net.pattern) if net is not None else "RGGB"
    check_pattern(pattern)
    if not isinstance(tone, bool):
        raise TypeError(f"tone: expected a bool, got {type(tone).__name__}")
    keys = dict(keyframes or {})
    use_base = net is None or net.base_input
    dev = next(net.parameters()).device if net is not None else torch.device("cpu")
    y_prev = _as_frame(first_raw, "first_raw", 4)
    x_prev: torch.Tensor | None = None
    inverse: KeyframeInverse | None = None
    if net is not None:
        net.eval()
    for t, frame in enumerate(frames):
        x = _as_frame(frame, f"frames[{t}]", 3)
        if tuple(x.shape[-2:]) != (2 * y_prev.shape[-2], 2 * y_prev.shape[-1]):
            raise ValueError(
                f"frames[{t}]: expected size {(2 * y_prev.shape[-2], 2 * y_prev.shape[-1])} "
                f"for the RAW's {tuple(y_prev.shape[-2:])}, got {tuple(x.shape[-2:])}"
            )
        stored = t == 0 or t in keys
        if t in keys:
            y = _as_frame(keys[t], f"keyframes[{t}]", 4)
            if y.shape != y_prev.shape:
                raise ValueError(
                    f"keyframes[{t}]: expected {tuple(y_prev.shape)}, got {tuple(y.shape)}"
                )
        elif t == 0 or x_prev is None:
            y = y_prev
        if stored and use_base:
            name = "first_raw" if t == 0 and t not in keys else f"keyframes[{t}]"
            try:
                inverse = calibrate_inverse(x, y, pattern=pattern, tone=tone)
            except ValueError as e:
                raise ValueError(f"{name}: cannot calibrate on it: {e}") from None
        if not stored:
            with torch.no_grad():
                base = cast(torch.Tensor, inverse(x)) if inverse is not None else None
                if net is None:
                    y = cast(torch.Tensor, base)
                else:
                    a, b = cast(torch.Tensor, x_prev)[None].to(dev), x[None].to(dev)
                    flow = torch.as_tensor(fn(a, b)).to(dev, torch.float32)
                    kw = {"base": base[None].to(dev)} if base is not None else {}
                    y = net(a, y_prev[None].to(dev), b, flow, **kw).raw[0].clamp(0.0, 1.0).cpu()
        yield y
        x_prev, y_prev = x, y
