"""Hypothesis strategies for ISP testing: camera models, ISP parameters, sRGB images.

Use them to property-test your own ISP against rawkit's inverse::

    from hypothesis import given
    from rawkit.testing.isp import camera_models, isp_params, srgb_images

    @given(data=st.data())
    def test_my_isp(data):
        cam = data.draw(camera_models())
        params = data.draw(isp_params(cam))
        y = data.draw(srgb_images(clipped=False))
        ...

:data:`ISP_TOLERANCES` states, once, the float32 / float64 tolerances that rawkit's ISP
tests use (and that rawkit guarantees).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rawkit.cfa.pattern import PATTERNS
from rawkit.isp import BUILTIN_CAMERAS, CameraModel, ISPParams, builtin_camera

__all__ = ["ISP_TOLERANCES", "camera_models", "isp_params", "isp_tolerance", "srgb_images"]

#: Absolute tolerances per dtype, the one place rawkit's ISP tests take them from.
#:
#: * ``"op"``: an op and its inverse (white balance, colour matrix, lens shading,
#:   exposure, sRGB and gamma curves, ``smoothstep(inverse_smoothstep(y))``), values in [0, 1];
#: * ``"ill_conditioned"``: ``inverse_smoothstep(smoothstep(x))``: the curve is flat at 0 and 1,
#:   so ``x`` is only determined to about ``sqrt(eps)`` there;
#: * ``"roundtrip"``: ``process(unprocess(y))`` vs ``y`` on :func:`rawkit.isp.roundtrip_mask`
#:   (several ops and a colour matrix with condition number up to ~20 in a row);
#: * ``"colour"``: agreement with colour-science's sRGB curves.
ISP_TOLERANCES: dict[torch.dtype, dict[str, float]] = {
    torch.float32: {"op": 2e-6, "ill_conditioned": 1e-3, "roundtrip": 2e-5, "colour": 1e-6},
    torch.float64: {"op": 1e-12, "ill_conditioned": 1e-7, "roundtrip": 1e-11, "colour": 1e-12},
}


@st.composite
def camera_models(draw: st.DrawFn, *, builtin_only: bool = False) -> CameraModel:
    """Camera models: a built-in one, or one whose colour matrix is a built-in's perturbed.

    The random models draw a pattern, a bit depth in 10..16, a black level below 1/16 of
    the range (scalar or four per-channel values), ``white_level = 2**bits - 1``, and
    ``xyz_to_cam = D @ (I + E) @ M`` with ``M`` a built-in matrix, ``D`` a positive
    diagonal in [0.5, 2] and ``E`` entries in [-0.05, 0.05] (so it stays a plausible,
    well-conditioned camera).  The first draw imports colour-science (a few seconds).

    Args:
        builtin_only: only draw the built-in models.
    """
    base = builtin_camera(draw(st.sampled_from(BUILTIN_CAMERAS)))
    if builtin_only or draw(st.booleans()):
        return base
    bits = draw(st.integers(10, 16))
    white = 2**bits - 1
    black_max = white // 16
    if draw(st.booleans()):
        black: float | tuple[float, ...] = float(draw(st.integers(0, black_max)))
    else:
        black = tuple(float(draw(st.integers(0, black_max))) for _ in range(4))
    d = np.diag(draw(hnp.arrays(np.float64, 3, elements=st.floats(0.5, 2.0))))
    e = draw(hnp.arrays(np.float64, (3, 3), elements=st.floats(-0.05, 0.05)))
    m = d @ (np.eye(3) + e) @ np.asarray(base.xyz_to_cam)
    return CameraModel(
        name="hypothesis camera",
        pattern=draw(st.sampled_from(PATTERNS)),
        bit_depth=bits,
        black_level=black,
        white_level=white,
        xyz_to_cam=m,
        wb_red_range=base.wb_red_range,
        wb_blue_range=base.wb_blue_range,
    )


@st.composite
def isp_params(
    draw: st.DrawFn,
    camera: CameraModel,
    *,
    tone: bool | None = None,
    transfer: Literal["srgb", "gamma", "linear"] | None = None,
    clip: bool = True,
) -> ISPParams:
    """ISP parameters plausible for ``camera``.

    White-balance gains inside the camera's ranges (green 1, then normalised so the
    smallest is 1, as LibRaw does), exposure in [0.8, 2], lens shading in [0, 0.5],
    demosaic bilinear or Malvar, and, unless fixed by the arguments, tone curve on/off
    and transfer ``"srgb"``/``"gamma"`` (gamma in [1.8, 2.6])/``"linear"``.

    Args:
        camera: the camera the parameters are for.
        tone, transfer: fix these (None: drawn).
        clip: the ``clip`` switch (default True).
    """
    r = draw(st.floats(*camera.wb_red_range))
    b = draw(st.floats(*camera.wb_blue_range))
    gains = torch.tensor([r, 1.0, b], dtype=torch.float64)
    return ISPParams(
        wb_gains=gains / gains.min(),
        xyz_to_cam=camera.color_matrix(),
        exposure=draw(st.floats(0.8, 2.0)),
        lens_shading=draw(st.floats(0.0, 0.5)),
        demosaic=draw(st.sampled_from(["bilinear", "malvar"])),
        tone=draw(st.booleans()) if tone is None else tone,
        transfer=draw(st.sampled_from(["srgb", "gamma", "linear"]))
        if transfer is None
        else transfer,
        gamma=draw(st.floats(1.8, 2.6)),
        clip=clip,
    )


@st.composite
def srgb_images(
    draw: st.DrawFn,
    *,
    clipped: bool | None = None,
    dtype: Literal["float32", "float64"] = "float32",
    batch: tuple[int, ...] = (),
    min_side: int = 2,
    max_side: int = 16,
    backend: Literal["numpy", "torch"] = "numpy",
) -> np.ndarray | torch.Tensor:
    """sRGB images ``(*batch, 3, H, W)`` in [0, 1], ``H, W`` even, with or without clipped highlights.

    Args:
        clipped: True: at least one pixel is saturated white ``(1, 1, 1)`` (a clipped
            highlight) and some others have one channel at exactly 1; False: all values in
            [0, 0.85] (no highlights; out-of-gamut colours can still clip in the camera, see
            :func:`rawkit.isp.roundtrip_mask`); None: anything in [0, 1].
        dtype, batch, min_side, max_side, backend: as the names say (keep sides small).
    """
    h = 2 * draw(st.integers(max(1, min_side // 2), max_side // 2))
    w = 2 * draw(st.integers(max(1, min_side // 2), max_side // 2))
    width = 32 if dtype == "float32" else 64
    top = float(np.float32(0.85)) if clipped is False else 1.0  # exactly representable
    elements = st.floats(0.0, top, width=width)
    arr = draw(hnp.arrays(np.dtype(dtype), (*batch, 3, h, w), elements=elements))
    if clipped:
        y, x = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        arr[..., :, y, x] = 1.0
        y, x, c = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1)), draw(st.integers(0, 2))
        arr[..., c, y, x] = 1.0
    return torch.from_numpy(arr) if backend == "torch" else arr


def isp_tolerance(dtype: torch.dtype | np.dtype, kind: str = "op") -> float:
    """The absolute tolerance of :data:`ISP_TOLERANCES` for ``dtype`` and ``kind``.

    Example:
        >>> isp_tolerance(torch.float64, "roundtrip")
        1e-11
    """
    if isinstance(dtype, np.dtype):
        dtype = torch.from_numpy(np.empty(0, dtype)).dtype
    if dtype not in ISP_TOLERANCES:
        raise ValueError(f"dtype: expected float32 or float64, got {dtype}")
    table = ISP_TOLERANCES[dtype]
    if kind not in table:
        raise ValueError(f"kind: expected one of {list(table)}, got {kind!r}")
    return table[kind]
