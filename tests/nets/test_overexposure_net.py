"""Tests for rawkit.nets.overexposure: mask, blend, re-mosaic/pack, Laplacian pyramid, network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rawkit.cfa import PATTERNS, demosaic_menon, unpack
from rawkit.nets.overexposure import (
    OverexposureFusionNet,
    fuse,
    laplacian_pyramid,
    laplacian_pyramid_loss,
    remosaic_pack,
)

images = arrays(
    np.float64,
    st.tuples(st.integers(1, 2), st.just(3), st.integers(1, 4).map(lambda k: 2 * k),
              st.integers(1, 4).map(lambda k: 2 * k)),
    elements=st.floats(0.0, 1.0),
)  # fmt: skip


def _net(**kw):
    kw.setdefault("width", 4)
    kw.setdefault("depth", 1)
    kw.setdefault("seed", 0)
    return OverexposureFusionNet(**kw)


# ------------------------------------------------------------------ mask (the net's)


@settings(max_examples=25, deadline=None)
@given(x=images, delta=st.floats(0.0, 0.5))
def test_mask_range_and_monotone_in_brightness(x, delta):
    net = _net()
    t = torch.from_numpy(x)
    m = net.mask(t)
    assert m.shape == (x.shape[0], 1, *x.shape[-2:])
    assert bool(((m >= 0) & (m <= 1)).all())
    brighter = net.mask((t + delta).clamp(max=1.0))
    assert bool((brighter >= m).all())


def test_mask_empty_on_dark_and_full_on_white():
    net = _net()
    dark = torch.full((1, 3, 8, 8), 0.95 - 0.05 - 1e-3)  # just below the ramp
    assert bool((net.mask(dark) == 0).all())
    assert bool((net.mask(torch.ones(1, 3, 8, 8)) == 1).all())


# ------------------------------------------------------------------------ blend


@settings(max_examples=25, deadline=None)
@given(x=images, seed=st.integers(0, 2**16))
def test_blend_identity_at_both_ends(x, seed):
    g = np.random.default_rng(seed)
    oe, noe = g.normal(size=x.shape), g.normal(size=x.shape)
    zeros = np.zeros((x.shape[0], 1, *x.shape[-2:]))
    assert np.array_equal(fuse(oe, noe, zeros), noe)
    assert np.array_equal(fuse(oe, noe, zeros + 1), oe)
    half = fuse(oe, noe, zeros + 0.5)
    np.testing.assert_allclose(half, (oe + noe) / 2, rtol=0, atol=1e-12)


@pytest.mark.parametrize("base", ["none", "generic"])
def test_all_zero_mask_gives_noe_branch_exactly(base):
    net = _net(base=base)
    with torch.no_grad():  # residual heads start at zero: make the two branches differ
        net.oe.unet.head.bias.add_(0.1)
    x = torch.rand(2, 3, 12, 16) * 0.5  # dark: the mask is all zero
    out = net(x)
    assert bool((out.mask == 0).all())
    assert torch.equal(out.fused, out.noe)
    assert not torch.equal(out.oe, out.noe)  # the branches differ; the blend picks NOE


def test_fuse_rejects_bad_masks():
    a = np.zeros((3, 4, 4))
    with pytest.raises(ValueError, match="mask"):
        fuse(a, a, np.full((1, 4, 4), 1.5))
    with pytest.raises(ValueError, match="mask"):
        fuse(a, a, np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="noe"):
        fuse(a, np.zeros((3, 4, 2)), np.zeros((1, 4, 4)))
    with pytest.raises(TypeError, match="oe"):
        fuse(a.astype(np.int64), a, np.zeros((1, 4, 4)))


# ------------------------------------------------------------------ re-mosaic / pack

_CHANNEL_COLOUR = {"R": 0, "G": 1, "B": 2}


def _reference_pack(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Independent reference: read the 2x2 pattern letters, R, G in R's row, G in B's row, B."""
    sites = {(0, 0): pattern[0], (0, 1): pattern[1], (1, 0): pattern[2], (1, 1): pattern[3]}
    r_row = next(dy for (dy, _), c in sites.items() if c == "R")
    out = []
    for want in ("R", "Gr", "Gb", "B"):
        colour = want[0]
        if colour == "G":
            row = r_row if want == "Gr" else 1 - r_row
            dy, dx = next(s for s, c in sites.items() if c == "G" and s[0] == row)
        else:
            dy, dx = next(s for s, c in sites.items() if c == colour)
        out.append(rgb[..., _CHANNEL_COLOUR[colour], dy::2, dx::2])
    return np.stack(out, axis=-3)


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=10, deadline=None)
@given(x=images)
def test_remosaic_pack_matches_reference(pattern, x):
    assert np.array_equal(remosaic_pack(x, pattern=pattern), _reference_pack(x, pattern))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_demosaiced_truth_remosaics_to_the_bayer_truth(pattern):
    packed = np.random.default_rng(3).uniform(0, 1, (2, 4, 6, 8))
    d = demosaic_menon(unpack(packed, pattern=pattern), pattern=pattern)
    assert np.array_equal(remosaic_pack(d, pattern=pattern), packed)


# ------------------------------------------------------------------ Laplacian pyramid


@settings(max_examples=20, deadline=None)
@given(x=images, levels=st.integers(1, 4))
def test_pyramid_collapses_back_to_the_image(x, levels):
    bands = laplacian_pyramid(torch.from_numpy(x), levels=levels)
    y = bands[-1]
    for b in reversed(bands[:-1]):
        y = b + F.interpolate(y, size=b.shape[-2:], mode="bilinear", align_corners=False)
    np.testing.assert_allclose(y.numpy(), x, rtol=0, atol=1e-12)


def test_pyramid_loss_zero_on_equal_and_masks():
    g = np.random.default_rng(0)
    a, b = g.uniform(size=(2, 3, 16, 16)), g.uniform(size=(2, 3, 16, 16))
    assert float(laplacian_pyramid_loss(a, a)) == 0.0
    base = float(laplacian_pyramid_loss(a, b))
    assert base > 0
    ones = np.ones((2, 1, 16, 16))
    np.testing.assert_allclose(float(laplacian_pyramid_loss(a, b, mask=ones)), base, rtol=1e-12)
    # a zero mask contributes zero, with no NaN
    assert float(laplacian_pyramid_loss(a, b, mask=0 * ones)) == 0.0
    # a mask on the left half ignores differences on the far right half
    c = a.copy()
    c[..., 12:] = b[..., 12:]
    left = np.zeros((2, 1, 16, 16))
    left[..., :4] = 1
    np.testing.assert_allclose(float(laplacian_pyramid_loss(c, a, mask=left, levels=1)), 0.0)


def test_pyramid_loss_is_differentiable_and_checks_inputs():
    a = torch.rand(1, 3, 16, 16, requires_grad=True)
    laplacian_pyramid_loss(a, torch.rand(1, 3, 16, 16)).backward()
    assert a.grad is not None and bool(torch.isfinite(a.grad).all())
    with pytest.raises(ValueError, match="target"):
        laplacian_pyramid_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 6))
    with pytest.raises(ValueError, match="levels"):
        laplacian_pyramid_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), levels=0)
    with pytest.raises(ValueError, match="mask"):
        laplacian_pyramid_loss(
            torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), mask=-torch.ones(1, 1, 8, 8)
        )


# ------------------------------------------------------------------------ network


@pytest.mark.parametrize("resolution", ["half", "full"])
@pytest.mark.parametrize("base", ["none", "generic"])
def test_net_shapes_ranges_and_rebuild(resolution, base):
    net = _net(resolution=resolution, base=base)
    out = net(torch.rand(2, 3, 10, 14))
    assert out.oe.shape == out.noe.shape == out.fused.shape == (2, 3, 10, 14)
    assert out.mask.shape == (2, 1, 10, 14)
    if base == "none":  # sigmoid heads
        assert bool(((out.fused > 0) & (out.fused < 1)).all()) and out.base is None
    else:  # zero-initialised residual heads: the generic inverse, in [0, 1]
        assert torch.equal(out.fused, out.base) and bool(((out.base >= 0) & (out.base <= 1)).all())
    again = OverexposureFusionNet(**net.config, seed=0)
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True)
    )


def test_net_branches_train_on_their_own_pixels():
    """A loss on the OE branch weighted by the mask gives the NOE branch no gradient."""
    net = _net()
    x = torch.rand(1, 3, 8, 8)
    out = net(x)
    (out.oe * out.mask).sum().backward()
    assert all(p.grad is None or bool((p.grad == 0).all()) for p in net.noe.parameters())
    assert any(p.grad is not None and bool((p.grad != 0).any()) for p in net.oe.parameters())


def test_net_rejects_bad_settings_and_inputs():
    with pytest.raises(ValueError, match="resolution"):
        _net(resolution="quarter")
    with pytest.raises(ValueError, match="base"):
        _net(base="oracle")
    with pytest.raises(ValueError, match="camera"):
        _net(camera="canon")
    with pytest.raises(ValueError, match="base"):
        _net()(torch.rand(1, 3, 8, 8), base=torch.rand(1, 3, 8, 6))
    with pytest.raises(ValueError, match="softness"):
        _net(threshold=0.5, softness=0.6)
    with pytest.raises(ValueError, match="srgb"):
        _net()(torch.rand(1, 3, 7, 8))
    with pytest.raises(TypeError, match="srgb"):
        _net()(np.zeros((3, 8, 8), np.float32))


def test_residual_branch_is_a_gain_and_offset_of_the_base():
    """D = B exp(1.5 tanh(u / 1.5)) + 0.1 tanh(v / 0.1): with the head's weights zero and
    its bias set so that the gain is 2 and the offset 0.01 (inverting the bounds by hand),
    every branch output is 2 B + 0.01."""
    net = _net(resolution="full")
    u, v = 1.5 * np.arctanh(np.log(2.0) / 1.5), 0.1 * np.arctanh(0.01 / 0.1)
    with torch.no_grad():
        net.oe.unet.head.bias.copy_(torch.tensor([u] * 3 + [v] * 3))
    x = torch.rand(1, 3, 6, 8)
    out = net(x)
    torch.testing.assert_close(out.oe, 2 * out.base + 0.01, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out.noe, out.base, rtol=0, atol=0)


def test_residual_branch_is_bounded():
    """However large the head's output, the gain stays within e**+-1.5 and the offset within 0.1."""
    net = _net()
    with torch.no_grad():
        net.oe.unet.head.bias.copy_(torch.tensor([100.0] * 12 + [100.0] * 12))
        net.noe.unet.head.bias.copy_(torch.tensor([-100.0] * 12 + [-100.0] * 12))
    out = net(torch.rand(1, 3, 8, 8))
    assert bool((out.oe <= out.base * np.exp(1.5) + 0.1 + 1e-6).all())
    assert bool((out.noe >= out.base * np.exp(-1.5) - 0.1 - 1e-6).all())


def test_windowed_branches_blend_back_to_the_whole():
    """Branches run on overlapping windows: a position-independent branch (zero heads:
    the base itself) comes back unchanged, and a window as large as the image is the
    whole-image call bit for bit."""
    net = _net()
    x = torch.rand(1, 3, 22, 30)
    whole = net(x)
    tiled = net(x, tile=8)
    torch.testing.assert_close(tiled.fused, whole.base, rtol=0, atol=1e-6)
    plain = _net(base="none")
    assert torch.equal(plain(x, tile=30).fused, plain(x).fused)
    assert not torch.equal(plain(x, tile=8).fused, plain(x).fused)  # windows do differ
    with pytest.raises(ValueError, match="tile"):
        net(x, tile=7)


# ------------------------------------------------------------------ gated exposure gain


def test_untrained_gain_is_one_and_a_saturated_gate_is_the_plain_regression():
    from rawkit.nets._overexposure_gain import exposure_features, gated_log_gain

    net = _net()
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(net.log_gain(x), torch.zeros(2, dtype=torch.float64))
    f = exposure_features(x)
    w = torch.linspace(-1, 1, f.shape[1], dtype=torch.float64)
    gate = torch.zeros_like(w)
    gate[0] = 40.0
    assert torch.equal(gated_log_gain(f, w, gate, torch.tensor(3.0, dtype=torch.float64)), f @ w)
    # a gate at -40: the constant c, whatever the image
    gate[0] = -40.0
    c = torch.tensor(-0.25, dtype=torch.float64)
    assert torch.allclose(gated_log_gain(f, w, gate, c), c.expand(2))


def test_psnr_table_is_the_psnr_of_the_gained_clamped_base():
    from rawkit.metrics import psnr
    from rawkit.nets._overexposure_gain import LOG_GAIN_GRID, psnr_table

    g = torch.Generator().manual_seed(1)
    base, truth = (
        torch.rand(3, 6, 6, generator=g).double(),
        torch.rand(3, 6, 6, generator=g).double(),
    )
    tab = psnr_table(base, truth)
    for k in (0, 100, 225):
        ref = psnr((base * torch.exp(LOG_GAIN_GRID[k])).clamp(0, 1), truth, data_range=1.0)
        assert float(tab[k]) == pytest.approx(float(ref), abs=1e-9)


def test_gated_gain_fit_separates_normal_from_overexposed_images():
    """Half the images need no gain, half a gain of e**-1 (overexposed); one statistic
    (the clipped share) tells them apart, another varies at random.  The fitted gate gives
    each group its gain, which no single linear regression of both statistics can."""
    from rawkit.nets._overexposure_gain import LOG_GAIN_GRID, fit_gated_gain, gated_log_gain

    rng = np.random.default_rng(0)
    n = 40
    over = np.arange(n) % 2 == 1
    clipped = np.where(over, rng.uniform(0.1, 0.3, n), rng.uniform(0.0, 0.02, n))
    f = torch.tensor(np.c_[np.ones(n), clipped, rng.uniform(0, 1, n)])
    best = torch.tensor(np.where(over, -1.0, 0.0))
    tables = 40 - 30 * (LOG_GAIN_GRID[None] - best[:, None]).abs()  # PSNR peaks at the best gain
    w, u, c = fit_gated_gain(f, tables, best + 0.3 * torch.tensor(rng.normal(size=n)))
    g = gated_log_gain(f, w, u, c)
    assert torch.allclose(g, best, atol=0.1)
