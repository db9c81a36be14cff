"""Tests for rawkit.pipelines.tiling: tile placement, blending weights, tiled == whole."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rawkit.pipelines.tiling import blend_weights, tile_starts, tiled_apply


@given(
    size=st.integers(1, 200).map(lambda n: 2 * n),
    tile=st.integers(2, 60).map(lambda n: 2 * n),
    overlap_frac=st.floats(0, 0.9),
)
def test_tiles_cover_the_axis_on_the_grid_with_at_least_the_overlap(size, tile, overlap_frac):
    overlap = 2 * int(overlap_frac * (tile // 2 - 1))
    starts = tile_starts(size, tile=tile, overlap=overlap)
    length = min(tile, size)
    assert starts[0] == 0 and starts[-1] + length == size
    assert all(s % 2 == 0 for s in starts)
    assert starts == sorted(set(starts))
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + length - b >= overlap  # neighbours overlap by at least `overlap`
        assert b - a <= tile - overlap  # and by no more gap than the stride


def test_tile_starts_rejects_bad_settings():
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(100, tile=16, overlap=16)
    with pytest.raises(ValueError, match="multiple of 2"):
        tile_starts(100, tile=15, overlap=4)
    with pytest.raises(TypeError, match="tile"):
        tile_starts(100, tile=16.0, overlap=4)


@pytest.mark.parametrize("ov", [1, 2, 5, 8, 13])
def test_blend_weights_cross_fade_to_one_over_a_regular_overlap(ov):
    n = 32
    a = blend_weights(n, ramp_before=0, ramp_after=ov, dtype=torch.float64)
    b = blend_weights(n, ramp_before=ov, ramp_after=0, dtype=torch.float64)
    np.testing.assert_allclose((a[n - ov :] + b[:ov]).numpy(), 1.0, atol=1e-12)
    assert float(a.min()) >= 0 and float(a.max()) == 1.0
    assert float(a[n - ov // 4 :].sum() if ov >= 4 else 0.0) == 0.0  # the zero margin
    assert torch.equal(blend_weights(5, ramp_before=0, ramp_after=0), torch.ones(5))


@pytest.mark.parametrize("downsample", [1, 2])
@given(h=st.integers(2, 40), w=st.integers(2, 40), tile=st.sampled_from([8, 12, 20, 64]))
def test_pointwise_functions_come_back_exactly(downsample, h, w, tile):
    x = torch.rand(2, 3, 2 * h, 2 * w, dtype=torch.float64)

    def fn(t):
        return torch.sin(t[..., ::downsample, ::downsample]) * 3

    y = tiled_apply(fn, x, tile=tile, overlap=4, downsample=downsample, out_dtype=torch.float64)
    torch.testing.assert_close(y, fn(x), rtol=1e-12, atol=1e-12)


def test_a_network_within_a_quarter_overlap_matches_the_whole_image():
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Tanh(), torch.nn.Conv2d(4, 2, 3, padding=1)
    )  # receptive-field radius 2 = overlap / 4
    x = torch.rand(2, 3, 70, 90, generator=g)
    with torch.no_grad():
        whole = net(x)
    tiled = tiled_apply(net, x, tile=32, overlap=8)
    torch.testing.assert_close(tiled, whole, rtol=1e-5, atol=1e-6)


def test_a_deep_network_is_close_to_the_whole_image():
    from rawkit.nets import UNet

    net = UNet(width=4, depth=2, seed=0).eval()
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = net(x)
    tiled = tiled_apply(net, x, tile=64, overlap=32, downsample=2)
    # an untrained U-Net to 1/4 has a large receptive field: close, not equal
    assert float((tiled - whole).abs().mean()) < 0.05 * float(whole.std())


def test_leading_dims_numpy_and_errors():
    x = np.random.default_rng(0).random((2, 2, 3, 12, 16)).astype(np.float32)
    y = tiled_apply(lambda t: t[:, :2] * 2, x, tile=8, overlap=2)
    assert isinstance(y, np.ndarray) and y.shape == (2, 2, 2, 12, 16)
    np.testing.assert_allclose(y, x[:, :, :2] * 2, rtol=1e-6)
    with pytest.raises(ValueError, match="multiples of 4"):
        tiled_apply(lambda t: t, torch.rand(3, 10, 12), tile=8, overlap=0, multiple=4)
    with pytest.raises(ValueError, match="fn: expected a tensor"):
        tiled_apply(lambda t: t[..., 1:], torch.rand(3, 8, 8), tile=4, overlap=2)
    with pytest.raises(ValueError, match="NaN"):
        tiled_apply(lambda t: t * float("nan"), torch.rand(3, 8, 8), tile=4, overlap=2)
    with pytest.raises(TypeError, match="x:"):
        tiled_apply(lambda t: t, [[1.0]], tile=4, overlap=2)
    with pytest.raises(ValueError, match="multiple: expected a multiple of downsample"):
        tiled_apply(lambda t: t, torch.rand(3, 8, 8), tile=4, overlap=0, downsample=2, multiple=1)
