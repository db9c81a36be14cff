"""Tests for rawkit.nets.encoder: unit-norm embeddings at half resolution, temperature."""

import pytest
import torch
import torch.nn.functional as F

from rawkit.nets import PixelSearchEncoder, count_parameters
from rawkit.search import assemble


@pytest.mark.parametrize(("lead", "h", "w"), [((), 4, 6), ((2,), 16, 10), ((2, 2), 2, 2)])
def test_shapes_and_unit_norm(lead, h, w):
    enc = PixelSearchEncoder(dim=8, width=8, seed=0)
    f = enc(torch.rand(*lead, 3, h, w))
    assert f.shape == (*lead, 8, h // 2, w // 2)
    torch.testing.assert_close(f.norm(dim=-3), torch.ones(*lead, h // 2, w // 2))


def test_total_downsampling_is_two_and_context_is_local():
    """Changing one sRGB pixel changes only embeddings within the receptive field."""
    enc = PixelSearchEncoder(dim=8, width=8, blocks=2, seed=0)
    x = torch.rand(1, 3, 64, 64)
    y = x.clone()
    y[..., 32, 32] += 0.5
    changed = (enc(x) - enc(y)).abs().amax(dim=(0, 1)) > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert changed[16, 16]
    # receptive field 25x25 sRGB pixels: +-12 pixels = +-6 sites (+1 for stride phase)
    assert int(rows.min()) >= 16 - 7 and int(rows.max()) <= 16 + 7
    assert int(cols.min()) >= 16 - 7 and int(cols.max()) <= 16 + 7


def test_temperature_parameter_or_buffer():
    learn = PixelSearchEncoder(temperature=0.05, seed=0)
    fixed = PixelSearchEncoder(temperature=0.05, learn_temperature=False, seed=0)
    assert "log_temperature" in dict(learn.named_parameters())
    assert "log_temperature" not in dict(fixed.named_parameters())
    assert "log_temperature" in fixed.state_dict()
    assert abs(learn.temperature.item() - 0.05) < 1e-6
    assert count_parameters(learn) == count_parameters(fixed) + 1


def test_temperature_gets_a_gradient_through_assembly():
    enc = PixelSearchEncoder(dim=4, width=4, blocks=0, seed=0)
    x_t, x_r = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    raw_r = torch.rand(1, 4, 4, 4)
    out = assemble(enc(x_t) / enc.temperature, enc(x_r), raw_r)
    out.sum().backward()
    assert enc.log_temperature.grad is not None and float(enc.log_temperature.grad.abs()) > 0
    for name, p in enc.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_seeded_and_config():
    a = PixelSearchEncoder(dim=6, width=5, blocks=1, seed=3)
    b = PixelSearchEncoder(**a.config, seed=3)
    assert all(
        torch.equal(u, v)
        for u, v in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert "H/2, W/2" in repr(a)


def test_contrastive_training_alg1_reduces_assembly_error():
    """Alg. 1 on a toy problem (RAW = a non-linear colour function of the sRGB): the L2
    error of the assembled RAW falls with training."""
    g = torch.Generator().manual_seed(0)
    srgb = torch.rand(4, 3, 16, 16, generator=g)
    raw = F.avg_pool2d(srgb, 2) ** 2.2 * torch.tensor([0.5, 1.0, 0.7]).reshape(3, 1, 1)
    enc = PixelSearchEncoder(dim=8, width=8, blocks=1, temperature=0.1, seed=0)
    opt = torch.optim.Adam(enc.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        f = enc(srgb)
        f_t, f_r = f[:2], f[2:]
        pred = assemble(f_t / enc.temperature, f_r, raw[2:])  # Eq. 1-3
        loss = F.mse_loss(pred, raw[:2])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_block_init_is_a_soft_nearest_neighbour_search_that_sees_brightness():
    """A fresh encoder (block initialisation) ranks references by the distance of their
    2x2 sRGB blocks, computed here independently with pixel_unshuffle + torch.cdist."""
    g = torch.Generator().manual_seed(1)
    enc = PixelSearchEncoder(seed=0).eval()
    with torch.no_grad():
        x = torch.rand(1, 3, 8, 8, generator=g) * 0.6 + 0.2
        f, f2 = enc(x), enc(0.5 * x)
        # brightness: a pixel and its half point in different directions
        assert float((f * f2).sum(1).max()) < 0.999
        ref = torch.rand(1, 3, 32, 32, generator=g)
        fr = enc(ref).flatten(2)[0].T  # (N, C)
        ft = f.flatten(2)[0].T  # (M, C)
        best_cos = (ft @ fr.T).argmax(1)
        kt = F.pixel_unshuffle(x, 2).flatten(2)[0].T
        kr = F.pixel_unshuffle(ref, 2).flatten(2)[0].T
        dist = torch.cdist(kt, kr)
        best_l2 = dist.argmin(1)
    # the cosine's choice is (nearly) the nearest block: angle vs distance differ a little
    assert float((best_cos == best_l2).float().mean()) > 0.5
    chosen = dist.gather(1, best_cos[:, None])[:, 0]
    assert float(chosen.mean() / dist.min(1).values.mean()) < 1.15


def test_block_init_falls_back_for_small_sizes():
    a = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0)
    b = PixelSearchEncoder(dim=8, width=8, blocks=1, block_init=False, seed=0)
    assert all(
        torch.equal(u, v)
        for u, v in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    with pytest.raises(TypeError, match="block_init"):
        PixelSearchEncoder(block_init=1)


@pytest.mark.parametrize(
    ("kwargs", "err"),
    [
        ({"dim": 0}, ValueError),
        ({"temperature": 0.0}, ValueError),
        ({"temperature": "hot"}, TypeError),
        ({"learn_temperature": 1}, TypeError),
        ({"blocks": -1}, ValueError),
    ],
)
def test_bad_settings(kwargs, err):
    with pytest.raises(err):
        PixelSearchEncoder(**kwargs)


def test_bad_input():
    enc = PixelSearchEncoder(dim=4, width=4, seed=0)
    with pytest.raises(ValueError, match="even"):
        enc(torch.rand(1, 3, 5, 4))
    with pytest.raises(ValueError, match="3, H, W"):
        enc(torch.rand(1, 1, 4, 4))
