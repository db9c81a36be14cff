"""Tests of rawkit.masks: overexposure, warp error, occlusion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rawkit import masks

images = arrays(
    np.float64,
    st.tuples(st.integers(1, 2), st.just(3), st.integers(1, 5), st.integers(1, 5)),
    elements=st.floats(0.0, 1.0),
)


# ----------------------------------------------------------------------- overexposure


@settings(max_examples=40, deadline=None)
@given(x=images, threshold=st.floats(0.3, 1.0), frac=st.floats(0.0, 0.99))
def test_overexposure_range_shape(x: np.ndarray, threshold: float, frac: float) -> None:
    m = masks.overexposure(x, threshold=threshold, softness=frac * threshold)
    assert isinstance(m, np.ndarray) and m.shape == (*x.shape[:-3], 1, *x.shape[-2:])
    assert m.dtype == x.dtype
    assert (m >= 0).all() and (m <= 1).all()


@settings(max_examples=40, deadline=None)
@given(
    x=images,
    delta=arrays(np.float64, 3, elements=st.floats(0, 0.5)),
    soft=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_overexposure_monotone_in_brightness(x: np.ndarray, delta: np.ndarray, soft: float) -> None:
    brighter = x + delta[:, None, None]
    for reduce in ("max", "mean"):
        a = masks.overexposure(x, threshold=0.9, softness=soft, reduce=reduce)
        b = masks.overexposure(brighter, threshold=0.9, softness=soft, reduce=reduce)
        assert (b >= a - 1e-12).all()


@settings(max_examples=20, deadline=None)
@given(x=images, soft=st.sampled_from([0.0, 0.05, 0.1]))
def test_overexposure_empty_on_dark(x: np.ndarray, soft: float) -> None:
    dark = x * (0.9 - soft - 1e-3)  # every value below threshold - softness
    assert not masks.overexposure(dark, threshold=0.9, softness=soft).any()


def test_overexposure_hand_values() -> None:
    # reference written out by hand: max over channels, ramp (v - 0.8) / 0.1, smoothstep
    x = torch.tensor([[0.1, 0.85, 0.2], [0.1, 0.0, 0.95], [0.0, 0.0, 0.0]]).reshape(3, 1, 3)
    # pixel maxima: 0.1, 0.85, 0.95
    hard = masks.overexposure(x, threshold=0.9, softness=0.0)
    assert hard.flatten().tolist() == [0.0, 0.0, 1.0]
    soft = masks.overexposure(x, threshold=0.9, softness=0.1)
    t = 0.5
    assert soft.flatten().tolist() == pytest.approx([0.0, 3 * t**2 - 2 * t**3, 1.0], abs=1e-6)
    mean = masks.overexposure(x, threshold=0.3, softness=0.0, reduce="mean")
    assert mean.flatten().tolist() == [0.0, 0.0, 1.0]  # means 0.067, 0.283, 0.383


def test_overexposure_soft_tends_to_hard() -> None:
    v = torch.linspace(0, 1, 101, dtype=torch.float64)
    v = v[(v - 0.9).abs() > 1e-6]  # keep away from the threshold itself
    x = v.reshape(1, 1, -1).expand(3, 1, -1)
    hard = masks.overexposure(x, threshold=0.9, softness=0.0)
    soft = masks.overexposure(x, threshold=0.9, softness=1e-9)
    assert torch.equal(hard, soft)


def test_overexposure_gradient() -> None:
    g = torch.Generator().manual_seed(0)
    x = (0.82 + 0.07 * torch.rand(1, 3, 2, 2, generator=g, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t: masks.overexposure(t, threshold=0.9, softness=0.1), (x,)
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "words"),
    [
        ({"threshold": 0.0}, ValueError, "threshold"),
        ({"threshold": 1.5}, ValueError, "threshold"),
        ({"softness": -0.1}, ValueError, "softness"),
        ({"threshold": 0.5, "softness": 0.5}, ValueError, "softness"),
        ({"reduce": "min"}, ValueError, "reduce"),
        ({"threshold": "0.9"}, TypeError, "threshold"),
    ],
)
def test_overexposure_bad_options(kwargs: dict, exc: type, words: str) -> None:
    with pytest.raises(exc, match=words):
        masks.overexposure(np.zeros((3, 2, 2)), **kwargs)


def test_overexposure_bad_input() -> None:
    with pytest.raises(ValueError, match="srgb"):
        masks.overexposure(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="srgb"):
        masks.overexposure(np.zeros((3, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        masks.overexposure(np.full((3, 2, 2), np.nan))
    with pytest.raises(TypeError, match="srgb"):
        masks.overexposure([[0.0]])  # type: ignore[arg-type]


# ----------------------------------------------------------------------- warp error


def test_warp_error_and_confidence() -> None:
    a = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    b = a.clone()
    b[0, :, 1, 2] = torch.tensor([0.3, -0.3, 0.0], dtype=torch.float64)
    e = masks.warp_error(a, b)
    assert e.shape == (2, 1, 4, 4)
    assert float(e[0, 0, 1, 2]) == pytest.approx(0.2)
    assert float(e.sum()) == pytest.approx(0.2)
    assert float(masks.warp_error(a, b, reduce="max")[0, 0, 1, 2]) == pytest.approx(0.3)
    c = masks.warp_error_confidence(a, b, scale=0.1)
    assert float(c[0, 0, 1, 2]) == pytest.approx(np.exp(-2.0))
    assert float(c.min()) > 0 and float(c.max()) == 1.0
    assert (c[1] == 1).all()


def test_warp_error_rejects_mismatch() -> None:
    with pytest.raises(ValueError, match="current"):
        masks.warp_error(np.zeros((3, 4, 4)), np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="scale"):
        masks.warp_error_confidence(np.zeros((3, 4, 4)), np.zeros((3, 4, 4)), scale=0.0)


# ----------------------------------------------------------------------- occlusion


def _square_scene(v: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 6x6 square moving by ``v`` over a static background; true flows, disocclusion."""
    h, w = 20, 24
    top, left, size = 7, 6, 6
    vx, vy = v
    in_a = torch.zeros(h, w, dtype=torch.bool)
    in_a[top : top + size, left : left + size] = True
    in_b = torch.zeros(h, w, dtype=torch.bool)
    in_b[top + vy : top + vy + size, left + vx : left + vx + size] = True
    bw = torch.zeros(2, h, w, dtype=torch.float64)  # b -> a: object pixels came from p - v
    bw[0][in_b], bw[1][in_b] = -vx, -vy
    fw = torch.zeros(2, h, w, dtype=torch.float64)  # a -> b
    fw[0][in_a], fw[1][in_a] = vx, vy
    disoccluded = in_a & ~in_b  # background in b that the square hid in a
    return bw, fw, disoccluded


@pytest.mark.parametrize("v", [(3, 0), (-2, 2), (0, -4)])
def test_occlusion_marks_exactly_the_disoccluded_pixels(v: tuple[int, int]) -> None:
    bw, fw, disoccluded = _square_scene(v)
    m = masks.occlusion(bw, fw)
    assert m.shape == (1, 20, 24) and m.dtype == torch.float64
    assert torch.equal(m[0].bool(), disoccluded)


def test_occlusion_frame_edges_and_tolerance() -> None:
    flow = torch.zeros(2, 4, 5)
    flow[0] = 1.0  # consistent translation; the last column leaves the frame
    m = masks.occlusion(flow, -flow)
    assert m[0, :, -1].eq(1).all() and m[0, :, :-1].eq(0).all()
    assert masks.occlusion(flow, -flow, frame_edges=False).eq(0).all()
    # an inconsistency of 0.5 px passes beta=0.5 (0.25 <= 0.5), one of 1 px does not
    assert masks.occlusion(flow, -flow + 0.5 / 2**0.5, frame_edges=False).eq(0).all()
    assert masks.occlusion(flow, -flow + 1.0, frame_edges=False).eq(1).all()
    with pytest.raises(ValueError, match="alpha"):
        masks.occlusion(flow, -flow, alpha=-1.0)
    with pytest.raises(ValueError, match="reverse"):
        masks.occlusion(flow, flow[:, :3])
