"""Tests for rawkit.cfa.menon (DDFAPD demosaicing, Menon et al. 2007)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.cfa.menon import demosaic_menon
from rawkit.cfa.packing import mosaic
from rawkit.cfa.pattern import PATTERNS

with warnings.catch_warnings():  # colour warns about optional packages on import
    warnings.simplefilter("ignore")
    from colour_demosaicing import demosaicing_CFA_Bayer_Menon2007 as colour_menon

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
#: Outer rows/columns where colour-demosaicing's zero-padded classifier may differ.
MARGIN = {True: 6, False: 4}
#: Tolerance for the agreement with colour-demosaicing in float64 (measured: 0.0).
ATOL_REFERENCE = 1e-6


def _reference(m: np.ndarray, pattern: str, refining_step: bool) -> np.ndarray:
    """colour-demosaicing's Menon on a ``(H, W)`` mosaic, as ``(3, H, W)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = colour_menon(m, pattern, refining_step=refining_step)
    return np.moveaxis(out, -1, 0)


def _photo(name: str) -> np.ndarray:
    """A real photo as float64 ``(3, 96, 128)`` in [0, 1] (a crop keeps the test fast)."""
    skdata = pytest.importorskip("skimage.data")
    img = getattr(skdata, name)()[100:196, 120:248].astype(np.float64) / 255.0
    return np.ascontiguousarray(np.moveaxis(img, -1, 0))


def _random_mosaic(shape: tuple[int, ...], seed: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=torch.float64).to(dtype)


even = st.integers(2, 12).map(lambda n: 2 * n)  # 4 .. 24


# --- agreement with colour-demosaicing ----------------------------------------


@pytest.mark.parametrize("refining_step", [True, False])
@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_matches_colour_demosaicing_in_interior(name, pattern, refining_step):
    m = mosaic(_photo(name), pattern=pattern)
    ours = demosaic_menon(m, pattern=pattern, refining_step=refining_step)
    theirs = _reference(m[0], pattern, refining_step)
    k = MARGIN[refining_step]
    np.testing.assert_allclose(
        ours[:, k:-k, k:-k], theirs[:, k:-k, k:-k], rtol=0, atol=ATOL_REFERENCE
    )
    # The border differs only because colour-demosaicing zero-pads its classifier:
    # on the whole-sample symmetric extension it agrees everywhere (next test).


@pytest.mark.parametrize("refining_step", [True, False])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_border_is_demosaicing_of_the_symmetric_extension(pattern, refining_step):
    # Whole-sample reflection keeps the Bayer phase, so running the reference on the
    # mosaic extended by 8 reflected pixels (its own zero padding is then too far to
    # matter) and cropping back must give our result at every pixel, borders included.
    m = mosaic(_photo("coffee")[:, :20, :26], pattern=pattern)[0]
    pad = 8
    extended = np.pad(m, pad, mode="reflect")
    theirs = _reference(extended, pattern, refining_step)[:, pad:-pad, pad:-pad]
    ours = demosaic_menon(m[None], pattern=pattern, refining_step=refining_step)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL_REFERENCE)


@settings(max_examples=15, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    h=st.integers(8, 14).map(lambda n: 2 * n),
    w=st.integers(8, 14).map(lambda n: 2 * n),
    seed=st.integers(0, 2**31 - 1),
    refining_step=st.booleans(),
)
def test_matches_colour_demosaicing_on_random_mosaics(pattern, h, w, seed, refining_step):
    m = _random_mosaic((1, h, w), seed).numpy()
    ours = demosaic_menon(m, pattern=pattern, refining_step=refining_step)
    theirs = _reference(m[0], pattern, refining_step)
    k = MARGIN[refining_step]
    np.testing.assert_allclose(
        ours[:, k:-k, k:-k], theirs[:, k:-k, k:-k], rtol=0, atol=ATOL_REFERENCE
    )


# --- properties ---------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    h=even,
    w=even,
    value=st.floats(-1e3, 1e3, allow_nan=False, width=32),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    refining_step=st.booleans(),
)
def test_constant_mosaic_gives_that_constant_everywhere(pattern, h, w, value, dtype, refining_step):
    m = torch.full((1, h, w), value, dtype=dtype)
    out = demosaic_menon(m, pattern=pattern, refining_step=refining_step)
    expected = torch.full((3, h, w), value, dtype=dtype)
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(out, expected, rtol=4 * eps, atol=4 * eps)


@settings(max_examples=25, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    h=even,
    w=even,
    seed=st.integers(0, 2**31 - 1),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    refining_step=st.booleans(),
)
def test_sampled_values_are_kept(pattern, h, w, seed, dtype, refining_step):
    m = _random_mosaic((1, h, w), seed, dtype)
    out = demosaic_menon(m, pattern=pattern, refining_step=refining_step)
    assert torch.equal(mosaic(out, pattern=pattern), m)


def test_refining_step_changes_the_estimates():
    m = mosaic(_photo("astronaut"), pattern="RGGB")
    refined = demosaic_menon(m, pattern="RGGB")
    plain = demosaic_menon(m, pattern="RGGB", refining_step=False)
    assert np.abs(refined - plain).max() > 1e-3


def test_output_is_not_clipped():
    # Colour differences over a noisy mosaic in [0, 1] overshoot that range.
    m = _random_mosaic((1, 8, 8), 4)
    out = demosaic_menon(m, pattern="RGGB")
    assert out.min() < 0.0 and out.max() > 1.0


def test_piecewise_linear_in_the_mosaic():
    # Scaling the mosaic scales every comparison alike: the decisions are kept.
    m = _random_mosaic((1, 16, 16), 7)
    out = demosaic_menon(m, pattern="GBRG")
    torch.testing.assert_close(demosaic_menon(3.0 * m, pattern="GBRG"), 3.0 * out)


# --- shapes, dtypes, devices, NumPy -------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_device(dtype, device):
    m = _random_mosaic((2, 1, 8, 12), 0, dtype).to(device)
    out = demosaic_menon(m, pattern="GRBG")
    assert out.shape == (2, 3, 8, 12)
    assert out.dtype == dtype
    assert out.device == m.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    m = _random_mosaic((2, 1, 32, 40), 3)
    cpu = demosaic_menon(m, pattern="BGGR")
    gpu = demosaic_menon(m.cuda(), pattern="BGGR").cpu()
    torch.testing.assert_close(gpu, cpu, rtol=0, atol=1e-12)


def test_numpy_in_numpy_out():
    m = _random_mosaic((1, 8, 8), 1)
    out_np = demosaic_menon(m.numpy(), pattern="RGGB")
    assert isinstance(out_np, np.ndarray)
    assert out_np.dtype == np.float64 and out_np.shape == (3, 8, 8)
    np.testing.assert_array_equal(out_np, demosaic_menon(m, pattern="RGGB").numpy())


def test_numpy_float32_stays_float32():
    out = demosaic_menon(np.full((1, 4, 4), 0.5, np.float32), pattern="BGGR")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full((3, 4, 4), 0.5, np.float32))


@pytest.mark.parametrize("refining_step", [True, False])
def test_leading_batch_dims_equal_per_image_results(refining_step):
    m = _random_mosaic((2, 3, 1, 10, 12), 5)
    out = demosaic_menon(m, pattern="GBRG", refining_step=refining_step)
    assert out.shape == (2, 3, 3, 10, 12)
    for i in range(2):
        for j in range(3):
            single = demosaic_menon(m[i, j], pattern="GBRG", refining_step=refining_step)
            torch.testing.assert_close(out[i, j], single, rtol=0, atol=0)


def test_empty_batch():
    out = demosaic_menon(torch.zeros(0, 1, 6, 6), pattern="RGGB")
    assert out.shape == (0, 3, 6, 6)


def test_minimum_size_is_4x4():
    m = torch.tensor([[[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]] * 2], dtype=torch.float64)
    out = demosaic_menon(m, pattern="RGGB")
    ref = _reference(m[0].numpy(), "RGGB", True)  # too small to have an interior
    assert out.shape == (3, 4, 4) and np.isfinite(ref).all()
    assert torch.equal(mosaic(out, pattern="RGGB"), m)


# --- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((1, 7, 8), "even"),
        ((1, 8, 9), "even"),
        ((3, 8, 8), r"\(\*, 1, H, W\)"),
        ((8, 8), r"\(\*, 1, H, W\)"),
        ((1, 2, 2), ">= 4"),
        ((1, 2, 8), ">= 4"),
        ((1, 8, 2), ">= 4"),
    ],
)
def test_bad_shape_raises(shape, match):
    with pytest.raises(ValueError, match=match) as info:
        demosaic_menon(torch.zeros(shape), pattern="RGGB")
    assert "mosaic" in str(info.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_raises(bad):
    m = torch.zeros(1, 8, 8)
    m[0, 3, 5] = bad
    with pytest.raises(ValueError, match="mosaic.*finite"):
        demosaic_menon(m, pattern="RGGB")


@pytest.mark.parametrize("dtype", [torch.uint16, torch.int32, torch.int64, torch.uint8])
def test_integer_dtype_raises(dtype):
    with pytest.raises(TypeError, match="mosaic"):
        demosaic_menon(torch.zeros(1, 8, 8, dtype=dtype), pattern="RGGB")


def test_integer_numpy_raises():
    with pytest.raises(TypeError, match="mosaic"):
        demosaic_menon(np.zeros((1, 8, 8), np.uint16), pattern="RGGB")


@pytest.mark.parametrize("pattern", ["rggb", "RGBG", "XYZW", ""])
def test_unknown_pattern_raises(pattern):
    with pytest.raises(ValueError, match="pattern"):
        demosaic_menon(torch.zeros(1, 8, 8), pattern=pattern)


def test_non_string_pattern_raises():
    with pytest.raises(TypeError, match="pattern"):
        demosaic_menon(torch.zeros(1, 8, 8), pattern=0)  # type: ignore[arg-type]


def test_non_array_raises():
    with pytest.raises(TypeError, match="mosaic"):
        demosaic_menon([[[0.0] * 4] * 4], pattern="RGGB")  # type: ignore[arg-type]


# --- gradients ----------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "refining_step"), [("RGGB", True), ("GBRG", False)])
def test_gradcheck(pattern, refining_step):
    # Random values keep every decision and every |colour-difference gradient| far
    # from a tie (relative to gradcheck's 1e-6 steps): the map is linear there.
    m = _random_mosaic((1, 8, 8), 11).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: demosaic_menon(x, pattern=pattern, refining_step=refining_step), (m,)
    )


def test_gradient_flows_through_the_chosen_direction_only():
    # Columns of constant colour: vertical colour differences are constant, so the
    # vertical gradients vanish and the decision is vertical at every red/blue site.
    # Green at a red site is then G_V = h0 + h1 down the column and its gradient is
    # [-1/4, 1/2, 1/2, 1/2, -1/4] at rows y-2..y+2 of its column, zero elsewhere.
    g = torch.Generator().manual_seed(2)
    rgb = torch.rand(3, 1, 16, generator=g, dtype=torch.float64).expand(3, 16, 16)
    m = mosaic(rgb.contiguous(), pattern="RGGB").requires_grad_(True)
    out = demosaic_menon(m, pattern="RGGB", refining_step=False)
    y, x = 8, 8  # a red site of RGGB, far from the border
    (grad,) = torch.autograd.grad(out[1, y, x], m)
    expected = torch.zeros_like(m)
    expected[0, y - 2 : y + 3, x] = torch.tensor([-0.25, 0.5, 0.5, 0.5, -0.25], dtype=torch.float64)
    torch.testing.assert_close(grad, expected, rtol=0, atol=1e-15)
