"""synthesize_video: determinism, layouts, and the true backward flow."""

import cv2
import numpy as np
import pytest

from rawkit.cfa import pack
from rawkit.data import MOTIONS, synthesize_video
from rawkit.isp import process

SIZE = (48, 64)


def _smooth_photo(h=160, w=200):
    """A smooth scene: bilinear resampling of it is accurate to ~1e-4."""
    yy, xx = np.mgrid[0:h, 0:w] / 40.0
    return np.stack(
        [
            0.5 + 0.3 * np.sin(xx + 0.5 * yy),
            0.5 + 0.3 * np.cos(0.7 * xx - yy),
            0.4 + 0.2 * np.sin(yy),
        ]
    ).astype(np.float32)


def _warp_previous(v, t):
    """Frame t-1 backward-warped by the true flow with OpenCV (an independent warp)."""
    h, w = v.scene.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    prev = np.ascontiguousarray(v.scene[t - 1].transpose(1, 2, 0))
    out = cv2.remap(prev, xx + v.flow[t - 1, 0], yy + v.flow[t - 1, 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out.transpose(2, 0, 1)


@pytest.mark.parametrize("motion", MOTIONS)
def test_flow_reproduces_the_next_frame(motion):
    """Warping frame t-1 by the flow gives frame t on valid pixels to 5e-4 (max; ~5e-5 seen)."""
    v = synthesize_video(_smooth_photo(), n_frames=4, motion=motion, seed=3, size=SIZE)
    for t in range(1, 4):
        valid = v.valid[t - 1, 0]
        assert valid.mean() > 0.5
        err = np.abs(_warp_previous(v, t) - v.scene[t]).max(axis=0)
        assert err[valid].max() < 5e-4, (motion, t, float(err[valid].max()))


def test_flow_on_a_photo():
    """On a real photo the double resampling costs more, but the flow is clearly right."""
    v = synthesize_video("astronaut", n_frames=4, motion="mixed", seed=1, size=SIZE)
    for t in range(1, 4):
        valid = v.valid[t - 1, 0]
        err = np.abs(_warp_previous(v, t) - v.scene[t]).mean(axis=0)[valid].mean()
        still = np.abs(v.scene[t - 1] - v.scene[t]).mean(axis=0)[valid].mean()
        assert err < 0.02 and err < still / 3, (t, err, still)


def test_occluded_pixels_are_flagged():
    v = synthesize_video(_smooth_photo(), n_frames=5, motion="pan", seed=0, size=SIZE)
    h, w = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    for t in range(1, 5):
        px, py = xx + v.flow[t - 1, 0], yy + v.flow[t - 1, 1]
        cx, cy = v.object_centres[t - 1]
        hidden = np.hypot(px - cx, py - cy) < v.object_radius  # lands on the object in t-1
        background = ~v.occluder[t, 0]
        assert (hidden & background).any()  # the object does hide something
        assert not v.valid[t - 1, 0][hidden & background].any()
        outside = (px < 0) | (px > w - 1) | (py < 0) | (py > h - 1)
        assert not v.valid[t - 1, 0][outside].any()
        # object pixels move with the object
        on = v.occluder[t, 0] & v.occluder[t - 1, 0]
        step = v.object_centres[t - 1] - v.object_centres[t]
        np.testing.assert_allclose(v.flow[t - 1, 0][v.occluder[t, 0]], step[0], atol=1e-5)
        assert on.any()


def test_static_camera_without_object_has_zero_flow():
    v = synthesize_video("coffee", n_frames=3, motion="static", seed=0, size=SIZE, occluder=False)
    assert np.abs(v.flow).max() < 1e-9 and v.valid.all() and not v.occluder.any()
    np.testing.assert_array_equal(v.scene[0], v.scene[2])


def test_motions_look_like_their_names():
    pan = synthesize_video(
        _smooth_photo(), n_frames=3, motion="pan", seed=0, size=SIZE, occluder=False
    )
    f = pan.flow[0]
    assert np.abs(f - f.mean(axis=(1, 2), keepdims=True)).max() < 1e-6  # uniform shift
    assert np.hypot(*f.mean(axis=(1, 2))) > 1.0
    zoom = synthesize_video(
        _smooth_photo(), n_frames=3, motion="zoom", seed=0, size=SIZE, occluder=False
    )
    div = np.gradient(zoom.flow[0, 0], axis=1) + np.gradient(zoom.flow[0, 1], axis=0)
    assert abs(div.mean()) > 0.01 and div.std() < 1e-4  # constant, non-zero divergence
    rot = synthesize_video(
        _smooth_photo(), n_frames=3, motion="rotate", seed=0, size=SIZE, occluder=False
    )
    curl = np.gradient(rot.flow[0, 1], axis=1) - np.gradient(rot.flow[0, 0], axis=0)
    assert abs(curl.mean()) > 0.01 and curl.std() < 1e-4  # constant, non-zero rotation


def test_frames_layouts_and_determinism():
    a = synthesize_video("chelsea", n_frames=3, motion="shake", seed=4, size=SIZE)
    b = synthesize_video("chelsea", n_frames=3, motion="shake", seed=4, size=SIZE)
    for k in ("srgb", "mosaic", "packed", "raw", "flow", "valid", "scene"):
        assert getattr(a, k).tobytes() == getattr(b, k).tobytes(), k
    c = synthesize_video("chelsea", n_frames=3, motion="shake", seed=5, size=SIZE)
    assert a.raw.tobytes() != c.raw.tobytes()
    h, w = SIZE
    assert a.srgb.shape == (3, 3, h, w) and a.raw.shape == (3, 1, h, w)
    assert a.packed.shape == (3, 4, h // 2, w // 2) and a.flow.shape == (2, 2, h, w)
    np.testing.assert_array_equal(a.packed, pack(a.mosaic, pattern=a.pattern))
    lin = process(a.mosaic, camera=a.camera, params=a.params)
    np.testing.assert_allclose(a.srgb, np.round(np.clip(lin, 0, 1) * 255) / 255, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_frames"):
        synthesize_video("coffee", n_frames=1, seed=0)
    with pytest.raises(ValueError, match="motion"):
        synthesize_video("coffee", n_frames=2, motion="dolly", seed=0)
    with pytest.raises(ValueError, match="size"):
        synthesize_video("coffee", n_frames=2, seed=0, size=(31, 32))
    with pytest.raises(ValueError, match="fit"):
        synthesize_video("coffee", n_frames=2, seed=0, size=(600, 800))
