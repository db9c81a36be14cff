"""Tests of rawkit.nets.FAGDN, its confidence head and the GLA module."""

from __future__ import annotations

import pytest
import torch

from rawkit.flow import warp_packed
from rawkit.nets import FAGDN, GLA, ConfidenceHead, count_parameters


def _inputs(b: int = 1, h: int = 24, w: int = 40, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(b, 3, h, w, generator=g)
    x1 = torch.rand(b, 3, h, w, generator=g)
    y0 = torch.rand(b, 4, h // 2, w // 2, generator=g)
    flow = 3 * torch.rand(b, 2, h, w, generator=g) - 1.5
    return x0, y0, x1, flow


@pytest.mark.parametrize(("h", "w"), [(24, 40), (22, 34), (16, 16)])
def test_shapes_any_size(h: int, w: int) -> None:
    net = FAGDN(width=4, depth=3, patch=4, confidence_width=4, seed=0)
    out = net(*_inputs(2, h, w))
    assert out.raw.shape == (2, 4, h // 2, w // 2)
    assert len(out.aux) == 2  # depth - 1 auxiliary outputs, coarse to fine
    assert out.aux[0].shape[-2] < out.aux[1].shape[-2] < h // 2
    assert out.confidence is not None and out.confidence.shape == (2, 1, h // 2, w // 2)
    assert ((out.confidence > 0) & (out.confidence < 1)).all()


def test_starts_from_the_warped_reference() -> None:
    # the correction heads start at zero: the initial output is the warped previous RAW
    x0, y0, x1, flow = _inputs()
    net = FAGDN(width=4, depth=2, patch=2, seed=1)
    out = net(x0, y0, x1, flow)
    assert out.warped_raw is not None
    assert torch.equal(out.raw, warp_packed(y0, flow, pattern="RGGB"))
    assert torch.equal(out.raw, out.warped_raw)
    same = net(x0, y0, x1, torch.zeros_like(flow)).raw
    assert torch.equal(same, y0)


def test_ablation_switches() -> None:
    full = FAGDN(width=4, depth=2, patch=2, seed=0)
    no_warp = FAGDN(width=4, depth=2, patch=2, warping=False, seed=0)
    no_m = FAGDN(width=4, depth=2, patch=2, confidence=False, seed=0)
    no_gla = FAGDN(width=4, depth=2, patch=2, gla=False, seed=0)
    x = _inputs()
    o = no_warp(*x)
    assert o.warped_raw is None and o.confidence is None
    assert no_warp.encoder_cur.blocks[0][0].in_channels == 12  # x_{t+1} only
    assert no_m(*x).confidence is None and no_m.encoder_cur.blocks[0][0].in_channels == 16
    assert full.encoder_cur.blocks[0][0].in_channels == 17  # [x_{t+1}, y~_{t+1}, M]
    assert no_gla.encoder_ref is None and no_gla.glas is None
    assert count_parameters(no_gla) < count_parameters(full)
    assert not no_warp.config["confidence"]  # M needs the warp


def test_two_encoders_same_structure_separate_weights() -> None:
    net = FAGDN(width=4, depth=3, patch=4, seed=0)
    assert net.encoder_ref is not None
    cur = dict(net.encoder_cur.named_parameters())
    ref = dict(net.encoder_ref.named_parameters())
    assert cur.keys() == ref.keys()
    for k in cur:
        assert cur[k] is not ref[k]
        if not k.startswith("blocks.0.0."):  # only the first layer's inputs differ (17 vs 16)
            assert cur[k].shape == ref[k].shape


def test_config_rebuilds_and_seed_reproduces() -> None:
    net = FAGDN(width=4, depth=2, patch=2, pattern="GBRG", gla=False, seed=3)
    twin = FAGDN(**net.config, seed=3)
    for a, b in zip(net.state_dict().values(), twin.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_every_level_learns() -> None:
    x0, y0, x1, flow = _inputs(2, 16, 16)
    net = FAGDN(width=4, depth=2, patch=2, seed=0)
    target = torch.rand(2, 4, 8, 8, generator=torch.Generator().manual_seed(5))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(3):  # after the heads move, gradients reach every layer
        out = net(x0, y0, x1, flow)
        loss = (out.raw - target).square().mean() + sum(
            (a.mean() - target.mean()) ** 2 for a in out.aux
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = net(x0, y0, x1, flow)
    ((out.raw - target).square().mean()).backward()
    for name, p in net.named_parameters():
        if name.startswith("heads.1"):  # the coarsest head only feeds the auxiliary output
            continue
        if name.startswith("glas.1.") and ("q_local" in name or "k_local" in name):
            continue  # patch 1 at level 1: a one-pixel softmax is 1, query/key do not matter
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_gla_identity_at_init_and_local_attention_stays_in_its_patch() -> None:
    g = torch.Generator().manual_seed(0)
    gla = GLA(6, patch=4)
    cur, ref = torch.rand(1, 6, 8, 12, generator=g), torch.rand(1, 6, 8, 12, generator=g)
    assert torch.equal(gla(cur, ref), cur)
    torch.nn.init.normal_(gla.out_local.weight, generator=g)  # local path only
    base = gla(cur, ref)
    ref2 = ref.clone()
    ref2[..., 0:4, 4:8] += 1.0  # change one reference patch (row 0, column 1)
    diff = (gla(cur, ref2) - base).abs().sum(1)[0]
    assert diff[0:4, 4:8].min() > 0
    diff[0:4, 4:8] = 0
    assert diff.max() == 0  # no other pixel saw it
    torch.nn.init.normal_(gla.out_global.weight, generator=g)  # global path: every patch sees it
    d2 = (gla(cur, ref2) - gla(cur, ref)).abs().sum(1)[0]
    assert (d2.reshape(2, 4, 3, 4).amax(dim=(1, 3)) > 0).all()


def test_confidence_head_shape_and_range() -> None:
    m = ConfidenceHead(4)(torch.rand(3, 3, 8, 10), torch.rand(3, 3, 8, 10))
    assert m.shape == (3, 1, 4, 5) and ((m > 0) & (m < 1)).all()


def test_bad_inputs_and_settings() -> None:
    net = FAGDN(width=4, depth=2, patch=2, seed=0)
    x0, y0, x1, flow = _inputs()
    with pytest.raises(ValueError, match="raw_prev"):
        net(x0, y0[..., :5, :], x1, flow)
    with pytest.raises(ValueError, match="flow"):
        net(x0, y0, x1, flow[..., :10])
    with pytest.raises(ValueError, match="srgb_cur"):
        net(x0, y0, x1[..., :23, :], flow)
    with pytest.raises(TypeError, match="srgb_prev"):
        net(x0.numpy(), y0, x1, flow)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        FAGDN(depth=0)
    with pytest.raises(ValueError, match="pattern"):
        FAGDN(pattern="RGBG")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="gla"):
        FAGDN(gla=1)  # type: ignore[arg-type]
