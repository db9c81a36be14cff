"""Tests of rawkit.metrics against scikit-image, pytorch-msssim and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _ssim_reference import sk_ssim_map, sk_ssim_per_channel
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter
from skimage import data
from skimage.metrics import peak_signal_noise_ratio as sk_psnr

from rawkit.metrics import (
    MS_SSIM_WEIGHTS,
    AIM22Score,
    aim22_score,
    error_map,
    gamma_preview,
    ms_ssim,
    psnr,
    ssim,
    ssim_map,
)

pytorch_msssim = pytest.importorskip("pytorch_msssim")

# Per-dtype tolerances in one place.
TOL = {np.float32: 1e-4, np.float64: 1e-8}
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _photo_pair(name: str, h: int, w: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """A crop of an offline scikit-image photo (C, H, W) in [0, 1] and a distorted copy."""
    img = getattr(data, name)().astype(np.float64) / 255.0
    img = img[:h, :w].transpose(2, 0, 1)
    rng = np.random.default_rng(7)
    distorted = gaussian_filter(img, sigma=(0, 1.0, 1.0)) + rng.normal(0, 0.03, img.shape)
    distorted = np.clip(distorted, 0.0, 1.0)
    return np.ascontiguousarray(img, dtype=dtype), np.ascontiguousarray(distorted, dtype=dtype)


# ---------------------------------------------------------------------------------- SSIM


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name,h,w", [("astronaut", 129, 131), ("coffee", 100, 157), ("chelsea", 61, 45)]
)
def test_ssim_matches_skimage_on_photos(name, h, w, dtype):
    x, y = _photo_pair(name, h, w, dtype)
    ref = sk_ssim_per_channel(x, y, 1.0)
    got = ssim(x, y, data_range=1.0, per_channel=True)
    assert isinstance(got, np.ndarray) and got.shape == (3,) and got.dtype == dtype
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL[dtype])
    np.testing.assert_allclose(ssim(x, y, data_range=1.0), ref.mean(), rtol=0, atol=TOL[dtype])
    assert ref.min() < 0.95  # the distortion is visible: the comparison can fail


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=15, deadline=None)
@given(
    h=st.integers(11, 40),
    w=st.integers(11, 40),
    c=st.integers(1, 3),
    scale=st.sampled_from([1.0, 255.0, 1023.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_ssim_matches_skimage_on_random_images(dtype, h, w, c, scale, seed):
    rng = np.random.default_rng(seed)
    x = (rng.random((c, h, w)) * scale).astype(dtype)
    y = np.clip(x + rng.normal(0, 0.2 * scale, x.shape), 0, scale).astype(dtype)
    ref = sk_ssim_per_channel(x, y, scale)
    np.testing.assert_allclose(
        ssim(x, y, data_range=scale, per_channel=True), ref, rtol=0, atol=TOL[dtype]
    )


def test_ssim_map_matches_skimage_full_map_borders_included():
    x, y = _photo_pair("astronaut", 37, 53, np.float64)
    got = ssim_map(x, y, data_range=1.0)
    for c in range(3):
        ref = sk_ssim_map(x[c], y[c], 1.0)
        np.testing.assert_allclose(got[c], ref, rtol=0, atol=1e-10)


def test_ssim_equals_pytorch_msssim_single_scale():
    """The 'valid' window of pytorch-msssim yields exactly skimage's cropped map."""
    x, y = _photo_pair("coffee", 64, 75, np.float64)
    tx, ty = torch.from_numpy(x)[None], torch.from_numpy(y)[None]
    ref = pytorch_msssim.ssim(tx, ty, data_range=1.0, size_average=False)
    torch.testing.assert_close(ssim(tx, ty, data_range=1.0), ref, rtol=0, atol=1e-4)


def test_ssim_known_values_and_symmetry():
    x, y = _photo_pair("chelsea", 30, 33, np.float64)
    assert float(ssim(x, x, data_range=1.0)) == pytest.approx(1.0, abs=1e-12)
    assert float(ssim(x, y, data_range=1.0)) == pytest.approx(
        float(ssim(y, x, data_range=1.0)), abs=1e-12
    )
    assert float(ssim(x, y, data_range=1.0)) < 1.0


def test_ssim_batch_dims_equal_loop():
    rng = np.random.default_rng(3)
    x = rng.random((2, 3, 4, 14, 15))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    got = ssim(x, y, data_range=1.0)
    assert got.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            ref = sk_ssim_per_channel(x[i, j], y[i, j], 1.0).mean()
            assert got[i, j] == pytest.approx(ref, abs=1e-10)
    assert ssim(x, y, data_range=1.0, per_channel=True).shape == (2, 3, 4)


def test_ssim_integer_inputs_computed_in_float64():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 1024, (2, 20, 21)).astype(np.uint16)
    y = rng.integers(0, 1024, (2, 20, 21)).astype(np.uint16)
    got = ssim(x, y, data_range=1023, per_channel=True)
    assert got.dtype == np.float64
    ref = sk_ssim_per_channel(x.astype(np.float64), y.astype(np.float64), 1023)
    np.testing.assert_allclose(got, ref, atol=1e-10)


def test_ssim_mask_of_ones_and_region():
    x, y = _photo_pair("astronaut", 40, 41, np.float64)
    ones = np.ones((1, 40, 41))
    assert float(ssim(x, y, data_range=1.0, mask=ones)) == pytest.approx(
        float(ssim(x, y, data_range=1.0)), abs=1e-12
    )
    # Weighted mean of skimage's full map, cropped by 5, over the masked pixels.
    mask = np.zeros((1, 40, 41), bool)
    mask[:, 10:30, 5:25] = True
    maps = [sk_ssim_map(x[c], y[c], 1.0)[5:-5, 5:-5] for c in range(3)]
    sel = mask[0, 5:-5, 5:-5]
    ref = np.mean([m[sel] for m in maps])
    assert float(ssim(x, y, data_range=1.0, mask=mask)) == pytest.approx(ref, abs=1e-10)
    per = ssim(x, y, data_range=1.0, mask=mask, per_channel=True)
    np.testing.assert_allclose(per, [m[sel].mean() for m in maps], atol=1e-10)
    # A mask whose weight lies only in the cropped border: nothing to measure.
    border = np.zeros((1, 40, 41))
    border[:, :3] = 1
    assert np.isnan(ssim(x, y, data_range=1.0, mask=border))


def test_ssim_gradcheck():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 2, 12, 13, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.rand(1, 2, 12, 13, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: ssim(a, b, data_range=1.0), (x, y), fast_mode=True)
    mask = torch.rand(1, 1, 12, 13, dtype=torch.float64, generator=g)
    assert torch.autograd.gradcheck(
        lambda a: ssim(a, y, data_range=1.0, mask=mask), (x,), fast_mode=True
    )


@pytest.mark.parametrize("device", DEVICES)
def test_ssim_follows_device(device):
    x = torch.rand(2, 16, 16, device=device)
    out = ssim(x, x * 0.9, data_range=1.0)
    assert out.device.type == device and out.dtype == torch.float32


# ------------------------------------------------------------------------------- MS-SSIM


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("hw", [(161, 161), (171, 203), (200, 165)])
def test_ms_ssim_matches_pytorch_msssim(dtype, hw):
    h, w = hw
    x, y = _photo_pair("astronaut", h, w, np.float64)
    y2 = np.clip(x + 0.1 * np.random.default_rng(1).normal(size=x.shape), 0, 1)
    tx = torch.from_numpy(np.stack([x, x])).to(dtype)
    ty = torch.from_numpy(np.stack([y, y2])).to(dtype)
    ref = pytorch_msssim.ms_ssim(tx, ty, data_range=1.0, size_average=False)
    got = ms_ssim(tx, ty, data_range=1.0)
    assert got.shape == (2,) and got.dtype == dtype
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-4)
    assert float(ref.min()) < 0.99


def test_ms_ssim_custom_weights_and_scale():
    # pytorch-msssim asks for 161 pixels whatever the number of scales.
    x, y = _photo_pair("coffee", 165, 170, np.float64)
    weights = [0.2, 0.3, 0.5]
    ref = pytorch_msssim.ms_ssim(
        torch.from_numpy(x * 255)[None],
        torch.from_numpy(y * 255)[None],
        data_range=255,
        weights=weights,
        size_average=False,
    )
    got = ms_ssim(x * 255, y * 255, data_range=255, weights=weights)
    assert float(got) == pytest.approx(float(ref[0]), abs=1e-4)


def test_ms_ssim_identical_batch_dims_and_numpy():
    rng = np.random.default_rng(0)
    x = rng.random((2, 1, 2, 162, 170)).astype(np.float32)
    out = ms_ssim(x, x, data_range=1.0)
    assert isinstance(out, np.ndarray) and out.shape == (2, 1)
    np.testing.assert_allclose(out, 1.0, atol=1e-5)
    assert MS_SSIM_WEIGHTS == (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def test_ms_ssim_errors():
    x = np.zeros((1, 160, 200))
    with pytest.raises(ValueError, match="H and W >= 161"):
        ms_ssim(x, x, data_range=1.0)
    y = np.zeros((1, 200, 200))
    with pytest.raises(ValueError, match="weights"):
        ms_ssim(y, y, data_range=1.0, weights=[])
    with pytest.raises(ValueError, match="weights"):
        ms_ssim(y, y, data_range=1.0, weights=[0.5, -0.5])


# ---------------------------------------------------------------------------------- PSNR


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_psnr_matches_skimage(dtype):
    x, y = _photo_pair("rocket", 50, 70, np.float64)
    if dtype == np.uint8:
        x, y, r = (x * 255).round().astype(np.uint8), (y * 255).round().astype(np.uint8), 255
    else:
        x, y, r = x.astype(dtype), y.astype(dtype), 1.0
    ref = sk_psnr(x, y, data_range=r)
    got = psnr(x, y, data_range=r)
    assert got.shape == ()
    assert float(got) == pytest.approx(ref, abs=1e-4 if dtype == np.float32 else 1e-9)


def test_psnr_closed_forms_and_identical():
    x = np.random.default_rng(0).random((2, 3, 8, 9))
    np.testing.assert_allclose(psnr(x, x + 0.01, data_range=1.0), [40.0, 40.0], atol=1e-9)
    np.testing.assert_allclose(
        psnr(x * 1023, x * 1023 - 1023 * 0.1, data_range=1023), [20.0, 20.0], atol=1e-9
    )
    assert np.isposinf(psnr(x, x, data_range=1.0)).all()


def test_psnr_mask():
    rng = np.random.default_rng(5)
    x, y = rng.random((2, 3, 10, 12)), rng.random((2, 3, 10, 12))
    mask = rng.random((2, 1, 10, 12)) > 0.5
    got = psnr(x, y, data_range=1.0, mask=mask)
    for i in range(2):
        sel = np.broadcast_to(mask[i], x[i].shape)
        ref = 10 * np.log10(1.0 / np.mean((x[i][sel] - y[i][sel]) ** 2))
        assert got[i] == pytest.approx(ref, abs=1e-9)
    np.testing.assert_allclose(
        psnr(x, y, data_range=1.0, mask=np.ones((1, 1, 10, 12))), psnr(x, y, data_range=1.0)
    )
    mask[1] = False
    assert np.isnan(psnr(x, y, data_range=1.0, mask=mask)[1])


# -------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", [psnr, ssim, ssim_map, ms_ssim])
def test_input_errors(fn):
    x = np.zeros((1, 170, 170))
    with pytest.raises(TypeError):
        fn(x, x)  # data_range is required
    with pytest.raises(ValueError, match="data_range"):
        fn(x, x, data_range=0.0)
    with pytest.raises(ValueError, match="data_range"):
        fn(x, x, data_range=float("inf"))
    with pytest.raises(TypeError, match="data_range"):
        fn(x, x, data_range="1")
    with pytest.raises(ValueError, match=r"y: expected the shape"):
        fn(x, np.zeros((1, 170, 171)), data_range=1.0)
    with pytest.raises(ValueError, match=r"x: expected shape"):
        fn(x[0], x[0], data_range=1.0)
    bad = x.copy()
    bad[0, 3, 4] = np.nan
    with pytest.raises(ValueError, match="y: expected finite"):
        fn(x, bad, data_range=1.0)
    with pytest.raises(TypeError, match="dtype"):
        fn(x.astype(bool), x.astype(bool), data_range=1.0)
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        fn([[[0.0]]], x, data_range=1.0)


def test_ssim_size_and_mask_errors():
    x = np.zeros((1, 10, 30))
    with pytest.raises(ValueError, match="H and W >= 11"):
        ssim(x, x, data_range=1.0)
    y = np.zeros((2, 3, 12, 12))
    with pytest.raises(ValueError, match="mask: expected a shape"):
        ssim(y, y, data_range=1.0, mask=np.ones((2, 2, 12, 12)))
    with pytest.raises(ValueError, match="mask: expected a shape"):
        psnr(y, y, data_range=1.0, mask=np.ones((3, 1, 12, 12)))
    with pytest.raises(ValueError, match="mask: expected weights >= 0"):
        psnr(y, y, data_range=1.0, mask=-np.ones((1, 12, 12)))


# ---------------------------------------------------------------------------- error maps


def test_error_map_raw_and_rendered():
    rng = np.random.default_rng(2)
    p, t = rng.random((2, 4, 6, 7)), rng.random((2, 4, 6, 7))
    np.testing.assert_allclose(error_map(p, t), np.abs(p - t).mean(axis=1, keepdims=True))
    np.testing.assert_allclose(
        error_map(p, t, reduce="max"), np.abs(p - t).max(axis=1, keepdims=True)
    )
    assert error_map(p, t, reduce="none").shape == (2, 4, 6, 7)

    def render(a: torch.Tensor) -> torch.Tensor:  # 4 planes -> a gray preview
        return gamma_preview(a.mean(dim=-3, keepdim=True), data_range=1.0)

    ref = np.abs(p.mean(1, keepdims=True) ** (1 / 2.2) - t.mean(1, keepdims=True) ** (1 / 2.2))
    np.testing.assert_allclose(error_map(p, t, render=render), ref)
    with pytest.raises(ValueError, match="render"):
        error_map(p, t, render=lambda a: a.numpy())
    with pytest.raises(ValueError, match="reduce"):
        error_map(p, t, reduce="sum")


def test_gamma_preview():
    x = np.array([-1.0, 0.0, 0.25, 1.0, 3.0]) * 1023
    np.testing.assert_allclose(
        gamma_preview(x, data_range=1023, gamma=2.0), [0.0, 0.0, 0.5, 1.0, 1.0]
    )
    with pytest.raises(ValueError, match="gamma"):
        gamma_preview(x, data_range=1.0, gamma=0)


# --------------------------------------------------------------------------------- AIM22


def _myssim_reference(x: np.ndarray, y: np.ndarray) -> float:
    """The challenge scorer's SSIM (old skimage ``compare_ssim``), written out with scipy:

    ``gaussian_filter(sigma=1.5)`` with scipy's default truncation (13 taps), population
    covariance, data_range 1, then a crop of 5 pixels.
    """
    f = lambda a: gaussian_filter(a, sigma=1.5)  # noqa: E731
    ux, uy = f(x), f(y)
    vx, vy, vxy = f(x * x) - ux * ux, f(y * y) - uy * uy, f(x * y) - ux * uy
    c1, c2 = 0.01**2, 0.03**2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s[5:-5, 5:-5].mean())


def _aim22_pairs(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    photo = data.astronaut().astype(np.float64)
    gts, preds = [], []
    for i in range(n):
        h, w = 24 + 3 * i, 31 + 2 * i
        crop = photo[10 * i : 10 * i + h, 5 * i : 5 * i + w]
        gt = np.concatenate([crop, crop[..., 1:2]], axis=-1) / 255 * 1024
        gt = np.clip(np.round(gt), 0, 1024).astype(np.uint16)
        gt[0, 0, 0] = 1024  # the white level itself is allowed
        pred = np.clip(gt.astype(np.int64) + rng.integers(-40, 41, gt.shape), 0, 1024)
        gts.append(gt)
        preds.append(pred.astype(np.uint16))
    return preds, gts


def _independent_score(preds, gts, window: str) -> tuple[float, float]:
    ps, ss = [], []
    for p, g in zip(preds, gts, strict=True):
        p, g = p.astype(np.float64) / 1024, g.astype(np.float64) / 1024
        ps.append(10 * np.log10(1.0 / np.mean((g - p) ** 2)))
        if window == "skimage":
            ss.append(sk_ssim_per_channel(g.transpose(2, 0, 1), p.transpose(2, 0, 1), 1).mean())
        else:
            ss.append(np.mean([_myssim_reference(g[..., c], p[..., c]) for c in range(4)]))
    return float(np.mean(ps)), float(np.mean(ss))


@pytest.mark.parametrize("window", ["challenge", "skimage"])
def test_aim22_score_folders(tmp_path, window):
    preds, gts = _aim22_pairs(3)
    (tmp_path / "res").mkdir()
    (tmp_path / "gt").mkdir()
    for i, (p, g) in enumerate(zip(preds, gts, strict=True)):
        np.save(tmp_path / "res" / f"{i}.npy", p)
        np.save(tmp_path / "gt" / f"{i}.npy", g)
    (tmp_path / "res" / "readme.txt").write_text("runtime: 1\n")  # non-.npy files ignored
    score = aim22_score(tmp_path / "res", str(tmp_path / "gt"), window=window)
    ref_psnr, ref_ssim = _independent_score(preds, gts, window)
    assert isinstance(score, AIM22Score) and score.n_images == 3
    assert score.psnr == pytest.approx(ref_psnr, abs=1e-9)
    assert score.ssim == pytest.approx(ref_ssim, abs=1e-9)
    assert [s.name for s in score.per_image] == ["0.npy", "1.npy", "2.npy"]
    assert np.mean([s.ssim for s in score.per_image]) == pytest.approx(score.ssim)
    assert 0.5 < score.ssim < 0.99


def test_aim22_score_windows_differ_little():
    preds, gts = _aim22_pairs(2)
    a = aim22_score(preds, gts).ssim
    b = aim22_score(preds, gts, window="skimage").ssim
    assert a != b and abs(a - b) < 2e-3


def test_aim22_score_arrays_stack_and_identical():
    preds, gts = _aim22_pairs(1)
    single = aim22_score(preds[0], gts[0])
    listed = aim22_score(preds, gts)
    assert single.psnr == listed.psnr and single.per_image[0].name == "#0"
    stack = np.stack([gts[0], gts[0]])
    same = aim22_score(stack, stack)
    assert same.psnr == 999.0 and same.ssim == pytest.approx(1.0) and same.n_images == 2
    assert aim22_score(torch.from_numpy(stack.astype(np.float32)), stack).psnr == 999.0


def test_aim22_score_errors(tmp_path):
    preds, gts = _aim22_pairs(2)
    res, gt = tmp_path / "res", tmp_path / "gt"
    res.mkdir()
    gt.mkdir()
    np.save(gt / "a.npy", gts[0])
    np.save(gt / "b.npy", gts[1])
    np.save(res / "a.npy", preds[0])
    with pytest.raises(ValueError, match="missing 'b.npy'"):
        aim22_score(res, gt)
    np.save(res / "b.npy", preds[1])
    np.save(res / "c.npy", preds[1])
    with pytest.raises(ValueError, match="unexpected 'c.npy'"):
        aim22_score(res, gt)
    (res / "c.npy").unlink()
    np.save(res / "b.npy", preds[0])  # wrong size for b
    with pytest.raises(ValueError, match="results b.npy: expected shape"):
        aim22_score(res, gt)
    over = gts[1].copy()
    over[2, 3, 1] = 1025
    np.save(res / "b.npy", over)
    with pytest.raises(ValueError, match=r"results b.npy: expected RAW values in \[0, 1024\]"):
        aim22_score(res, gt)
    np.save(res / "b.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        aim22_score(res, gt)
    np.save(res / "b.npy", gts[1][..., :3])
    with pytest.raises(ValueError, match=r"results b.npy: expected an \(H, W, 4\)"):
        aim22_score(res, gt)
    with pytest.raises(FileNotFoundError):
        aim22_score(tmp_path / "nope", gt)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="at least one"):
        aim22_score(empty, empty)
    with pytest.raises(ValueError, match="window"):
        aim22_score(preds, gts, window="matlab")
    with pytest.raises(TypeError, match="results"):
        aim22_score(3, gts)
    neg = gts[0].astype(np.int32)
    neg[0, 0, 0] = -1
    with pytest.raises(ValueError, match=r"results #0: expected RAW values"):
        aim22_score([neg], gts[:1])
    with pytest.raises(ValueError, match="H and W >= 11"):
        aim22_score(np.zeros((8, 8, 4), np.uint16), np.zeros((8, 8, 4), np.uint16))


def test_aim22_psnr_is_whole_array_psnr():
    """Cross-check with the generic metric: the whole (H, W, 4) array, data range 1."""
    preds, gts = _aim22_pairs(1, seed=3)
    p = preds[0].transpose(2, 0, 1) / 1024
    g = gts[0].transpose(2, 0, 1) / 1024
    assert aim22_score(preds, gts).psnr == pytest.approx(float(psnr(p, g, data_range=1.0)))
    assert math.isfinite(aim22_score(preds, gts).psnr)
