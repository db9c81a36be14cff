"""Colour correction: camera RGB <-> linear sRGB through XYZ, the way LibRaw and DNG do it.

A camera is described by ``xyz_to_cam`` (DNG ``ColorMatrix``): camera RGB of an XYZ
colour.  Two conventions turn it into the matrix ``C`` from linear sRGB to
*white-balanced* camera RGB (``convention=``):

``"libraw"`` (default), LibRaw's ``cam_xyz_coeff``:

.. math::  C = \\operatorname{rownorm}(\\mathtt{xyz\\_to\\_cam} \\cdot M_{sRGB\\to XYZ}),

every row scaled to sum to 1, so that sRGB white ``(1, 1, 1)`` maps to camera
``(1, 1, 1)``: a white-balanced white stays white.  It does not depend on the white
balance: whatever the scene light, the camera's D65 colours are rendered.

``"dng"``, the DNG specification's pipeline (Adobe DNG 1.4, "Mapping Camera Color
Space to CIE XYZ Space", one ``ColorMatrix``): camera RGB -> XYZ with the inverse
matrix, then linear Bradford chromatic adaptation from the scene white to D65 (the
specification adapts to D50 for its PCS; D50 -> D65 composes into one Bradford step).
The scene white is the XYZ of the camera's neutral ``n = 1 / wb_gains``:
:math:`w = \\mathtt{xyz\\_to\\_cam}^{-1} n`.  Written as a matrix on white-balanced
camera RGB,

.. math::  C = \\operatorname{rownorm}\\bigl(\\operatorname{diag}(g)\\,
           \\mathtt{xyz\\_to\\_cam}\\, B_{D65 \\to w}\\, M_{sRGB\\to XYZ}\\bigr),

with :math:`B_{D65\\to w}` the Bradford matrix (Lam 1985) from D65 to the scene white.
Before the normalisation every row already sums to the same number (the neutral maps
to sRGB white), so ``rownorm`` only fixes the overall scale and float rounding.  With the neutral of D65 itself, ``B`` is the
identity and the two conventions agree (``rownorm`` ignores ``diag(g)``); for any other
light they differ: LibRaw keeps the camera's D65 colours, DNG adapts them to the scene
light (under tungsten the photos differ by 25-34 dB PSNR).

Processing applies :math:`C^{-1}` (LibRaw's ``rgb_cam = pinv(C)``; ``C`` is square so
the pseudo-inverse is the inverse), computed by ``torch.linalg.solve`` on the pixels;
unprocessing applies ``C`` itself.  There is no second, hand-written matrix.

:data:`SRGB_TO_XYZ` is LibRaw's ``xyz_rgb`` (sRGB primaries, D65 white);
:data:`BRADFORD` is the Bradford cone-response matrix.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from rawkit._tensor import Array, numpy_compat
from rawkit.isp._common import as_param, check_image

__all__ = [
    "BRADFORD",
    "CONVENTIONS",
    "SRGB_TO_XYZ",
    "Convention",
    "bradford_matrix",
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

#: Linear Bradford cone-response matrix (Lam 1985), XYZ -> sharpened RGB "cone" space, as
#: in the DNG specification and ``colour.adaptation.CAT_BRADFORD``.
BRADFORD: tuple[tuple[float, ...], ...] = (
    (0.8951, 0.2664, -0.1614),
    (-0.7502, 1.7135, 0.0367),
    (0.0389, -0.0685, 1.0296),
)

#: How a camera matrix becomes a camera <-> sRGB transform: see the module docstring.
Convention = Literal["libraw", "dng"]
#: Every value of ``Convention``: LibRaw's colour pipeline or the DNG specification's.
CONVENTIONS: tuple[str, ...] = ("libraw", "dng")

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


def _check_convention(convention: Any) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {list(CONVENTIONS)}, got {convention!r}")


def bradford_matrix(
    source_white: Array | list[float], target_white: Array | list[float]
) -> torch.Tensor:
    """Linear Bradford chromatic adaptation ``XYZ -> XYZ`` from one white to another.

    .. math::  B = M^{-1} \\operatorname{diag}\\bigl(M \\hat t \\,/\\, M \\hat s\\bigr) M

    with ``M`` = :data:`BRADFORD` and :math:`\\hat s, \\hat t` the whites scaled to
    ``Y = 1`` (so ``B @ s`` has the chromaticity of ``t`` and the luminance of ``s``).
    The DNG specification's adaptation (Lam 1985; no non-linear blue term).

    Args:
        source_white, target_white: ``(*, 3)`` XYZ of the two whites, ``Y > 0``.

    Returns:
        ``(*, 3, 3)`` float64 tensor (or the whites' floating dtype), differentiable.

    Raises:
        ValueError: wrong shape, NaN/Inf, or a white with ``Y <= 0``.

    Example:
        >>> d65, a = [0.95047, 1.0, 1.08883], [1.09850, 1.0, 0.35585]
        >>> [round(v, 4) for v in (bradford_matrix(d65, a) @ torch.tensor(d65, dtype=torch.float64)).tolist()]
        [1.0985, 1.0, 0.3559]
    """
    like = next(
        (w for w in (source_white, target_white)
         if isinstance(w, torch.Tensor) and w.is_floating_point()),
        torch.empty(0, dtype=torch.float64),
    )  # fmt: skip
    s = as_param(source_white, like, "source_white", tail=(3,))
    t = as_param(target_white, like, "target_white", tail=(3,))
    for name, w in (("source_white", s), ("target_white", t)):
        if bool((w[..., 1] <= 0).any()):
            raise ValueError(f"{name}: expected Y > 0, got {w.tolist()}")
    m = torch.as_tensor(BRADFORD, dtype=s.dtype, device=s.device)
    cone_s = (s / s[..., 1:2]) @ m.T
    cone_t = (t / t[..., 1:2]) @ m.T
    scale = torch.diag_embed(cone_t / cone_s)
    return torch.linalg.solve(m, scale @ m)


def _dng_adaptation(m: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """``B_{D65 -> w}``: Bradford from D65 to the white ``w = m^-1 (1 / gains)``."""
    neutral = 1.0 / gains
    white = torch.linalg.solve(m, neutral.unsqueeze(-1)).squeeze(-1)
    if bool((white[..., 1] <= 0).any()):
        raise ValueError(
            f"wb_gains: the neutral 1 / wb_gains = {neutral.tolist()} has a non-positive "
            "luminance Y under xyz_to_cam; it is not a white the camera can see"
        )
    d65 = torch.as_tensor(SRGB_TO_XYZ, dtype=m.dtype, device=m.device).sum(dim=-1)
    return bradford_matrix(d65.expand_as(white), white)


def srgb_to_camera_matrix(
    xyz_to_cam: Array | list[list[float]],
    *,
    convention: Convention = "libraw",
    wb_gains: Array | list[float] | None = None,
) -> torch.Tensor:
    """The matrix ``C``: linear sRGB -> white-balanced camera RGB, rows summing to 1.

    ``convention="libraw"``: LibRaw's ``cam_rgb = rownorm(xyz_to_cam @ xyz_rgb)``.
    ``convention="dng"``: the DNG specification's, with Bradford adaptation to the scene
    white ``xyz_to_cam^-1 (1 / wb_gains)``; see the module docstring for both formulas.

    Args:
        xyz_to_cam: ``(3, 3)`` or ``(*, 3, 3)`` XYZ -> camera matrix (DNG ``ColorMatrix``);
            any overall scale (it cancels).
        convention: ``"libraw"`` (default) or ``"dng"``.
        wb_gains: ``(3,)`` or ``(*, 3)`` positive white-balance gains ``[R, G, B]`` that
            were applied to the camera RGB (the neutral is their inverse; their scale
            cancels).  Required for ``"dng"``; refused for ``"libraw"``, whose matrix
            does not depend on the white balance.

    Returns:
        ``(*, 3, 3)`` tensor ``C`` with ``C @ [1, 1, 1] = [1, 1, 1]``; float64 unless
        ``xyz_to_cam`` is a floating tensor (then its dtype and device).  Differentiable.

    Raises:
        ValueError: wrong shape, NaN/Inf, singular result, a row summing to <= 0 (a
            camera that does not see the sRGB white), unknown ``convention``, missing or
            unexpected ``wb_gains``, non-positive gains.

    Example:
        >>> import torch
        >>> c = srgb_to_camera_matrix(torch.eye(3, dtype=torch.float64))
        >>> [round(v, 4) for v in c.sum(dim=-1).tolist()]
        [1.0, 1.0, 1.0]
        >>> m = torch.tensor([[1.2, -0.3, 0.1], [-0.4, 1.3, 0.1], [0.0, 0.1, 0.9]], dtype=torch.float64)
        >>> d65_gains = 1 / (m @ torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64))
        >>> dng = srgb_to_camera_matrix(m, convention="dng", wb_gains=d65_gains)
        >>> bool(torch.allclose(dng, srgb_to_camera_matrix(m), atol=1e-5))
        True
    """
    _check_convention(convention)
    floating = isinstance(xyz_to_cam, torch.Tensor) and xyz_to_cam.is_floating_point()
    like = xyz_to_cam if floating else torch.empty(0, dtype=torch.float64)
    m = _matrix(xyz_to_cam, like, "xyz_to_cam")
    xyz_rgb = torch.as_tensor(SRGB_TO_XYZ, dtype=m.dtype, device=m.device)
    if convention == "libraw":
        if wb_gains is not None:
            raise ValueError(
                "wb_gains: only used with convention='dng' (LibRaw's matrix does not depend "
                "on the white balance)"
            )
        cam_rgb = m @ xyz_rgb
    else:
        if wb_gains is None:
            raise ValueError(
                "wb_gains: convention='dng' needs the white-balance gains (the scene white)"
            )
        g = as_param(wb_gains, m, "wb_gains", tail=(3,))
        if bool((g <= 0).any()):
            raise ValueError(f"wb_gains: expected positive gains, got {g.tolist()}")
        cam_rgb = g.unsqueeze(-1) * (m @ _dng_adaptation(m, g) @ xyz_rgb)
    rows = cam_rgb.sum(dim=-1, keepdim=True)
    if not bool((rows > 0).all()):
        raise ValueError(
            f"xyz_to_cam: the camera's response to sRGB white must be positive, got {rows.squeeze(-1).tolist()}"
        )
    cam_rgb = cam_rgb / rows
    check_color_matrix(cam_rgb, "xyz_to_cam (normalised camera matrix)")
    return cam_rgb


def _conversion(x: torch.Tensor, xyz_to_cam: Any, convention: Any, wb_gains: Any) -> torch.Tensor:
    _check_convention(convention)
    m = as_param(xyz_to_cam, x, "xyz_to_cam", tail=(3, 3))
    g = None if wb_gains is None else as_param(wb_gains, x, "wb_gains", tail=(3,))
    return srgb_to_camera_matrix(m, convention=convention, wb_gains=g)


@numpy_compat
def camera_to_srgb(
    cam: Array,
    *,
    xyz_to_cam: Array | list[list[float]],
    convention: Convention = "libraw",
    wb_gains: Array | list[float] | None = None,
) -> Array:
    """White-balanced camera RGB -> linear sRGB: LibRaw's ``rgb_cam @ cam``, by solving.

    Solves ``C y = cam`` per pixel with ``C = srgb_to_camera_matrix(xyz_to_cam,
    convention=convention, wb_gains=wb_gains)``.

    Args:
        cam: ``(*, 3, H, W)`` camera RGB (white balanced, linear), floating, finite.
        xyz_to_cam: ``(3, 3)`` or ``(*, 3, 3)`` XYZ -> camera matrix.
        convention: ``"libraw"`` (default) or ``"dng"`` (module docstring).
        wb_gains: ``(3,)`` or ``(*, 3)`` gains applied to ``cam``; ``"dng"`` only.

    Returns:
        ``(*, 3, H, W)`` linear sRGB, not clipped (out-of-gamut colours go below 0 or
        above 1).  Differentiable in ``cam``, ``xyz_to_cam`` and ``wb_gains``.

    Raises:
        ValueError: wrong shapes, singular matrix, NaN/Inf, bad ``convention``/``wb_gains``.
        TypeError: ``cam`` not a floating array.

    Example:
        >>> import numpy as np
        >>> camera_to_srgb(np.ones((3, 1, 1)), xyz_to_cam=np.eye(3)).ravel().round(6).tolist()
        [1.0, 1.0, 1.0]
        >>> camera_to_srgb(np.ones((3, 1, 1)), xyz_to_cam=np.eye(3), convention="dng",
        ...                wb_gains=[1.0, 1.2, 2.5]).ravel().round(6).tolist()
        [1.0, 1.0, 1.0]
    """
    check_image(cam, "cam", "3")
    return _solve(_conversion(cam, xyz_to_cam, convention, wb_gains), cam)


@numpy_compat
def srgb_to_camera(
    rgb: Array,
    *,
    xyz_to_cam: Array | list[list[float]],
    convention: Convention = "libraw",
    wb_gains: Array | list[float] | None = None,
) -> Array:
    """Linear sRGB -> white-balanced camera RGB: the inverse of :func:`camera_to_srgb`.

    Args:
        rgb: ``(*, 3, H, W)`` linear sRGB, floating, finite.
        xyz_to_cam: ``(3, 3)`` or ``(*, 3, 3)`` XYZ -> camera matrix.
        convention, wb_gains: as in :func:`camera_to_srgb`.

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
    return _apply(_conversion(rgb, xyz_to_cam, convention, wb_gains), rgb)
