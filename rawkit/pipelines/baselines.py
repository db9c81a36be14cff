r"""The baselines every quality comparison includes (DESIGN.md, "Pipelines").

* **Blind analytic inverse** (:func:`blind_unprocess`): Brooks et al.'s ``unprocess``
  (:func:`rawkit.isp.unprocess`) with the camera model known but the per-image render
  unknown, so it inverts :func:`typical_params`, the average render of the benchmark's
  ISP (white balance, exposure, lens shading over :func:`rawkit.isp.random_params`
  draws).  No training, no per-image metadata.
* **sRGB-only U-Net**: the AIM 2022 baseline, :mod:`rawkit.pipelines.unet_baseline`.
* **Uniform-sampling metadata + RBF interpolation** (:func:`uniform_sampling_metadata`,
  :func:`rbf_reconstruct`): the classic metadata method (Punnappurath & Brown 2021 and
  the sampling methods PriorRAW compares with, Sec. 2.2).  The camera stores the RAW
  value of one Bayer quad (one packed site, all four channels) per ``spacing x
  spacing`` block of pixels, at its bit depth; the reconstruction fits a radial basis
  function interpolant (:class:`scipy.interpolate.RBFInterpolator`, thin-plate spline
  with an affine term) from each site's colour and position to those RAW values and
  evaluates it at every site.  The colour is either the linearised sRGB or, given the
  camera model, the blind inverse ISP's camera RGB (:func:`blind_unprocess`), in which
  the per-image correction is nearly affine and the fit much better.  ``spacing=16`` is
  the default rate: **one sample per 256 pixels**.  Its metadata size
  (:attr:`SampledMetadata.nbytes`) is the samples' bits, ``4 x bit_depth`` per sample,
  packed (the positions follow from the grid).

Example:
    >>> import numpy as np
    >>> from rawkit.isp import builtin_camera
    >>> rng = np.random.default_rng(0)
    >>> srgb = rng.random((3, 64, 64)).astype(np.float32)
    >>> raw = blind_unprocess(srgb, camera=builtin_camera("nikon_d5100"))
    >>> raw.shape, bool((raw >= 0).all() and (raw <= 1).all())
    ((4, 32, 32), True)
    >>> meta = uniform_sampling_metadata(raw, spacing=16, bit_depth=14)
    >>> len(meta), meta.nbytes, meta.samples_per_pixel
    (16, 112, 0.00390625)
    >>> rbf_reconstruct(srgb, meta).shape
    (4, 32, 32)
    >>> rbf_reconstruct(srgb, meta, camera=builtin_camera("nikon_d5100")).shape
    (4, 32, 32)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Literal

import numpy as np
import torch

from rawkit._checks import check_choice, check_int, check_number, check_seed, check_tensor_like
from rawkit._tensor import Array, numpy_compat, to_numpy
from rawkit.data.synth import RENDERS, Render, libraw_params
from rawkit.isp import CameraModel, ISPParams, random_params, srgb_eotf, unprocess

__all__ = [
    "RBF_KERNELS",
    "SampledMetadata",
    "blind_unprocess",
    "rbf_reconstruct",
    "typical_params",
    "uniform_sampling_metadata",
]

#: Kernels of :class:`scipy.interpolate.RBFInterpolator` that need no shape parameter.
RBF_KERNELS: tuple[str, ...] = ("thin_plate_spline", "cubic", "linear", "quintic")
RBFKernel = Literal["thin_plate_spline", "cubic", "linear", "quintic"]


# --------------------------------------------------------------------------- blind inverse


def typical_params(
    camera: CameraModel, *, render: Render = "rawkit", samples: int = 256, seed: int = 0
) -> ISPParams:
    """The average render of :func:`rawkit.isp.random_params` for ``camera``: a blind guess.

    White-balance gains: the geometric mean of ``samples`` draws (normalised to a
    smallest gain of 1); exposure and lens-shading strength: their means; tone curve as
    the draws (on); no noise.  For ``render="libraw"`` the result goes through
    :func:`rawkit.data.libraw_params` (LibRaw has no tone curve and no lens shading),
    as :func:`rawkit.data.synthesize` does.

    Args:
        camera: the camera model.
        render: ``"rawkit"`` or ``"libraw"``: which ISP rendered the sRGB.
        samples: number of draws averaged.
        seed: seed of the draws.

    Returns:
        :class:`rawkit.isp.ISPParams` (float64 tensors).

    Example:
        >>> from rawkit.isp import builtin_camera
        >>> p = typical_params(builtin_camera("nikon_d5100"))
        >>> p.tone, round(p.exposure, 1), round(float(p.wb_gains.min()), 6)
        (True, 1.3, 1.0)
    """
    check_choice(render, RENDERS, "render")
    check_int(samples, "samples", minimum=1)
    check_seed(seed)
    if not isinstance(camera, CameraModel):
        raise TypeError(f"camera: expected a rawkit.isp.CameraModel, got {type(camera).__name__}")
    return _typical(camera, render, samples, seed)


@functools.lru_cache(maxsize=32)
def _typical(camera: CameraModel, render: str, samples: int, seed: int) -> ISPParams:
    gen = torch.Generator().manual_seed(seed)
    draws = [random_params(camera, generator=gen) for _ in range(samples)]
    log_gains = torch.stack([d.wb_gains.log() for d in draws]).mean(0)
    gains = log_gains.exp()
    p = draws[0].replace(
        wb_gains=gains / gains.min(),
        exposure=float(np.mean([d.exposure for d in draws])),
        lens_shading=float(np.mean([d.lens_shading for d in draws])),
        shot_noise=0.0,
        read_noise=0.0,
        illuminant="average of random_params draws",
    )
    return libraw_params(p) if render == "libraw" else p


def blind_unprocess(
    srgb: Array,
    *,
    camera: CameraModel,
    params: ISPParams | None = None,
    render: Render = "rawkit",
) -> Array:
    """Blind analytic inverse ISP: :func:`rawkit.isp.unprocess` with a typical render.

    Args:
        srgb: ``(*, 3, H, W)`` sRGB in ``[0, 1]``, even ``H, W``.
        camera: the camera model (its colour matrix and Bayer pattern).
        params: the render to invert; ``None`` uses :func:`typical_params` for ``render``
            (no per-image information).
        render: which ISP made the sRGB, for the default ``params``.

    Returns:
        Packed RAW ``(*, 4, H/2, W/2)`` in ``[0, 1]``, channels ``[R, Gr, Gb, B]``; NumPy
        for NumPy input.

    Raises:
        ValueError, TypeError: as :func:`rawkit.isp.unprocess`.
    """
    if params is None:
        params = typical_params(camera, render=render)
    raw, _ = unprocess(srgb, camera=camera, params=params, layout="packed")
    return raw


# --------------------------------------------------------------------------- RBF metadata


@dataclasses.dataclass(frozen=True, eq=False)
class SampledMetadata:
    """Per-image metadata of uniform sampling: RAW values of one packed site per block.

    Attributes:
        positions: ``(N, 2)`` int64 ``(row, col)`` of the samples on the packed grid.
        values: ``(N, 4)`` float32 packed RAW values ``[R, Gr, Gb, B]``, quantised to
            ``bit_depth`` bits (``round(v * (2**bit_depth - 1))`` levels).
        shape: ``(h, w)`` of the packed grid (the image is ``2h x 2w`` pixels).
        spacing: pixels between samples along each axis (one sample per
            ``spacing**2`` pixels).
        bit_depth: bits per stored value.
    """

    positions: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]
    spacing: int
    bit_depth: int

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @property
    def nbytes(self) -> int:
        """Metadata size in bytes, ``ceil(N * 4 * bit_depth / 8)`` (positions are implicit)."""
        return math.ceil(len(self) * 4 * self.bit_depth / 8)

    @property
    def samples_per_pixel(self) -> float:
        """Samples (Bayer quads) per sRGB pixel, ``N / (4 h w)``."""
        return len(self) / (4 * self.shape[0] * self.shape[1])

    @property
    def bits_per_pixel(self) -> float:
        """Metadata bits per sRGB pixel."""
        return 8 * self.nbytes / (4 * self.shape[0] * self.shape[1])


def _check_packed(x: Any, name: str) -> np.ndarray:
    check_tensor_like(x, name)
    a = to_numpy(x) if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim != 3 or a.shape[0] != 4:
        raise ValueError(f"{name}: expected a packed RAW (4, h, w), got {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating dtype (RAW in [0, 1]), got {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: expected finite values, got NaN or Inf")
    return a


def uniform_sampling_metadata(
    packed: Array, *, spacing: int = 16, bit_depth: int
) -> SampledMetadata:
    """Sample a packed RAW uniformly: one packed site per ``spacing x spacing`` pixels.

    The camera-side step of the uniform-sampling metadata method: the site nearest the
    centre of every ``spacing x spacing`` block of pixels (``spacing / 2`` packed sites
    apart) stores its four RAW values at ``bit_depth`` bits.  Not differentiable.

    Args:
        packed: the true packed RAW ``(4, h, w)``, float in ``[0, 1]``.
        spacing: even, ``>= 2``; 16 (the default) gives one sample per 256 pixels.
        bit_depth: bits per stored value (the camera's ADC depth, e.g. 14).

    Returns:
        :class:`SampledMetadata`.

    Raises:
        ValueError: bad shape, NaN/Inf, values outside ``[0, 1]``, bad spacing/bit depth.
        TypeError: not an array, not floating.

    Example:
        >>> import numpy as np
        >>> m = uniform_sampling_metadata(np.full((4, 16, 24), 0.5), spacing=16, bit_depth=10)
        >>> m.positions.tolist(), m.nbytes
        ([[4, 4], [4, 12], [4, 20], [12, 4], [12, 12], [12, 20]], 30)
    """
    a = _check_packed(packed, "packed")
    check_int(spacing, "spacing", minimum=2, even=True)
    check_int(bit_depth, "bit_depth", minimum=1, maximum=16)
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"packed: expected values in [0, 1], got [{a.min():.4g}, {a.max():.4g}]")
    h, w = a.shape[1:]
    step = spacing // 2
    rows = np.arange(step // 2, h, step)
    cols = np.arange(step // 2, w, step)
    if rows.size == 0 or cols.size == 0:
        raise ValueError(
            f"packed: a {h}x{w} packed RAW holds no sample at spacing {spacing} "
            f"(needs at least {step // 2 + 1} sites per axis)"
        )
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    pos = np.stack([rr.ravel(), cc.ravel()], axis=1).astype(np.int64)
    levels = float(2**bit_depth - 1)
    vals = np.round(a[:, pos[:, 0], pos[:, 1]].T.astype(np.float64) * levels) / levels
    return SampledMetadata(pos, vals.astype(np.float32), (h, w), spacing, bit_depth)


def _site_features(
    srgb: np.ndarray,
    spatial_weight: float,
    camera: CameraModel | None,
    params: ISPParams | None,
    render: Render,
) -> np.ndarray:
    """``(h*w, 5)`` per packed site: a colour (3) and the weighted (row, col) (2; left out
    for ``spatial_weight=0``).  The colour is the blind inverse ISP's camera RGB ``[R,
    (Gr + Gb) / 2, B]`` with a camera, else the linear sRGB averaged over the 2x2 block."""
    if camera is not None:
        raw = np.asarray(
            blind_unprocess(
                np.asarray(srgb, np.float64), camera=camera, params=params, render=render
            )
        )
        site = np.stack([raw[0], (raw[1] + raw[2]) / 2, raw[3]])
    else:
        lin = np.asarray(srgb_eotf(np.ascontiguousarray(srgb, dtype=np.float64)))
        _, hh, ww = lin.shape
        site = lin.reshape(3, hh // 2, 2, ww // 2, 2).mean(axis=(2, 4))
    h, w = site.shape[1:]
    if spatial_weight == 0:
        return site.reshape(3, -1).T
    scale = spatial_weight / max(h, w)
    rr, cc = np.meshgrid(np.arange(h) * scale, np.arange(w) * scale, indexing="ij")
    return np.concatenate([site.reshape(3, -1), rr.reshape(1, -1), cc.reshape(1, -1)]).T


def _fit_rbf(x: np.ndarray, y: np.ndarray, **kw: Any) -> Any:
    """RBFInterpolator with an affine term, or a lower-degree one when the samples'
    features are degenerate (e.g. a grey image: all colours on one line)."""
    from numpy.linalg import LinAlgError
    from scipy.interpolate import RBFInterpolator

    for degree in (1, 0, -1):
        try:
            return RBFInterpolator(x, y, degree=degree, **kw)
        except LinAlgError:
            continue
    raise LinAlgError("RBF system singular even without polynomial term")  # pragma: no cover


@numpy_compat
def rbf_reconstruct(
    srgb: Array,
    metadata: SampledMetadata,
    *,
    camera: CameraModel | None = None,
    params: ISPParams | None = None,
    render: Render = "rawkit",
    kernel: RBFKernel = "thin_plate_spline",
    spatial_weight: float = 0.3,
    smoothing: float = 0.1,
    neighbors: int | None = None,
) -> Array:
    r"""Reconstruct packed RAW from sRGB and uniform-sampling metadata by RBF interpolation.

    Each packed site is described by a colour and its position (``(row, col) / max(h,
    w) x spatial_weight``).  The colour is the camera RGB ``[R, (Gr + Gb) / 2, B]`` of
    :func:`blind_unprocess` when ``camera`` is given (the typical render's inverse, so
    that the RBF only has to learn this image's correction: its white balance,
    exposure and lens shading), else the linear sRGB (the 2x2 block's mean through the
    sRGB EOTF).  :class:`scipy.interpolate.RBFInterpolator` (``kernel``,
    ``degree=1``: an affine colour/position term plus the radial part, with
    ``smoothing``) is fitted on the sampled sites and evaluated at all of them.  (If
    the samples are degenerate for an affine term, e.g. a grey image, the fit falls
    back to a constant term, then to none.)  The
    result is clipped to ``[0, 1]``, the RAW's range.  Not differentiable (SciPy).

    Args:
        srgb: ``(3, 2h, 2w)`` sRGB in ``[0, 1]``.
        metadata: from :func:`uniform_sampling_metadata` for the same image.
        camera, params, render: the camera model (and the render to invert, default
            :func:`typical_params` of ``render``) for camera-RGB features; ``None``: sRGB
            features.
        kernel: one of :data:`RBF_KERNELS`.
        spatial_weight: weight of position against colour (0: colour only).
        smoothing: RBF smoothing (0 interpolates the samples exactly; the defaults
            were chosen on the validation photos).
        neighbors: nearest samples per evaluation (``None``: all; set it, e.g. 64, for
            large images with many samples).

    Returns:
        ``(4, h, w)`` packed RAW in ``[0, 1]``, float32; NumPy for NumPy input.

    Raises:
        ValueError: shapes that do not match the metadata, bad settings.
        TypeError: wrong types.
    """
    check_tensor_like(srgb, "srgb")
    if not isinstance(metadata, SampledMetadata):
        raise TypeError(f"metadata: expected a SampledMetadata, got {type(metadata).__name__}")
    check_choice(kernel, RBF_KERNELS, "kernel")
    check_number(spatial_weight, "spatial_weight", minimum=0.0)
    check_number(smoothing, "smoothing", minimum=0.0)
    if neighbors is not None:
        check_int(neighbors, "neighbors", minimum=1)
    device = srgb.device
    s = to_numpy(srgb)
    h, w = metadata.shape
    if s.ndim != 3 or s.shape[0] != 3 or s.shape[1:] != (2 * h, 2 * w):
        raise ValueError(
            f"srgb: expected shape (3, {2 * h}, {2 * w}) (the metadata's image), got {s.shape}"
        )
    if not np.isfinite(s).all():
        raise ValueError("srgb: expected finite values, got NaN or Inf")
    if camera is not None and params is None:
        params = typical_params(camera, render=render)
    feats = _site_features(s, float(spatial_weight), camera, params, render)
    idx = metadata.positions[:, 0] * w + metadata.positions[:, 1]
    k = None if neighbors is None else min(int(neighbors), len(metadata))
    rbf = _fit_rbf(
        feats[idx], metadata.values.astype(np.float64), kernel=kernel, smoothing=smoothing,
        neighbors=k,
    )  # fmt: skip
    out = np.clip(rbf(feats), 0.0, 1.0).T.reshape(4, h, w).astype(np.float32)
    return torch.from_numpy(out).to(device)
