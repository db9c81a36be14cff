"""A camera's "look": its own tone curve and colour adjustment after the generic ISP.

A real camera does not stop at LibRaw's generic rendering (white balance, colour matrix,
sRGB curve): its maker adds a *look*, a tone curve and a colour adjustment that differ
from one camera model to another and that no generic inverse knows.  rawkit models it as
two steps applied to encoded sRGB ``y`` in [0, 1] (the output of
:func:`rawkit.isp.process`):

1. **colour**: in the opponent coordinates ``(Y, B - Y, R - Y)`` with Rec. 709 luma
   ``Y = 0.2126 R + 0.7152 G + 0.0722 B``, the two chroma coordinates are scaled by
   ``saturation`` and rotated by ``hue`` degrees; ``Y`` and greys are unchanged.  One
   3x3 matrix (:func:`look_matrix`), then clipped to [0, 1];
2. **tone**: the same curve on each channel, ``t(y) = y + d(y)`` where ``d`` is the
   monotone cubic Hermite interpolant (Fritsch and Carlson, 1980) of the offsets
   ``tone`` at the knots ``0, 1/(n-1), ..., 1`` (``d = 0`` at 0 and 1).  This
   interpolation never overshoots its data, so ``|t(y) - y| <= max |tone|`` everywhere;
   :class:`CameraLook` checks that ``t`` is strictly increasing (at the knots and on a
   grid of 4,097 points).

**Inverse** (:func:`invert_look`): the inverse tone curve (per segment, bisection on the
cubic to float64 rounding: the documented numerical inverse, not differentiable), then
the inverse matrix (exact), clipped to [0, 1].  ``invert_look(apply_look(y)) == y`` to
float rounding wherever step 1 clipped nothing; where it clipped (very saturated
colours), information is lost, as in a camera.

:func:`camera_look` draws a modest look from a seed, as real cameras' are: tone offsets
within 0.05 (an S-curve: darker shadows, brighter highlights), saturation ``+5 %`` to
``+15 %``, hue within 3 degrees.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from rawkit._checks import check_bool, check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, numpy_compat

__all__ = [
    "LUMA_709",
    "CameraLook",
    "apply_look",
    "camera_look",
    "invert_look",
    "inverse_tone_curve",
    "look_matrix",
    "tone_curve",
]

#: Rec. 709 luma weights ``(R, G, B)`` of the colour step.
LUMA_709: tuple[float, float, float] = (0.2126, 0.7152, 0.0722)


def _pchip_slopes(y: list[float], h: float) -> list[float]:
    """Fritsch-Carlson knot slopes of the monotone cubic through ``y`` (spacing ``h``)."""
    n = len(y)
    delta = [(y[i + 1] - y[i]) / h for i in range(n - 1)]
    m = [0.0] * n
    m[0], m[-1] = delta[0], delta[-1]
    for i in range(1, n - 1):
        a, b = delta[i - 1], delta[i]
        # weighted harmonic mean (equal spacing); 0 at a local extremum
        m[i] = 0.0 if a * b <= 0 else 2.0 * a * b / (a + b)
    return m


@dataclasses.dataclass(frozen=True)
class CameraLook:
    """A camera's look: tone-curve offsets, saturation and hue (frozen, validated).

    Attributes:
        tone: offsets ``d`` of the tone curve at the interior knots ``1/(n-1), ...,
            (n-2)/(n-1)`` (``n - 2`` numbers, at least one); the curve is ``y + d(y)``
            with ``d(0) = d(1) = 0``.  Each within ``[-0.1, 0.1]``.
        saturation: chroma scale in ``[0.8, 1.2]`` (at most 20 % change); 1 = none.
        hue: chroma rotation in degrees, within ``[-10, 10]``.
        name: a label (e.g. the camera's name).

    Raises:
        ValueError: out-of-range values, or a tone curve that is not strictly increasing.

    Example:
        >>> look = CameraLook(tone=(-0.02, 0.0, 0.03), saturation=1.1, hue=2.0)
        >>> look.max_tone_offset
        0.03
    """

    tone: tuple[float, ...]
    saturation: float = 1.0
    hue: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        tone = tuple(float(v) for v in self.tone)
        if not tone or not all(math.isfinite(v) and abs(v) <= 0.1 for v in tone):
            raise ValueError(f"tone: expected 1 or more offsets in [-0.1, 0.1], got {self.tone!r}")
        for name, v, lo, hi in (
            ("saturation", self.saturation, 0.8, 1.2),
            ("hue", self.hue, -10, 10),
        ):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise ValueError(f"{name}: expected a number in [{lo}, {hi}], got {v!r}")
        object.__setattr__(self, "tone", tone)
        object.__setattr__(self, "saturation", float(self.saturation))
        object.__setattr__(self, "hue", float(self.hue))
        y = self.knots_y
        grid = tone_curve(torch.linspace(0, 1, 4097, dtype=torch.float64), look=self)
        if any(b <= a for a, b in zip(y[:-1], y[1:], strict=True)) or bool(
            (grid[1:] <= grid[:-1]).any()
        ):
            raise ValueError(f"tone: the curve must be strictly increasing, got knots {y}")

    @property
    def knots_y(self) -> list[float]:
        """The curve's values at the knots ``0, 1/(n-1), ..., 1``."""
        n = len(self.tone) + 2
        return [i / (n - 1) + d for i, d in enumerate((0.0, *self.tone, 0.0))]

    @property
    def max_tone_offset(self) -> float:
        """``max |t(y) - y|`` over [0, 1] (reached at a knot: the interpolant never overshoots)."""
        return max(abs(v) for v in self.tone)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dataclasses.asdict(self) | {"tone": list(self.tone)}


def camera_look(*, seed: int, name: str = "") -> CameraLook:
    """Draw a modest camera look from ``seed`` (same seed, same look).

    Tone offsets at ``y = 1/4, 1/2, 3/4``: ``-U(0.01, 0.05)``, ``U(-0.01, 0.02)``,
    ``+U(0.01, 0.05)`` (an S-curve); saturation ``U(1.05, 1.15)``; hue ``U(-3, 3)`` degrees.

    Example:
        >>> look = camera_look(seed=0)
        >>> look == camera_look(seed=0), look.max_tone_offset <= 0.05, 1.05 <= look.saturation <= 1.15
        (True, True, True)
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    u = torch.rand(5, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).tolist()
    tone = (-(0.01 + 0.04 * u[0]), -0.01 + 0.03 * u[1], 0.01 + 0.04 * u[2])
    return CameraLook(
        tone=tuple(round(v, 6) for v in tone),
        saturation=round(1.05 + 0.10 * u[3], 6),
        hue=round(-3.0 + 6.0 * u[4], 6),
        name=name,
    )


def _check_look(look: Any) -> None:
    if not isinstance(look, CameraLook):
        raise TypeError(f"look: expected a rawkit.isp.CameraLook, got {type(look).__name__}")


def _check_image(x: Any, name: str, *, rgb: bool) -> None:
    check_tensor_like(x, name)
    if rgb:
        check_shape(x, ["*", "3", "H", "W"], name)
    check_dtype(x, ["float"], name)
    check_finite(x, name)
    if x.numel() and (float(x.detach().min()) < 0 or float(x.detach().max()) > 1):
        raise ValueError(
            f"{name}: expected values in [0, 1], got [{float(x.min())}, {float(x.max())}]"
        )


def _segments(look: CameraLook, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Knot offsets ``d`` (with the zero ends), their Fritsch-Carlson slopes, spacing."""
    d = [0.0, *look.tone, 0.0]
    h = 1.0 / (len(d) - 1)
    m = _pchip_slopes(d, h)
    kw = {"dtype": like.dtype, "device": like.device}
    return torch.tensor(d, **kw), torch.tensor(m, **kw), h


def _hermite(t: torch.Tensor, y0, y1, m0, m1, h: float) -> torch.Tensor:  # type: ignore[no-untyped-def]
    t2, t3 = t * t, t * t * t
    return (
        (2 * t3 - 3 * t2 + 1) * y0
        + (t3 - 2 * t2 + t) * h * m0
        + (-2 * t3 + 3 * t2) * y1
        + (t3 - t2) * h * m1
    )


@numpy_compat
def tone_curve(y: Array, *, look: CameraLook) -> Array:
    """The look's tone curve ``t(y) = y + d(y)``, per value (monotone cubic Hermite).

    Args:
        y: any shape, floating, in [0, 1].
        look: the :class:`CameraLook`.

    Returns:
        Same shape/dtype/device, in [0, 1]; ``t(0) = 0``, ``t(1) = 1``, strictly
        increasing, ``|t(y) - y| <= look.max_tone_offset``.  Differentiable.

    Example:
        >>> import numpy as np
        >>> look = CameraLook(tone=(-0.02, 0.0, 0.03))
        >>> tone_curve(np.array([0.0, 0.25, 0.5, 0.75, 1.0]), look=look).round(6).tolist()
        [0.0, 0.23, 0.5, 0.78, 1.0]
    """
    _check_image(y, "y", rgb=False)
    _check_look(look)
    kd, km, h = _segments(look, y)
    n = kd.numel() - 1
    idx = torch.clamp(torch.floor(y / h), 0, n - 1).long()
    t = y / h - idx.to(y.dtype)
    return (y + _hermite(t, kd[idx], kd[idx + 1], km[idx], km[idx + 1], h)).clamp(0.0, 1.0)


@numpy_compat
def inverse_tone_curve(z: Array, *, look: CameraLook, iterations: int = 60) -> Array:
    """The inverse of :func:`tone_curve`: the ``y`` with ``t(y) = z`` (numerical).

    The knot values give each ``z`` its segment; on it the cubic is solved by bisection
    (``iterations`` halvings of the segment: 60 reach float64 rounding).  Not
    differentiable (the bisection has no gradient).

    Args:
        z: any shape, floating, in [0, 1].
        look: the :class:`CameraLook`.
        iterations: bisection steps, >= 1.

    Returns:
        Same shape/dtype/device, in [0, 1].

    Example:
        >>> import numpy as np
        >>> look = CameraLook(tone=(-0.02, 0.0, 0.03))
        >>> x = np.linspace(0, 1, 11)
        >>> bool(np.abs(inverse_tone_curve(tone_curve(x, look=look), look=look) - x).max() < 1e-12)
        True
    """
    _check_image(z, "z", rgb=False)
    _check_look(look)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations: expected an int >= 1, got {iterations!r}")
    z = z.detach()
    kd, km, h = _segments(look, z)
    n = kd.numel() - 1
    ky = torch.arange(n + 1, dtype=z.dtype, device=z.device) * h + kd  # t at the knots
    idx = torch.clamp(torch.searchsorted(ky, z.contiguous(), right=True) - 1, 0, n - 1)
    d0, d1, m0, m1 = kd[idx], kd[idx + 1], km[idx], km[idx + 1]
    base = idx.to(z.dtype)
    lo, hi = torch.zeros_like(z), torch.ones_like(z)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        below = (base + mid) * h + _hermite(mid, d0, d1, m0, m1, h) < z
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return ((idx.to(z.dtype) + 0.5 * (lo + hi)) * h).clamp(0.0, 1.0)


def look_matrix(
    look: CameraLook, *, inverse: bool = False, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """The 3x3 colour matrix of the look (or its exact inverse), acting on RGB columns.

    ``M = T^-1 diag(1, s R(hue)) T`` with ``T`` the map ``(R, G, B) -> (Y, B - Y, R - Y)``
    and ``R`` a 2-D rotation; the inverse is ``T^-1 diag(1, R(-hue) / s) T``.  Greys and
    luma are unchanged.

    Example:
        >>> m = look_matrix(CameraLook(tone=(0.0,), saturation=1.2, hue=0.0))
        >>> [round(float(v), 6) for v in m @ torch.ones(3, dtype=torch.float64)]
        [1.0, 1.0, 1.0]
    """
    _check_look(look)
    check_bool(inverse, "inverse")
    wr, wg, wb = LUMA_709
    t = torch.tensor([[wr, wg, wb], [-wr, -wg, 1 - wb], [1 - wr, -wg, -wb]], dtype=torch.float64)
    a = math.radians(-look.hue if inverse else look.hue)
    s = 1.0 / look.saturation if inverse else look.saturation
    c, si = math.cos(a) * s, math.sin(a) * s
    core = torch.tensor([[1.0, 0.0, 0.0], [0.0, c, -si], [0.0, si, c]], dtype=torch.float64)
    return (torch.linalg.inv(t) @ core @ t).to(dtype)


def _matmul(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", m.to(dtype=x.dtype, device=x.device), x)


@numpy_compat
def apply_look(srgb: Array, *, look: CameraLook) -> Array:
    """Apply a camera look to encoded sRGB: colour matrix, clip, tone curve.

    Args:
        srgb: ``(*, 3, H, W)`` floating sRGB in [0, 1] (e.g. :func:`rawkit.isp.process`'s
            output).
        look: the :class:`CameraLook`.

    Returns:
        Same shape/dtype/device, in [0, 1].  Differentiable (the clip has zero gradient
        where it acts).

    Raises:
        ValueError: values outside [0, 1], NaN/Inf, not 3 channels.  TypeError: wrong types.

    Example:
        >>> import torch
        >>> look = CameraLook(tone=(-0.02, 0.0, 0.03), saturation=1.1, hue=2.0)
        >>> grey = torch.full((3, 2, 2), 0.5, dtype=torch.float64)
        >>> float(apply_look(grey, look=look).sub(0.5).abs().max()) < 1e-12
        True
    """
    _check_image(srgb, "srgb", rgb=True)
    _check_look(look)
    x = _matmul(srgb, look_matrix(look)).clamp(0.0, 1.0)
    return tone_curve(x, look=look)


@numpy_compat
def invert_look(srgb: Array, *, look: CameraLook) -> Array:
    """Undo :func:`apply_look`: inverse tone curve, inverse colour matrix, clip to [0, 1].

    Exact (to float rounding) where :func:`apply_look` clipped nothing; the clip at the
    end only touches colours that the forward clip had changed.  Not differentiable
    (the inverse tone curve is a bisection).

    Args:
        srgb: ``(*, 3, H, W)`` floating in [0, 1].
        look: the :class:`CameraLook`.

    Returns:
        Same shape/dtype/device, in [0, 1].

    Example:
        >>> import torch
        >>> look = CameraLook(tone=(-0.02, 0.0, 0.03), saturation=1.1, hue=2.0)
        >>> x = 0.25 + 0.5 * torch.rand(3, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> float((invert_look(apply_look(x, look=look), look=look) - x).abs().max()) < 1e-10
        True
    """
    _check_image(srgb, "srgb", rgb=True)
    _check_look(look)
    x = inverse_tone_curve(srgb, look=look)
    return _matmul(x, look_matrix(look, inverse=True)).clamp(0.0, 1.0)
