"""The fused per-pixel chain (rawkit.isp._fused) against the op-by-op chain and exact curves."""

import dataclasses

import numpy as np
import pytest
import torch

import rawkit.isp._fused as fused
from rawkit.isp import (
    CameraModel,
    builtin_camera,
    default_params,
    process,
    srgb_eotf,
    srgb_oetf,
    unprocess,
)
from rawkit.testing.isp import ISP_TOLERANCES

CAM = builtin_camera("nikon_d5100")
#: The fused chain (float32 in memory, float64 within a pixel) against the op chain run in
#: float64 on the same input: float32 rounding of the output and of the camera values,
#: amplified by the slope of the sRGB curve (up to 12.92).
ATOL, RTOL = 5e-6, 1e-6
#: ... and where the inverse smoothstep runs: its slope is unbounded next to 0 and 1, so
#: the sRGB table's error (< 5e-7) grows there as for any float32 evaluation.
ILL = ISP_TOLERANCES[torch.float32]["ill_conditioned"]


def _op_by_op(monkeypatch: pytest.MonkeyPatch, fn, *args, **kw):
    """``fn`` with the fused path switched off: every op runs on its own."""
    with monkeypatch.context() as m:
        m.setattr(fused, "fusable", lambda *a: False)
        return fn(*args, **kw)


def _params(**changes):
    p = default_params(CAM)
    gains = torch.tensor([2.1, 1.0, 1.7], dtype=torch.float64)
    return dataclasses.replace(p, wb_gains=gains, exposure=1.15, **changes)


VARIANTS = [
    {},
    {"tone": True},
    {"clip": False},
    {"transfer": "linear"},
    {"color_correction": False, "tone": True},
    {"white_balance": False},
    {"safe_gain_threshold": 0.5, "tone": True},
]


@pytest.mark.parametrize("changes", VARIANTS)
@pytest.mark.parametrize("layout", ["mosaic", "packed"])
@pytest.mark.parametrize("convention", ["libraw", "dng"])
def test_process_fused_equals_op_by_op(monkeypatch, changes, layout, convention):
    params = _params(**changes)
    g = torch.Generator().manual_seed(1)
    shape = (2, 1, 38, 22) if layout == "mosaic" else (2, 4, 19, 11)
    raw = torch.rand(shape, generator=g) * 1.2  # some values clip after the gains
    assert fused.fusable(raw, params, layout)
    kw = {"camera": CAM, "params": params, "layout": layout, "convention": convention}
    ours = process(raw, **kw)
    ref = process(raw.double(), **kw).float()  # float64: the op chain
    assert ours.dtype == torch.float32 and ours.shape == ref.shape
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=RTOL)
    chain32 = _op_by_op(monkeypatch, process, raw, **kw)  # float32 op chain: as close
    torch.testing.assert_close(chain32, ref, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("black", [128.0, (120.0, 130.0, 125.0, 140.0)])
@pytest.mark.parametrize("pattern", ["RGGB", "GBRG"])
def test_process_fused_integer_counts_with_per_site_black(monkeypatch, black, pattern):
    cam = CameraModel(name="toy", pattern=pattern, bit_depth=12, black_level=black,
                      white_level=4095.0, xyz_to_cam=CAM.xyz_to_cam)  # fmt: skip
    params = default_params(cam)
    v = torch.randint(140, 4096, (1, 70, 12), generator=torch.Generator().manual_seed(2))
    ours = process(v, camera=cam, params=params)
    ref = _op_by_op(monkeypatch, process, v, camera=cam, params=params)
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=RTOL)
    with pytest.raises(ValueError, match="white_level"):
        process(torch.full((1, 4, 4), 5000, dtype=torch.int32), camera=cam, params=params)


@pytest.mark.parametrize("changes", VARIANTS)
@pytest.mark.parametrize("layout", ["mosaic", "packed"])
@pytest.mark.parametrize("convention", ["libraw", "dng"])
def test_unprocess_fused_equals_op_by_op(monkeypatch, changes, layout, convention):
    params = _params(**changes)
    srgb = torch.rand(2, 3, 36, 20, generator=torch.Generator().manual_seed(3))
    srgb[..., :4, :] = 1.0  # white: the safe gains keep it white
    srgb[..., 4:6, :] = 0.0
    assert fused.fusable(srgb, params, layout)
    kw = {"camera": CAM, "params": params, "layout": layout, "convention": convention}
    ours, p = unprocess(srgb, **kw)
    ref = unprocess(srgb.double(), **kw)[0].float()  # float64: the op chain
    assert p is params and ours.dtype == torch.float32 and ours.shape == ref.shape
    atol = ILL if params.tone else ATOL
    torch.testing.assert_close(ours, ref, atol=atol, rtol=RTOL)
    if not params.tone:  # the float32 op chain: as close (with the tone curve it is not:
        # its float32 decoding of 1.0 is a hair below 1, which the inverse curve magnifies)
        chain32, _ = _op_by_op(monkeypatch, unprocess, srgb, **kw)
        torch.testing.assert_close(chain32, ref, atol=atol, rtol=RTOL)


def test_bands_on_two_threads_equal_one_thread(monkeypatch):
    monkeypatch.setattr(fused, "_BAND_ROWS", 6)
    params = _params(tone=True)
    raw = torch.rand(1, 1, 50, 16, generator=torch.Generator().manual_seed(4))
    srgb = torch.rand(3, 50, 16, generator=torch.Generator().manual_seed(5))
    one = process(raw, camera=CAM, params=params), unprocess(srgb, camera=CAM, params=params)[0]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        two = process(raw, camera=CAM, params=params), unprocess(srgb, camera=CAM, params=params)[0]
    finally:
        torch.set_num_threads(before)
    assert torch.get_num_threads() == before
    assert torch.equal(one[0], two[0]) and torch.equal(one[1], two[1])
    ref = process(raw.double(), camera=CAM, params=params).float()
    torch.testing.assert_close(one[0], ref, atol=ATOL, rtol=RTOL)


def test_not_fused_where_it_would_differ():
    p = default_params(CAM)
    x = torch.rand(1, 8, 8)
    assert fused.fusable(x, p, "mosaic")
    assert not fused.fusable(x.double(), p, "mosaic")  # float64 keeps float64 arithmetic
    assert not fused.fusable(x, p, "rgb")
    assert not fused.fusable(x, p.replace(lens_shading=0.2), "mosaic")
    assert not fused.fusable(x, p.replace(demosaic="malvar"), "mosaic")
    assert not fused.fusable(x, p.replace(transfer="gamma"), "mosaic")
    assert not fused.fusable(x.requires_grad_(True), p, "mosaic")


def test_srgb_tables_within_1e6_of_the_exact_curves():
    """Float64 references by the standard's formulas, dense near the knees and up to 1,
    through the compiled row loops (float32 in, float32 out)."""
    rng = np.random.default_rng(0)
    knee = 0.0031308
    x = np.concatenate([rng.random(300_000), knee + rng.random(300_000) * 1e-3,
                        np.linspace(0, 1, 100_001), [knee, np.nextafter(knee, 1), 1.0]])  # fmt: skip
    x = x.astype(np.float32)
    x64 = x.astype(np.float64)
    exact = np.where(x64 <= knee, 12.92 * x64, 1.055 * x64 ** (1 / 2.4) - 0.055)
    ours = np.empty_like(x)
    fused.encode_row(x, ours)
    assert np.abs(ours - exact).max() < 5e-7
    vk = 12.92 * knee
    v = np.concatenate([x, (vk + rng.random(100_000) * 1e-3).astype(np.float32)])
    v64 = v.astype(np.float64)
    exact_d = np.where(v64 <= vk, v64 / 12.92, ((v64 + 0.055) / 1.055) ** 2.4)
    ours_d = np.empty_like(v)
    fused.decode_row(v, ours_d)
    assert np.abs(ours_d - exact_d).max() < 5e-7
    # beyond 1 (clip off) the power law itself, as the ops have it
    big = np.array([1.0, 1.5, 3.0, 0.5], np.float32)
    for row, op in ((fused.encode_row, srgb_oetf), (fused.decode_row, srgb_eotf)):
        out = np.empty_like(big)
        row(big, out)
        np.testing.assert_allclose(out, op(big.astype(np.float64)), rtol=2e-7, atol=2e-7)
