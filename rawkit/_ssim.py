"""SSIM machinery and argument checks shared by :mod:`rawkit.metrics` and :mod:`rawkit.losses`.

Private module (its names are public to the package: ``metrics`` and ``losses`` both
import them).  The conventions are documented in :mod:`rawkit.metrics`.
"""

from __future__ import annotations

import math

import torch

from rawkit._checks import (
    check_dtype,
    check_finite,
    check_nonempty,
    check_shape,
    check_tensor_like,
)
from rawkit._tensor import Array, to_tensor

__all__ = [
    "CROP",
    "K1",
    "K2",
    "RADIUS",
    "SIGMA",
    "as_tensor",
    "blur",
    "check_data_range",
    "check_min_size",
    "compute_dtype",
    "crop",
    "gaussian_kernel",
    "masked_mean",
    "prepare_mask",
    "prepare_pair",
    "ssim_cs_maps",
]

SIGMA = 1.5  # Gaussian window of Wang et al. 2004
K1, K2 = 0.01, 0.03  # stabilising constants of Wang et al. 2004
RADIUS = 5  # skimage: int(truncate * sigma + 0.5) with truncate = 3.5 -> 11 taps
CROP = 5  # skimage: (win_size - 1) // 2 with win_size = 11


# ----------------------------------------------------------------------------- checks


def check_data_range(data_range: float) -> float:
    if isinstance(data_range, bool) or not isinstance(data_range, (int, float)):
        raise TypeError(f"data_range: expected a real number, got {type(data_range).__name__}")
    if not math.isfinite(data_range) or data_range <= 0:
        raise ValueError(f"data_range: expected a finite number > 0, got {data_range}")
    return float(data_range)


def as_tensor(x: Array) -> torch.Tensor:
    """The tensor itself, or a NumPy array wrapped without a copy."""
    return x if isinstance(x, torch.Tensor) else to_tensor(x)


def compute_dtype(a: torch.dtype, b: torch.dtype) -> torch.dtype:
    t = torch.promote_types(a, b)
    if not t.is_floating_point:
        return torch.float64
    if t in (torch.float16, torch.bfloat16):
        return torch.float32
    return t


def prepare_pair(
    x: Array, y: Array, names: tuple[str, str] = ("x", "y")
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check two images ``(*, C, H, W)`` of equal shape; cast both to the compute dtype."""
    for t, n in zip((x, y), names, strict=True):
        check_tensor_like(t, n)
        check_dtype(t, ["float", "integer"], n)
        check_shape(t, ["*", "C", "H", "W"], n)
        check_nonempty(t, n)
    if x.shape != y.shape:
        raise ValueError(
            f"{names[1]}: expected the shape of {names[0]} {tuple(x.shape)}, got {tuple(y.shape)}"
        )
    if x.device != y.device:
        raise ValueError(f"{names[1]}: expected device {x.device}, got {y.device}")
    xt, yt = as_tensor(x), as_tensor(y)
    dt = compute_dtype(xt.dtype, yt.dtype)
    xt, yt = xt.to(dt), yt.to(dt)
    check_finite(xt, names[0])
    check_finite(yt, names[1])
    return xt, yt


def prepare_mask(mask: Array, like: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """Check a weight mask ``(*, 1|C, H, W)`` that broadcasts to ``like``; cast it."""
    check_tensor_like(mask, name)
    if mask.dtype != torch.bool:
        check_dtype(mask, ["float", "integer"], name)
    c, h, w = like.shape[-3:]
    ok = mask.ndim >= 3 and mask.shape[-2:] == (h, w) and mask.shape[-3] in (1, c)
    if ok:
        try:
            ok = torch.broadcast_shapes(mask.shape, like.shape) == like.shape
        except RuntimeError:
            ok = False
    if not ok:
        lead = ", ".join(str(s) for s in like.shape[:-3])
        lead = f"{lead}, " if lead else ""
        raise ValueError(
            f"{name}: expected a shape broadcastable to ({lead}{c}, {h}, {w}) with 1 or {c} "
            f"channels, got {tuple(mask.shape)}"
        )
    m = as_tensor(mask).to(device=like.device, dtype=like.dtype)
    check_finite(m, name)
    if m.numel() and bool((m < 0).any()):
        raise ValueError(f"{name}: expected weights >= 0, got a minimum of {float(m.min())}")
    return m


def masked_mean(
    values: torch.Tensor, weight: torch.Tensor, dims: tuple[int, ...], empty: float
) -> torch.Tensor:
    """``sum(w * v) / sum(w)`` over ``dims``; ``empty`` where the total weight is 0.

    ``weight`` broadcasts to ``values``; a ``(*, 1, H, W)`` weight counts once per
    channel.  The division never sees a zero, so the gradient stays finite (and is
    zero for images whose weight is all zero).
    """
    w = weight.expand_as(values)
    num = (values * w).sum(dims)
    den = w.sum(dims)
    has = den > 0
    out = num / torch.where(has, den, torch.ones_like(den))
    return torch.where(has, out, torch.full_like(out, empty))


# ------------------------------------------------------------------------ SSIM core


def gaussian_kernel(radius: int) -> tuple[float, ...]:
    """Normalised 1-D Gaussian of sigma 1.5 with ``2 * radius + 1`` taps (as scipy), float64."""
    k = [math.exp(-0.5 * (t / SIGMA) ** 2) for t in range(-radius, radius + 1)]
    total = math.fsum(k)
    return tuple(v / total for v in k)


def symmetric_extend(x: torch.Tensor, e: int, dim: int) -> torch.Tensor:
    """Extend ``x`` by ``e`` samples on both ends of ``dim``, half-sample symmetric.

    scipy's ``mode='reflect'``: ``d c b a | a b c d | d c b a``.  Needs ``e <= n``
    (callers check that images are at least one window wide).
    """
    if e == 0:
        return x
    n = x.shape[dim]
    head = x.narrow(dim, 0, e).flip(dim)
    tail = x.narrow(dim, n - e, e).flip(dim)
    return torch.cat([head, x, tail], dim=dim)


def correlate1d(x: torch.Tensor, kernel: tuple[float, ...], dim: int) -> torch.Tensor:
    """Valid 1-D correlation along ``dim`` as a sum of shifted slices.

    Memory-bound and several times faster on CPU than ``conv2d`` with a 1-channel
    1-D kernel (float64 ``conv2d`` has no fast path there).
    """
    n = x.shape[dim] - len(kernel) + 1
    out = x.narrow(dim, 0, n) * kernel[0]
    for i in range(1, len(kernel)):
        out = out.add_(x.narrow(dim, i, n), alpha=kernel[i])
    return out


def blur(planes: torch.Tensor, kernel: tuple[float, ...], extend: int) -> torch.Tensor:
    """Separable Gaussian blur of ``(B, H, W)`` planes, first extended by ``extend``.

    Output size ``H + 2 * extend - 2 * radius``: ``extend = radius`` is scipy's
    ``gaussian_filter`` (same size, mode ``reflect``), ``extend = 0`` keeps only the
    windows inside the image (a *valid* convolution).
    """
    x = correlate1d(symmetric_extend(planes, extend, -1), kernel, -1)
    return correlate1d(symmetric_extend(x, extend, -2), kernel, -2)


def ssim_cs_maps(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    radius: int,
    extend: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """SSIM and contrast-structure maps of ``(..., H, W)`` images (population covariance).

    The maps have size ``H + 2 * extend - 2 * radius`` (see :func:`blur`); the map
    scikit-image crops by ``c`` pixels is computed directly with ``extend = radius - c``.
    """
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    x2, y2 = x.reshape(-1, h, w), y.reshape(-1, h, w)
    n = x2.shape[0]
    # (Co)variances do not change when each plane is shifted by a constant; removing
    # the plane's mean first shrinks the cancellation in E[x^2] - E[x]^2 (float32).
    mx = x2.detach().mean(dim=(-2, -1), keepdim=True)
    my = y2.detach().mean(dim=(-2, -1), keepdim=True)
    xc, yc = x2 - mx, y2 - my
    stats = blur(torch.cat([xc, yc, xc * xc, yc * yc, xc * yc]), gaussian_kernel(radius), extend)
    uxc, uyc, uxx, uyy, uxy = stats.split(n)
    vx, vy, vxy = uxx - uxc * uxc, uyy - uyc * uyc, uxy - uxc * uyc
    ux, uy = uxc + mx, uyc + my
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cs = (2 * vxy + c2) / (vx + vy + c2)
    s = (2 * ux * uy + c1) / (ux * ux + uy * uy + c1) * cs
    shape = (*lead, *s.shape[-2:])
    return s.reshape(shape), cs.reshape(shape)


def check_min_size(x: torch.Tensor, size: int, name: str, why: str) -> None:
    h, w = x.shape[-2:]
    if h < size or w < size:
        raise ValueError(f"{name}: expected H and W >= {size} ({why}), got H={h}, W={w}")


def crop(t: torch.Tensor, c: int) -> torch.Tensor:
    return t[..., c : t.shape[-2] - c, c : t.shape[-1] - c]
