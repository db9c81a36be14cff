"""Tests for rawkit.pipelines.overexposure: ground truths, overexposed split, pipeline contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rawkit.cfa import PATTERNS
from rawkit.data import synthesize
from rawkit.nets import FusionOutput
from rawkit.pipelines import overexposure as oe
from rawkit.pipelines.base import Pipeline, PipelineConfigError, registry


@pytest.fixture(scope="module")
def pair():
    return synthesize("chelsea", camera="nikon_d5100", seed=0, max_side=64)


@pytest.fixture(scope="module")
def fitted(pair):
    # a module fixture is built before the function-scoped one-thread fixture: fit on one
    # thread here too, so that test_fit_is_seeded compares like with like without xdist
    cfg = oe.OverexposureConfig(width=4, depth=1, steps=3, batch_size=2, crop=32)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return oe.OverexposurePipeline.fit(
            [pair, oe.overexpose(pair, fraction=0.2)], cfg, progress=False
        )
    finally:
        torch.set_num_threads(n)


# ------------------------------------------------------------------ ground truths


@pytest.mark.parametrize("pattern", PATTERNS)
def test_branch_truths_split_the_demosaiced_raw(pattern):
    g = np.random.default_rng(1)
    srgb = g.uniform(0.5, 1.0, (2, 3, 16, 12))
    packed = g.uniform(0, 1, (2, 4, 8, 6))
    gt = oe.branch_ground_truth(srgb, packed, pattern=pattern)
    np.testing.assert_allclose(gt.oe + gt.noe, gt.demosaiced, rtol=0, atol=1e-15)
    assert ((gt.mask > 0) & (gt.mask < 1)).any() and (gt.mask == 0).any()
    full = np.broadcast_to(gt.mask == 1, gt.noe.shape)
    assert (gt.noe[full] == 0).all() and np.array_equal(gt.oe[full], gt.demosaiced[full])
    # the re-mosaiced, packed ground truth is the Bayer truth (Menon keeps the samples)
    assert np.array_equal(oe.remosaic_pack(gt.demosaiced, pattern=pattern), packed)


def test_branch_truth_errors():
    with pytest.raises(ValueError, match="demosaic"):
        oe.branch_ground_truth(
            np.zeros((3, 4, 4)), np.zeros((4, 2, 2)), pattern="RGGB", demosaic="vng"
        )
    with pytest.raises(ValueError, match="packed"):
        oe.branch_ground_truth(np.zeros((3, 4, 4)), np.zeros((4, 2, 3)), pattern="RGGB")
    with pytest.raises(ValueError, match="pattern"):
        oe.branch_ground_truth(np.zeros((3, 4, 4)), np.zeros((4, 2, 2)), pattern="RGBG")


# ------------------------------------------------------------------ overexposed split


@pytest.mark.parametrize("fraction", [0.05, 0.3])
def test_overexpose_clips_the_asked_share_and_keeps_the_raw(pair, fraction):
    before = oe.clipped_fraction(pair.srgb)
    out = oe.overexpose(pair, fraction=fraction)
    f = oe.clipped_fraction(out.srgb)
    assert abs(f - fraction) < 0.02 and f > before
    assert out.params.exposure > pair.params.exposure
    assert np.array_equal(out.packed, pair.packed) and np.array_equal(out.raw, pair.raw)
    assert out.srgb.dtype == np.float32 and out.srgb.shape == pair.srgb.shape


def test_overexpose_draws_the_share_from_the_seed(pair):
    a, b = oe.overexpose(pair, seed=3), oe.overexpose(pair, seed=3)
    assert np.array_equal(a.srgb, b.srgb)
    assert 0.05 - 0.01 <= oe.clipped_fraction(a.srgb) <= 0.30 + 0.01


def test_overexpose_errors(pair):
    with pytest.raises(TypeError, match="pair"):
        oe.overexpose(pair.srgb)
    with pytest.raises(ValueError, match="fraction"):
        oe.overexpose(pair, fraction=0.5)
    black = synthesize(np.zeros((3, 32, 32), np.float32), camera="nikon_d5100", seed=0, noise=False)
    with pytest.raises(ValueError, match="pair"):  # a black image never clips
        oe.overexpose(black, fraction=0.2)


def test_clipped_fraction_counts_pixels_with_any_channel_at_code_255():
    x = np.zeros((3, 4, 5))
    x[0, 0, :2] = 1.0
    x[2, 1, 0] = 254.6 / 255  # rounds to 255
    x[1, 2, 0] = 254.4 / 255  # rounds to 254
    assert oe.clipped_fraction(x) == 3 / 20


# ------------------------------------------------------------------ evaluation


def test_mask_scores_inside_and_outside():
    srgb = np.zeros((3, 80, 32), np.float32)
    srgb[:, :20] = 1.0  # packed rows 0-9 inside the mask
    true = np.full((4, 40, 16), 0.5)
    pred = true.copy()
    pred[:, 20:] += 0.1  # error far outside (beyond the 11x11 SSIM window of the mask)
    s = oe.mask_scores(pred, true, srgb)
    assert s["psnr_in"] == np.inf and s["ssim_in"] == pytest.approx(1.0)
    assert s["psnr_out"] == pytest.approx(10 * np.log10(100 * 30 / 20))
    assert s["mask_share"] == 0.25 and s["ssim_out"] < 1


# ------------------------------------------------------------------ pipeline contract


def test_registered():
    assert registry()["overexposure"] is oe.OverexposurePipeline


def test_reconstruct_is_the_packed_blend(fitted, pair):
    out = fitted.reconstruct(pair.srgb)
    assert out.shape == pair.packed.shape and out.dtype == np.float32
    b = fitted.branches(pair.srgb)
    want = oe.remosaic_pack(np.clip(b["fused"], 0, 1), pattern=fitted.config.pattern)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-5)  # tiles vs. whole image
    assert set(b) == {"mask", "oe", "noe", "fused", "base"}
    assert out.min() >= 0 and out.max() <= 1


def test_save_load_round_trip(fitted, pair, tmp_path):
    fitted.save(tmp_path / "p")
    again = Pipeline.load(tmp_path / "p")
    assert isinstance(again, oe.OverexposurePipeline) and again.config == fitted.config
    assert np.array_equal(again.reconstruct(pair.srgb), fitted.reconstruct(pair.srgb))
    fitted.save(tmp_path / "h", dtype="float16")
    half = oe.OverexposurePipeline.load(tmp_path / "h")
    np.testing.assert_allclose(
        half.reconstruct(pair.srgb), fitted.reconstruct(pair.srgb), atol=5e-3
    )
    doc = json.loads((tmp_path / "p" / "pipeline.json").read_text())
    assert doc["pipeline"] == "overexposure" and doc["config"]["pattern"] == "RGGB"
    with pytest.raises(FileExistsError):
        fitted.save(tmp_path / "p")


def test_fit_is_seeded(pair, fitted):
    again = oe.OverexposurePipeline.fit(
        [pair, oe.overexpose(pair, fraction=0.2)], fitted.config, progress=False
    )
    a, b = fitted.state_tensors(), again.state_tensors()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_config_round_trip_and_checks():
    cfg = oe.OverexposureConfig(pattern="GBRG", width=8)
    assert oe.OverexposureConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(PipelineConfigError, match="pattern"):
        oe.OverexposureConfig.from_dict({"pattern": "RGBG"})
    with pytest.raises(ValueError, match="crop"):
        oe.OverexposureConfig(crop=21)
    with pytest.raises(ValueError, match="softness"):
        oe.OverexposureConfig(threshold=0.5, softness=0.5)
    with pytest.raises(ValueError, match="base"):
        oe.OverexposureConfig(base="oracle")
    with pytest.raises(ValueError, match="camera"):
        oe.OverexposureConfig(camera="canon")
    with pytest.raises(TypeError, match="oe_crops"):
        oe.OverexposureConfig(oe_crops="yes")


def test_the_posters_plain_branches_still_train(pair):
    """base="none", oe_crops=False: sigmoid branches on shared random crops, no exposure gain."""
    cfg = oe.OverexposureConfig(
        width=4, depth=1, steps=2, batch_size=2, crop=32, base="none", oe_crops=False
    )
    pipe = oe.OverexposurePipeline.fit(
        [pair, oe.overexpose(pair, fraction=0.2)], cfg, progress=False
    )
    assert pipe.info["oe_crops"] is False and pipe.info["gain_fit_images"] == 0
    assert "base" not in pipe.branches(pair.srgb)
    out = pipe.reconstruct(pair.srgb)
    assert out.shape == pair.packed.shape and ((out > 0) & (out < 1)).all()


def test_fit_learns_the_exposure_gain(fitted, pair):
    """The ridge-fitted gain is set by fit (non-zero weights) and follows the images'
    exposure: the overexposed twin of a pair gets a smaller gain than the pair."""
    net = fitted.net
    assert bool((net.gain_weights != 0).any())
    bright = oe.overexpose(pair, fraction=0.2)
    g = net.log_gain(torch.from_numpy(np.stack([pair.srgb, bright.srgb])))
    assert float(g[1]) < float(g[0])


def test_fit_rejects_crops_larger_than_the_images(pair):
    with pytest.raises(ValueError, match="crop"):
        oe.OverexposurePipeline.fit(
            [pair], oe.OverexposureConfig(crop=128, steps=1), progress=False
        )


# ------------------------------------------------------------------ training design


def test_untrained_pipeline_is_the_generic_inverse(pair):
    """Zero-initialised residual heads: before training, the fusion is the blind generic
    inverse (an independent function of rawkit.data) on every pixel, in or out of the mask."""
    from rawkit.data import generic_inverse

    net = oe.OverexposurePipeline(oe.OverexposureConfig(width=4, depth=1)).net
    srgb = oe.overexpose(pair, fraction=0.2).srgb
    with torch.no_grad():
        b = net(torch.from_numpy(srgb))
    assert torch.equal(b.fused, b.base) and torch.equal(b.oe, b.noe)
    got = oe.remosaic_pack(b.fused.numpy(), pattern="RGGB")
    want = generic_inverse(srgb.astype(np.float64), camera="nikon_d5100")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_loss_is_normalised_by_each_branch_area():
    """Images without overexposed pixels do not dilute the OE branch's loss: with an error
    of 0.1 on the OE branch and 0.2 on the NOE branch everywhere, the L2 terms are
    0.1**2 and 0.2**2 whatever the share of masked pixels in the batch."""
    d = torch.full((3, 3, 12, 12), 0.5)
    mask = torch.zeros(3, 1, 12, 12)
    mask[0, :, :2, :3] = 1.0  # 6 pixels of one image; the other two images have none
    out = FusionOutput(d + 0.1, d + 0.2, mask, torch.lerp(d + 0.2, d + 0.1, mask))
    loss = oe.fusion_loss(out, d, ssim_weight=0.0, perceptual_weight=0.0)
    assert float(loss) == pytest.approx(0.1**2 + 0.2**2, rel=1e-5)


def test_oe_crops_each_hold_an_overexposed_pixel(pair):
    from rawkit.data.pairs import PairSet
    from rawkit.masks import overexposure
    from rawkit.pipelines._overexposure_split import OverexposedCrops

    pairs = list(PairSet.from_any([pair, oe.overexpose(pair, fraction=0.05)]))
    hard = [overexposure(torch.as_tensor(p.srgb), threshold=0.95, softness=0.0) for p in pairs]
    quads = [F.max_pool2d(m[None], 2)[0] for m in hard]
    ds = OverexposedCrops(pairs, masks=quads, crop=16, length=40, seed=3)
    for i in range(len(ds)):
        item = ds[i]
        assert item["srgb"].shape == (3, 16, 16) and item["packed"].shape == (4, 8, 8)
        assert float(overexposure(item["srgb"], threshold=0.95, softness=0.0).max()) == 1.0
    assert torch.equal(
        ds[5]["srgb"], OverexposedCrops(pairs, masks=quads, crop=16, length=40, seed=3)[5]["srgb"]
    )
    with pytest.raises(ValueError, match="overexposed"):
        OverexposedCrops(pairs, masks=[q * 0 for q in quads], crop=16, length=4, seed=0)


def test_folders_saved_before_the_gated_gain_load_with_the_plain_regression(fitted, pair):
    """A state without the gate's buffers (saved before it existed) loads, and its gain is
    the plain regression ``w . f`` those weights were fitted for."""
    from rawkit.nets._overexposure_gain import exposure_features

    old = {k: v for k, v in fitted.state_tensors().items() if k not in ("gain_gate", "gain_normal")}
    again = oe.OverexposurePipeline(fitted.config)
    again.load_state_tensors(old)
    x = torch.from_numpy(pair.srgb)[None]
    want = exposure_features(x) @ fitted.net.gain_weights.double()
    assert torch.allclose(again.net.log_gain(x), want, atol=1e-12)
