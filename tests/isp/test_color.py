import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.isp import (
    SRGB_TO_XYZ,
    apply_color_matrix,
    builtin_camera,
    camera_to_srgb,
    solve_color_matrix,
    srgb_to_camera,
    srgb_to_camera_matrix,
)
from rawkit.testing import assert_numpy_torch_agree, rgb_images
from rawkit.testing.isp import camera_models
from rawkit.testing.isp import isp_tolerance as tol

DTYPES = [torch.float32, torch.float64]
FAST = settings(max_examples=25, deadline=None)


@FAST
@given(dt=st.sampled_from(DTYPES), cam=camera_models(), data=st.data())
def test_camera_round_trip(dt, cam, data):
    x = torch.as_tensor(data.draw(rgb_images(dtype="float64", max_side=8))).to(dt)
    m = cam.color_matrix(dtype=dt)
    c = srgb_to_camera(x, xyz_to_cam=m)
    torch.testing.assert_close(
        camera_to_srgb(c, xyz_to_cam=m), x, atol=tol(dt, "roundtrip"), rtol=0
    )
    torch.testing.assert_close(
        srgb_to_camera(camera_to_srgb(x, xyz_to_cam=m), xyz_to_cam=m),
        x,
        atol=tol(dt, "roundtrip"),
        rtol=0,
    )


def test_libraw_convention_against_numpy():
    """rgb_cam = pinv(rownorm(xyz_to_cam @ xyz_rgb)), computed independently with NumPy."""
    m = np.asarray(builtin_camera("nikon_d5100").xyz_to_cam)
    cam_rgb = m @ np.asarray(SRGB_TO_XYZ)
    cam_rgb /= cam_rgb.sum(axis=1, keepdims=True)
    rgb_cam = np.linalg.pinv(cam_rgb)
    cam = np.random.default_rng(0).random((3, 5, 5))
    ref = np.einsum("ij,jhw->ihw", rgb_cam, cam)
    np.testing.assert_allclose(camera_to_srgb(cam, xyz_to_cam=m), ref, atol=1e-12)
    np.testing.assert_allclose(srgb_to_camera_matrix(m).numpy(), cam_rgb, atol=1e-14)


def test_white_stays_white():
    m = builtin_camera("sigma_sd_merrill").xyz_to_cam
    out = camera_to_srgb(torch.ones(3, 1, 1, dtype=torch.float64), xyz_to_cam=m)
    torch.testing.assert_close(out, torch.ones(3, 1, 1, dtype=torch.float64))


def test_srgb_matrix_agrees_with_colour():
    import colour

    ref = colour.RGB_COLOURSPACES["sRGB"].matrix_RGB_to_XYZ
    np.testing.assert_allclose(np.asarray(SRGB_TO_XYZ), ref, atol=2e-4)


@FAST
@given(dt=st.sampled_from(DTYPES), data=st.data())
def test_generic_matrix_inverse(dt, data):
    a = data.draw(st.lists(st.floats(-0.3, 0.3), min_size=9, max_size=9))
    m = torch.eye(3, dtype=dt) + torch.tensor(a, dtype=dt).reshape(3, 3)
    x = torch.as_tensor(data.draw(rgb_images(dtype="float64", max_side=8))).to(dt)
    torch.testing.assert_close(
        solve_color_matrix(apply_color_matrix(x, matrix=m), matrix=m),
        x,
        atol=tol(dt, "roundtrip"),
        rtol=0,
    )


def test_batched_matrices():
    m = torch.stack([torch.eye(3), 2 * torch.eye(3)]).double()
    x = torch.ones(2, 3, 1, 1, dtype=torch.float64)
    assert solve_color_matrix(x, matrix=m).flatten().tolist() == [1, 1, 1, 0.5, 0.5, 0.5]


def test_numpy_torch_agree():
    x = np.random.default_rng(0).random((2, 3, 4, 4))
    m = builtin_camera("nikon_d5100").xyz_to_cam
    assert_numpy_torch_agree(camera_to_srgb, x, xyz_to_cam=np.asarray(m))


def test_gradcheck():
    x = torch.rand(3, 3, 3, dtype=torch.float64, requires_grad=True)
    m = builtin_camera("nikon_d5100").color_matrix().requires_grad_(True)
    torch.autograd.gradcheck(lambda a, b: camera_to_srgb(a, xyz_to_cam=b), (x, m))
    torch.autograd.gradcheck(lambda a, b: srgb_to_camera(a, xyz_to_cam=b), (x, m))


@pytest.mark.parametrize(
    ("m", "match"),
    [
        (np.zeros((3, 3)), "singular"),
        (np.array([[1, 2, 3], [2, 4, 6], [0, 0, 1.0]]), "singular"),
        (np.eye(4), "shape"),
        (np.eye(3)[:2], "shape"),
        (np.full((3, 3), np.nan), "finite"),
        (-np.eye(3), "positive"),
    ],
)
def test_bad_matrix_raises(m, match):
    with pytest.raises(ValueError, match=match):
        camera_to_srgb(np.ones((3, 2, 2)), xyz_to_cam=m)


def test_bad_image_raises():
    with pytest.raises(ValueError, match="shape"):
        srgb_to_camera(np.ones((4, 2, 2)), xyz_to_cam=np.eye(3))
    with pytest.raises(ValueError, match="finite"):
        srgb_to_camera(np.full((3, 2, 2), np.inf), xyz_to_cam=np.eye(3))
