"""The camera look: bounds, monotone tone curve, exact inverse where nothing clips."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.isp import (
    LUMA_709,
    CameraLook,
    apply_look,
    camera_look,
    inverse_tone_curve,
    invert_look,
    look_matrix,
    tone_curve,
)

offsets = st.lists(st.floats(-0.03, 0.03), min_size=1, max_size=4)
looks = st.builds(
    CameraLook,
    tone=offsets.map(tuple),
    saturation=st.floats(0.8, 1.2),
    hue=st.floats(-10, 10),
)


@settings(max_examples=40, deadline=None)
@given(look=looks)
def test_tone_curve_bounds_monotone_and_inverse(look):
    y = torch.linspace(0, 1, 2001, dtype=torch.float64)
    t = tone_curve(y, look=look)
    assert float(t[0]) == 0.0 and float(t[-1]) == 1.0
    assert bool((t[1:] > t[:-1]).all())  # strictly increasing
    assert float((t - y).abs().max()) <= look.max_tone_offset + 1e-12 <= 0.1
    back = inverse_tone_curve(t, look=look)
    assert float((back - y).abs().max()) < 1e-9


@settings(max_examples=40, deadline=None)
@given(look=looks, seed=st.integers(0, 2**31 - 1))
def test_invert_look_is_exact_where_nothing_clips(look, seed):
    g = torch.Generator().manual_seed(seed)
    x = 0.3 + 0.4 * torch.rand(2, 3, 5, 7, dtype=torch.float64, generator=g)
    fwd = apply_look(x, look=look)
    assert float(fwd.min()) >= 0 and float(fwd.max()) <= 1
    np.testing.assert_allclose(invert_look(fwd, look=look), x, atol=1e-9)


def test_matrix_keeps_luma_and_greys_and_scales_chroma():
    look = CameraLook(tone=(0.0,), saturation=1.2, hue=0.0)
    m = look_matrix(look)
    w = torch.tensor(LUMA_709, dtype=torch.float64)
    # luma row: w @ M == w (independent check of "Y unchanged")
    np.testing.assert_allclose(w @ m, w, atol=1e-12)
    x = torch.tensor([0.6, 0.3, 0.2], dtype=torch.float64)
    y = float(w @ x)
    np.testing.assert_allclose(m @ x - y, 1.2 * (x - y), atol=1e-12)  # chroma x 1.2
    np.testing.assert_allclose(
        look_matrix(look, inverse=True) @ m, torch.eye(3, dtype=torch.float64), atol=1e-12
    )


def test_hue_rotation_keeps_chroma_norm_in_opponent_space():
    look = CameraLook(tone=(0.0,), saturation=1.0, hue=7.0)
    m = look_matrix(look)
    x = torch.tensor([0.6, 0.3, 0.2], dtype=torch.float64)
    y = m @ x
    wr, wg, wb = LUMA_709

    def opp(v):
        lum = wr * v[0] + wg * v[1] + wb * v[2]
        return torch.stack([v[2] - lum, v[0] - lum])

    a, b = opp(x), opp(y)
    np.testing.assert_allclose(float(a.norm()), float(b.norm()), rtol=1e-12)
    ang = float(torch.atan2(b[1], b[0]) - torch.atan2(a[1], a[0]))
    np.testing.assert_allclose(np.degrees(ang), 7.0, atol=1e-9)


def test_camera_look_is_seeded_and_modest():
    looks_ = [camera_look(seed=s) for s in range(50)]
    assert camera_look(seed=3) == camera_look(seed=3) and looks_[0] != looks_[1]
    for lk in looks_:
        assert lk.max_tone_offset <= 0.05 and abs(lk.saturation - 1) <= 0.2 and abs(lk.hue) <= 3


def test_numpy_in_numpy_out_and_bad_input():
    look = camera_look(seed=0)
    x = np.full((3, 2, 2), 0.5, np.float32)
    assert isinstance(apply_look(x, look=look), np.ndarray)
    with pytest.raises(ValueError, match="srgb"):
        apply_look(x * 3, look=look)
    with pytest.raises(ValueError, match="srgb"):
        apply_look(np.full((2, 2, 2), 0.5), look=look)
    with pytest.raises(TypeError, match="look"):
        apply_look(x, look=0.1)
    with pytest.raises(ValueError, match="tone"):
        CameraLook(tone=(0.2,))
    with pytest.raises(ValueError, match="increasing"):
        CameraLook(tone=(0.1, -0.1, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="saturation"):
        CameraLook(tone=(0.0,), saturation=1.5)
