import dataclasses

import numpy as np
import pytest
import torch

from rawkit.isp import (
    BUILTIN_CAMERAS,
    CameraModel,
    builtin_camera,
    builtin_camera_fit,
    daylight_xy,
    illuminant_xy,
    xy_to_xyz,
)

# The fit errors the docs report (rawkit/isp/camera.py docstring): (mean, max) DE2000.
REPORTED = {
    "nikon_d5100": {"D65": (1.11, 3.01), "A": (1.67, 5.65)},
    "sigma_sd_merrill": {"D65": (2.35, 6.68), "A": (2.00, 7.21)},
}


@pytest.mark.parametrize("name", BUILTIN_CAMERAS)
def test_fit_error_is_what_the_docs_report(name):
    fit = builtin_camera_fit(name)
    for ill, (mean, worst) in REPORTED[name].items():
        assert fit.delta_e[ill][0] == pytest.approx(mean, abs=0.005)
        assert fit.delta_e[ill][1] == pytest.approx(worst, abs=0.005)


@pytest.mark.parametrize("name", BUILTIN_CAMERAS)
def test_matrix_predicts_spectral_white_balance(name):
    """The fitted matrix's D65 and A white balance vs the one integrated from the spectra."""
    import colour
    from colour.characterisation import white_balance_multipliers

    sens = colour.MSDS_CAMERA_SENSITIVITIES[
        {"nikon_d5100": "Nikon 5100 (NPL)", "sigma_sd_merrill": "Sigma SDMerill (NPL)"}[name]
    ]
    cam = builtin_camera(name)
    whites = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]
    for ill in ("D65", "A"):
        e = colour.SDS_ILLUMINANTS[ill].copy().align(sens.shape)
        ref = white_balance_multipliers(sens, e)
        ref = ref / ref.min()
        got = cam.wb_gains(whites[ill]).numpy()
        np.testing.assert_allclose(got, ref, rtol=0.06)


def test_builtin_matrix_is_normalised_inverse_of_fit():
    cam = builtin_camera("nikon_d5100")
    m = np.asarray(cam.xyz_to_cam) @ np.asarray(builtin_camera_fit("nikon_d5100").camera_to_xyz)
    np.testing.assert_allclose(m / m[0, 0], np.eye(3), atol=1e-12)
    assert max(cam.neutral((0.3127, 0.3290)).tolist()) == pytest.approx(1.0, abs=1e-4)


def test_daylight_agrees_with_colour():
    import colour

    for cct in (4000, 5003, 6504, 7000, 7500, 12000):
        ref = colour.temperature.CCT_to_xy_CIE_D(cct)
        np.testing.assert_allclose(daylight_xy(cct), ref, atol=1e-6)


def test_fixed_illuminants_agree_with_colour():
    import colour

    ccs = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]
    for kind, key in (("tungsten", "A"), ("fluorescent", "FL2"), ("fluorescent_f11", "FL11")):
        np.testing.assert_allclose(illuminant_xy(kind), ccs[key], atol=2e-4)
    np.testing.assert_allclose(
        xy_to_xyz((0.3127, 0.3290)), colour.xy_to_XYZ([0.3127, 0.3290]), atol=1e-12
    )


def test_model_is_frozen_hashable_and_cached():
    cam = builtin_camera("sigma_sd_merrill")
    assert builtin_camera("sigma_sd_merrill") is cam
    assert hash(cam) == hash(dataclasses.replace(cam))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cam.pattern = "RGGB"  # type: ignore[misc]
    lo, hi = cam.wb_red_range
    assert 0 < lo <= hi


GOOD = {
    "name": "t",
    "pattern": "RGGB",
    "bit_depth": 10,
    "black_level": 64,
    "white_level": 1023,
    "xyz_to_cam": np.eye(3),
}


@pytest.mark.parametrize(
    ("change", "err", "match"),
    [
        ({"black_level": 1023}, ValueError, "black_level"),
        ({"black_level": -5}, ValueError, "black_level"),
        ({"black_level": (1, 2, 3)}, ValueError, "black_level"),
        ({"white_level": 4095}, ValueError, "white_level"),
        ({"pattern": "RGBG"}, ValueError, "pattern"),
        ({"bit_depth": 20}, ValueError, "bit_depth"),
        ({"xyz_to_cam": np.zeros((3, 3))}, ValueError, "singular"),
        ({"xyz_to_cam": np.eye(2)}, ValueError, "shape"),
        ({"xyz_to_cam": np.full((3, 3), np.nan)}, ValueError, "finite"),
        ({"wb_red_range": (2.0, 1.0)}, ValueError, "wb_red_range"),
    ],
)
def test_bad_model_raises(change, err, match):
    with pytest.raises(err, match=match):
        CameraModel(**{**GOOD, **change})


def test_unknown_builtin_raises():
    with pytest.raises(ValueError, match="name"):
        builtin_camera("canon")
    with pytest.raises(ValueError, match="cct"):
        daylight_xy(3000)
    with pytest.raises(ValueError, match="kind"):
        illuminant_xy("candle")


def test_white_balanced_neutral_is_gray():
    cam = builtin_camera("nikon_d5100")
    xy = daylight_xy(5000)
    out = cam.neutral(xy) * cam.wb_gains(xy)
    torch.testing.assert_close(out / out[1], torch.ones(3, dtype=torch.float64))
