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
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import torch

from rawkit._checks import check_bool, check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, numpy_compat
from rawkit.cfa import demosaic, mosaic, pack, unpack
from rawkit.cfa.demosaic import DemosaicMethod
from rawkit.isp._blocks import HALO, apply_matrix_rows, band_rows, can_block, run_bands
from rawkit.isp._common import LAYOUTS, Layout, check_layout_shape
from rawkit.isp.camera import CameraModel, illuminant_xy
from rawkit.isp.color import (
    CONVENTIONS,
    Convention,
    camera_to_srgb,
    check_color_matrix,
    srgb_to_camera,
    srgb_to_camera_matrix,
)
from rawkit.isp.lens import invert_lens_shading, lens_shading
from rawkit.isp.levels import normalize_levels
from rawkit.isp.noise import sample_noise_levels
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

#: Transfer functions of the forward ISP: the sRGB curve, a pure gamma, or none.
Transfer = Literal["srgb", "gamma", "linear"]
_TRANSFERS = ("srgb", "gamma", "linear")
_DEMOSAICS = ("bilinear", "malvar", "menon")


def _tensor(value: Any, name: str, tail: tuple[int, ...]) -> torch.Tensor:
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name}: expected an array of numbers, got {type(value).__name__}")
    if not isinstance(value, torch.Tensor) and hasattr(value, "__array__"):
        value = torch.as_tensor(value)
    if isinstance(value, torch.Tensor) and (value.dtype == torch.bool or value.is_complex()):
        raise TypeError(f"{name}: expected a real dtype, got {value.dtype}")
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float64)
    if not t.is_floating_point():
        t = t.to(torch.float64)
    if t.ndim < len(tail) or tuple(t.shape[t.ndim - len(tail) :]) != tail:
        raise ValueError(
            f"{name}: expected shape (*, {', '.join(map(str, tail))}), got {tuple(t.shape)}"
        )
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}: expected finite values, got NaN or Inf")
    return t


def _number(
    value: Any, name: str, *, low: float, low_open: bool = True, high: float = math.inf
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    ok = (value > low if low_open else value >= low) and value < high
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high < math.inf else "")
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}")
    return float(value)


@dataclasses.dataclass(frozen=True, eq=False)
class ISPParams:
    """Everything that varies between renders of one camera (frozen; validated).

    Attributes:
        wb_gains: ``(3,)`` or ``(*, 3)`` positive ``[R, G, B]`` white-balance gains in
            camera space; :func:`process` divides them by their smallest, as LibRaw
            does, so only the ratios matter (their inverse is the camera's neutral).
        xyz_to_cam: ``(3, 3)`` or ``(*, 3, 3)`` XYZ -> camera matrix used for colour correction.
        exposure: linear gain > 0 applied with the white balance (Brooks et al.'s
            "brightness gain"); > 1 pushes highlights over white, so they clip.
        lens_shading: lens-shading correction strength (corner gain - 1), > -1; 0 = off.
        demosaic: ``"bilinear"`` (LibRaw's LINEAR), ``"malvar"`` or ``"menon"``.
        white_balance, color_correction, tone, clip: switch those steps on or off
            (``tone`` is the smoothstep curve; ``clip`` clips to [0, 1] after white balance
            and after colour correction, as LibRaw and Brooks et al. do).
        transfer: ``"srgb"`` (exact IEC 61966-2-1), ``"gamma"`` (``gamma``) or ``"linear"``.
        gamma: exponent for ``transfer="gamma"``.
        safe_gain_threshold: where :func:`unprocess`'s highlight-preserving inversion starts.
        shot_noise, read_noise: noise levels for data synthesis (:func:`rawkit.isp.add_noise`);
            ``process``/``unprocess`` do not add noise.
        illuminant: free-text label of the scene illuminant the gains were set for.
    """

    wb_gains: torch.Tensor
    xyz_to_cam: torch.Tensor
    exposure: float = 1.0
    lens_shading: float = 0.0
    demosaic: DemosaicMethod = "bilinear"
    white_balance: bool = True
    color_correction: bool = True
    tone: bool = False
    clip: bool = True
    transfer: Transfer = "srgb"
    gamma: float = 2.2
    safe_gain_threshold: float = 0.9
    shot_noise: float = 0.0
    read_noise: float = 0.0
    illuminant: str = ""

    def __post_init__(self) -> None:
        gains = _tensor(self.wb_gains, "wb_gains", (3,))
        if bool((gains <= 0).any()):
            raise ValueError(f"wb_gains: expected positive gains, got {gains.tolist()}")
        m = _tensor(self.xyz_to_cam, "xyz_to_cam", (3, 3))
        check_color_matrix(m, "xyz_to_cam")
        object.__setattr__(self, "wb_gains", gains)
        object.__setattr__(self, "xyz_to_cam", m)
        object.__setattr__(self, "exposure", _number(self.exposure, "exposure", low=0.0))
        object.__setattr__(
            self, "lens_shading", _number(self.lens_shading, "lens_shading", low=-1.0)
        )
        object.__setattr__(self, "gamma", _number(self.gamma, "gamma", low=0.0))
        t = _number(
            self.safe_gain_threshold, "safe_gain_threshold", low=0.0, low_open=False, high=1.0
        )
        object.__setattr__(self, "safe_gain_threshold", t)
        object.__setattr__(
            self, "shot_noise", _number(self.shot_noise, "shot_noise", low=0.0, low_open=False)
        )
        object.__setattr__(
            self, "read_noise", _number(self.read_noise, "read_noise", low=0.0, low_open=False)
        )
        if self.demosaic not in _DEMOSAICS:
            raise ValueError(f"demosaic: expected one of {list(_DEMOSAICS)}, got {self.demosaic!r}")
        if self.transfer not in _TRANSFERS:
            raise ValueError(f"transfer: expected one of {list(_TRANSFERS)}, got {self.transfer!r}")
        for flag in ("white_balance", "color_correction", "tone", "clip"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(
                    f"{flag}: expected a bool, got {type(getattr(self, flag)).__name__}"
                )

    def to(self, device: Any = None, dtype: torch.dtype | None = None) -> ISPParams:
        """A copy with the tensor fields moved to ``device`` and/or cast to ``dtype``."""
        return dataclasses.replace(
            self,
            wb_gains=self.wb_gains.to(device=device, dtype=dtype),
            xyz_to_cam=self.xyz_to_cam.to(device=device, dtype=dtype),
        )

    def replace(self, **changes: Any) -> ISPParams:
        """A copy with some fields changed (``dataclasses.replace``), validated again."""
        return dataclasses.replace(self, **changes)


_D65_XY = (0.31270, 0.32900)


def default_params(camera: CameraModel) -> ISPParams:
    """LibRaw-like parameters: D65 white balance, no exposure gain, no tone curve, sRGB.

    These are the settings under which :func:`process` matches LibRaw's render
    (``use_camera_wb``, ``no_auto_bright``, LINEAR demosaic, sRGB gamma, clip highlights).

    Example:
        >>> from rawkit.isp import builtin_camera
        >>> p = default_params(builtin_camera("nikon_d5100"))
        >>> p.tone, p.transfer, round(float(p.wb_gains.min()), 6)
        (False, 'srgb', 1.0)
    """
    _check_camera(camera)
    return ISPParams(
        wb_gains=camera.wb_gains(_D65_XY), xyz_to_cam=camera.color_matrix(), illuminant="D65"
    )


def _check_generator(generator: Any) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")


def random_params(camera: CameraModel, *, generator: torch.Generator) -> ISPParams:
    """Sample ISP parameters for data synthesis, as Brooks et al. (2019) do, per DESIGN.md.

    * scene illuminant: daylight with CCT uniform in [4000, 7500] K (probability 0.6),
      tungsten (CIE A, 0.2), fluorescent (CIE F2 or F11, 0.1 each);
    * white balance: the camera's true gains for that illuminant (:meth:`CameraModel.wb_gains`)
      times a small log-normal estimation error (sigma 0.03) on red and blue, renormalised
      to min = 1;
    * exposure: ``1 / N(0.8, 0.1)`` (Brooks et al.'s brightness gain; the normal draw is
      clamped to [0.5, 1.1]), so most renders push some highlights over white;
    * lens shading uniform in [0, 0.4]; smoothstep tone curve on; sRGB transfer;
    * noise levels from the camera's noise model (:func:`rawkit.isp.sample_noise_levels`).

    Args:
        camera: the camera model.
        generator: a CPU ``torch.Generator`` (the same seed gives the same parameters).

    Raises:
        TypeError: ``camera`` not a :class:`CameraModel`, no generator.

    Example:
        >>> import torch
        >>> from rawkit.isp import builtin_camera
        >>> p = random_params(builtin_camera("nikon_d5100"), generator=torch.Generator().manual_seed(0))
        >>> p.tone, 0.9 < p.exposure < 2.1
        (True, True)
    """
    _check_camera(camera)
    _check_generator(generator)

    def u() -> float:
        return float(torch.rand((), generator=generator, dtype=torch.float64))

    def n() -> float:
        return float(torch.randn((), generator=generator, dtype=torch.float64))

    pick = u()
    if pick < 0.6:
        cct = 4000.0 + 3500.0 * u()
        xy, label = illuminant_xy("daylight", cct=cct), f"daylight {cct:.0f} K"
    elif pick < 0.8:
        xy, label = illuminant_xy("tungsten"), "tungsten (CIE A)"
    elif pick < 0.9:
        xy, label = illuminant_xy("fluorescent"), "fluorescent (CIE F2)"
    else:
        xy, label = illuminant_xy("fluorescent_f11"), "fluorescent (CIE F11)"
    gains = camera.wb_gains(xy)
    error = torch.tensor([math.exp(0.03 * n()), 1.0, math.exp(0.03 * n())], dtype=torch.float64)
    gains = gains * error
    gains = gains / gains.min()
    exposure = 1.0 / min(max(0.8 + 0.1 * n(), 0.5), 1.1)
    strength = 0.4 * u()
    shot, read = sample_noise_levels(generator=generator, model=camera.noise_model)
    return ISPParams(
        wb_gains=gains,
        xyz_to_cam=camera.color_matrix(),
        exposure=exposure,
        lens_shading=strength,
        tone=True,
        shot_noise=shot,
        read_noise=read,
        illuminant=label,
    )


def _check_camera(camera: Any) -> None:
    if not isinstance(camera, CameraModel):
        raise TypeError(f"camera: expected a rawkit.isp.CameraModel, got {type(camera).__name__}")


def _check_params(params: Any) -> None:
    if not isinstance(params, ISPParams):
        raise TypeError(f"params: expected a rawkit.isp.ISPParams, got {type(params).__name__}")


def _check_layout(layout: Any) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout: expected one of {list(LAYOUTS)}, got {layout!r}")


def _check_convention(convention: Any) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {list(CONVENTIONS)}, got {convention!r}")


def _wb_gains(params: ISPParams, like: torch.Tensor) -> torch.Tensor:
    """The white-balance gains normalised to min = 1 (LibRaw's ``pre_mul``); ones if off."""
    if not params.white_balance:
        return torch.ones(3, dtype=like.dtype, device=like.device)
    g = params.wb_gains.to(dtype=like.dtype, device=like.device)
    return g / g.amin(dim=-1, keepdim=True)


def _total_gains(params: ISPParams, like: torch.Tensor) -> torch.Tensor:
    return _wb_gains(params, like) * params.exposure


def _color_kw(params: ISPParams, like: torch.Tensor, convention: str) -> dict[str, Any]:
    """Keyword arguments of the colour conversion for ``convention``."""
    kw: dict[str, Any] = {
        "xyz_to_cam": params.xyz_to_cam.to(dtype=like.dtype, device=like.device),
        "convention": convention,
    }
    if convention == "dng":
        kw["wb_gains"] = _wb_gains(params, like)
    return kw


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


def _matrix_rows(params: ISPParams, convention: str, *, inverse: bool) -> list[list[float]]:
    """The colour matrix ``C`` (sRGB -> camera) or ``C^-1`` as float64 rows, computed once."""
    c = srgb_to_camera_matrix(params.xyz_to_cam.to(torch.float64), **_matrix_kw(params, convention))
    m = torch.linalg.solve(c, torch.eye(3, dtype=torch.float64)) if inverse else c
    return m.tolist()


def _matrix_kw(params: ISPParams, convention: str) -> dict[str, Any]:
    if convention != "dng":
        return {"convention": convention}
    return {"convention": convention, "wb_gains": _wb_gains(params, params.wb_gains)}


def _check_raw(raw: Any, layout: str) -> None:
    check_tensor_like(raw, "raw")
    _check_layout(layout)
    check_layout_shape(raw, layout, "raw")
    check_dtype(raw, ["float", "integer"], "raw")
    if raw.is_floating_point():
        check_finite(raw, "raw")
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
    check_finite(srgb, "srgb")
    h, w = srgb.shape[-2:]
    if layout != "rgb" and (h % 2 or w % 2):
        raise ValueError(f"srgb: a Bayer RAW needs even height and width, got H={h}, W={w}")
    if h < 2 or w < 2:
        raise ValueError(f"srgb: expected H and W >= 2, got H={h}, W={w}")
    lo, hi = (float(srgb.detach().min()), float(srgb.detach().max())) if srgb.numel() else (0, 0)
    if lo < 0 or hi > 1:
        raise ValueError(f"srgb: expected values in [0, 1], got [{lo}, {hi}]")


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
