"""rawkit's ISP against LibRaw's on DNGs made from every bundled photo (issue 5).

``isp.process(convention="libraw")`` of a DNG's data, with only the DNG's own metadata,
must reproduce LibRaw's render of that DNG to at least 60 dB PSNR over the whole image
(borders included), under a daylight and a tungsten neutral.  The photos are shrunk to
256 pixels so the test stays fast; ``libraw_crosscheck`` at full size is in the report.
"""

import numpy as np
import pytest
import torch

from rawkit.data import PHOTOS, libraw_crosscheck, load_photo
from rawkit.data.crosscheck import _psnr
from rawkit.metrics import psnr

SIDE = 256


@pytest.mark.parametrize("neutral", ["daylight", "tungsten"])
@pytest.mark.parametrize("photo", PHOTOS)
def test_process_matches_libraw(photo, neutral):
    r = libraw_crosscheck(photo, camera="nikon_d5100", neutral=neutral, max_side=SIDE)
    assert max(r["height"], r["width"]) == SIDE
    assert r["psnr_libraw"] >= 60, r
    if neutral == "daylight":  # D65 neutral: the DNG convention is LibRaw's too
        assert r["psnr_dng"] >= 60, r
    else:  # tungsten: the DNG specification adapts the colours, LibRaw does not
        assert r["psnr_dng"] < 45, r


@pytest.mark.parametrize("neutral", ["daylight", "tungsten"])
def test_second_camera(neutral):
    r = libraw_crosscheck("coffee", camera="sigma_sd_merrill", neutral=neutral, max_side=SIDE)
    assert r["psnr_libraw"] >= 60, r


def test_without_noise_and_from_an_array():
    x = load_photo("rocket", max_side=96)
    r = libraw_crosscheck(x, neutral="tungsten", noise=False)
    assert r["photo"] == "" and r["psnr_libraw"] >= 60


def test_psnr_agrees_with_metrics():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 8, 8)), rng.random((3, 8, 8))
    ref = float(psnr(torch.from_numpy(a), torch.from_numpy(b), data_range=1.0))
    assert _psnr(a, b) == pytest.approx(ref, abs=1e-9)


def test_bad_neutral():
    with pytest.raises(ValueError, match="neutral"):
        libraw_crosscheck("coffee", neutral="sunset")
