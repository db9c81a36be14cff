"""Camera models: what a RAW needs to be rendered (pattern, levels, colour matrix, ranges).

A :class:`CameraModel` is a frozen, hashable record.  Users define their own (reading one
from a real RAW/DNG is :mod:`rawkit.io`'s job); two built-in models are *derived* from the
real spectral sensitivities that colour-science ships (National Physical Laboratory
measurements of a Nikon D5100 and a Sigma SD Merrill):

1. render the 24 ColorChecker reflectances (``ColorChecker N Ohta``) under CIE D65
   (daylight) and CIE A (tungsten) through the camera's sensitivities (raw camera RGB)
   and through the CIE 1931 2-degree observer (XYZ, no chromatic adaptation), both
   scaled so that a perfect white under each illuminant has ``Y = 1``;
2. fit one camera -> XYZ matrix by least squares on the 48 samples
   (``colour.characterisation.matrix_colour_correction``, linear 3x3);
3. ``xyz_to_cam`` is its inverse, scaled DNG-style so that D65 white gives a camera
   response whose largest channel is 1.

The fit error (CIE DE2000 of the 24 patches under each illuminant) is in
:func:`builtin_camera_fit`.  Measured: Nikon D5100 mean 1.11 / max 3.01 (D65), mean
1.67 / max 5.65 (A); Sigma SD Merrill mean 2.35 / max 6.68 (D65), mean 2.00 / max 7.21
(A).  The Sigma's Foveon sensor has no colour filter array: rawkit's model is a
*hypothetical Bayer camera with its spectral sensitivities*, and both models' pattern,
bit depth and levels are nominal values, not measurements.

Illuminants (:func:`illuminant_xy`): daylight on the CIE daylight locus (CIE 15:2004,
Eq. 3.3-3.4), tungsten = CIE A, fluorescent = CIE F2 (cool white) or F11 (narrow band).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch

from rawkit._checks import check_number, check_xy
from rawkit.cfa.pattern import check_pattern
from rawkit.isp.color import check_color_matrix
from rawkit.isp.levels import check_levels
from rawkit.isp.noise import BROOKS_NOISE
from rawkit.isp.white_balance import gains_from_neutral

__all__ = [
    "BUILTIN_CAMERAS",
    "CameraFit",
    "CameraModel",
    "Illuminant",
    "builtin_camera",
    "builtin_camera_fit",
    "daylight_xy",
    "illuminant_xy",
    "xy_to_xyz",
]

#: Scene illuminants known to the camera models and ISP parameters.
Illuminant = Literal["daylight", "tungsten", "fluorescent", "fluorescent_f11"]
#: CIE 1931 2-degree chromaticities of the fixed illuminants (CIE 15:2004 Tables T.3 and T.8,
#: as colour-science's ``CCS_ILLUMINANTS`` list them).
_FIXED_XY = {
    "tungsten": (0.44757, 0.40745),
    "fluorescent": (0.37208, 0.37529),
    "fluorescent_f11": (0.3805, 0.3769),
}
_D65_XY = (0.31270, 0.32900)


def daylight_xy(cct: float) -> tuple[float, float]:
    """Chromaticity of CIE daylight at correlated colour temperature ``cct`` (K).

    CIE 15:2004 Eq. 3.3 (``x_D`` as a cubic in ``1/T``, two ranges) and 3.4
    (``y_D = -3 x_D^2 + 2.87 x_D - 0.275``).  Agrees with
    ``colour.temperature.CCT_to_xy_CIE_D`` (tested).

    Args:
        cct: in [4000, 25000] K.

    Raises:
        TypeError: not a real number.
        ValueError: outside that range.

    Example:
        >>> [round(v, 4) for v in daylight_xy(6504)]
        [0.3127, 0.3291]
    """
    t = check_number(cct, "cct", minimum=4000, maximum=25000)
    if t <= 7000:
        x = -4.6070e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
    else:
        x = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.237040
    return x, -3.0 * x * x + 2.87 * x - 0.275


def illuminant_xy(kind: Illuminant, *, cct: float | None = None) -> tuple[float, float]:
    """Chromaticity ``(x, y)`` of an illuminant: daylight at ``cct``, or a fixed CIE one.

    Example:
        >>> illuminant_xy("tungsten")
        (0.44757, 0.40745)
    """
    if kind == "daylight":
        if cct is None:
            raise ValueError("cct: daylight needs a colour temperature")
        return daylight_xy(cct)
    if kind not in _FIXED_XY:
        raise ValueError(f"kind: expected one of {['daylight', *_FIXED_XY]}, got {kind!r}")
    if cct is not None:
        raise ValueError(f"cct: only used for daylight, got cct={cct!r} for {kind!r}")
    return _FIXED_XY[kind]


def xy_to_xyz(xy: Sequence[float]) -> tuple[float, float, float]:
    """XYZ with ``Y = 1`` of chromaticity ``(x, y)``.

    ``xy`` is a pair of finite numbers with ``x >= 0``, ``y > 0``, ``x + y <= 1`` (a
    3-tuple, a string or NaN raises).

    Example:
        >>> [round(v, 4) for v in xy_to_xyz((0.3127, 0.329))]
        [0.9505, 1.0, 1.0891]
    """
    x, y = check_xy(xy, "xy")
    return x / y, 1.0, (1.0 - x - y) / y


def _as_matrix(m: Any) -> tuple[tuple[float, ...], ...]:
    arr = torch.as_tensor(
        np.asarray(m, dtype=np.float64) if not isinstance(m, torch.Tensor) else m.detach().cpu()
    )
    arr = arr.to(torch.float64)
    check_color_matrix(arr, "xyz_to_cam")
    if arr.ndim != 2:
        raise ValueError(f"xyz_to_cam: expected shape (3, 3), got {tuple(arr.shape)}")
    return tuple(tuple(float(v) for v in row) for row in arr.tolist())


def _as_range(r: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: expected (low, high), got {r!r}") from e
    if not 0 < lo <= hi < float("inf"):
        raise ValueError(f"{name}: expected 0 < low <= high, finite, got {(lo, hi)}")
    return lo, hi


@dataclasses.dataclass(frozen=True)
class CameraModel:
    """A camera as the ISP sees it (frozen and hashable; validated on construction).

    Attributes:
        name: free text.
        pattern: Bayer pattern of the sensor, e.g. ``"RGGB"``.
        bit_depth: ADC bits (1..16); ``white_level <= 2**bit_depth - 1``.
        black_level: scalar or 4 values (packed channels ``[R, Gr, Gb, B]``), >= 0.
        white_level: saturation value, > every black level.
        xyz_to_cam: ``3x3`` XYZ -> camera RGB (DNG ``ColorMatrix``), stored as nested
            tuples of floats; get a tensor with :meth:`color_matrix`.
        calibration_illuminant: the illuminant ``xyz_to_cam`` is normalised for.
        wb_red_range, wb_blue_range: plausible red and blue white-balance gains (relative
            to green) over the illuminants rawkit samples.
        noise_model: ``(shot_min, shot_max, read_slope, read_intercept, read_std)`` as in
            :func:`rawkit.isp.sample_noise_levels`.

    Example:
        >>> cam = CameraModel(name="toy", pattern="RGGB", bit_depth=10, black_level=64,
        ...                   white_level=1023, xyz_to_cam=[[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        >>> cam.color_matrix().shape
        torch.Size([3, 3])
    """

    name: str
    pattern: str
    bit_depth: int
    black_level: float | tuple[float, ...]
    white_level: float
    xyz_to_cam: Any
    calibration_illuminant: str = "D65"
    wb_red_range: tuple[float, float] = (1.0, 3.0)
    wb_blue_range: tuple[float, float] = (1.0, 3.0)
    noise_model: tuple[float, float, float, float, float] = BROOKS_NOISE

    def __post_init__(self) -> None:
        check_pattern(self.pattern, "pattern")
        if (
            isinstance(self.bit_depth, bool)
            or not isinstance(self.bit_depth, int)
            or not 1 <= self.bit_depth <= 16
        ):
            raise ValueError(f"bit_depth: expected an int in [1, 16], got {self.bit_depth!r}")
        black = self.black_level
        if isinstance(black, (list, tuple, np.ndarray, torch.Tensor)):
            black = tuple(float(v) for v in torch.as_tensor(black).reshape(-1).tolist())
            if len(black) not in (1, 4):
                raise ValueError(
                    f"black_level: expected a scalar or 4 values [R, Gr, Gb, B], got {len(black)}"
                )
        else:
            black = float(black)
        check_levels(black, self.white_level)
        if self.white_level > 2**self.bit_depth - 1:
            raise ValueError(
                f"white_level: expected <= 2**bit_depth - 1 = {2**self.bit_depth - 1}, got {self.white_level}"
            )
        object.__setattr__(self, "black_level", black)
        object.__setattr__(self, "white_level", float(self.white_level))
        object.__setattr__(self, "xyz_to_cam", _as_matrix(self.xyz_to_cam))
        object.__setattr__(self, "wb_red_range", _as_range(self.wb_red_range, "wb_red_range"))
        object.__setattr__(self, "wb_blue_range", _as_range(self.wb_blue_range, "wb_blue_range"))
        model = tuple(float(v) for v in self.noise_model)
        if len(model) != 5 or not 0 < model[0] <= model[1] or model[4] < 0:
            raise ValueError(
                f"noise_model: expected (shot_min, shot_max, slope, intercept, std), got {model}"
            )
        object.__setattr__(self, "noise_model", model)

    def color_matrix(
        self, *, dtype: torch.dtype = torch.float64, device: Any = None
    ) -> torch.Tensor:
        """``xyz_to_cam`` as a ``(3, 3)`` tensor."""
        return torch.tensor(self.xyz_to_cam, dtype=dtype, device=device)

    def neutral(self, xy: Sequence[float]) -> torch.Tensor:
        """Camera RGB ``(3,)`` (float64) of a white surface lit by an illuminant of chromaticity ``xy``."""
        return self.color_matrix() @ torch.tensor(xy_to_xyz(xy), dtype=torch.float64)

    def wb_gains(self, xy: Sequence[float]) -> torch.Tensor:
        """White-balance gains ``(3,)`` for an illuminant ``xy`` (LibRaw-normalised, min = 1)."""
        return gains_from_neutral(self.neutral(xy))


def _sample_illuminants() -> list[tuple[float, float]]:
    days = [daylight_xy(t) for t in np.linspace(4000.0, 7500.0, 8)]
    return [*days, *_FIXED_XY.values()]


@dataclasses.dataclass(frozen=True)
class CameraFit:
    """How well a built-in camera's 3x3 matrix reproduces its spectral sensitivities.

    Attributes:
        camera_to_xyz: the fitted ``3x3`` camera -> XYZ matrix (least squares).
        delta_e: ``{illuminant: (mean, max)}`` CIE DE2000 over the 24 ColorChecker patches.
    """

    camera_to_xyz: tuple[tuple[float, ...], ...]
    delta_e: dict[str, tuple[float, float]]


_SENSITIVITIES = {"nikon_d5100": "Nikon 5100 (NPL)", "sigma_sd_merrill": "Sigma SDMerill (NPL)"}
#: Names accepted by :func:`builtin_camera`.
BUILTIN_CAMERAS: tuple[str, ...] = tuple(_SENSITIVITIES)
_NOMINAL = {  # pattern, bit depth, black, white: nominal, not measured
    "nikon_d5100": ("RGGB", 14, 0.0, 16383.0, "Nikon D5100 (NPL sensitivities)"),
    "sigma_sd_merrill": (
        "BGGR",
        12,
        128.0,
        4095.0,
        "Sigma SD Merrill sensitivities, hypothetical Bayer",
    ),
}


@functools.cache
def builtin_camera_fit(name: str) -> CameraFit:
    """Fit a built-in camera's matrix from colour-science's spectral data (cached).

    See the module docstring for the method.  Imports colour-science (slow, once).

    Args:
        name: one of :data:`BUILTIN_CAMERAS`.

    Raises:
        ValueError: unknown name.
    """
    if name not in _SENSITIVITIES:
        raise ValueError(f"name: expected one of {list(BUILTIN_CAMERAS)}, got {name!r}")
    import warnings

    import numpy as np

    # ``import colour`` switches NumPy's global print options to the 1.13 legacy style;
    # don't let a rawkit call change how the user's arrays print.
    printoptions = np.get_printoptions()
    import colour

    np.set_printoptions(**printoptions)
    from colour.characterisation import (
        matrix_colour_correction,
        training_data_sds_to_RGB,
        training_data_sds_to_XYZ,
    )

    sens = colour.MSDS_CAMERA_SENSITIVITIES[_SENSITIVITIES[name]]
    shape = sens.shape
    cc = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # colour warns when it aligns spectral shapes
        patches = colour.colorimetry.sds_and_msds_to_msds(list(cc.values())).copy().align(shape)
        cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"].copy().align(shape)
        rgbs, xyzs = {}, {}
        for ill in ("D65", "A"):
            e = colour.SDS_ILLUMINANTS[ill].copy().align(shape)
            rgb, rgb_w = training_data_sds_to_RGB(patches, sens, e)
            # training_data_sds_to_RGB white-balances; undo it and scale like XYZ (Y_white = 1).
            rgbs[ill] = rgb / rgb_w / np.sum(cmfs.values[:, 1] * e.values)
            xyzs[ill] = training_data_sds_to_XYZ(
                patches, cmfs, e, chromatic_adaptation_transform=None
            )
        m = matrix_colour_correction(np.vstack(list(rgbs.values())), np.vstack(list(xyzs.values())))
        whites = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]
        delta_e = {}
        for ill in ("D65", "A"):
            wxy = whites[ill]
            ref = colour.XYZ_to_Lab(xyzs[ill], wxy)
            est = colour.XYZ_to_Lab(rgbs[ill] @ np.asarray(m).T, wxy)
            de = colour.delta_E(ref, est, method="CIE 2000")
            delta_e[ill] = (float(np.mean(de)), float(np.max(de)))
    return CameraFit(tuple(tuple(float(v) for v in row) for row in np.asarray(m)), delta_e)


@functools.cache
def builtin_camera(name: Literal["nikon_d5100", "sigma_sd_merrill"]) -> CameraModel:
    """A built-in :class:`CameraModel` derived from real spectral sensitivities (cached).

    Args:
        name: ``"nikon_d5100"`` or ``"sigma_sd_merrill"`` (:data:`BUILTIN_CAMERAS`).

    Returns:
        The model; its ``xyz_to_cam`` is the inverse of :func:`builtin_camera_fit`'s matrix
        normalised so that D65 white's largest camera channel is 1.  White-balance ranges
        cover daylight 4000-7500 K, CIE A, F2 and F11.

    Raises:
        ValueError: unknown name.

    Example:
        >>> cam = builtin_camera("nikon_d5100")
        >>> cam.pattern, cam.bit_depth
        ('RGGB', 14)
    """
    fit = builtin_camera_fit(name)
    xyz_to_cam = torch.linalg.inv(torch.tensor(fit.camera_to_xyz, dtype=torch.float64))
    white = xyz_to_cam @ torch.tensor(xy_to_xyz(_D65_XY), dtype=torch.float64)
    xyz_to_cam = xyz_to_cam / white.max()
    pattern, bits, black, white_level, label = _NOMINAL[name]
    base = CameraModel(label, pattern, bits, black, white_level, xyz_to_cam)
    gains = torch.stack([base.wb_gains(xy) for xy in _sample_illuminants()])
    rel = gains / gains[:, 1:2]
    red = (float(rel[:, 0].min()), float(rel[:, 0].max()))
    blue = (float(rel[:, 2].min()), float(rel[:, 2].max()))
    return dataclasses.replace(base, wb_red_range=red, wb_blue_range=blue)
