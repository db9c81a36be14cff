"""fit_dng_colour / write_reconstruction_dng: the DNG renders back to its photo in LibRaw."""

from __future__ import annotations

import numpy as np
import pytest
import rawpy
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.io.dng_colour import fit_dng_colour, write_reconstruction_dng
from rawkit.isp import SRGB_TO_XYZ, srgb_eotf, srgb_oetf

PATTERNS = ["RGGB", "GRBG", "GBRG", "BGGR"]
SITES = {  # packed channel [R, Gr, Gb, B] -> (row, col) in the 2x2 tile, written out by hand
    "RGGB": [(0, 0), (0, 1), (1, 0), (1, 1)],
    "GRBG": [(0, 1), (0, 0), (1, 1), (1, 0)],
    "GBRG": [(1, 0), (1, 1), (0, 0), (0, 1)],
    "BGGR": [(1, 1), (1, 0), (0, 1), (0, 0)],
}


def _scene(seed: int, k: np.ndarray, pattern: str, h: int = 24, w: int = 32):
    """A smooth linear-sRGB scene, its photo and the camera RAW ``k @ lin`` at each site."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = rng.uniform(0.1, 0.6, (3, 1, 1))
    lin = np.clip(base + 0.3 * np.sin(3 * xx + rng.uniform(0, 6, (3, 1, 1))) * yy, 0.03, 0.9)
    photo = srgb_oetf(lin)
    cam = np.einsum("ij,jhw->ihw", k, lin)
    packed = np.empty((4, h // 2, w // 2))
    for ch, (dy, dx) in enumerate(SITES[pattern]):
        packed[ch] = cam[[0, 1, 1, 2][ch], dy::2, dx::2]
    return photo, packed, lin


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    gains=st.tuples(*[st.floats(0.4, 1.0)] * 3),
    mix=st.floats(0.0, 0.25),
    pattern=st.sampled_from(PATTERNS),
)
def test_fit_recovers_the_camera_of_a_linear_scene(seed, gains, mix, pattern):
    k = np.diag(gains) @ ((1 - mix) * np.eye(3) + mix / 3 * np.ones((3, 3)))
    photo, packed, _ = _scene(seed, k, pattern)
    fit = fit_dng_colour(packed, photo, pattern=pattern, low=0.0, high=1.0)
    n = k @ np.ones(3)  # camera RGB of sRGB white, by definition of the neutral
    np.testing.assert_allclose(fit.as_shot_neutral, n / n.max(), rtol=1e-6)
    assert fit.exposure_scale == pytest.approx(n.max(), rel=1e-6)
    # ColorMatrix1 maps XYZ to camera: M @ SRGB_TO_XYZ is LibRaw's row-normalised cam_rgb
    cam_rgb = fit.color_matrix @ np.asarray(SRGB_TO_XYZ)
    np.testing.assert_allclose(cam_rgb, k / k.sum(1, keepdims=True), atol=1e-6)
    assert fit.residual_psnr > 80


@pytest.mark.parametrize("pattern", PATTERNS)
def test_libraw_renders_the_written_dng_back_to_the_photo(tmp_path, pattern):
    k = np.array([[0.55, 0.2, 0.05], [0.1, 0.8, 0.15], [0.02, 0.15, 0.6]])
    photo, packed, _ = _scene(3, k, pattern, h=64, w=96)
    path, fit = write_reconstruction_dng(tmp_path / "a.dng", packed, photo, pattern=pattern)
    with rawpy.imread(str(path)) as r:
        out = r.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
            adjust_maximum_thr=0.0, highlight_mode=rawpy.HighlightMode.Clip,
            demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR,
        )  # fmt: skip
    out = out.transpose(2, 0, 1)[:, 2:-2, 2:-2] / 65535.0
    err = out - photo[:, 2:-2, 2:-2]
    psnr = 10 * np.log10(1.0 / np.mean(err**2))
    assert psnr > 40, psnr
    assert abs(float(err.mean())) < 2e-3  # no colour cast, no exposure shift


def test_a_fixed_d65_neutral_is_what_goes_wrong(tmp_path):
    """The bug this module fixes: a camera whose grey is not D65's renders with a cast."""
    k = np.diag([0.5, 1.0, 0.7])
    photo, packed, lin = _scene(5, k, "RGGB")
    fit = fit_dng_colour(packed, photo)
    np.testing.assert_allclose(fit.as_shot_neutral, [0.5, 1.0, 0.7], rtol=1e-6)
    assert np.allclose(srgb_eotf(photo), lin)


def test_errors_name_the_argument(tmp_path):
    photo = np.full((3, 8, 8), 0.5)
    with pytest.raises(ValueError, match="packed: expected shape"):
        fit_dng_colour(np.zeros((2, 4, 4)), photo)
    with pytest.raises(ValueError, match="srgb: expected shape"):
        fit_dng_colour(np.full((4, 5, 4), 0.5), photo)
    with pytest.raises(TypeError, match="packed"):
        fit_dng_colour(np.zeros((4, 4, 4), np.uint16), photo)
    with pytest.raises(ValueError, match="unclipped"):
        fit_dng_colour(np.ones((4, 4, 4)), np.ones((3, 8, 8)))
    with pytest.raises(ValueError, match="singular"):  # one grey: no matrix follows
        fit_dng_colour(np.full((4, 4, 4), 0.4), np.full((3, 8, 8), 0.5))
    with pytest.raises(ValueError, match="pattern"):
        fit_dng_colour(np.full((4, 4, 4), 0.4), photo, pattern="RGBG")
    (tmp_path / "x.dng").write_bytes(b"")
    with pytest.raises(FileExistsError):
        write_reconstruction_dng(
            tmp_path / "x.dng", np.full((4, 16, 16), 0.4), np.full((3, 32, 32), 0.5)
        )


def test_linear_dng_renders_back_without_demosaicing(tmp_path):
    """Fine detail survives a linear DNG: LibRaw renders it back to the photo exactly."""
    k = np.array([[0.55, 0.2, 0.05], [0.1, 0.8, 0.15], [0.02, 0.15, 0.6]])
    rng = np.random.default_rng(0)
    lin = rng.uniform(0.03, 0.7, (3, 40, 48))  # pixel-level noise: a Bayer DNG loses it
    photo = srgb_oetf(lin)
    cam = np.einsum("ij,jhw->ihw", k, lin)
    path, fit = write_reconstruction_dng(tmp_path / "lin.dng", cam, photo, full_scale=65535)
    with rawpy.imread(str(path)) as r:
        assert r.raw_type == rawpy.RawType.Stack
        out = r.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
            adjust_maximum_thr=0.0, highlight_mode=rawpy.HighlightMode.Clip,
        ).transpose(2, 0, 1) / 65535.0  # fmt: skip
    assert 10 * np.log10(1 / np.mean((out - photo) ** 2)) > 60
