"""Benchmark cameras: how :func:`rawkit.data.synthesize` draws a scene's capture and render.

Two presets (:data:`DATA_PRESETS`):

``"default"`` -- **a camera like a real one** (DESIGN.md, "Data"): one camera model and
ONE fixed rendering per camera, as a real camera has:

* the render is LibRaw's pipeline (rawkit's :func:`rawkit.isp.process` with
  ``convention="libraw"``, or LibRaw itself through a DNG): camera white balance,
  bilinear demosaic, LibRaw's colour matrix, sRGB curve, highlights clipped; no lens
  shading, no digital gain (``exposure = 1``), no generic tone curve;
* then the camera's own **look** (:func:`benchmark_look`, :func:`rawkit.isp.apply_look`):
  a tone curve within 0.05 of the generic (identity) one and a saturation/hue adjustment
  of at most +15 % / 3 degrees, fixed per camera by a seed (the CRC-32 of the camera's
  name): a generic inverse does not know it;
* per scene: the illuminant from a mostly-daylight distribution (daylight with a
  correlated colour temperature uniform in [5000, 7000] K with probability 0.9,
  tungsten (CIE A) 0.05, fluorescent (CIE F11) 0.05); white balance = the camera's
  estimate of it, the true gains times a log-normal error (sigma 0.02) on red and blue;
* exposure: the scene reaches the sensor scaled by ``scene_exposure = exp(N(0.1, 0.1))``
  (about 0.9-1.35: a camera exposing a little to the right, as auto-exposure does), so
  the brightest parts of many scenes really clip at the sensor's white; the render
  applies no gain;
* noise at daylight ISOs: Brooks et al.'s model with the shot-noise level log-uniform in
  ``[1e-4, 2e-3]`` (their range goes up to 0.012, a dark high-ISO scene).

``"hard"`` -- rawkit's earlier design: every pair draws its own illuminant (20 %
tungsten, 20 % fluorescent), white balance, a digital exposure gain, lens shading and
the smoothstep tone curve (:func:`rawkit.isp.random_params`), and no camera look.  The
white-balanced sRGB reveals none of them, so metadata-free methods are capped far below
the oracle.
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import torch

from rawkit.isp import (
    CameraLook,
    CameraModel,
    ISPParams,
    camera_look,
    illuminant_xy,
    random_params,
    sample_noise_levels,
)

__all__ = [
    "DATA_PRESETS",
    "DEFAULT_NOISE",
    "Capture",
    "benchmark_look",
    "draw_capture",
    "look_seed",
]

#: The presets of :func:`rawkit.data.synthesize` (the first is the default).
DATA_PRESETS: tuple[str, ...] = ("default", "hard")

#: Noise model of the default preset (``(shot_min, shot_max, read_slope, read_intercept,
#: read_std)``, see :func:`rawkit.isp.sample_noise_levels`): Brooks et al.'s read-noise
#: relation with daylight shot-noise levels.
DEFAULT_NOISE: tuple[float, float, float, float, float] = (1e-4, 2e-3, 2.18, 1.20, 0.26)


@dataclasses.dataclass(frozen=True, eq=False)
class Capture:
    """One scene's capture and render settings (see the module docstring).

    Attributes:
        params: the :class:`~rawkit.isp.ISPParams` of the render (and of the unprocessing).
        scene_exposure: linear factor between the unprocessed photo and the light on the
            sensor, before the sensor clips (1 in ``"hard"``).
        look: the camera's look applied after the render, or None (``"hard"``).
    """

    params: ISPParams
    scene_exposure: float
    look: CameraLook | None


def look_seed(camera: CameraModel) -> int:
    """The seed of a camera's look: the CRC-32 of its name (``zlib.crc32``).

    Example:
        >>> from rawkit.isp import builtin_camera
        >>> look_seed(builtin_camera("nikon_d5100")) == zlib.crc32(builtin_camera("nikon_d5100").name.encode())
        True
    """
    return zlib.crc32(camera.name.encode("utf-8"))


def benchmark_look(camera: CameraModel) -> CameraLook:
    """The fixed look of ``camera`` in the default preset (:func:`rawkit.isp.camera_look`).

    Example:
        >>> from rawkit.isp import builtin_camera
        >>> look = benchmark_look(builtin_camera("nikon_d5100"))
        >>> look.max_tone_offset <= 0.05 and abs(look.saturation - 1) <= 0.2
        True
    """
    if not isinstance(camera, CameraModel):
        raise TypeError(f"camera: expected a rawkit.isp.CameraModel, got {type(camera).__name__}")
    return camera_look(seed=look_seed(camera), name=camera.name)


def _draw_default(camera: CameraModel, generator: torch.Generator) -> Capture:
    def u() -> float:
        return float(torch.rand((), generator=generator, dtype=torch.float64))

    def n() -> float:
        return float(torch.randn((), generator=generator, dtype=torch.float64))

    pick = u()
    if pick < 0.9:
        cct = 5000.0 + 2000.0 * u()
        xy, label = illuminant_xy("daylight", cct=cct), f"daylight {cct:.0f} K"
    elif pick < 0.95:
        xy, label = illuminant_xy("tungsten"), "tungsten (CIE A)"
    else:
        xy, label = illuminant_xy("fluorescent_f11"), "fluorescent (CIE F11)"
    gains = camera.wb_gains(xy)
    error = torch.tensor([math.exp(0.02 * n()), 1.0, math.exp(0.02 * n())], dtype=torch.float64)
    gains = gains * error
    gains = gains / gains.min()
    scene_exposure = math.exp(0.1 + 0.1 * n())
    shot, read = sample_noise_levels(generator=generator, model=DEFAULT_NOISE)
    params = ISPParams(
        wb_gains=gains,
        xyz_to_cam=camera.color_matrix(),
        shot_noise=shot,
        read_noise=read,
        illuminant=label,
    )
    return Capture(params=params, scene_exposure=scene_exposure, look=benchmark_look(camera))


def draw_capture(camera: CameraModel, *, generator: torch.Generator, preset: str) -> Capture:
    """Draw one scene's :class:`Capture` for ``preset`` (see the module docstring).

    Args:
        camera: the camera model.
        generator: a CPU ``torch.Generator`` (same seed, same capture).
        preset: one of :data:`DATA_PRESETS`.

    Example:
        >>> import torch
        >>> from rawkit.isp import builtin_camera
        >>> c = draw_capture(builtin_camera("nikon_d5100"), generator=torch.Generator().manual_seed(0), preset="default")
        >>> c.params.exposure, c.params.tone, c.params.lens_shading, c.look is not None
        (1.0, False, 0.0, True)
    """
    if not isinstance(camera, CameraModel):
        raise TypeError(f"camera: expected a rawkit.isp.CameraModel, got {type(camera).__name__}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    if preset == "default":
        return _draw_default(camera, generator)
    if preset == "hard":
        return Capture(
            params=random_params(camera, generator=generator), scene_exposure=1.0, look=None
        )
    raise ValueError(f"preset: expected one of {list(DATA_PRESETS)}, got {preset!r}")
