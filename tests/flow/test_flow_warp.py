"""Tests of rawkit.flow.warp: exactness, references (loop, grid_sample, cv2.remap), gradients."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.flow import endpoint_error, forward_backward_error, out_of_frame, warp, warp_packed

sizes = st.tuples(st.integers(1, 3), st.integers(1, 7), st.integers(1, 7))


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def loop_reference(x: np.ndarray, flow: np.ndarray, padding: str) -> np.ndarray:
    """Bilinear backward warp written from the definition, one pixel at a time (float64)."""
    c, h, w = x.shape
    out = np.zeros((c, h, w))

    def reflect(p: float, n: int) -> float:
        if n == 1:
            return 0.0
        while p < 0 or p > n - 1:
            p = -p if p < 0 else 2 * (n - 1) - p
        return p

    for i in range(h):
        for j in range(w):
            px, py = j + flow[0, i, j], i + flow[1, i, j]
            if padding == "border":
                px, py = min(max(px, 0.0), w - 1.0), min(max(py, 0.0), h - 1.0)
            elif padding == "reflection":
                px, py = reflect(px, w), reflect(py, h)
            x0, y0 = int(np.floor(px)), int(np.floor(py))
            for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
                for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
                    if 0 <= xx < w and 0 <= yy < h and wx * wy != 0:
                        out[:, i, j] += wx * wy * x[:, yy, xx]
    return out


@settings(max_examples=30, deadline=None)
@given(shape=sizes, seed=st.integers(0, 2**16))
def test_zero_flow_is_identity(shape: tuple[int, int, int], seed: int) -> None:
    x = _rng(seed).standard_normal(shape).astype(np.float32)
    for padding in ("border", "zeros", "reflection"):
        out = warp(x, np.zeros((2, *shape[1:]), np.float32), padding=padding)
        assert isinstance(out, np.ndarray) and out.dtype == np.float32
        np.testing.assert_array_equal(out, x)


@settings(max_examples=30, deadline=None)
@given(shape=sizes, seed=st.integers(0, 2**16))
def test_integer_flow_is_exact_gather(shape: tuple[int, int, int], seed: int) -> None:
    rng = _rng(seed)
    c, h, w = shape
    x = rng.standard_normal(shape).astype(np.float32)
    flow = rng.integers(-3, 4, (2, h, w)).astype(np.float32)  # any integer field
    jj, ii = np.meshgrid(np.arange(w), np.arange(h))
    src_x = np.clip(jj + flow[0].astype(int), 0, w - 1)
    src_y = np.clip(ii + flow[1].astype(int), 0, h - 1)
    np.testing.assert_array_equal(warp(x, flow, padding="border"), x[:, src_y, src_x])
    inside = (jj + flow[0] >= 0) & (jj + flow[0] < w) & (ii + flow[1] >= 0) & (ii + flow[1] < h)
    np.testing.assert_array_equal(warp(x, flow, padding="zeros"), x[:, src_y, src_x] * inside)


@settings(max_examples=25, deadline=None)
@given(
    shape=sizes,
    seed=st.integers(0, 2**16),
    padding=st.sampled_from(["border", "zeros", "reflection"]),
)
def test_against_loop_reference(shape: tuple[int, int, int], seed: int, padding: str) -> None:
    rng = _rng(seed)
    x = rng.standard_normal(shape)
    flow = rng.uniform(-4, 4, (2, *shape[1:]))
    np.testing.assert_allclose(
        warp(x, flow, padding=padding), loop_reference(x, flow, padding), atol=1e-12
    )


@pytest.mark.parametrize("padding", ["border", "zeros", "reflection"])
def test_against_grid_sample_align_corners_true(padding: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 9, 13, dtype=torch.float64, generator=g)
    flow = 5 * torch.randn(2, 2, 9, 13, dtype=torch.float64, generator=g)
    h, w = 9, 13
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    gx = 2 * (xs + flow[:, 0]) / (w - 1) - 1
    gy = 2 * (ys + flow[:, 1]) / (h - 1) - 1
    ref = F.grid_sample(
        x, torch.stack([gx, gy], -1), mode="bilinear", padding_mode=padding, align_corners=True
    )
    torch.testing.assert_close(warp(x, flow, padding=padding), ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    ("padding", "border"),
    [
        ("border", cv2.BORDER_REPLICATE),
        ("zeros", cv2.BORDER_CONSTANT),
        ("reflection", cv2.BORDER_REFLECT_101),
    ],
)
def test_against_cv2_remap(padding: str, border: int) -> None:
    rng = _rng(1)
    h, w = 17, 23
    img = rng.random((h, w, 3), dtype=np.float32)
    # flows on OpenCV's 1/32-pixel interpolation grid, so its fixed-point weights are exact
    flow = np.round(rng.uniform(-3, 3, (2, h, w)) * 32).astype(np.float32) / 32
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    ref = cv2.remap(
        img, jj + flow[0], ii + flow[1], cv2.INTER_LINEAR, borderMode=border, borderValue=0
    )
    out = warp(np.ascontiguousarray(img.transpose(2, 0, 1)), flow, padding=padding)
    np.testing.assert_allclose(out.transpose(1, 2, 0), ref, atol=2e-6)


def test_translation_of_a_smooth_image_moves_pixels() -> None:
    # a half-pixel flow averages the two neighbours (no half-pixel offset anywhere)
    x = torch.arange(5.0).reshape(1, 1, 5)
    flow = torch.zeros(2, 1, 5)
    flow[0] = 0.5
    assert warp(x, flow).flatten().tolist() == [0.5, 1.5, 2.5, 3.5, 4.0]
    flow[0] = -1.0
    assert warp(x, flow, padding="reflection").flatten().tolist() == [1.0, 0.0, 1.0, 2.0, 3.0]


def test_gradients_float64() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64, generator=g, requires_grad=True)
    # fractional positions away from integers, so the bilinear slope is smooth
    flow = (
        torch.randint(-2, 3, (1, 2, 5, 6), generator=g)
        + 0.25
        + 0.5 * torch.rand(1, 2, 5, 6, generator=g)
    )
    flow = flow.to(torch.float64).requires_grad_()
    for padding in ("zeros", "reflection"):
        assert torch.autograd.gradcheck(lambda a, b, p=padding: warp(a, b, padding=p), (x, flow))
    flow_in = (0.3 * torch.ones(1, 2, 5, 6, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: warp(a, b, padding="border"), (x, flow_in))


def test_leading_dims_broadcast_and_device_dtype() -> None:
    x = torch.rand(4, 3, 3, 6, 8)
    flow = torch.rand(2, 6, 8)
    out = warp(x, flow)
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(out[2, 1], warp(x[2, 1], flow))
    x16 = torch.rand(3, 6, 8, dtype=torch.float64)
    assert warp(x16, flow).dtype == torch.float64


def test_errors_name_the_argument() -> None:
    x = np.zeros((3, 4, 5), np.float32)
    with pytest.raises(ValueError, match="flow: expected shape"):
        warp(x, np.zeros((3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="flow: expected the spatial size"):
        warp(x, np.zeros((2, 4, 6), np.float32))
    with pytest.raises(ValueError, match="padding"):
        warp(x, np.zeros((2, 4, 5), np.float32), padding="wrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flow: expected finite"):
        warp(x, np.full((2, 4, 5), np.nan, np.float32))
    with pytest.raises(TypeError, match="x"):
        warp(x.astype(np.int32), np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match="broadcast"):
        warp(np.zeros((2, 3, 4, 5)), np.zeros((3, 2, 4, 5)))


@settings(max_examples=20, deadline=None)
@given(dx=st.integers(-3, 3), dy=st.integers(-3, 3))
def test_forward_backward_consistent_translation(dx: int, dy: int) -> None:
    flow = torch.zeros(2, 12, 12, dtype=torch.float64)
    flow[0], flow[1] = dx, dy
    err = forward_backward_error(flow, -flow)
    assert float(err.max()) == 0.0
    err_bad = forward_backward_error(flow, flow)  # the reverse goes the same way: inconsistent
    inside = ~out_of_frame(flow)
    expected = 2 * (dx * dx + dy * dy) ** 0.5
    torch.testing.assert_close(err_bad[inside], torch.full_like(err_bad[inside], expected))


def test_out_of_frame_hand_values() -> None:
    flow = torch.zeros(2, 2, 3)
    flow[0, 0, 0] = -0.01
    flow[1, 1, 2] = 0.5
    assert out_of_frame(flow)[0].tolist() == [[True, False, False], [False, False, True]]


def test_endpoint_error() -> None:
    a = np.zeros((2, 2, 2, 2))
    b = a.copy()
    b[0, 0, 0, 0], b[0, 1, 0, 0] = 3.0, 4.0  # EPE 5 at one pixel of image 0
    assert endpoint_error(a, b).tolist() == [1.25, 0.0]
    valid = np.zeros((2, 1, 2, 2), bool)
    valid[0, 0, 0, :] = True
    e = endpoint_error(a, b, valid=valid)
    assert e[0] == 2.5 and np.isnan(e[1])
    assert endpoint_error(a, b, reduction="none").shape == (2, 1, 2, 2)
    with pytest.raises(ValueError, match="reference"):
        endpoint_error(a, b[..., :1])
    with pytest.raises(ValueError, match="valid"):
        endpoint_error(a, b, valid=valid[:1])


# ----------------------------------------------------------------------- packed RAW


@pytest.mark.parametrize("pattern", ["RGGB", "GRBG", "GBRG", "BGGR"])
def test_warp_packed_even_integer_flow_matches_mosaic_warp(pattern: str) -> None:
    from rawkit.cfa import pack

    rng = _rng(4)
    m = torch.from_numpy(rng.random((2, 1, 10, 12)))
    flow = torch.from_numpy(2 * rng.integers(-2, 3, (2, 2, 10, 12))).to(torch.float64)
    flow[:, :, 1::2] = flow[:, :, ::2]  # one flow per 2x2 block, so every site moves alike
    flow[:, :, :, 1::2] = flow[:, :, :, ::2]
    ref = pack(warp(m, flow, padding="zeros"), pattern=pattern)
    out = warp_packed(pack(m, pattern=pattern), flow, pattern=pattern, padding="zeros")
    assert torch.equal(out, ref)


@pytest.mark.parametrize("pattern", ["RGGB", "GBRG"])
def test_warp_packed_reads_flow_at_each_plane_site(pattern: str) -> None:
    from rawkit.cfa import channel_sites, pack

    # a linear ramp is reproduced exactly by bilinear sampling on any grid, so warping the
    # planes must give the packed mosaic of the warped ramp (away from the border)
    h, w = 16, 20
    yy, xx = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    m = (0.3 * xx - 0.2 * yy + 5.0)[None]
    g = torch.Generator().manual_seed(0)
    flow = (
        0.8 * torch.rand(2, h, w, dtype=torch.float64, generator=g) - 0.4
    )  # a different flow per pixel
    ref = pack(m + 0.3 * flow[0:1] - 0.2 * flow[1:2], pattern=pattern)
    out = warp_packed(pack(m, pattern=pattern), flow, pattern=pattern)
    torch.testing.assert_close(out[:, 1:-1, 1:-1], ref[:, 1:-1, 1:-1], atol=1e-12, rtol=0)
    assert len(channel_sites(pattern)) == 4


def test_warp_packed_errors_and_gradient() -> None:
    with pytest.raises(ValueError, match="full resolution"):
        warp_packed(np.zeros((4, 3, 3)), np.zeros((2, 6, 5)), pattern="RGGB")
    with pytest.raises(ValueError, match="pattern"):
        warp_packed(np.zeros((4, 3, 3)), np.zeros((2, 6, 6)), pattern="RGBG")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="packed"):
        warp_packed(np.zeros((3, 3, 3)), np.zeros((2, 6, 6)), pattern="RGGB")
    g = torch.Generator().manual_seed(1)
    p = torch.rand(1, 4, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    f = (0.3 + 0.4 * torch.rand(1, 2, 6, 8, dtype=torch.float64, generator=g)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: warp_packed(a, b, pattern="GRBG", padding="zeros"), (p, f)
    )
