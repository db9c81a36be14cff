import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.cfa import pack
from rawkit.isp import (
    GAMMA_EPS,
    ISPParams,
    builtin_camera,
    default_params,
    denormalize_levels,
    preview,
    process,
    random_params,
    roundtrip_mask,
    unprocess,
)
from rawkit.testing import assert_numpy_torch_agree
from rawkit.testing.isp import camera_models, isp_params, srgb_images
from rawkit.testing.isp import isp_tolerance as tol

DTYPES = [torch.float32, torch.float64]
FAST = settings(max_examples=20, deadline=None)
CAM = builtin_camera("nikon_d5100")


@FAST
@given(dt=st.sampled_from(["float32", "float64"]), clipped=st.booleans(), data=st.data())
def test_process_of_unprocess_on_mask(dt, clipped, data):
    cam = data.draw(camera_models())
    params = data.draw(isp_params(cam))
    y = torch.as_tensor(data.draw(srgb_images(clipped=clipped, dtype=dt)))
    raw, used = unprocess(y, camera=cam, params=params, layout="rgb")
    assert used is params
    assert float(raw.min()) >= 0 and float(raw.max()) <= 1
    back = process(raw, camera=cam, params=params, layout="rgb")
    mask = roundtrip_mask(y, camera=cam, params=params).expand_as(y)
    torch.testing.assert_close(back[mask], y[mask], atol=tol(y.dtype, "roundtrip"), rtol=0)


def test_white_survives_and_mask_marks_safe_gains():
    y = torch.ones(3, 4, 4, dtype=torch.float64)
    y[:, :2] = 0.97  # bright (linear 0.93 > 0.9): safe gains differ from plain gains
    y[:, 3] = 0.3
    p = default_params(CAM)
    raw, _ = unprocess(y, camera=CAM, params=p, layout="rgb")
    mask = roundtrip_mask(y, camera=CAM, params=p)
    assert mask[0, 3].all() and not mask[0, 0].any()
    back = process(raw, camera=CAM, params=p, layout="rgb")
    torch.testing.assert_close(back[:, 2:], y[:, 2:], atol=1e-12, rtol=0)  # white: exact again


@FAST
@given(dt=st.sampled_from(DTYPES), layout=st.sampled_from(["mosaic", "packed"]), data=st.data())
def test_flat_images_round_trip_through_the_mosaic(dt, layout, data):
    cam = data.draw(camera_models())
    params = data.draw(isp_params(cam))
    colour = data.draw(st.tuples(*[st.floats(0.05, 0.8)] * 3))
    y = torch.tensor(colour, dtype=dt)[:, None, None].expand(3, 8, 10).contiguous()
    raw, _ = unprocess(y, camera=cam, params=params, layout=layout)
    back = process(raw, camera=cam, params=params, layout=layout)
    mask = roundtrip_mask(y, camera=cam, params=params).expand_as(y)
    torch.testing.assert_close(back[mask], y[mask], atol=tol(dt, "roundtrip"), rtol=0)


@FAST
@given(dt=st.sampled_from(DTYPES), data=st.data())
def test_unprocess_of_process_on_unclipped(dt, data):
    cam = data.draw(camera_models())
    params = data.draw(isp_params(cam))
    x = torch.as_tensor(data.draw(srgb_images(dtype="float64"))).to(dt) * 0.5
    y = process(x, camera=cam, params=params, layout="rgb")
    # Nothing clipped: the linear output is the same with and without clipping (compared
    # before the transfer function, whose gamma variant clamps at 1e-8 by itself).
    lin = params.replace(transfer="linear", tone=False)
    clipped = process(x, camera=cam, params=lin, layout="rgb")
    free = process(x, camera=cam, params=lin.replace(clip=False), layout="rgb")
    unclipped = (clipped == free).all(dim=-3, keepdim=True)
    if params.transfer == "gamma":  # gamma_encode floors linear values at GAMMA_EPS
        unclipped &= (clipped >= GAMMA_EPS).all(dim=-3, keepdim=True)
    back, _ = unprocess(y.clamp(0, 1), camera=cam, params=params, layout="rgb")
    mask = (unclipped & roundtrip_mask(y.clamp(0, 1), camera=cam, params=params)).expand_as(x)
    kind = "ill_conditioned" if params.tone else "roundtrip"
    torch.testing.assert_close(
        back[mask], x[mask], atol=tol(dt, kind), rtol=1e-4 if dt == torch.float32 else 1e-9
    )


def test_layouts_agree():
    y = torch.rand(3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    p = random_params(CAM, generator=torch.Generator().manual_seed(1))
    m, _ = unprocess(y, camera=CAM, params=p)
    pk, _ = unprocess(y, camera=CAM, params=p, layout="packed")
    torch.testing.assert_close(pk, pack(m, pattern=CAM.pattern), atol=0, rtol=0)
    torch.testing.assert_close(
        process(m, camera=CAM, params=p), process(pk, camera=CAM, params=p, layout="packed")
    )


def test_integer_input_uses_camera_levels():
    cam = builtin_camera("sigma_sd_merrill")  # black 128, white 4095
    raw = torch.rand(1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    v = denormalize_levels(raw, black_level=cam.black_level, white_level=cam.white_level)
    a = process(v, camera=cam)
    assert a.dtype == torch.float32
    ref = (v.numpy().astype(np.float64) - 128.0) / (4095.0 - 128.0)  # levels by hand
    b = process(torch.from_numpy(ref).float(), camera=cam)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_random_params_seeded_and_plausible():
    a = random_params(CAM, generator=torch.Generator().manual_seed(7))
    b = random_params(CAM, generator=torch.Generator().manual_seed(7))
    assert (
        torch.equal(a.wb_gains, b.wb_gains)
        and a.exposure == b.exposure
        and a.illuminant == b.illuminant
    )
    g = torch.Generator().manual_seed(0)
    ps = [random_params(CAM, generator=g) for _ in range(200)]
    kinds = [p.illuminant.split()[0] for p in ps]
    assert (
        0.45 < kinds.count("daylight") / 200 < 0.75
        and "tungsten" in kinds
        and "fluorescent" in kinds
    )
    assert all(float(p.wb_gains.min()) == pytest.approx(1.0) for p in ps)
    assert np.mean([p.exposure > 1 for p in ps]) > 0.9  # most renders push highlights over white


def test_unprocess_param_resolution():
    y = torch.full((3, 4, 4), 0.4)
    _, p = unprocess(y, camera=CAM)
    assert p.illuminant == "D65" and not p.tone
    _, q = unprocess(y, camera=CAM, generator=torch.Generator().manual_seed(0))
    assert q.tone
    with pytest.raises(ValueError, match="generator"):
        unprocess(y, camera=CAM, params=p, generator=torch.Generator())


def test_libraw_white_balance_convention():
    p = default_params(CAM)
    assert float(p.wb_gains.min()) == pytest.approx(1.0)
    gray = CAM.neutral((0.3127, 0.3290)).float()[:, None, None].expand(3, 4, 4) * 0.2
    out = process(gray.contiguous(), camera=CAM, params=p, layout="rgb")
    assert float(out.std(dim=0).max()) < 1e-5  # a gray D65 surface renders gray


def test_numpy_torch_agree():
    y = np.random.default_rng(0).random((3, 6, 6))
    p = default_params(CAM)
    assert_numpy_torch_agree(lambda a: unprocess(a, camera=CAM, params=p)[0], y)
    assert_numpy_torch_agree(
        process, np.random.default_rng(0).random((1, 6, 6)), camera=CAM, params=p
    )


def test_gradcheck():
    p = ISPParams(
        wb_gains=torch.tensor([1.8, 1.0, 1.4]), xyz_to_cam=CAM.color_matrix(), tone=True, clip=False
    )
    raw = (torch.rand(1, 4, 4, dtype=torch.float64) * 0.3 + 0.1).requires_grad_(True)
    torch.autograd.gradcheck(lambda r: process(r, camera=CAM, params=p), (raw,))
    y = (torch.rand(3, 4, 4, dtype=torch.float64) * 0.6 + 0.2).requires_grad_(True)
    torch.autograd.gradcheck(lambda a: unprocess(a, camera=CAM, params=p)[0], (y,))


def test_preview():
    raw = torch.rand(2, 1, 8, 8)
    full = preview(raw, camera=CAM)
    half = preview(raw, camera=CAM, half_size=True)
    assert full.shape == (2, 3, 8, 8) and half.shape == (2, 3, 4, 4)
    assert float(full.min()) >= 0 and float(full.max()) <= 1


@pytest.mark.parametrize(
    ("x", "kw", "err", "match"),
    [
        (torch.rand(4, 4, 4), {}, ValueError, "layout='packed'"),
        (torch.rand(1, 4, 4), {"layout": "packed"}, ValueError, "layout='mosaic'"),
        (torch.rand(1, 5, 4), {}, ValueError, "even"),
        (torch.full((1, 4, 4), float("nan")), {}, ValueError, "finite"),
        (torch.rand(1, 4, 4), {"layout": "bayer"}, ValueError, "layout"),
        (torch.full((1, 4, 4), 20000, dtype=torch.int32), {}, ValueError, "white_level"),
    ],
)
def test_process_bad_input(x, kw, err, match):
    with pytest.raises(err, match=match):
        process(x, camera=CAM, **kw)


def test_unprocess_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        unprocess(torch.full((3, 4, 4), 1.5), camera=CAM)
    with pytest.raises(ValueError, match="even"):
        unprocess(torch.rand(3, 5, 4), camera=CAM)
    with pytest.raises(TypeError, match="camera"):
        unprocess(torch.rand(3, 4, 4), camera="nikon")


@pytest.mark.parametrize(
    ("change", "err", "match"),
    [
        ({"wb_gains": [-1.0, 1.0, 1.0]}, ValueError, "positive"),
        ({"wb_gains": [1.0, 1.0]}, ValueError, "shape"),
        ({"xyz_to_cam": np.zeros((3, 3))}, ValueError, "singular"),
        ({"xyz_to_cam": np.eye(4)}, ValueError, "shape"),
        ({"exposure": 0.0}, ValueError, "exposure"),
        ({"transfer": "log"}, ValueError, "transfer"),
        ({"demosaic": "vng"}, ValueError, "demosaic"),
        ({"tone": 1}, TypeError, "tone"),
    ],
)
def test_bad_params_raise(change, err, match):
    base = {"wb_gains": [2.0, 1.0, 1.5], "xyz_to_cam": np.eye(3)}
    with pytest.raises(err, match=match):
        ISPParams(**{**base, **change})


def test_params_to_device_dtype():
    p = default_params(CAM).to(dtype=torch.float32)
    assert p.wb_gains.dtype == torch.float32 and p.xyz_to_cam.dtype == torch.float32


@pytest.mark.parametrize("layout", ["mosaic", "packed", "rgb"])
@pytest.mark.parametrize("method", ["bilinear", "malvar"])
def test_banded_chain_equals_whole_image(monkeypatch, layout, method):
    """Large images run band by band (rawkit.isp._blocks): the one-pass result, to the
    last bit of the per-pixel colour solve (LAPACK rounds by call size)."""
    import rawkit.isp._blocks as blocks

    cam = builtin_camera("nikon_d5100")
    p = random_params(cam, generator=torch.Generator().manual_seed(3)).replace(
        lens_shading=0.0, demosaic=method
    )
    gen = torch.Generator().manual_seed(0)
    srgb = torch.rand(2, 3, 44, 20, generator=gen)
    results = {}
    for band_bytes in (10**9, 3 * 20 * 4 * 8):  # one band; bands of 8 rows
        monkeypatch.setattr(blocks, "BAND_BYTES", band_bytes)
        raw, _ = unprocess(srgb, camera=cam, params=p, layout=layout)
        back = process(raw, camera=cam, params=p, layout=layout, convention="dng")
        ints = denormalize_levels(
            unprocess(srgb, camera=cam, params=p)[0],
            black_level=cam.black_level,
            white_level=cam.white_level,
        )
        results[band_bytes] = (raw, back, process(ints, camera=cam, params=p))
    for a, b in zip(*results.values(), strict=True):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a, b, atol=tol(a.dtype), rtol=0)


def test_banded_chain_in_parallel_keeps_the_callers_modes(monkeypatch):
    """Bands run on worker threads: inference mode / no_grad of the caller must hold there."""
    import rawkit.isp._blocks as blocks

    monkeypatch.setattr(blocks, "BAND_BYTES", 3 * 20 * 4 * 8)
    cam = builtin_camera("nikon_d5100")
    srgb = torch.rand(3, 48, 20, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        ref, _ = unprocess(srgb, camera=cam)
        with torch.inference_mode():
            raw, _ = unprocess(srgb, camera=cam)
            out = process(raw, camera=cam)
        with torch.no_grad():
            out2 = process(raw.clone(), camera=cam)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(raw, ref) and torch.equal(out, out2)
    assert torch.get_num_threads() == threads
