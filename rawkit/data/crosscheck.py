"""Cross-check rawkit's ISP against LibRaw's, the ISP that nobody here wrote.

:func:`libraw_crosscheck` turns a bundled photo into a DNG and compares two renders of
that file, each using only what the file says (its mosaic, pattern, levels,
``AsShotNeutral`` and ``ColorMatrix1``):

1. unprocess the photo with the camera's white balance for the chosen scene light
   (``neutral="daylight"``: D65; ``"tungsten"``: CIE A), no tone curve, sRGB transfer;
   add sensor noise (so that black clipping matters), quantise, and write the DNG
   (:func:`rawkit.io.write_dng`);
2. LibRaw renders it (:func:`rawkit.data.libraw_render`: camera white balance, LINEAR
   demosaic, sRGB curve, 16 bits, highlights clipped, ``adjust_maximum_thr=0``);
3. rawkit reads it back (:func:`rawkit.io.read_raw`, :func:`rawkit.io.read_camera`) and
   renders it with :func:`rawkit.isp.process` from the file's metadata, once per colour
   convention;
4. PSNR over the whole image (borders included), data range 1.

``convention="libraw"`` must match LibRaw: at least 60 dB; measured 76-90 dB at full
size on every bundled photo with both built-in cameras, the rest being LibRaw's integer
arithmetic.  ``"dng"`` matches it for daylight and differs under tungsten (16-35 dB: the
two conventions disagree there by design).
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from rawkit.data.synth import capture_raw, libraw_render, resolve_camera, write_pair_dng
from rawkit.io import read_camera, read_raw
from rawkit.isp import (
    CameraModel,
    ISPParams,
    gains_from_neutral,
    illuminant_xy,
    process,
)

__all__ = ["NEUTRALS", "Neutral", "libraw_crosscheck"]

#: Scene lights of the LibRaw cross-check.
Neutral = Literal["daylight", "tungsten"]
#: Scene lights of the cross-check and their chromaticities (D65 and CIE A).
NEUTRALS: dict[str, tuple[float, float]] = {
    "daylight": (0.31270, 0.32900),
    "tungsten": illuminant_xy("tungsten"),
}


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR for data range 1 (``rawkit.metrics`` comes after ``data`` in the import order)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def libraw_crosscheck(
    photo: str | np.ndarray,
    *,
    camera: CameraModel | str = "nikon_d5100",
    neutral: Neutral = "daylight",
    max_side: int | None = None,
    noise: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Render a DNG made from ``photo`` with LibRaw and with rawkit; compare (see module).

    Args:
        photo: a bundled photo's name or sRGB ``(3, H, W)`` float in ``[0, 1]`` (``H, W``
            even, at least 22).
        camera: a :class:`~rawkit.isp.CameraModel` or a built-in camera's name.
        neutral: the scene light, ``"daylight"`` (D65) or ``"tungsten"`` (CIE A).
        max_side: shrink a bundled photo to this longer side first.
        noise: add sensor noise (read noise 1e-4, shot noise 1e-3) before quantising.
        seed: seed of the noise.

    Returns:
        A dict with ``photo``, ``camera``, ``neutral``, ``height``, ``width``,
        ``psnr_libraw`` and ``psnr_dng`` (dB, rawkit's render in each convention vs
        LibRaw's), ``max_abs_libraw`` (largest per-pixel difference of the ``"libraw"``
        render), ``seconds_libraw`` and ``seconds_rawkit`` (render times).

    Raises:
        ValueError: unknown ``neutral`` or photo, bad shapes.

    Example:
        >>> r = libraw_crosscheck("coffee", neutral="tungsten", max_side=96)
        >>> r["psnr_libraw"] > 60, r["psnr_dng"] < 45
        (True, True)
    """
    if neutral not in NEUTRALS:
        raise ValueError(f"neutral: expected one of {list(NEUTRALS)}, got {neutral!r}")
    cam = resolve_camera(camera)
    if isinstance(photo, str):
        from rawkit.data.photos import load_photo

        srgb, name = load_photo(photo, max_side=max_side), photo
    else:
        srgb, name = np.ascontiguousarray(photo, dtype=np.float32), ""
    xy = NEUTRALS[neutral]
    params = ISPParams(
        wb_gains=cam.wb_gains(xy),
        xyz_to_cam=cam.color_matrix(),
        shot_noise=1e-3,
        read_noise=1e-4,
        illuminant=neutral,
    )
    raw = capture_raw(
        srgb.astype(np.float64),
        camera=cam,
        params=params,
        generator=torch.Generator().manual_seed(seed),
        noise=noise,
        convention="libraw",
    )

    with tempfile.TemporaryDirectory(prefix="rawkit-crosscheck-") as d:
        path = write_pair_dng(Path(d) / "crosscheck.dng", raw, cam, params)
        t0 = time.perf_counter()
        theirs = libraw_render(path)
        t1 = time.perf_counter()
        img = read_raw(path)
        file_camera = read_camera(path)
    # Everything below comes from the file only.
    file_params = ISPParams(
        wb_gains=gains_from_neutral(list(img.as_shot_neutral or (1.0, 1.0, 1.0))),
        xyz_to_cam=torch.tensor(img.color_matrix, dtype=torch.float64),
    )
    mosaic = torch.from_numpy(img.mosaic).to(torch.float64)
    t2 = time.perf_counter()
    ours = process(mosaic, camera=file_camera, params=file_params, convention="libraw").numpy()
    t3 = time.perf_counter()
    ours_dng = process(mosaic, camera=file_camera, params=file_params, convention="dng").numpy()
    return {
        "photo": name,
        "camera": cam.name,
        "neutral": neutral,
        "height": int(srgb.shape[-2]),
        "width": int(srgb.shape[-1]),
        "psnr_libraw": _psnr(ours, theirs),
        "psnr_dng": _psnr(ours_dng, theirs),
        "max_abs_libraw": float(np.abs(ours - theirs).max()),
        "seconds_libraw": t1 - t0,
        "seconds_rawkit": t3 - t2,
    }
