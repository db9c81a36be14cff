"""DNG colour metadata that makes a reconstructed RAW render back to its photo.

A DNG reader (LibRaw, darktable, RawTherapee) renders a Bayer DNG as

.. math::

    \\mathrm{sRGB}_{lin} = A \\, \\mathrm{diag}(w) \\, \\frac{c}{W},
    \\qquad w = \\frac{1 / n}{\\min_k 1 / n_k},
    \\qquad A = \\mathrm{pinv}\\big(\\mathrm{rownorm}(M \\, X_{rgb})\\big)

with :math:`c` the stored camera values, :math:`W` the ``WhiteLevel``, :math:`n` the
``AsShotNeutral``, :math:`M` the ``ColorMatrix1`` (XYZ -> camera) and :math:`X_{rgb}`
LibRaw's ``xyz_rgb`` (:data:`rawkit.isp.SRGB_TO_XYZ`).  A reverse-ISP method gives camera
values whose white balance and colour matrix are *implied*, not known: writing a fixed D65
neutral makes the render warm or pink (the sky of a daylight photo turns pink when the
reconstruction's grey is not the camera's D65 grey).

:func:`fit_dng_colour` estimates the three tags from the reconstruction and the photo it
came from.  Each camera channel is regressed, by linear least squares, on the photo's
linear sRGB (decoded with :func:`rawkit.isp.srgb_eotf`) *at the pixel of its own Bayer
site* (no averaging, so fine detail costs nothing): :math:`c_k \\approx K_k \\cdot t`,
over the sites that are neither clipped nor black in either image.  With
:math:`L = K^{-1}` (linear sRGB from camera RGB):

* :math:`n \\propto L^{-1} \\mathbf{1}`: the camera RGB that renders as white is the
  as-shot neutral;
* :math:`A = L \\, \\mathrm{diag}(L^{-1} \\mathbf{1})` (rows of :math:`A^{-1}` sum to one, so
  ``rownorm`` leaves it alone) and :math:`M = A^{-1} X_{rgb}^{-1}`;
* LibRaw normalises :math:`w` to a minimum of one, which brightens the render by
  :math:`s = \\max_k (L^{-1} \\mathbf{1})_k`; the ``WhiteLevel`` absorbs it
  (:attr:`DngColour.exposure_scale`), so the render has the photo's exposure.

So a reader that renders "as shot" (``use_camera_wb``) reproduces the photo's colours up
to demosaicing and the fit's residual.  This is hand-written (no library fits DNG tags);
it is ordinary linear least squares (``torch.linalg.lstsq``).

Reference: Adobe, *Digital Negative (DNG) Specification* 1.4.0.0 (2012), chapter 6
("Mapping Camera Color Space to CIE XYZ Space").
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch

from rawkit._checks import check_dtype, check_finite, check_int, check_number, check_tensor_like
from rawkit._tensor import Array, to_tensor
from rawkit.cfa.pattern import Pattern, channel_sites, check_pattern
from rawkit.isp import SRGB_TO_XYZ, srgb_eotf

__all__ = ["DngColour", "fit_dng_colour", "write_reconstruction_dng"]

#: Sites per channel the fit uses at most: larger images are subsampled on a regular grid
#: (a 24 MP photo is fitted on ~1 M sites per channel; 9 unknowns per row need far fewer).
_MAX_SITES = 1_000_000


class DngColour(NamedTuple):
    """The colour tags :func:`fit_dng_colour` estimates.

    Attributes:
        as_shot_neutral: ``(3,)`` float64, max 1: ``AsShotNeutral``.
        color_matrix: ``(3, 3)`` float64 XYZ -> camera: ``ColorMatrix1`` (illuminant D65).
        exposure_scale: ``s`` above: write ``WhiteLevel = s * full_scale`` so that a
            reconstruction value of 1 stores as ``full_scale`` (``s`` may be below or
            above 1).
        residual_psnr: PSNR (dB) of the fitted linear map on the fitted pixels, in
            camera space: how well one 3x3 matrix explains the reconstruction's colours.
        fitted_fraction: share of packed sites used by the fit.
    """

    as_shot_neutral: np.ndarray
    color_matrix: np.ndarray
    exposure_scale: float
    residual_psnr: float
    fitted_fraction: float


def _as_tensor(x: Any, name: str) -> torch.Tensor:
    """A floating, finite CPU tensor (NumPy through the shared bridge, no copy)."""
    check_tensor_like(x, name)
    check_dtype(x, ["float"], name)
    t = (to_tensor(x) if isinstance(x, np.ndarray) else x.detach()).to("cpu")
    check_finite(t, name)
    return t


def fit_dng_colour(
    packed: Array,
    srgb: Array,
    *,
    pattern: Pattern = "RGGB",
    low: float = 0.02,
    high: float = 0.98,
    min_fraction: float = 0.01,
) -> DngColour:
    """Fit ``AsShotNeutral``, ``ColorMatrix1`` and the exposure of a reconstruction's DNG.

    Args:
        packed: ``(4, h, w)`` packed RAW ``[R, Gr, Gb, B]`` in ``[0, 1]`` (the
            reconstruction, black-subtracted and normalised), or ``(3, H, W)`` camera RGB
            at every pixel (for a linear DNG, :func:`write_reconstruction_dng`).
        srgb: ``(3, 2h, 2w)`` the sRGB photo it was reconstructed from, in ``[0, 1]``.
        pattern: the Bayer pattern the DNG will use: each packed site is compared with
            the photo's pixel at that site, so no detail is averaged away.
        low, high: sites where any sRGB or RAW value is outside ``(low, high)`` are left
            out of the fit (clipped highlights and crushed blacks carry no colour).
        min_fraction: refuse to fit (ValueError) when fewer sites than this share are
            usable.

    Images above about a million packed sites are fitted on a regular subsample of
    sites (every ``k``-th row and column), which bounds time and memory; the 3x3 fit
    has 9 unknowns per row, so this changes the result by far less than its residual.

    Returns:
        :class:`DngColour`.

    Raises:
        TypeError: not floating arrays.
        ValueError: wrong shapes, NaN/Inf, bad thresholds, too few usable sites, or a
            singular fit (e.g. a grey image: one colour cannot fix a 3x3 matrix).

    Example:
        >>> import numpy as np
        >>> from rawkit.isp import srgb_oetf
        >>> rng = np.random.default_rng(0)
        >>> cam = rng.uniform(0.05, 0.6, (3, 16, 16))             # camera RGB per site
        >>> L = np.array([[1.6, -0.4, -0.1], [-0.2, 1.5, -0.2], [0.0, -0.5, 1.8]])
        >>> lin = np.einsum("ij,jhw->ihw", L, cam).clip(0, 1)
        >>> srgb = srgb_oetf(lin.repeat(2, 1).repeat(2, 2))         # (3, 32, 32) photo
        >>> packed = np.stack([cam[0], cam[1], cam[1], cam[2]])     # (4, 16, 16)
        >>> fit = fit_dng_colour(packed, srgb)
        >>> n = np.linalg.solve(L, np.ones(3))                      # the camera RGB of white
        >>> np.allclose(fit.as_shot_neutral, n / n.max(), atol=1e-6)
        True
        >>> fit.residual_psnr > 60
        True
    """
    p = _as_tensor(packed, "packed")
    y = _as_tensor(srgb, "srgb")
    if p.ndim != 3 or p.shape[0] not in (3, 4):
        raise ValueError(
            f"packed: expected shape (4, h, w) (packed RAW) or (3, H, W) (camera RGB), "
            f"got {tuple(p.shape)}"
        )
    f = 2 if p.shape[0] == 4 else 1
    if y.ndim != 3 or y.shape[0] != 3 or tuple(y.shape[1:]) != (f * p.shape[1], f * p.shape[2]):
        raise ValueError(
            f"srgb: expected shape (3, {f * p.shape[1]}, {f * p.shape[2]}) to match packed "
            f"{tuple(p.shape)}, got {tuple(y.shape)}"
        )
    for name, v in (("low", low), ("high", high), ("min_fraction", min_fraction)):
        check_number(v, name, minimum=0.0, maximum=1.0)
    check_pattern(pattern)
    if not low < high:
        raise ValueError(f"low, high: expected low < high, got {low!r} and {high!r}")

    h, w = p.shape[1:]
    step = max(1, math.ceil(math.sqrt(h * w / _MAX_SITES)))
    rows, used, sq, count = [], 0, 0.0, 0
    if f == 2:  # camera R, G (Gr and Gb), B, each at its own Bayer sites
        sites = channel_sites(pattern)
        groups = [[(ch, *sites[ch]) for ch in chans] for chans in ((0,), (1, 2), (3,))]
    else:  # camera RGB at every pixel
        groups = [[(k, 0, 0)] for k in range(3)]
    for k, group in enumerate(groups):
        cs, ts = [], []
        for ch, dy, dx in group:
            c = p[ch, ::step, ::step].double()
            yy = y[:, dy :: f * step, dx :: f * step].double()
            t = srgb_eotf(yy)
            ok = ((yy > low) & (yy < high)).all(dim=0) & (c > low) & (c < high)
            cs.append(c[ok])
            ts.append(t[:, ok].T)
        c, t = torch.cat(cs), torch.cat(ts)
        used += c.numel()
        if c.numel() < 9:
            raise ValueError(
                f"packed, srgb: only {c.numel()} {'RGB'[k]} sites are neither clipped nor "
                "black; the colour fit needs unclipped pixels"
            )
        row = torch.linalg.lstsq(t, c[:, None]).solution[:, 0]  # c_k ~ row . t
        rows.append(row)
        sq += float(((t @ row - c) ** 2).sum())
        count += c.numel()
    frac = used / float(p[0, ::step, ::step].numel() * p.shape[0])
    if frac < min_fraction:
        raise ValueError(
            f"packed, srgb: only {frac:.2%} of the sites are neither clipped nor black "
            f"(need {min_fraction:.2%}); the colour fit needs unclipped pixels"
        )
    K = torch.stack(rows)  # camera = K @ linear sRGB, so L = K^-1
    cond = float(torch.linalg.cond(K))
    if not np.isfinite(cond) or cond > 1e6:
        raise ValueError(
            f"packed, srgb: the colour fit is singular (condition number {cond:.3g}); the "
            "image has too few distinct colours to fix a 3x3 matrix"
        )
    L = torch.linalg.inv(K)
    n = K @ torch.ones(3, dtype=K.dtype)
    if not bool((n > 0).all()):
        raise ValueError(
            f"packed, srgb: the fitted neutral {n.tolist()} is not positive; the "
            "reconstruction's colours do not map to the photo's by one matrix"
        )
    scale = float(n.max())
    a = L @ torch.diag(n)
    xyz_rgb = torch.tensor(SRGB_TO_XYZ, dtype=torch.float64)
    matrix = torch.linalg.inv(a) @ torch.linalg.inv(xyz_rgb)
    err = sq / count
    res = float("inf") if err == 0 else float(10 * np.log10(1.0 / err))
    return DngColour(
        as_shot_neutral=(n / scale).numpy(),
        color_matrix=matrix.numpy(),
        exposure_scale=scale,
        residual_psnr=res,
        fitted_fraction=frac,
    )


def write_reconstruction_dng(
    path: Any,
    packed: Array,
    srgb: Array,
    *,
    pattern: str = "RGGB",
    camera_name: str = "rawkit reconstruction",
    full_scale: int = 16383,
    overwrite: bool = False,
) -> tuple[Any, DngColour]:
    """Write a reconstruction as a DNG whose colour tags fit its photo (Bayer or linear).

    A ``(4, h, w)`` packed RAW becomes a Bayer DNG (:func:`rawkit.io.write_dng`); a
    ``(3, H, W)`` full-resolution camera RGB becomes a linear DNG
    (:func:`rawkit.io.write_linear_dng`), which readers render without demosaicing.

    The tags come from :func:`fit_dng_colour`; the mosaic is stored as
    ``round(x * full_scale)`` with ``WhiteLevel = round(full_scale * exposure_scale)``
    (so LibRaw's white-balance normalisation does not brighten the render) and black
    level 0.  Reconstruction values above ``exposure_scale`` are brighter than the
    DNG's white: every reader clips them when rendering, and they are stored at the
    white level (the DNG format cannot hold more); negative values are stored as 0.

    Args:
        path: ``.dng`` destination (its folder must exist).
        packed: ``(4, h, w)`` reconstruction ``[R, Gr, Gb, B]`` in ``[0, 1]``, or
            ``(3, H, W)`` camera RGB for a linear DNG.
        srgb: ``(3, 2h, 2w)`` (or ``(3, H, W)``) the photo in ``[0, 1]``.
        pattern: the Bayer pattern to write (Bayer DNG only).
        camera_name: ``UniqueCameraModel``.
        full_scale: stored value of a reconstruction value of 1, in ``[255, 65535]``;
            reduced automatically when ``full_scale * exposure_scale`` exceeds 65535.
        overwrite: replace an existing file.

    Returns:
        ``(path, fit)``.

    Raises:
        ValueError, TypeError: as :func:`fit_dng_colour` and :func:`rawkit.io.write_dng`.
        FileExistsError: the file exists and ``overwrite`` is False.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from rawkit.isp import srgb_oetf
        >>> rng = np.random.default_rng(0)
        >>> cam = rng.uniform(0.05, 0.6, (3, 16, 16))
        >>> srgb = srgb_oetf(np.einsum("ij,jhw->ihw", np.diag([1.5, 1.0, 1.3]), cam)
        ...                  .clip(0, 1).repeat(2, 1).repeat(2, 2))
        >>> packed = np.stack([cam[0], cam[1], cam[1], cam[2]])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p, fit = write_reconstruction_dng(pathlib.Path(d) / "a.dng", packed, srgb)
        ...     print(p.name, np.round(fit.as_shot_neutral, 3).tolist())
        a.dng [0.667, 1.0, 0.769]
    """
    from rawkit.cfa import unpack
    from rawkit.io._atomic import check_writable
    from rawkit.io.dng import write_dng, write_linear_dng

    dest = check_writable(path, overwrite=overwrite)
    full_scale = check_int(full_scale, "full_scale", minimum=255, maximum=65535)
    fit = fit_dng_colour(packed, srgb, pattern=pattern)
    p = _as_tensor(packed, "packed").float()
    scale = max(fit.exposure_scale, float(p.max()), 1e-6)
    base = min(full_scale, int(65535 // scale))
    white = min(65535, max(1, round(base * fit.exposure_scale)))
    if p.shape[0] == 3:
        rgb = torch.round(p.clamp(min=0.0) * base).clamp(max=white).to(torch.int32)
        write_linear_dng(
            dest, rgb.numpy().astype(np.uint16), white_level=white,
            as_shot_neutral=fit.as_shot_neutral, color_matrix=fit.color_matrix,
            camera_name=camera_name, overwrite=overwrite,
        )  # fmt: skip
        return dest, fit
    mosaic = unpack(p.clamp(min=0.0), pattern=pattern)
    raw = torch.round(mosaic * base).clamp(max=white).to(torch.int32).numpy().astype(np.uint16)
    write_dng(
        dest, raw, pattern=pattern, black_level=0, white_level=white,
        as_shot_neutral=fit.as_shot_neutral, color_matrix=fit.color_matrix,
        camera_name=camera_name, overwrite=overwrite,
    )  # fmt: skip
    return dest, fit
