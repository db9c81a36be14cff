"""Speed of :func:`rawkit.isp.process` and :func:`rawkit.isp.unprocess` vs LibRaw's render.

Each figure is a ratio to LibRaw's full render (``rawpy.imread(dng).postprocess(...)`` with
LINEAR demosaic, camera white balance, sRGB gamma, 16-bit output) of a mosaic of the same
size, timed interleaved in the same run.  LibRaw's time includes reading the
(uncompressed) DNG from a temporary directory, as a real render does.  The note column
gives the largest difference between rawkit's ``process`` and LibRaw's image (away from
the 2-pixel border), which checks that both render the same thing.
"""

from __future__ import annotations

import math
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from rawkit.bench.harness import SpeedRecord, compare, register_speed

__all__ = ["isp_suite"]

_CFA_CODES = {"R": 0, "G": 1, "B": 2}


def _rational(v: float, den: int = 10000) -> tuple[int, int]:
    f = Fraction(v).limit_denominator(den)
    return f.numerator, f.denominator


def _write_dng(path: Path, mosaic_u16: np.ndarray, camera, neutral: np.ndarray) -> None:
    """A minimal uncompressed CFA DNG that LibRaw reads (private to this benchmark)."""
    import tifffile

    cm = [x for v in np.asarray(camera.xyz_to_cam).ravel() for x in _rational(float(v))]
    asn = [x for v in neutral for x in _rational(float(v))]
    black = camera.black_level if isinstance(camera.black_level, float) else camera.black_level[0]
    extratags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, tuple(_CFA_CODES[c] for c in camera.pattern), True),  # CFAPattern
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, "rawkit bench camera", True),  # UniqueCameraModel
        (50714, "I", 1, (int(black),), True),  # BlackLevel
        (50717, "I", 1, (int(camera.white_level),), True),  # WhiteLevel
        (50721, 10, 9, tuple(cm), True),  # ColorMatrix1 (SRATIONAL)
        (50778, "H", 1, (21,), True),  # CalibrationIlluminant1 = D65
        (50728, 5, 3, tuple(asn), True),  # AsShotNeutral (RATIONAL)
    ]
    tifffile.imwrite(
        path, mosaic_u16, photometric="cfa", subfiletype=0, extratags=extratags, compression=None
    )


@register_speed("isp")
def isp_suite(*, megapixels: float, repeats: int) -> list[SpeedRecord]:
    """Time ``process`` and ``unprocess`` on a ~``megapixels`` MP mosaic against LibRaw."""
    import rawpy

    from rawkit.isp import builtin_camera, default_params, denormalize_levels, process, unprocess

    cam = builtin_camera("nikon_d5100")
    params = default_params(cam)
    w = 2 * max(1, round(math.sqrt(megapixels * 1e6 * 4 / 3) / 2))
    h = 2 * max(1, round(w * 3 / 4 / 2))
    size = f"{h}x{w}"
    rng = np.random.default_rng(0)
    # A smooth scene (so demosaicing differences stay small) with some texture.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    srgb = np.stack(
        [0.5 + 0.4 * np.sin(xx / 97 + c) * np.cos(yy / 131 - c) for c in range(3)]
    ).astype(np.float32)
    srgb += rng.normal(0, 0.01, srgb.shape).astype(np.float32)
    srgb = np.clip(srgb, 0, 1)
    raw, _ = unprocess(srgb, camera=cam, params=params)
    v = denormalize_levels(raw, black_level=cam.black_level, white_level=cam.white_level)
    neutral = (1.0 / params.wb_gains).numpy()
    neutral = neutral / neutral.max()
    raw_t = torch.from_numpy(v)
    srgb_t = torch.from_numpy(srgb)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.dng"
        _write_dng(path, v[0], cam, neutral)

        def libraw() -> np.ndarray:
            with rawpy.imread(str(path)) as r:
                return r.postprocess(
                    use_camera_wb=True,
                    no_auto_bright=True,
                    gamma=(2.4, 12.92),
                    output_bps=16,
                    demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR,
                    adjust_maximum_thr=0,
                )

        ours = process(raw_t, camera=cam, params=params).numpy()
        theirs = libraw().astype(np.float32).transpose(2, 0, 1) / 65535.0
        diff = (
            float(np.abs(ours - theirs)[:, 2:-2, 2:-2].max())
            if theirs.shape == ours.shape
            else float("nan")
        )
        note = f"max |rawkit - LibRaw| = {diff:.2e}"
        with torch.inference_mode():
            recs = [
                compare("isp.process float32", size, lambda: process(raw_t, camera=cam, params=params),
                        "LibRaw render (rawpy)", libraw, repeats=repeats, note=note, goal=1.0),
                compare("isp.unprocess float32", size, lambda: unprocess(srgb_t, camera=cam, params=params),
                        "LibRaw render (rawpy)", libraw, repeats=repeats, goal=1.0),
            ]  # fmt: skip
    return recs
