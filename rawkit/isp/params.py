"""Parameters of the whole ISP: :class:`ISPParams`, :func:`default_params`, :func:`random_params`.

:func:`rawkit.isp.process` and :func:`rawkit.isp.unprocess` take an :class:`ISPParams`:
everything that varies between renders of one camera (white balance, colour matrix,
exposure, lens shading, which steps run).  :func:`default_params` gives LibRaw's
settings (under which ``process`` renders like LibRaw); :func:`random_params` samples
renders for data synthesis as Brooks et al. (2019) do.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import torch

from rawkit.cfa.demosaic import DemosaicMethod
from rawkit.isp.camera import CameraModel, illuminant_xy
from rawkit.isp.color import check_color_matrix, srgb_to_camera_matrix
from rawkit.isp.noise import sample_noise_levels

__all__ = ["ISPParams", "Transfer", "default_params", "random_params"]

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


def _matrix_rows(params: ISPParams, convention: str, *, inverse: bool) -> list[list[float]]:
    """The colour matrix ``C`` (sRGB -> camera) or ``C^-1`` as float64 rows, computed once."""
    c = srgb_to_camera_matrix(params.xyz_to_cam.to(torch.float64), **_matrix_kw(params, convention))
    m = torch.linalg.solve(c, torch.eye(3, dtype=torch.float64)) if inverse else c
    return m.tolist()


def _matrix_kw(params: ISPParams, convention: str) -> dict[str, Any]:
    if convention != "dng":
        return {"convention": convention}
    return {"convention": convention, "wb_gains": _wb_gains(params, params.wb_gains)}
