"""Tests for rawkit.pipelines.baselines: blind unprocess, uniform sampling, RBF."""

import numpy as np
import pytest
import torch
from scipy.interpolate import RBFInterpolator

from rawkit.data import libraw_params, synthesize
from rawkit.isp import builtin_camera, process, random_params, srgb_eotf, unprocess
from rawkit.metrics import psnr
from rawkit.pipelines.baselines import (
    SampledMetadata,
    blind_unprocess,
    rbf_reconstruct,
    typical_params,
    uniform_sampling_metadata,
)

CAM = builtin_camera("nikon_d5100")


def test_typical_params_average_the_random_draws():
    p = typical_params(CAM, samples=64, seed=3)
    g = torch.Generator().manual_seed(3)
    draws = [random_params(CAM, generator=g) for _ in range(64)]
    gains = np.exp(np.mean([np.log(d.wb_gains.numpy()) for d in draws], axis=0))
    np.testing.assert_allclose(p.wb_gains.numpy(), gains / gains.min(), rtol=1e-12)
    assert p.exposure == pytest.approx(np.mean([d.exposure for d in draws]))
    assert p.lens_shading == pytest.approx(np.mean([d.lens_shading for d in draws]))
    assert p.tone and p.shot_noise == 0
    q = typical_params(CAM, render="libraw", samples=64, seed=3)
    assert not q.tone and q.lens_shading == 0 and q.exposure == p.exposure
    with pytest.raises(ValueError, match="render"):
        typical_params(CAM, render="camera")


def test_blind_unprocess_is_unprocess_and_exact_with_the_true_render():
    pair = synthesize("coffee", camera=CAM, seed=4, max_side=64, noise=False, srgb_bits=None)
    est = blind_unprocess(pair.srgb, camera=CAM, params=pair.params)
    ref, _ = unprocess(torch.from_numpy(pair.srgb), camera=CAM, params=pair.params, layout="packed")
    np.testing.assert_array_equal(est, ref.numpy())
    assert isinstance(est, np.ndarray) and est.shape == pair.packed.shape
    # The true render's inverse is far closer than the typical one on a noiseless pair.
    typical = blind_unprocess(pair.srgb, camera=CAM)
    assert float(psnr(est, pair.packed, data_range=1.0)) > float(
        psnr(typical, pair.packed, data_range=1.0)
    )


def test_blind_unprocess_for_libraw_renders():
    params = libraw_params(typical_params(CAM))
    srgb = np.full((3, 8, 8), 0.4, np.float32)
    raw = blind_unprocess(srgb, camera=CAM, render="libraw")
    back = process(torch.from_numpy(raw), camera=CAM, params=params, layout="packed")
    np.testing.assert_allclose(back.numpy(), srgb, atol=1e-5)


def test_uniform_sampling_takes_the_block_centres():
    rng = np.random.default_rng(0)
    packed = rng.random((4, 20, 36)).astype(np.float32)
    m = uniform_sampling_metadata(packed, spacing=8, bit_depth=12)
    rows, cols = np.arange(2, 20, 4), np.arange(2, 36, 4)
    assert len(m) == rows.size * cols.size == 45
    np.testing.assert_array_equal(m.positions[:, 0], np.repeat(rows, cols.size))
    np.testing.assert_array_equal(m.positions[:, 1], np.tile(cols, rows.size))
    want = packed[:, 2::4, 2::4].reshape(4, -1).T
    np.testing.assert_allclose(m.values, np.round(want * 4095) / 4095, atol=1e-7)
    assert m.nbytes == 45 * 4 * 12 // 8 == 270
    assert m.samples_per_pixel == pytest.approx(1 / 64)
    assert m.bits_per_pixel == pytest.approx(270 * 8 / (40 * 72))


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"spacing": 7}, ValueError, "spacing"),
        ({"spacing": 0}, ValueError, "spacing"),
        ({"bit_depth": 0}, ValueError, "bit_depth"),
    ],
)
def test_uniform_sampling_rejects_bad_settings(kwargs, err, match):
    kw = {"spacing": 16, "bit_depth": 14, **kwargs}
    with pytest.raises(err, match=match):
        uniform_sampling_metadata(np.zeros((4, 16, 16), np.float32), **kw)


def test_uniform_sampling_rejects_bad_raw():
    with pytest.raises(ValueError, match=r"\(4, h, w\)"):
        uniform_sampling_metadata(np.zeros((3, 16, 16)), bit_depth=14)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        uniform_sampling_metadata(np.full((4, 16, 16), 2.0), bit_depth=14)
    with pytest.raises(TypeError, match="floating"):
        uniform_sampling_metadata(np.zeros((4, 16, 16), np.uint16), bit_depth=14)
    with pytest.raises(ValueError, match="no sample"):
        uniform_sampling_metadata(np.zeros((4, 2, 2)), spacing=16, bit_depth=14)


def test_rbf_recovers_an_affine_colour_mapping_exactly():
    rng = np.random.default_rng(1)
    srgb = rng.random((3, 64, 96))
    lin = np.asarray(srgb_eotf(srgb)).reshape(3, 32, 2, 48, 2).mean(axis=(2, 4))
    a = rng.random((4, 3)) * 0.3
    packed = np.einsum("cj,jhw->chw", a, lin) + 0.05  # RAW affine in linear sRGB
    meta = uniform_sampling_metadata(packed, spacing=16, bit_depth=16)
    est = rbf_reconstruct(srgb, meta, smoothing=0.0)
    assert float(psnr(est, packed, data_range=1.0)) > 70


def test_rbf_matches_scipy_on_the_documented_features():
    rng = np.random.default_rng(2)
    srgb = rng.random((3, 32, 32)).astype(np.float32)
    packed = rng.random((4, 16, 16)).astype(np.float32)
    meta = uniform_sampling_metadata(packed, spacing=8, bit_depth=14)
    est = rbf_reconstruct(torch.from_numpy(srgb), meta, spatial_weight=2.0, smoothing=1e-3)
    assert isinstance(est, torch.Tensor) and est.shape == (4, 16, 16)
    lin = np.asarray(srgb_eotf(srgb.astype(np.float64))).reshape(3, 16, 2, 16, 2).mean(axis=(2, 4))
    rr, cc = np.meshgrid(np.arange(16) * 2 / 16, np.arange(16) * 2 / 16, indexing="ij")
    feats = np.concatenate([lin.reshape(3, -1), rr.reshape(1, -1), cc.reshape(1, -1)]).T
    idx = meta.positions[:, 0] * 16 + meta.positions[:, 1]
    ref = RBFInterpolator(feats[idx], meta.values.astype(np.float64), smoothing=1e-3, degree=1)
    want = np.clip(ref(feats), 0, 1).T.reshape(4, 16, 16)
    np.testing.assert_allclose(est.numpy(), want, atol=1e-6)


def test_rbf_rejects_mismatched_inputs():
    meta = uniform_sampling_metadata(np.zeros((4, 16, 16)), bit_depth=14)
    with pytest.raises(ValueError, match=r"\(3, 32, 32\)"):
        rbf_reconstruct(np.zeros((3, 30, 32)), meta)
    with pytest.raises(TypeError, match="SampledMetadata"):
        rbf_reconstruct(np.zeros((3, 32, 32)), {"values": 1})
    with pytest.raises(ValueError, match="kernel"):
        rbf_reconstruct(np.zeros((3, 32, 32)), meta, kernel="gaussian")
    assert isinstance(meta, SampledMetadata)
