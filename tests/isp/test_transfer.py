import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rawkit.isp import GAMMA_EPS, gamma_decode, gamma_encode, srgb_eotf, srgb_oetf
from rawkit.testing import assert_numpy_torch_agree
from rawkit.testing.isp import isp_tolerance as tol

DTYPES = [torch.float32, torch.float64]
FAST = settings(max_examples=40, deadline=None)
unit = hnp.arrays(np.float64, st.integers(1, 64), elements=st.floats(0.0, 1.0))


@FAST
@given(dt=st.sampled_from(DTYPES), x=unit)
def test_srgb_round_trips(dt, x):
    t = torch.from_numpy(x).to(dt)
    torch.testing.assert_close(srgb_eotf(srgb_oetf(t)), t, atol=tol(dt), rtol=0)
    torch.testing.assert_close(srgb_oetf(srgb_eotf(t)), t, atol=tol(dt), rtol=0)


@FAST
@given(dt=st.sampled_from(DTYPES), x=unit, g=st.floats(1.5, 3.0))
def test_gamma_round_trips(dt, x, g):
    t = torch.from_numpy(x).to(dt).clamp(min=GAMMA_EPS)
    torch.testing.assert_close(
        gamma_decode(gamma_encode(t, gamma=g), gamma=g), t, atol=tol(dt), rtol=0
    )
    v = t.clamp(min=GAMMA_EPS ** (1 / g))  # encoded values that decode to >= GAMMA_EPS
    torch.testing.assert_close(
        gamma_encode(gamma_decode(v, gamma=g), gamma=g), v, atol=tol(dt), rtol=0
    )


@pytest.mark.parametrize("dt", DTYPES)
def test_agrees_with_colour_science(dt):
    import colour

    x = np.linspace(-0.1, 1.2, 2001)
    t = torch.from_numpy(x).to(dt)
    enc = colour.cctf_encoding(x, function="sRGB")
    dec = colour.cctf_decoding(x, function="sRGB")
    np.testing.assert_allclose(srgb_oetf(t).double().numpy(), enc, atol=tol(dt, "colour"), rtol=0)
    np.testing.assert_allclose(srgb_eotf(t).double().numpy(), dec, atol=tol(dt, "colour"), rtol=0)


def test_hand_values():
    assert srgb_oetf(torch.tensor([0.0031308], dtype=torch.float64)).item() == pytest.approx(
        0.040449936
    )
    assert srgb_oetf(torch.tensor([1.0], dtype=torch.float64)).item() == pytest.approx(
        1.0, abs=1e-15
    )
    assert gamma_encode(torch.tensor([0.0])).item() == pytest.approx(1e-8 ** (1 / 2.2), rel=1e-5)


def test_numpy_torch_agree():
    x = np.random.default_rng(0).random((3, 4, 4))
    assert_numpy_torch_agree(srgb_oetf, x)
    assert_numpy_torch_agree(srgb_eotf, x)
    assert_numpy_torch_agree(gamma_encode, x, gamma=2.4)


def test_gradients_finite_at_zero_and_gradcheck():
    z = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    for f in (srgb_oetf, srgb_eotf, gamma_encode, gamma_decode):
        (g,) = torch.autograd.grad(f(z).sum(), z)
        assert bool(torch.isfinite(g).all()), f.__name__
    x = (torch.rand(16, dtype=torch.float64) * 0.9 + 0.05).requires_grad_(True)
    for f in (srgb_oetf, srgb_eotf, gamma_encode, gamma_decode):
        torch.autograd.gradcheck(f, (x,))


def test_bad_input_raises():
    with pytest.raises(ValueError, match="finite"):
        srgb_oetf(np.array([np.nan]))
    with pytest.raises(TypeError, match="dtype"):
        srgb_eotf(np.array([1], np.int64))
    with pytest.raises(ValueError, match="gamma"):
        gamma_encode(np.array([0.5]), gamma=0.0)


@pytest.mark.parametrize("dt", [torch.float32, torch.float64])
def test_srgb_round_trip_at_the_knee(dt):
    """The branch is picked at 0.0031308 in both directions (found by hypothesis in CI)."""
    t = torch.tensor([0.0031308, 0.00313079, 0.00313081, 0.0404499, 0.04045], dtype=dt)
    torch.testing.assert_close(srgb_eotf(srgb_oetf(t)), t, atol=tol(dt), rtol=0)
