import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rawkit.isp import inverse_smoothstep, smoothstep
from rawkit.testing import assert_numpy_torch_agree
from rawkit.testing.isp import isp_tolerance as tol

DTYPES = [torch.float32, torch.float64]
FAST = settings(max_examples=40, deadline=None)
unit = hnp.arrays(np.float64, st.integers(1, 64), elements=st.floats(0.0, 1.0))


@FAST
@given(dt=st.sampled_from(DTYPES), y=unit)
def test_forward_of_inverse(dt, y):
    t = torch.from_numpy(y).to(dt)
    torch.testing.assert_close(smoothstep(inverse_smoothstep(t)), t, atol=tol(dt), rtol=0)


@FAST
@given(dt=st.sampled_from(DTYPES), x=unit)
def test_inverse_of_forward(dt, x):
    t = torch.from_numpy(x).to(dt)
    torch.testing.assert_close(
        inverse_smoothstep(smoothstep(t)), t, atol=tol(dt, "ill_conditioned"), rtol=0
    )


def test_inverse_of_forward_interior_is_float_exact():
    for dt in DTYPES:
        t = torch.linspace(0.0, 0.9, 1001, dtype=dt)
        torch.testing.assert_close(inverse_smoothstep(smoothstep(t)), t, atol=20 * tol(dt), rtol=0)


def test_agrees_with_brooks_formula():
    y = np.linspace(0.0, 1.0, 1001)
    brooks = 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)
    np.testing.assert_allclose(inverse_smoothstep(y), brooks, atol=1e-12)
    assert float(inverse_smoothstep(np.array([1e-12]))[0]) == pytest.approx(
        math.sqrt(1e-12 / 3), rel=1e-5
    )


def test_numpy_torch_agree():
    x = np.random.default_rng(0).random((3, 4, 4))
    assert_numpy_torch_agree(smoothstep, x)
    assert_numpy_torch_agree(inverse_smoothstep, x)


def test_gradcheck_and_finite_at_ends():
    x = (torch.rand(16, dtype=torch.float64) * 0.9 + 0.05).requires_grad_(True)
    torch.autograd.gradcheck(smoothstep, (x,))
    torch.autograd.gradcheck(inverse_smoothstep, (x,))
    ends = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(inverse_smoothstep(ends).sum(), ends)
    assert bool(torch.isfinite(g).all())


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        inverse_smoothstep(np.array([1.5]))
    with pytest.raises(ValueError, match="finite"):
        smoothstep(np.array([np.nan]))
