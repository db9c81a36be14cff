import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.cfa import pack
from rawkit.isp import (
    add_noise,
    apply_exposure,
    clip_highlights,
    invert_clip_highlights,
    invert_exposure,
    invert_lens_shading,
    lens_shading,
    lens_shading_gain,
    noise_variance,
    sample_noise_levels,
)
from rawkit.testing import assert_numpy_torch_agree, mosaics, patterns
from rawkit.testing.isp import isp_tolerance as tol

DTYPES = [torch.float32, torch.float64]
FAST = settings(max_examples=25, deadline=None)


@FAST
@given(dt=st.sampled_from(DTYPES), s=st.floats(-0.5, 2.0), pattern=patterns(), data=st.data())
def test_lens_shading_inverse_and_packed_consistency(dt, s, pattern, data):
    m = torch.as_tensor(data.draw(mosaics(dtype="float64", max_side=12))).to(dt)
    back = invert_lens_shading(
        lens_shading(m, strength=s, layout="mosaic"), strength=s, layout="mosaic"
    )
    torch.testing.assert_close(back, m, atol=tol(dt), rtol=0)
    p = pack(m, pattern=pattern)
    torch.testing.assert_close(
        lens_shading(p, strength=s, layout="packed", pattern=pattern),
        pack(lens_shading(m, strength=s, layout="mosaic"), pattern=pattern),
        atol=tol(dt),
        rtol=0,
    )


def test_lens_gain_hand_values():
    g = lens_shading_gain(4, 6, strength=0.5, dtype=torch.float64)
    assert g[0, 0].item() == pytest.approx(1.5) and g[-1, -1].item() == pytest.approx(1.5)
    assert g.min().item() > 1.0  # even size: no pixel at the exact centre
    torch.testing.assert_close(g, g.flip(0).flip(1))


@FAST
@given(dt=st.sampled_from(DTYPES), gain=st.floats(0.1, 10.0), data=st.data())
def test_exposure_inverse(dt, gain, data):
    m = torch.as_tensor(data.draw(mosaics(dtype="float64", max_side=8))).to(dt)
    torch.testing.assert_close(
        invert_exposure(apply_exposure(m, gain=gain), gain=gain), m, atol=tol(dt), rtol=0
    )


@FAST
@given(data=st.data(), level=st.floats(0.2, 1.0))
def test_clipping_mask_is_exact(data, level):
    x = torch.as_tensor(data.draw(mosaics(dtype="float64", max_value=2.0, max_side=8)))
    x[..., 0, 0] = level  # exactly at the level counts as (possibly) clipped
    y, lost = invert_clip_highlights(clip_highlights(x, white_level=level), white_level=level)
    assert torch.equal(lost, x >= level)
    assert torch.equal(y[~lost], x[~lost])
    assert bool((y[lost] == level).all())


@pytest.mark.parametrize(
    ("fn", "kw", "match"),
    [
        (lens_shading, {"strength": -1.0, "layout": "mosaic"}, "strength"),
        (lens_shading, {"strength": 0.5, "layout": "packed"}, "shape|pattern"),
        (lens_shading, {"strength": 0.5, "layout": "mosaic", "pattern": "XXXX"}, "pattern"),
        (apply_exposure, {"gain": -2.0}, "gain"),
        (apply_exposure, {"gain": float("nan")}, "gain"),
    ],
)
def test_bad_input_raises(fn, kw, match):
    with pytest.raises(ValueError, match=match):
        fn(torch.ones(1, 4, 4), **kw)


def test_lens_packed_needs_pattern():
    with pytest.raises(ValueError, match="pattern"):
        lens_shading(torch.ones(4, 2, 2), strength=0.5, layout="packed")
    with pytest.raises(ValueError, match="pattern"):
        lens_shading(torch.ones(4, 2, 2), strength=0.5, layout="packed", pattern="GGGG")


def test_noise_seeded_and_heteroscedastic():
    x = torch.full((1, 200, 200), 0.5, dtype=torch.float64)
    a = add_noise(x, shot_noise=0.01, read_noise=0.001, generator=torch.Generator().manual_seed(3))
    b = add_noise(x, shot_noise=0.01, read_noise=0.001, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    var = float((a - x).var())
    assert var == pytest.approx(0.01 * 0.5 + 0.001, rel=0.05)  # 40k samples: ~1 % standard error
    assert noise_variance(np.array([-1.0]), shot_noise=1.0, read_noise=0.5).tolist() == [0.5]


def test_noise_levels_follow_brooks():
    g = torch.Generator().manual_seed(0)
    draws = [sample_noise_levels(generator=g) for _ in range(300)]
    shot = np.array([d[0] for d in draws])
    read = np.array([d[1] for d in draws])
    assert shot.min() >= 1e-4 and shot.max() <= 0.012
    resid = np.log(read) - (2.18 * np.log(shot) + 1.20)
    assert abs(resid.mean()) < 0.06 and abs(resid.std() - 0.26) < 0.05


def test_noise_gradient_and_errors():
    x = torch.zeros(1, 2, 2, dtype=torch.float64, requires_grad=True)
    y = add_noise(x, shot_noise=0.01, read_noise=0.0, generator=torch.Generator().manual_seed(0))
    (g,) = torch.autograd.grad(y.sum(), x)
    assert bool(torch.isfinite(g).all())
    with pytest.raises(TypeError, match="generator"):
        add_noise(x, shot_noise=0.01, read_noise=0.0, generator=None)
    with pytest.raises(ValueError, match="read_noise"):
        add_noise(x, shot_noise=0.01, read_noise=-1.0, generator=torch.Generator())


def test_numpy_torch_agree_and_gradcheck():
    x = np.random.default_rng(0).random((2, 1, 4, 4))
    assert_numpy_torch_agree(lens_shading, x, strength=0.3, layout="mosaic")
    assert_numpy_torch_agree(clip_highlights, x * 2)
    t = torch.rand(4, 2, 3, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(
        lambda a: lens_shading(a, strength=0.3, layout="packed", pattern="GRBG"), (t,)
    )
    torch.autograd.gradcheck(lambda a: apply_exposure(a, gain=1.7), (t,))
