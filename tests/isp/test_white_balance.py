import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.cfa import mosaic, pack
from rawkit.isp import (
    gains_from_neutral,
    invert_white_balance,
    safe_gains_exact_mask,
    safe_invert_white_balance,
    white_balance,
)
from rawkit.testing import assert_numpy_torch_agree, mosaics, patterns, rgb_images
from rawkit.testing.isp import isp_tolerance as tol

DTYPES = [torch.float32, torch.float64]
FAST = settings(max_examples=25, deadline=None)

gains_st = st.tuples(st.floats(0.3, 4.0), st.floats(0.3, 4.0), st.floats(0.3, 4.0)).map(list)


@FAST
@given(dt=st.sampled_from(DTYPES), gains=gains_st, pattern=patterns(), data=st.data())
def test_inverse_every_layout(dt, gains, pattern, data):
    m = torch.as_tensor(data.draw(mosaics(dtype="float64", max_side=8))).to(dt)
    p = pack(m, pattern=pattern)
    rgb = torch.as_tensor(data.draw(rgb_images(dtype="float64", max_side=8))).to(dt)
    for x, kw in (
        (m, {"layout": "mosaic", "pattern": pattern}),
        (p, {"layout": "packed"}),
        (rgb, {"layout": "rgb"}),
    ):
        back = invert_white_balance(white_balance(x, gains=gains, **kw), gains=gains, **kw)
        torch.testing.assert_close(back, x, atol=tol(dt), rtol=0)


@FAST
@given(gains=gains_st, pattern=patterns(), data=st.data())
def test_layouts_agree(gains, pattern, data):
    rgb = torch.as_tensor(data.draw(rgb_images(dtype="float64", max_side=8)))
    m = mosaic(rgb, pattern=pattern)
    via_rgb = mosaic(white_balance(rgb, gains=gains, layout="rgb"), pattern=pattern)
    via_mosaic = white_balance(m, gains=gains, layout="mosaic", pattern=pattern)
    via_packed = white_balance(pack(m, pattern=pattern), gains=gains, layout="packed")
    torch.testing.assert_close(via_mosaic, via_rgb, atol=0, rtol=0)
    torch.testing.assert_close(via_packed, pack(via_rgb, pattern=pattern), atol=0, rtol=0)


def test_batched_gains_broadcast():
    x = torch.ones(2, 3, 1, 1)
    g = torch.tensor([[2.0, 1.0, 1.0], [1.0, 1.0, 3.0]])
    assert white_balance(x, gains=g, layout="rgb").flatten().tolist() == [2, 1, 1, 1, 1, 3]


@FAST
@given(
    dt=st.sampled_from(DTYPES),
    r=st.floats(1.0, 3.0),
    b=st.floats(1.0, 3.0),
    t=st.floats(0.5, 0.95),
    data=st.data(),
)
def test_safe_inverse_exact_on_mask(dt, r, b, t, data):
    x = torch.as_tensor(data.draw(rgb_images(dtype="float64", max_side=8))).to(dt)
    gains = [r, 1.0, b]
    safe = safe_invert_white_balance(x, gains=gains, threshold=t)
    plain = invert_white_balance(x, gains=gains, layout="rgb")
    mask = safe_gains_exact_mask(x, gains=gains, threshold=t).expand_as(x)
    torch.testing.assert_close(safe[mask], plain[mask], atol=tol(dt), rtol=0)
    torch.testing.assert_close(
        white_balance(safe, gains=gains, layout="rgb")[mask], x[mask], atol=tol(dt), rtol=0
    )
    # the mask is exact: outside it the safe gains really differ (all three gains > 1 here are not needed)
    gray = x.mean(dim=-3, keepdim=True).expand_as(x)
    assert bool((mask | (gray > t)).all())
    # highlights are kept: safe result >= plain result everywhere
    assert bool((safe >= plain - tol(dt)).all())


def test_safe_inverse_keeps_white_saturated():
    white = torch.ones(3, 2, 2)
    out = safe_invert_white_balance(white, gains=[2.2, 1.0, 1.6])
    assert torch.equal(out, white)


def test_gains_from_neutral_min_is_one():
    g = gains_from_neutral(torch.tensor([[0.5, 1.0, 0.8], [1.0, 0.5, 0.25]], dtype=torch.float64))
    assert g.tolist() == [[2.0, 1.0, 1.25], [1.0, 2.0, 4.0]]


def test_numpy_torch_agree():
    x = np.random.default_rng(1).random((2, 4, 3, 3))
    assert_numpy_torch_agree(white_balance, x, gains=[1.5, 1.0, 2.0], layout="packed")
    x3 = np.random.default_rng(1).random((3, 4, 4))
    assert_numpy_torch_agree(safe_invert_white_balance, x3, gains=[1.5, 1.0, 2.0])


def test_gradcheck():
    x = torch.rand(3, 4, 4, dtype=torch.float64, requires_grad=True)
    g = torch.tensor([1.7, 1.0, 1.3], dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda a, b: white_balance(a, gains=b, layout="rgb"), (x, g))
    torch.autograd.gradcheck(lambda a, b: safe_invert_white_balance(a, gains=b), (x, g))
    m = torch.rand(1, 4, 4, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(
        lambda a: white_balance(a, gains=g.detach(), layout="mosaic", pattern="GBRG"), (m,)
    )


@pytest.mark.parametrize(
    ("x", "kw", "err", "match"),
    [
        (torch.ones(3, 2, 2), {"gains": [-1.0, 1.0, 1.0], "layout": "rgb"}, ValueError, "positive"),
        (torch.ones(3, 2, 2), {"gains": [0.0, 1.0, 1.0], "layout": "rgb"}, ValueError, "positive"),
        (torch.ones(3, 2, 2), {"gains": [1.0, 1.0], "layout": "rgb"}, ValueError, "gains"),
        (
            torch.ones(3, 2, 2),
            {"gains": [float("nan"), 1.0, 1.0], "layout": "rgb"},
            ValueError,
            "finite",
        ),
        (torch.ones(4, 2, 2), {"gains": [1.0, 1.0, 1.0], "layout": "rgb"}, ValueError, "packed"),
        (
            torch.ones(1, 2, 2),
            {"gains": [1.0, 1.0, 1.0], "layout": "mosaic"},
            ValueError,
            "pattern",
        ),
        (
            torch.ones(1, 2, 2),
            {"gains": [1, 1, 1], "layout": "mosaic", "pattern": "RGBG"},
            ValueError,
            "pattern",
        ),
        (
            torch.ones(4, 2, 2),
            {"gains": [1, 1, 1], "layout": "packed", "pattern": "RGGB"},
            ValueError,
            "pattern",
        ),
        (
            torch.full((3, 2, 2), float("nan")),
            {"gains": [1, 1, 1], "layout": "rgb"},
            ValueError,
            "finite",
        ),
        (
            torch.ones(3, 2, 2, dtype=torch.int32),
            {"gains": [1, 1, 1], "layout": "rgb"},
            TypeError,
            "dtype",
        ),
    ],
)
def test_bad_input_raises(x, kw, err, match):
    with pytest.raises(err, match=match):
        white_balance(x, **kw)


def test_safe_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        safe_invert_white_balance(torch.ones(3, 2, 2), gains=[1, 1, 1], threshold=1.0)
