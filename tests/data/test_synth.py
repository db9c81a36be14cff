"""synthesize: determinism, layouts, and both renders (rawkit's ISP and LibRaw's)."""

import numpy as np
import pytest
import torch

from rawkit.cfa import pack
from rawkit.data import (
    SyntheticPair,
    benchmark_look,
    draw_capture,
    libraw_params,
    libraw_render,
    load_photo,
    synthesize,
    write_pair_dng,
)
from rawkit.io import read_raw
from rawkit.isp import (
    ISPParams,
    apply_look,
    builtin_camera,
    default_params,
    normalize_levels,
    process,
    random_params,
)
from rawkit.metrics import psnr

SIDE = 64


def _bytes(p: SyntheticPair) -> bytes:
    return b"".join(a.tobytes() for a in (p.srgb, p.mosaic, p.packed, p.raw))


@pytest.mark.parametrize("render", ["rawkit", "libraw"])
def test_same_seed_same_bytes(render):
    a = synthesize("rocket", camera="nikon_d5100", seed=7, render=render, max_side=SIDE)
    b = synthesize("rocket", camera="nikon_d5100", seed=7, render=render, max_side=SIDE)
    c = synthesize("rocket", camera="nikon_d5100", seed=8, render=render, max_side=SIDE)
    assert _bytes(a) == _bytes(b)
    assert (
        torch.equal(a.params.wb_gains, b.params.wb_gains) and a.params.exposure == b.params.exposure
    )
    assert _bytes(a) != _bytes(c)


@pytest.mark.parametrize("name", ["nikon_d5100", "sigma_sd_merrill"])
def test_layouts_and_levels(name):
    cam = builtin_camera(name)
    p = synthesize("coffee", camera=cam, seed=0, max_side=SIDE)
    h, w = p.srgb.shape[-2:]
    assert p.srgb.shape == (3, h, w) and p.srgb.dtype == np.float32
    assert p.mosaic.shape == (1, h, w) and p.raw.shape == (1, h, w) and p.raw.dtype == np.uint16
    assert p.packed.shape == (4, h // 2, w // 2)
    assert p.pattern == cam.pattern and p.photo == "coffee" and p.seed == 0
    np.testing.assert_array_equal(p.packed, pack(p.mosaic, pattern=p.pattern))
    assert int(p.raw.max()) <= cam.white_level
    lin = normalize_levels(
        p.raw.astype(np.float64), black_level=cam.black_level, white_level=cam.white_level
    )
    np.testing.assert_allclose(p.mosaic, lin, atol=1e-6)
    assert np.abs(p.srgb * 255 - np.round(p.srgb * 255)).max() < 1e-4  # 8-bit quantised


def test_rawkit_render_is_process_of_the_raw():
    p = synthesize(
        "astronaut", camera="nikon_d5100", seed=3, srgb_bits=None, max_side=SIDE, preset="hard"
    )
    out = process(p.mosaic, camera=p.camera, params=p.params)
    np.testing.assert_allclose(p.srgb, out, atol=1e-6)
    assert p.params.tone and p.render == "rawkit" and p.look is None


def test_default_preset_is_process_then_the_camera_look():
    p = synthesize("astronaut", camera="nikon_d5100", seed=3, srgb_bits=None, max_side=SIDE)
    assert p.preset == "default" and p.look == benchmark_look(p.camera)
    q = p.params
    assert (q.exposure, q.tone, q.lens_shading, q.demosaic) == (1.0, False, 0.0, "bilinear")
    out = apply_look(process(p.mosaic.astype(np.float64), camera=p.camera, params=q), look=p.look)
    np.testing.assert_allclose(p.srgb, out, atol=1e-6)


def test_default_preset_distribution():
    """Mostly daylight, WB near the true illuminant, no digital gain, some clipping."""
    cam = builtin_camera("nikon_d5100")
    labels, clipped = [], []
    for seed in range(200):
        c = draw_capture(cam, generator=torch.Generator().manual_seed(seed), preset="default")
        labels.append(c.params.illuminant)
        assert c.params.exposure == 1.0 and 0.6 < c.scene_exposure < 1.8
        assert 1e-4 <= c.params.shot_noise <= 2e-3
    daylight = sum(lab.startswith("daylight") for lab in labels) / len(labels)
    assert 0.8 < daylight < 0.97
    for seed, name in enumerate(("kodim12", "kodim05", "coffee", "kodim23")):
        clipped.append(synthesize(name, camera=cam, seed=seed, max_side=128).clipped_fraction)
    assert max(clipped) > 0  # some images really clip ...
    assert max(clipped) < 0.1  # ... a little


def test_references_order_and_the_hard_preset():
    """Oracle above the blind generic inverse; the blind inverse in its documented band."""
    from rawkit.data import generic_inverse, oracle_inverse

    blind, oracle = [], []
    for seed, name in enumerate(("kodim05", "kodim19", "coffee")):
        p = synthesize(name, camera="nikon_d5100", seed=seed, max_side=128)
        oracle.append(float(psnr(oracle_inverse(p), p.packed, data_range=1.0)))
        blind.append(
            float(psnr(generic_inverse(p.srgb, camera=p.camera), p.packed, data_range=1.0))
        )
    assert 28 < np.mean(blind) < 40 and np.mean(oracle) > np.mean(blind) + 3
    h = synthesize("kodim05", camera="nikon_d5100", seed=0, max_side=128, preset="hard")
    assert h.preset == "hard" and h.look is None and h.params.tone
    assert float(psnr(oracle_inverse(h), h.packed, data_range=1.0)) > 40
    with pytest.raises(ValueError, match="preset"):
        synthesize("kodim05", camera="nikon_d5100", seed=0, max_side=32, preset="easy")


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("name", ["nikon_d5100", "sigma_sd_merrill"])
def test_libraw_render_matches_process(seed, name):
    """LibRaw (nobody here wrote it) renders the pair's RAW as rawkit's process does."""
    p = synthesize(
        "astronaut", camera=name, seed=seed, render="libraw", srgb_bits=None, max_side=128,
        preset="hard",
    )  # fmt: skip
    assert not p.params.tone and p.params.lens_shading == 0
    ours = process(torch.from_numpy(p.mosaic).double(), camera=p.camera, params=p.params)
    assert float(psnr(ours, torch.from_numpy(p.srgb).double(), data_range=1.0)) > 60


def test_pairs_of_a_smooth_scene_come_back():
    """No noise, LibRaw-like parameters: both renders give the scene back."""
    cam = builtin_camera("nikon_d5100")
    yy, xx = np.mgrid[0:48, 0:64] / 64.0
    scene = np.stack([0.2 + 0.5 * xx, 0.3 + 0.4 * yy, 0.6 - 0.3 * xx * yy]).astype(np.float32)
    params = default_params(cam)
    for render in ("rawkit", "libraw"):
        p = synthesize(scene, camera=cam, seed=0, render=render, params=params, noise=False,
                       srgb_bits=None, preset="hard")  # fmt: skip
        assert np.abs(p.srgb - scene)[:, 1:-1, 1:-1].max() < 2e-3, render
        assert p.photo == ""


def test_dng_written_for_libraw_reads_back():
    p = synthesize(
        "chelsea", camera="sigma_sd_merrill", seed=2, render="libraw", max_side=SIDE, preset="hard"
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = write_pair_dng(Path(d) / "p.dng", p.raw, p.camera, p.params)
        img = read_raw(path)
        again = libraw_render(path, exposure=p.params.exposure)
    np.testing.assert_array_equal(img.raw, p.raw)
    assert img.pattern == p.pattern
    np.testing.assert_allclose(img.as_shot_neutral, p.as_shot_neutral, rtol=1e-8)
    np.testing.assert_allclose(np.round(again * 255) / 255, p.srgb, atol=1e-6, rtol=0)


def test_libraw_params():
    cam = builtin_camera("nikon_d5100")
    p = random_params(cam, generator=torch.Generator().manual_seed(0))
    q = libraw_params(p)
    assert not q.tone and q.lens_shading == 0 and q.demosaic == "bilinear" and q.transfer == "srgb"
    assert q.exposure == p.exposure and torch.equal(q.wb_gains, p.wb_gains)


def test_bad_arguments():
    cam = builtin_camera("nikon_d5100")
    photo = load_photo("coffee", max_side=32)
    with pytest.raises(ValueError, match="seed"):
        synthesize(photo, camera=cam, seed=-1)
    with pytest.raises(ValueError, match="render"):
        synthesize(photo, camera=cam, seed=0, render="dcraw")
    with pytest.raises(ValueError, match="convention"):
        synthesize(photo, camera=cam, seed=0, render="libraw", convention="dng")
    with pytest.raises(ValueError, match="tone"):
        synthesize(photo, camera=cam, seed=0, render="libraw",
                   params=ISPParams(wb_gains=[2, 1, 1.5], xyz_to_cam=cam.color_matrix(), tone=True))  # fmt: skip
    with pytest.raises(ValueError, match="even"):
        synthesize(photo[:, :, :31], camera=cam, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        synthesize(photo * 2, camera=cam, seed=0)
    with pytest.raises(TypeError, match="photo"):
        synthesize(photo.tolist(), camera=cam, seed=0)
    with pytest.raises(TypeError, match="camera"):
        synthesize(photo, camera=3, seed=0)
    with pytest.raises(ValueError, match="srgb_bits"):
        synthesize(photo, camera=cam, seed=0, srgb_bits=12)
    with pytest.raises(ValueError, match="exposure"):
        libraw_render("x.dng", exposure=20.0)


def test_libraw_render_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        libraw_render(tmp_path / "missing.dng")
    (tmp_path / "junk.dng").write_bytes(b"not a raw file at all" * 10)
    with pytest.raises(OSError, match="junk.dng"):
        libraw_render(tmp_path / "junk.dng")
