"""Tests for rawkit.nets.priorraw: Alg. 3, Eq. 4-8, the Table 1 ablation switches."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rawkit.nets import (
    ABLATIONS,
    BankAttention,
    BankTensors,
    PixelSearchEncoder,
    PriorRAWNet,
    UNet,
    assemble_prior,
    count_parameters,
    distance_map,
)
from rawkit.prior import PriorBank

DIM = 8


def _bank(k=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    return BankTensors(
        F.normalize(torch.randn(k, DIM, generator=g), dim=1),
        torch.rand(k, 3, generator=g),
        torch.rand(k, 4, generator=g),
    )


def _encoder():
    return PixelSearchEncoder(dim=DIM, width=8, blocks=1, seed=0).requires_grad_(False)


def _net(row="non_local", **kw):
    kw.setdefault("width", 8)
    kw.setdefault("depth", 2)
    kw.setdefault("seed", 0)
    return PriorRAWNet.from_ablation(row, feature_dim=DIM, **kw)


@pytest.mark.parametrize("row", list(ABLATIONS))
@pytest.mark.parametrize(("lead", "h", "w"), [((2,), 16, 16), ((), 18, 10), ((1, 2), 6, 22)])
def test_shapes_and_range_for_every_row(row, lead, h, w):
    enc, bank = _encoder(), _bank()
    srgb = torch.rand(*lead, 3, h, w)
    y = _net(row)(srgb, enc(srgb), bank)
    assert y.shape == (*lead, 4, h // 2, w // 2)
    assert bool(((y > 0) & (y < 1)).all())


def test_ablation_rows_add_modules_in_the_papers_order():
    nets = {row: _net(row) for row in ABLATIONS}
    counts = [count_parameters(n) for n in nets.values()]
    assert counts == sorted(counts) and len(set(counts)) == 4
    has = {row: {name.split(".")[0] for name, _ in n.named_children()} for row, n in nets.items()}
    assert "conv_fuse" not in has["srgb"] and "conv_fuse" in has["prior_raw"]
    assert "conv_conf" not in has["prior_raw"] and "conv_conf" in has["reliable_attention"]
    assert "attention" not in has["reliable_attention"] and "attention" in has["non_local"]
    for row, n in nets.items():
        assert n.ablation == row and row in repr(n)
    # Conv_fuse sees D (3 channels) only with the reliable attention
    assert nets["prior_raw"].conv_fuse[0].in_channels == 12 + 4
    assert nets["reliable_attention"].conv_fuse[0].in_channels == 3 + 12 + 4


def test_srgb_row_is_the_unet():
    """Table 1's first row is the plain U-Net: same layers, same init, same output."""
    x = torch.rand(2, 3, 12, 20)
    net = _net("srgb")
    unet = UNet(width=8, depth=2, seed=0)
    assert count_parameters(net) == count_parameters(unet)
    torch.testing.assert_close(net(x), unet(x))


def test_srgb_row_ignores_the_bank_and_prior_rows_use_it():
    enc, srgb = _encoder(), torch.rand(1, 3, 16, 16)
    f = enc(srgb)
    b1, b2 = _bank(seed=0), _bank(seed=1)
    sr = _net("srgb")
    torch.testing.assert_close(sr(srgb), sr(srgb, f, b2))
    for row in ("prior_raw", "reliable_attention", "non_local"):
        net = _net(row)
        assert not torch.allclose(net(srgb, f, b1), net(srgb, f, b2))


def test_intermediates_equal_the_paper_functions():
    """Module == functions: Eq. 4 via assemble_prior, Eq. 5 via distance_map."""
    enc, bank, net = _encoder(), _bank(), _net("non_local", temperature=0.2)
    srgb = torch.rand(2, 3, 8, 12)
    f = enc(srgb)
    out = net.intermediates(srgb, f, bank)
    fs, fr = assemble_prior(f, bank, temperature=0.2)
    torch.testing.assert_close(out.assembled_srgb, fs)
    torch.testing.assert_close(out.assembled_raw, fr)
    torch.testing.assert_close(out.distance, distance_map(fs, F.avg_pool2d(srgb, 2)))
    assert out.confidence.shape == (2, 1, 4, 6)
    assert bool(((out.confidence > 0) & (out.confidence < 1)).all())
    torch.testing.assert_close(out.raw, net(srgb, f, bank))
    none = _net("prior_raw").intermediates(srgb, f, bank)
    assert none.distance is None and none.confidence is None


def test_precomputed_assembly_gives_the_same_output():
    enc, bank, srgb = _encoder(), _bank(), torch.rand(2, 3, 8, 12)
    f = enc(srgb)
    maps = assemble_prior(f, bank, temperature=0.1)
    for row in ("prior_raw", "reliable_attention", "non_local"):
        net = _net(row)
        ref = net(srgb, f, bank)
        torch.testing.assert_close(net(srgb, bank=bank, assembled=maps), ref)
    # without the attention the bank is not needed either
    net = _net("reliable_attention")
    torch.testing.assert_close(net(srgb, assembled=maps), net(srgb, f, bank))
    with pytest.raises(ValueError, match="bank"):
        _net("non_local")(srgb, assembled=maps)
    with pytest.raises(ValueError, match="FRAW"):
        net(srgb, assembled=(maps[0], maps[1][..., :2, :]))


def test_assembly_matches_a_written_out_softmax():
    bank = _bank(k=7)
    f = F.normalize(torch.randn(1, DIM, 3, 2), dim=1)
    fs, fr = assemble_prior(f, bank, temperature=0.5)
    pts = f.movedim(1, -1).reshape(-1, DIM)
    w = torch.softmax(pts @ bank.features.T / 0.5, dim=1)
    torch.testing.assert_close(fs.movedim(1, -1).reshape(-1, 3), w @ bank.srgb)
    torch.testing.assert_close(fr.movedim(1, -1).reshape(-1, 4), w @ bank.raw)
    # a tensor temperature gives the same result, and a gradient
    tau = torch.tensor(0.5, requires_grad=True)
    fs2, _ = assemble_prior(f, bank, temperature=tau)
    torch.testing.assert_close(fs2, fs)
    fs2.sum().backward()
    assert tau.grad is not None


def test_features_from_the_encoder_module_or_tensor_and_a_priorbank():
    enc, bank, net = _encoder(), _bank(), _net()
    srgb = torch.rand(2, 3, 8, 8)
    ref = net(srgb, enc(srgb), bank)
    torch.testing.assert_close(net(srgb, enc, bank), ref)
    pb = PriorBank(bank.features.numpy(), bank.srgb.numpy(), bank.raw.numpy())
    torch.testing.assert_close(net(srgb, enc(srgb), pb), ref)
    torch.testing.assert_close(net(srgb, enc(srgb), BankTensors.from_bank(pb)), ref)


def test_gradients_reach_every_parameter():
    enc, bank, net = _encoder(), _bank(), _net("non_local")
    srgb = torch.rand(2, 3, 16, 16)
    net(srgb, enc(srgb), bank).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_seed_determinism_and_config():
    a, b = _net(seed=4), _net(seed=4)
    assert all(
        torch.equal(u, v)
        for u, v in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    c = PriorRAWNet(**a.config)
    assert c.config == a.config
    assert {k: v.shape for k, v in c.state_dict().items()} == {
        k: v.shape for k, v in a.state_dict().items()
    }


def test_bank_attention_equals_torch_multihead_attention():
    """Eq. 8's attention against torch.nn.MultiheadAttention with the same weights."""
    torch.manual_seed(0)
    att = BankAttention(8, 5, 3, heads=2)
    mha = torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True)
    with torch.no_grad():
        mha.q_proj_weight.copy_(att.q.weight)
        mha.k_proj_weight.copy_(att.k.weight)
        mha.v_proj_weight.copy_(att.v.weight)
        mha.in_proj_bias.copy_(torch.cat([att.q.bias, att.k.bias, att.v.bias]))
        mha.out_proj.weight.copy_(att.out.weight)
        mha.out_proj.bias.copy_(att.out.bias)
    f_c, keys, vals = torch.rand(2, 8, 3, 4), torch.rand(11, 5), torch.rand(11, 3)
    tokens = f_c.flatten(2).transpose(1, 2)
    kb, vb = keys.expand(2, -1, -1), vals.expand(2, -1, -1)
    x = tokens + mha(att.norm_q(tokens), kb, vb, need_weights=False)[0]
    x = x + att.ffn(att.norm_ffn(x))
    ref = x.transpose(1, 2).reshape(2, 8, 3, 4)
    torch.testing.assert_close(att(f_c, keys, vals), ref, atol=1e-5, rtol=1e-5)


def test_bank_attention_is_a_set_operation_over_the_bank():
    torch.manual_seed(0)
    att = BankAttention(8, DIM, 4, heads=4)
    f_c, bank = torch.rand(1, 8, 4, 4), _bank(k=20)
    perm = torch.randperm(20)
    torch.testing.assert_close(
        att(f_c, bank.features, bank.raw),
        att(f_c, bank.features[perm], bank.raw[perm]),
        atol=1e-6,
        rtol=1e-5,
    )


def test_overfits_one_tiny_batch():
    enc, bank = _encoder(), _bank()
    net = _net("non_local")
    g = torch.Generator().manual_seed(0)
    srgb = torch.rand(1, 3, 16, 16, generator=g)
    target = F.pixel_unshuffle(srgb**2.2, 2)[:, [0, 4, 5, 11]]
    f = enc(srgb)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        loss = F.mse_loss(net(srgb, f, bank), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_bad_settings_and_inputs():
    with pytest.raises(ValueError, match="use_prior"):
        PriorRAWNet(use_prior=False, use_confidence=True, use_nonlocal=False)
    with pytest.raises(ValueError, match="heads"):
        PriorRAWNet(width=6, heads=4)
    with pytest.raises(ValueError, match="row"):
        PriorRAWNet.from_ablation("everything")
    with pytest.raises(TypeError, match="set by the row"):
        PriorRAWNet.from_ablation("srgb", use_prior=True)
    with pytest.raises(ValueError, match="temperature"):
        PriorRAWNet(temperature=0.0)
    net, enc, bank = _net(), _encoder(), _bank()
    srgb = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="features, bank"):
        net(srgb)
    with pytest.raises(ValueError, match="features: expected shape"):
        net(srgb, torch.rand(1, DIM, 3, 4), bank)
    with pytest.raises(ValueError, match="bank.raw"):
        net(srgb, enc(srgb), BankTensors(bank.features, bank.srgb, bank.raw[:, :3]))
    with pytest.raises(ValueError, match="bank.features"):
        net(srgb, enc(srgb), BankTensors(bank.features[:, :4], bank.srgb, bank.raw))
    with pytest.raises(TypeError, match="features, srgb and raw"):
        net(srgb, enc(srgb), {"features": bank.features})
    with pytest.raises(TypeError, match="torch.Tensor"):
        net(np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="even"):
        net(torch.rand(1, 3, 9, 8), enc, bank)
