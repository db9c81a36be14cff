"""Tests for rawkit.nets.unet: shapes, padding rule, heads, gradients, seeding, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.nets import UNet, count_parameters
from rawkit.nets.unet import pad_to_multiple


def _small(**kw):
    kw.setdefault("width", 4)
    kw.setdefault("depth", 2)
    kw.setdefault("seed", 0)
    return UNet(**kw)


@pytest.mark.parametrize(
    ("lead", "h", "w"),
    [((), 16, 16), ((2,), 18, 30), ((2, 3), 6, 10), ((1,), 2, 2), ((3,), 34, 8)],
)
def test_packed_shapes(lead, h, w):
    net = _small()
    y = net(torch.rand(*lead, 3, h, w))
    assert y.shape == (*lead, 4, h // 2, w // 2)


@pytest.mark.parametrize(("h", "w"), [(9, 7), (16, 16), (1, 5), (17, 33)])
def test_rgb_shapes_any_size(h, w):
    net = _small(output="rgb")
    y = net(torch.rand(2, 3, h, w))
    assert y.shape == (2, 3, h, w)


@settings(max_examples=10)
@given(h=st.integers(1, 12).map(lambda k: 2 * k), w=st.integers(1, 12).map(lambda k: 2 * k))
def test_non_multiples_are_padded_by_reflection_and_cropped(h, w):
    """The documented rule: pad the working resolution (H/2, W/2) to a multiple of
    2**depth on the bottom/right (reflect; replicate when too small), crop back."""
    net = _small(depth=2)
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h * 100 + w))
    y = net(x)
    hh, ww = h // 2, w // 2
    ph, pw = (-hh) % 4, (-ww) % 4
    mode = "reflect" if ph < hh and pw < ww else "replicate"
    z = F.pad(F.pixel_unshuffle(x, 2), (0, pw, 0, ph), mode=mode)
    ref = torch.sigmoid(net.head(net.trunk.forward(z)))[..., :hh, :ww]
    torch.testing.assert_close(y, ref)


def test_pad_helper_identity_on_multiples():
    x = torch.rand(1, 2, 8, 12)
    y, hw = pad_to_multiple(x, 4)
    assert y is x and hw == (8, 12)


def test_sigmoid_head_in_unit_interval_and_linear_head_unbounded():
    x = torch.rand(2, 3, 16, 16) * 4 - 2
    y = _small()(x)
    assert bool(((y > 0) & (y < 1)).all())
    lin = _small(head=None)
    with torch.no_grad():
        lin.head.bias.fill_(3.0)
    with torch.no_grad():
        assert float(lin(x).max()) > 1.0


def test_batch_items_are_independent():
    net = _small()
    x = torch.rand(3, 3, 12, 20)
    y = net(x)
    for i in range(3):
        torch.testing.assert_close(net(x[i]), y[i], atol=1e-6, rtol=1e-5)


def test_gradients_reach_every_parameter():
    net = _small(width=4, depth=3)
    net(torch.rand(2, 3, 20, 24)).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_seeded_init_is_deterministic_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b, c = _small(seed=1), _small(seed=1), _small(seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert any(not torch.equal(u, v) for u, v in zip(a.parameters(), c.parameters(), strict=True))
    torch.manual_seed(5)
    d = UNet(width=4, depth=2)
    torch.manual_seed(5)
    e = UNet(width=4, depth=2)
    assert all(torch.equal(u, v) for u, v in zip(d.parameters(), e.parameters(), strict=True))


def test_dtype_and_device_follow_the_network():
    net = _small().double()
    y = net(torch.rand(1, 3, 8, 8, dtype=torch.float64))
    assert y.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda():
    net = _small().cuda()
    y = net(torch.rand(1, 3, 10, 14, device="cuda"))
    assert y.device.type == "cuda" and y.shape == (1, 4, 5, 7)


def test_config_rebuilds_the_same_architecture():
    net = UNet(in_channels=3, width=6, depth=3, output="rgb", head=None, seed=0)
    twin = UNet(**net.config)
    assert net.config == twin.config
    assert {k: v.shape for k, v in net.state_dict().items()} == {
        k: v.shape for k, v in twin.state_dict().items()
    }
    assert "H, W" in repr(net) and "depth=3" in repr(net)


def test_default_parameter_count_matches_the_layout():
    """Width 32, depth 4: levels 32..512; count the convolutions by hand."""

    def conv(i, o, k):
        return i * o * k * k + o

    widths = [32, 64, 128, 256, 512]
    n = 0
    for i, w in enumerate(widths):  # encoder blocks
        n += conv(12 if i == 0 else widths[i - 1], w, 3) + conv(w, w, 3)
    for i in range(4):  # transposed conv + decoder block
        n += conv(widths[i + 1], widths[i], 2) + conv(2 * widths[i], widths[i], 3)
        n += conv(widths[i], widths[i], 3)
    n += conv(32, 4, 1)
    assert count_parameters(UNet()) == n


def test_depth_zero_is_a_plain_conv_net():
    net = UNet(width=4, depth=0, seed=0)
    assert net(torch.rand(1, 3, 6, 6)).shape == (1, 4, 3, 3)


def test_overfits_one_tiny_batch():
    torch.manual_seed(0)
    net = UNet(width=8, depth=2, seed=0)
    g = torch.Generator().manual_seed(0)
    srgb = torch.rand(1, 3, 16, 16, generator=g)
    target = F.pixel_unshuffle(srgb**2.2, 2)[:, [0, 4, 5, 11]]  # a packed "RAW"
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        loss = F.mse_loss(net(srgb), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]


@pytest.mark.parametrize(
    ("kwargs", "err"),
    [
        ({"output": "mosaic"}, ValueError),
        ({"head": "tanh"}, ValueError),
        ({"depth": -1}, ValueError),
        ({"width": 0}, ValueError),
        ({"width": 2.0}, TypeError),
        ({"seed": "x"}, TypeError),
    ],
)
def test_bad_settings_raise(kwargs, err):
    with pytest.raises(err):
        UNet(**kwargs)


def test_bad_inputs_raise():
    net = _small()
    with pytest.raises(ValueError, match="even height and width"):
        net(torch.rand(1, 3, 7, 8))
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        net(torch.rand(1, 4, 8, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        net(np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(TypeError, match="floating"):
        net(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
