"""The whole ISP: :func:`process` (RAW -> sRGB), :func:`unprocess` (sRGB -> RAW), parameters.

``process`` follows a camera's order and LibRaw's conventions where they are a choice::

    integer RAW --levels--> linear [0, 1] --lens shading--> --white balance x exposure-->
    --clip [0, 1]--> --demosaic--> camera RGB --colour matrix--> linear sRGB --clip [0, 1]-->
    --tone curve--> --transfer function--> sRGB

**Conventions** (``convention=``).  The RAW stage is LibRaw's in both: the white-balance
gains are normalised so that the smallest is 1 (LibRaw's ``pre_mul``; only their ratios
matter, ``exposure`` carries any overall gain), applied in camera space before
demosaicing, and the balanced RAW is clipped to [0, 1] (black at 0, highlights at the
sensor's white, LibRaw's "Clip" highlight mode).  The colour matrix differs:

* ``"libraw"`` (default): ``rgb_cam = pinv(rownorm(xyz_to_cam @ xyz_rgb))``, independent
  of the white balance.  With the default parameters, LINEAR (bilinear) demosaic and the
  sRGB curve, :func:`process` reproduces LibRaw's render of a DNG (``postprocess`` with
  ``use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
  adjust_maximum_thr=0``, LINEAR, Clip highlights) to 76-90 dB PSNR, the rest being
  LibRaw's 16-bit integer arithmetic (``rawkit.data.libraw_crosscheck`` measures it).
* ``"dng"``: the DNG specification's camera -> XYZ -> sRGB with Bradford adaptation from
  the scene white (the neutral ``1 / wb_gains``; ``(1, 1, 1)`` when ``white_balance`` is
  off) to D65.  Equal to ``"libraw"`` when the neutral is the matrix's D65 white,
  different otherwise (see :mod:`rawkit.isp.color`).

``unprocess`` is Brooks et al. (2019) run backwards through the same steps: inverse
transfer, inverse tone curve, inverse colour matrix, *safe* (highlight-preserving)
inverse white balance and exposure, clip to [0, 1], inverse lens shading, mosaic.

Where ``process(unprocess(y)) == y`` (to float rounding, see
:data:`rawkit.testing.isp.ISP_TOLERANCES`): exactly on the pixels that
:func:`roundtrip_mask` marks, for ``layout="rgb"`` (no demosaicing involved).  With a
mosaic or packed RAW, demosaicing must also recover the dropped samples, which it does
exactly where the camera RGB is constant over the demosaic's window (3x3 for bilinear,
5x5 for Malvar), e.g. for a flat image; elsewhere the round trip differs by the
demosaicing error.  The pixels outside the mask are where information is lost: the
safe gains keep bright pixels bright instead of inverting them, and unprocessing clips
camera values outside [0, 1] (out-of-gamut colours, or highlights pushed over the
sensor's white by an exposure gain below 1).

**Speed.**  For float32 (or integer) RAW and float32 sRGB on the CPU without autograd,
with bilinear demosaicing, no lens shading, unbatched parameters and the sRGB or linear
transfer (LibRaw's settings and the defaults), both directions run the same steps as
one compiled pass over bands of rows (``rawkit.isp._fused``), within float32 rounding
of the op-by-op chain (the sRGB curve from a table within 5e-7 of the exact one);
everything else runs op by op, band by band where that is exact (``rawkit.isp._blocks``).
"""

from __future__ import annotations

from typing import Any

import torch

from rawkit._checks import check_bool, check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, numpy_compat
from rawkit.cfa import demosaic, mosaic, pack, unpack
from rawkit.isp._blocks import HALO, apply_matrix_rows, band_rows, can_block, run_bands
from rawkit.isp._common import LAYOUTS, Layout, check_layout_shape
from rawkit.isp.camera import CameraModel
from rawkit.isp.color import (
    CONVENTIONS,
    Convention,
    camera_to_srgb,
    srgb_to_camera,
    srgb_to_camera_matrix,
)
from rawkit.isp.lens import invert_lens_shading, lens_shading
from rawkit.isp.levels import normalize_levels
from rawkit.isp.params import (
    ISPParams,
    Transfer,
    _check_camera,
    _check_params,
    _color_kw,
    _matrix_kw,
    _matrix_rows,
    _total_gains,
    default_params,
    random_params,
)
from rawkit.isp.tone import inverse_smoothstep, smoothstep
from rawkit.isp.transfer import GAMMA_EPS, gamma_decode, gamma_encode, srgb_eotf, srgb_oetf
from rawkit.isp.white_balance import safe_gains_exact_mask, safe_invert_white_balance, white_balance

__all__ = [
    "ISPParams",
    "Transfer",
    "default_params",
    "preview",
    "process",
    "random_params",
    "roundtrip_mask",
    "unprocess",
]


def _check_layout(layout: Any) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout: expected one of {list(LAYOUTS)}, got {layout!r}")


def _check_convention(convention: Any) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {list(CONVENTIONS)}, got {convention!r}")


def _linearize(raw: torch.Tensor, camera: CameraModel, layout: str) -> torch.Tensor:
    """Integer sensor data -> linear [0, 1] with the camera's levels; floats pass unchanged."""
    if raw.is_floating_point():
        return raw
    black = camera.black_level
    kw = {"black_level": black, "white_level": camera.white_level}
    if isinstance(black, tuple) and len(black) == 4:
        if layout == "rgb":
            raise ValueError(
                "raw: integer camera RGB with four per-site black levels is ambiguous; normalise first"
            )
        if layout == "mosaic":
            return unpack(
                normalize_levels(pack(raw, pattern=camera.pattern), **kw), pattern=camera.pattern
            )
    return normalize_levels(raw, **kw)


def _raw_stage(
    x: torch.Tensor, camera: CameraModel, params: ISPParams, layout: str
) -> torch.Tensor:
    """Lens shading, white balance x exposure and sensor clipping, on the RAW layout."""
    if params.lens_shading != 0:
        pattern = camera.pattern if layout == "packed" else None
        x = lens_shading(x, strength=params.lens_shading, layout=layout, pattern=pattern)
    x = white_balance(
        x,
        gains=_total_gains(params, x),
        layout=layout,
        pattern=camera.pattern if layout == "mosaic" else None,
    )
    return x.clamp(0.0, 1.0) if params.clip else x


def _finish(
    rgb: torch.Tensor, params: ISPParams, convention: str, matrix: list[list[float]] | None = None
) -> torch.Tensor:
    """Camera RGB -> encoded sRGB: colour matrix, clip, tone curve, transfer function.

    ``matrix``: the inverse colour matrix, precomputed once for a banded render.
    """
    if params.color_correction:
        if matrix is not None:
            rgb = apply_matrix_rows(rgb, matrix)
        else:
            rgb = camera_to_srgb(rgb, **_color_kw(params, rgb, convention))
    if params.clip:
        rgb = rgb.clamp(0.0, 1.0)
    if params.tone:
        rgb = smoothstep(rgb)
    if params.transfer == "srgb":
        return srgb_oetf(rgb)
    if params.transfer == "gamma":
        return gamma_encode(rgb, gamma=params.gamma)
    return rgb


def _check_raw(raw: Any, layout: str) -> None:
    check_tensor_like(raw, "raw")
    _check_layout(layout)
    check_layout_shape(raw, layout, "raw")
    check_dtype(raw, ["float", "integer"], "raw")
    if raw.is_floating_point() and raw.numel():
        lo, hi = torch.aminmax(raw.detach())  # one read-only pass; NaN/Inf show up here
        if not bool(torch.isfinite(lo) & torch.isfinite(hi)):
            check_finite(raw, "raw")  # raises with the standard message
    h, w = raw.shape[-2:]
    if layout == "mosaic" and (h % 2 or w % 2):
        raise ValueError(f"raw: a Bayer mosaic needs even height and width, got H={h}, W={w}")
    if min(h, w) < (1 if layout == "packed" else 2):
        raise ValueError(
            f"raw: expected a full-resolution size of at least 2x2, got {tuple(raw.shape)}"
        )


@numpy_compat
def process(
    raw: Array,
    *,
    camera: CameraModel,
    params: ISPParams | None = None,
    layout: Layout = "mosaic",
    convention: Convention = "libraw",
) -> Array:
    """Render a RAW to sRGB: the forward ISP in camera order (LibRaw's conventions).

    Steps (each switchable through ``params``): black/white levels (integer input only),
    lens-shading correction, white balance (gains normalised to min = 1) times exposure,
    clip to [0, 1], demosaic (mosaic and packed layouts), colour correction
    (:func:`rawkit.isp.camera_to_srgb` in ``convention``), clip to [0, 1], smoothstep tone
    curve, transfer function.

    Args:
        raw: the RAW, in the layout named by ``layout``:

            * ``"mosaic"`` (default): Bayer mosaic ``(*, 1, H, W)``, ``H, W`` even;
            * ``"packed"``: ``(*, 4, H/2, W/2)`` with channels ``[R, Gr, Gb, B]``;
            * ``"rgb"``: already demosaiced camera RGB ``(*, 3, H, W)`` (no demosaicing).

            Integer dtypes are sensor values and are normalised with ``camera``'s black and
            white levels; floating dtypes are taken as linear RAW already in [0, 1] (the
            output of :func:`unprocess` or :func:`rawkit.isp.normalize_levels`).
        camera: the :class:`rawkit.isp.CameraModel` (pattern and levels).
        params: :class:`ISPParams`; default :func:`default_params` (LibRaw-like).
        layout: ``"mosaic"``, ``"packed"`` or ``"rgb"`` (a shape that does not match raises).
        convention: ``"libraw"`` (default: LibRaw's colour matrix, which renders like
            LibRaw) or ``"dng"`` (the DNG specification's, adapted to the scene white);
            see the module docstring.

    Returns:
        sRGB ``(*, 3, H, W)`` at full resolution, floating (float32 for integer input), in
        [0, 1] when ``params.clip``.  Differentiable in a floating ``raw`` and in the
        tensors of ``params`` (the levels of integer input are not).

    Raises:
        ValueError: shape not matching ``layout``, odd mosaic size, NaN/Inf, integer values
            above the white level, unknown ``convention``.
        TypeError: wrong argument types.

    Example:
        >>> import torch
        >>> from rawkit.isp import builtin_camera
        >>> cam = builtin_camera("nikon_d5100")
        >>> raw = torch.full((1, 4, 4), 0.2)
        >>> process(raw, camera=cam).shape
        torch.Size([3, 4, 4])
        >>> p = random_params(cam, generator=torch.Generator().manual_seed(5))
        >>> p.illuminant
        'tungsten (CIE A)'
        >>> rgb = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(0)) * 0.4
        >>> a = process(rgb, camera=cam, params=p, layout="rgb")
        >>> b = process(rgb, camera=cam, params=p, layout="rgb", convention="dng")
        >>> round(float((a - b).abs().max()), 2) > 0.01
        True
    """
    _check_raw(raw, layout)
    _check_camera(camera)
    _check_convention(convention)
    params = default_params(camera) if params is None else params
    _check_params(params)
    from rawkit.isp import _fused  # compiled loops: numba loads on first use

    if _fused.fusable(raw, params, layout):  # one pass over memory (rawkit.isp._fused)
        return _fused.process_fused(raw, camera, params, convention, layout)

    def chain(r: torch.Tensor) -> torch.Tensor:
        x = _raw_stage(_linearize(r, camera, layout), camera, params, layout)
        if layout == "packed":
            x = unpack(x, pattern=camera.pattern)
        if layout != "rgb":
            x = demosaic(x, pattern=camera.pattern, method=params.demosaic)
        return _finish(x, params, convention, matrix)

    # Large images: the same chain band by band, in cache (see rawkit.isp._blocks).
    matrix = None
    up = 2 if layout == "packed" else 1
    rows = band_rows(3 * raw.shape[-1] * up * raw.element_size()) // up
    rows += rows % 2  # whole Bayer tiles
    if raw.shape[-2] > 2 * rows and can_block(params, raw, params.wb_gains, params.xyz_to_cam):
        matrix = _matrix_rows(params, convention, inverse=True)
        halo = 0 if layout == "rgb" else (HALO if layout == "mosaic" else HALO // 2)
        return run_bands(raw, chain, rows=rows, halo=halo, up=up)
    return chain(raw)


def _camera_rgb(
    srgb: torch.Tensor, params: ISPParams, convention: str, matrix: list[list[float]] | None = None
) -> torch.Tensor:
    """Encoded sRGB -> white-balanced camera RGB (inverse transfer, tone, colour matrix).

    ``matrix``: the colour matrix, precomputed once for a banded render.
    """
    if params.transfer == "srgb":
        lin = srgb_eotf(srgb)
    elif params.transfer == "gamma":
        lin = gamma_decode(srgb, gamma=params.gamma)
    else:
        lin = srgb
    if params.tone:
        # The clamp only removes float rounding: lin is in [0, 1] because srgb is.
        lin = inverse_smoothstep(lin.clamp(0.0, 1.0))
    if params.color_correction:
        if matrix is not None:
            return apply_matrix_rows(lin, matrix)
        lin = srgb_to_camera(lin, **_color_kw(params, lin, convention))
    return lin


def _check_srgb(srgb: Any, layout: str) -> None:
    check_tensor_like(srgb, "srgb")
    _check_layout(layout)
    check_shape(srgb, ["*", "3", "H", "W"], "srgb")
    check_dtype(srgb, ["float"], "srgb")
    lo, hi = torch.aminmax(srgb.detach()) if srgb.numel() else (torch.zeros(()), torch.zeros(()))
    if not bool(torch.isfinite(lo) & torch.isfinite(hi)):  # one read-only pass
        check_finite(srgb, "srgb")  # raises with the standard message
    h, w = srgb.shape[-2:]
    if layout != "rgb" and (h % 2 or w % 2):
        raise ValueError(f"srgb: a Bayer RAW needs even height and width, got H={h}, W={w}")
    if h < 2 or w < 2:
        raise ValueError(f"srgb: expected H and W >= 2, got H={h}, W={w}")
    if float(lo) < 0 or float(hi) > 1:
        raise ValueError(f"srgb: expected values in [0, 1], got [{float(lo)}, {float(hi)}]")


def _resolve_params(camera: CameraModel, params: Any, generator: Any) -> ISPParams:
    if params is not None:
        if generator is not None:
            raise ValueError("generator: only used to sample params when params is None; got both")
        _check_params(params)
        return params
    if generator is None:
        return default_params(camera)
    return random_params(camera, generator=generator)


@numpy_compat
def unprocess(
    srgb: Array,
    *,
    camera: CameraModel,
    params: ISPParams | None = None,
    generator: torch.Generator | None = None,
    layout: Layout = "mosaic",
    convention: Convention = "libraw",
) -> tuple[Array, ISPParams]:
    """Invert the ISP: sRGB -> linear RAW, Brooks et al. (2019) "Unprocessing", Sec. 3.

    The steps of :func:`process` reversed: inverse transfer function, inverse smoothstep,
    linear sRGB -> camera RGB (:func:`rawkit.isp.srgb_to_camera`), the highlight-preserving
    inverse of white balance x exposure (:func:`rawkit.isp.safe_invert_white_balance`), clip
    to [0, 1] (if ``params.clip``), inverse lens shading, then mosaic or pack.

    Args:
        srgb: ``(*, 3, H, W)`` floating sRGB in [0, 1] (``H, W`` even unless ``layout="rgb"``).
        camera: the :class:`rawkit.isp.CameraModel` to unprocess into.
        params: the ISP parameters to invert.  If None: sampled with
            :func:`random_params` when ``generator`` is given, else :func:`default_params`.
        generator: a ``torch.Generator`` for sampling ``params`` (only when ``params`` is None).
        layout: output layout, ``"mosaic"`` (default), ``"packed"`` or ``"rgb"`` (camera RGB
            before mosaicing).
        convention: the colour convention to invert, ``"libraw"`` (default) or ``"dng"``
            (as in :func:`process`).

    Returns:
        ``(raw, params)``: the linear RAW (floating, [0, 1] when ``params.clip``, same dtype
        and device as ``srgb``) and the parameters used.  ``process(raw, params=params,
        layout=layout)`` gives ``srgb`` back where :func:`roundtrip_mask` is True (see the
        module docstring for the mosaic layouts).  No noise is added.  Differentiable
        in ``srgb`` (clipping has zero gradient).

    Raises:
        ValueError: values outside [0, 1], NaN/Inf, bad shape, both ``params`` and
            ``generator``, unknown ``convention``.
        TypeError: wrong argument types.

    Example:
        >>> import torch
        >>> from rawkit.isp import builtin_camera
        >>> cam = builtin_camera("nikon_d5100")
        >>> y = torch.full((3, 4, 4), 0.5, dtype=torch.float64)
        >>> raw, p = unprocess(y, camera=cam)
        >>> raw.shape, round(float((process(raw, camera=cam, params=p) - y).abs().max()), 9)
        (torch.Size([1, 4, 4]), 0.0)
    """
    _check_srgb(srgb, layout)
    _check_camera(camera)
    _check_convention(convention)
    params = _resolve_params(camera, params, generator)
    from rawkit.isp import _fused  # compiled loops: numba loads on first use

    if _fused.fusable(srgb, params, layout):  # one pass over memory (rawkit.isp._fused)
        return _fused.unprocess_fused(srgb, camera, params, convention, layout), params

    matrix = None

    def to_camera(y: torch.Tensor) -> torch.Tensor:
        cam = _camera_rgb(y, params, convention, matrix)
        raw = safe_invert_white_balance(
            cam, gains=_total_gains(params, cam), threshold=params.safe_gain_threshold
        )
        return raw.clamp(0.0, 1.0) if params.clip else raw

    def to_layout(raw: torch.Tensor) -> torch.Tensor:
        if layout == "rgb":
            return raw
        m = mosaic(raw, pattern=camera.pattern)
        return pack(m, pattern=camera.pattern) if layout == "packed" else m

    rows = band_rows(srgb.shape[-3] * srgb.shape[-1] * srgb.element_size())
    if srgb.shape[-2] > 2 * rows and can_block(params, srgb, params.wb_gains, params.xyz_to_cam):
        # Large images: the same chain band by band, in cache (exact; see rawkit.isp._blocks).
        down = 2 if layout == "packed" else 1
        matrix = _matrix_rows(params, convention, inverse=False)
        return run_bands(srgb, lambda y: to_layout(to_camera(y)), rows=rows, down=down), params
    raw = to_camera(srgb)
    if params.lens_shading != 0:
        raw = invert_lens_shading(raw, strength=params.lens_shading, layout="rgb")
    return to_layout(raw), params


@numpy_compat
def roundtrip_mask(
    srgb: Array, *, camera: CameraModel, params: ISPParams, convention: Convention = "libraw"
) -> Array:
    """Where ``process(unprocess(srgb))`` gives ``srgb`` back (``layout="rgb"``).

    A pixel round-trips when :func:`unprocess` loses nothing there: the safe gains equal
    the plain inverse gains (:func:`rawkit.isp.safe_gains_exact_mask`) and, if
    ``params.clip``, every camera value after inverting white balance and exposure lies
    in [0, 1] (nothing clipped); with ``transfer="gamma"``, every code value is at least
    ``GAMMA_EPS ** (1 / gamma)`` (the darkest code :func:`rawkit.isp.gamma_encode` produces);
    the white-balanced camera values lie in [0, 1] too (:func:`process` clips them);
    and the round trip is well conditioned there: the colour solve, tone curve and
    transfer curve together amplify float rounding at most 256 times (this leaves out
    the darkest codes of a plain gamma curve, whose slope is unbounded near black; the
    sRGB curve's slope is at most 12.92).

    Args:
        srgb, camera, params, convention: as in :func:`unprocess`.

    Returns:
        ``(*, 1, H, W)`` bool.

    Example:
        >>> import torch
        >>> from rawkit.isp import builtin_camera
        >>> cam = builtin_camera("nikon_d5100")
        >>> y = torch.tensor([[0.5, 0.5], [1.0, 1.0]]).expand(3, 2, 2)
        >>> roundtrip_mask(y, camera=cam, params=default_params(cam))[0, :, 0].tolist()
        [True, False]
    """
    _check_srgb(srgb, "rgb")
    _check_camera(camera)
    _check_params(params)
    _check_convention(convention)
    cam = _camera_rgb(srgb, params, convention)
    gains = _total_gains(params, cam)
    ok = safe_gains_exact_mask(cam, gains=gains, threshold=params.safe_gain_threshold)
    if params.clip:
        v = cam / gains[..., :, None, None]
        ok = ok & ((v >= 0) & (v <= 1)).all(dim=-3, keepdim=True)
        # process clips the white-balanced camera values too (LibRaw's scale_colors):
        # a colour the scene light pushes above the sensor's white cannot come back
        ok = ok & ((cam >= 0) & (cam <= 1)).all(dim=-3, keepdim=True)
    if params.transfer == "gamma":
        # gamma_encode floors linear values at GAMMA_EPS, so darker codes cannot come back.
        ok = ok & (srgb >= GAMMA_EPS ** (1.0 / params.gamma)).all(dim=-3, keepdim=True)
    return ok & (_rounding_gain(srgb, cam, params, convention) <= _MAX_ROUNDING_GAIN)


#: Largest amplification of float rounding a pixel of :func:`roundtrip_mask` may have.
_MAX_ROUNDING_GAIN = 256.0


def _rounding_gain(
    srgb: torch.Tensor, cam: torch.Tensor, params: ISPParams, convention: str
) -> torch.Tensor:
    """How much :func:`process` amplifies the RAW's float rounding at each pixel, ``(*, 1, H, W)``.

    An error ``e`` relative to the pixel's largest camera value becomes at most
    ``||C^-1||_inf max|cam| e`` in linear sRGB (the colour solve), times the slope of the
    tone curve, times the slope of the transfer curve at the pixel: ``12.92`` at most
    for sRGB, but unbounded for a plain gamma near black, where a code value cannot come
    back to float rounding however exact the other steps are (e.g. ``0.0156`` at gamma
    2.5 amplifies rounding ~200 times).
    """
    t = srgb_eotf(srgb) if params.transfer == "srgb" else srgb
    if params.transfer == "gamma":
        t = gamma_decode(srgb, gamma=params.gamma)
    slope = torch.ones_like(t)
    if params.transfer == "srgb":
        power = (1.055 / 2.4) * torch.clamp(t, min=0.0031308) ** (1.0 / 2.4 - 1.0)
        slope = torch.where(t <= 0.0031308, torch.full_like(t, 12.92), power)
    elif params.transfer == "gamma":
        g = params.gamma
        slope = torch.clamp(t, min=GAMMA_EPS) ** (1.0 / g - 1.0) / g
    if params.tone:
        lin = inverse_smoothstep(t.clamp(0.0, 1.0))
        slope = slope * 6.0 * lin * (1.0 - lin)
    norm = 1.0
    if params.color_correction:
        c = srgb_to_camera_matrix(
            params.xyz_to_cam.to(torch.float64), **_matrix_kw(params, convention)
        )
        inv = torch.linalg.solve(c, torch.eye(3, dtype=torch.float64).expand_as(c))
        norm = inv.abs().sum(dim=-1).amax(dim=-1).to(t.dtype)[..., None, None, None]
    big = cam.abs().amax(dim=-3, keepdim=True)
    return slope.amax(dim=-3, keepdim=True) * norm * torch.clamp(big, min=1.0)


@numpy_compat
def preview(
    raw: Array,
    *,
    camera: CameraModel,
    params: ISPParams | None = None,
    layout: Layout = "mosaic",
    half_size: bool = False,
    convention: Convention = "libraw",
) -> Array:
    """Render a RAW for display: :func:`process` with clipping forced on.

    Args:
        raw, camera, params, layout, convention: as in :func:`process`.
        half_size: if True (mosaic/packed only), skip demosaicing and use each 2x2 tile as
            one pixel ``(R, (Gr + Gb) / 2, B)``: a quick ``(*, 3, H/2, W/2)`` preview.

    Returns:
        sRGB ``(*, 3, H, W)`` (or half size) in [0, 1].

    Example:
        >>> import torch
        >>> from rawkit.isp import builtin_camera
        >>> cam = builtin_camera("nikon_d5100")
        >>> preview(torch.rand(1, 8, 8), camera=cam, half_size=True).shape
        torch.Size([3, 4, 4])
    """
    check_bool(half_size, "half_size")
    _check_raw(raw, layout)
    _check_camera(camera)
    _check_convention(convention)
    params = default_params(camera) if params is None else params
    _check_params(params)
    params = params.replace(clip=True)
    if not half_size:
        return process(raw, camera=camera, params=params, layout=layout, convention=convention)
    if layout == "rgb":
        raise ValueError(
            "half_size: only for layout='mosaic' or 'packed' (camera RGB is already demosaiced)"
        )
    x = _linearize(raw, camera, layout)
    packed = x if layout == "packed" else pack(x, pattern=camera.pattern)
    packed = _raw_stage(packed, camera, params, "packed")
    rgb = torch.stack(
        [packed[..., 0, :, :], packed[..., 1:3, :, :].mean(dim=-3), packed[..., 3, :, :]], dim=-3
    )
    return _finish(rgb, params, convention)
