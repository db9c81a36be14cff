"""Colour correction: camera RGB <-> linear sRGB through XYZ, the way DNG and LibRaw do it.

A camera is described by ``xyz_to_cam`` (DNG ``ColorMatrix``): camera RGB of an XYZ
colour.  The matrix from linear sRGB to camera RGB is then

.. math::  C = \\operatorname{rownorm}(\\mathtt{xyz\\_to\\_cam} \\cdot M_{sRGB\\to XYZ}),

with every row scaled to sum to 1, so that sRGB white ``(1, 1, 1)`` maps to camera
``(1, 1, 1)``: a white-balanced white stays white (LibRaw's ``cam_xyz_coeff``).
Processing applies :math:`C^{-1}` (LibRaw's ``rgb_cam = pinv(C)``; ``C`` is square so
the pseudo-inverse is the inverse), computed here by ``torch.linalg.solve`` on the
pixels; unprocessing applies ``C`` itself.  There is no second, hand-written matrix.

:data:`SRGB_TO_XYZ` is LibRaw's ``xyz_rgb`` (sRGB primaries, D65 white).
"""

from __future__ import annotations

from typing import Any

import torch

from rawkit._checks import check_tensor_like
from rawkit._tensor import Array, numpy_compat
from rawkit.isp._common import as_param, check_image

__all__ = [
    "SRGB_TO_XYZ",
    "apply_color_matrix",
    "camera_to_srgb",
    "check_color_matrix",
    "solve_color_matrix",
    "srgb_to_camera",
    "srgb_to_camera_matrix",
]

#: Linear sRGB (D65) -> CIE XYZ, rows X, Y, Z (IEC 61966-2-1 primaries; LibRaw's
#: ``xyz_rgb``).  ``SRGB_TO_XYZ @ [1, 1, 1]`` is the D65 white ``(0.9505, 1, 1.089)``.
SRGB_TO_XYZ: tuple[tuple[float, ...], ...] = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)

_MAX_COND = 1e8  # a colour matrix worse conditioned than this is treated as singular


def check_color_matrix(m: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` unless every ``(3, 3)`` matrix in ``m`` is finite and invertible."""
    if m.ndim < 2 or tuple(m.shape[-2:]) != (3, 3):
        raise ValueError(f"{name}: expected shape (*, 3, 3), got {tuple(m.shape)}")
    if not bool(torch.isfinite(m).all()):
        raise ValueError(f"{name}: expected finite values, got NaN or Inf")
    cond = torch.linalg.cond(m.detach().to(torch.float64))
    if not bool((cond < _MAX_COND).all()):
        raise ValueError(
            f"{name}: matrix is singular or nearly so (condition number {float(cond.max()):.3g})"
        )


def _matrix(matrix: Any, x: torch.Tensor, name: str) -> torch.Tensor:
    m = as_param(matrix, x, name, tail=(3, 3))
    check_color_matrix(m, name)
    return m


def _apply(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("...ij,...jhw->...ihw", m, x)


def _solve(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    *b, c, h, w = x.shape
    bshape = torch.broadcast_shapes(tuple(b), tuple(m.shape[:-2]))
    rhs = x.reshape(*b, c, h * w).expand(*bshape, c, h * w)
    return torch.linalg.solve(m.expand(*bshape, 3, 3), rhs).reshape(*bshape, c, h, w)


@numpy_compat
def apply_color_matrix(x: Array, *, matrix: Array | list[list[float]]) -> Array:
    """Multiply every pixel's colour by a ``3x3`` matrix: ``y[i] = sum_j M[i, j] x[j]``.

    Args:
        x: ``(*, 3, H, W)`` floating, finite.  Not clipped.
        matrix: ``(3, 3)`` or ``(*, 3, 3)`` (broadcast with the batch dims), invertible.

    Returns:
        ``(*, 3, H, W)``, same dtype/device as ``x``.  Differentiable in both arguments.

    Raises:
        ValueError: wrong shapes, singular matrix (condition number >= 1e8), NaN/Inf.
        TypeError: ``x`` not a floating array.

    Example:
        >>> import numpy as np
        >>> m = [[2.0, 0, 0], [0, 1, 0], [0, 0, 0.5]]
        >>> apply_color_matrix(np.ones((3, 1, 1)), matrix=m).ravel().tolist()
        [2.0, 1.0, 0.5]
    """
    check_image(x, "x", "3")
    return _apply(_matrix(matrix, x, "matrix"), x)


@numpy_compat
def solve_color_matrix(y: Array, *, matrix: Array | list[list[float]]) -> Array:
    """The inverse of :func:`apply_color_matrix`: solve ``M x = y`` for every pixel.

    Uses ``torch.linalg.solve`` (an LU factorisation), never an explicitly inverted matrix.
    Arguments, errors and differentiability as :func:`apply_color_matrix`.

    Example:
        >>> import numpy as np
        >>> m = [[2.0, 0, 0], [0, 1, 0], [0, 0, 0.5]]
        >>> solve_color_matrix(np.ones((3, 1, 1)), matrix=m).ravel().tolist()
        [0.5, 1.0, 2.0]
    """
    check_image(y, "y", "3")
    return _solve(_matrix(matrix, y, "matrix"), y)


def srgb_to_camera_matrix(xyz_to_cam: Array | list[list[float]]) -> torch.Tensor:
    """LibRaw's ``cam_rgb``: linear sRGB -> camera RGB, rows normalised to sum to 1.

    Args:
        xyz_to_cam: ``(3, 3)`` or ``(*, 3, 3)`` XYZ -> camera matrix (DNG ``ColorMatrix``);
            any overall scale (it cancels).

    Returns:
        ``(*, 3, 3)`` tensor ``C`` with ``C @ [1, 1, 1] = [1, 1, 1]``; float64 unless
        ``xyz_to_cam`` is a floating tensor (then its dtype and device).

    Raises:
        ValueError: wrong shape, NaN/Inf, singular result, or a row summing to <= 0 (a
            camera that does not see the sRGB white).

    Example:
        >>> import torch
        >>> c = srgb_to_camera_matrix(torch.eye(3, dtype=torch.float64))
        >>> [round(v, 4) for v in c.sum(dim=-1).tolist()]
        [1.0, 1.0, 1.0]
    """
    if not isinstance(xyz_to_cam, torch.Tensor):
        xyz_to_cam = torch.as_tensor(xyz_to_cam, dtype=torch.float64)
    check_tensor_like(xyz_to_cam, "xyz_to_cam")
    if not xyz_to_cam.is_floating_point():
        xyz_to_cam = xyz_to_cam.to(torch.float64)
    m = _matrix(xyz_to_cam, xyz_to_cam, "xyz_to_cam")
    cam_rgb = m @ torch.as_tensor(SRGB_TO_XYZ, dtype=m.dtype, device=m.device)
    rows = cam_rgb.sum(dim=-1, keepdim=True)
    if not bool((rows > 0).all()):
        raise ValueError(
            f"xyz_to_cam: the camera's response to sRGB white must be positive, got {rows.squeeze(-1).tolist()}"
        )
    cam_rgb = cam_rgb / rows
    check_color_matrix(cam_rgb, "xyz_to_cam (normalised camera matrix)")
    return cam_rgb


@numpy_compat
def camera_to_srgb(cam: Array, *, xyz_to_cam: Array | list[list[float]]) -> Array:
    """White-balanced camera RGB -> linear sRGB: LibRaw's ``rgb_cam @ cam``, by solving.

    Solves ``C y = cam`` per pixel with ``C = srgb_to_camera_matrix(xyz_to_cam)``.

    Args:
        cam: ``(*, 3, H, W)`` camera RGB (white balanced, linear), floating, finite.
        xyz_to_cam: ``(3, 3)`` or ``(*, 3, 3)`` XYZ -> camera matrix.

    Returns:
        ``(*, 3, H, W)`` linear sRGB, not clipped (out-of-gamut colours go below 0 or
        above 1).  Differentiable in ``cam`` and ``xyz_to_cam``.

    Raises:
        ValueError: wrong shapes, singular matrix, NaN/Inf.
        TypeError: ``cam`` not a floating array.

    Example:
        >>> import numpy as np
        >>> camera_to_srgb(np.ones((3, 1, 1)), xyz_to_cam=np.eye(3)).ravel().round(6).tolist()
        [1.0, 1.0, 1.0]
    """
    check_image(cam, "cam", "3")
    c = srgb_to_camera_matrix(as_param(xyz_to_cam, cam, "xyz_to_cam", tail=(3, 3)))
    return _solve(c, cam)


@numpy_compat
def srgb_to_camera(rgb: Array, *, xyz_to_cam: Array | list[list[float]]) -> Array:
    """Linear sRGB -> white-balanced camera RGB: the inverse of :func:`camera_to_srgb`.

    Args:
        rgb: ``(*, 3, H, W)`` linear sRGB, floating, finite.
        xyz_to_cam: ``(3, 3)`` or ``(*, 3, 3)`` XYZ -> camera matrix.

    Returns:
        ``(*, 3, H, W)`` camera RGB, not clipped.  Differentiable.

    Raises:
        As :func:`camera_to_srgb`.

    Example:
        >>> import numpy as np
        >>> srgb_to_camera(np.full((3, 1, 1), 0.5), xyz_to_cam=np.eye(3)).ravel().round(6).tolist()
        [0.5, 0.5, 0.5]
    """
    check_image(rgb, "rgb", "3")
    c = srgb_to_camera_matrix(as_param(xyz_to_cam, rgb, "xyz_to_cam", tail=(3, 3)))
    return _apply(c, rgb)
