"""MetadataCodecNet: exact latent round trip through constriction, rate estimate, monotone
rate gains, the checkerboard order, the discretised Gaussian against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from rawkit.io.bitstream import BitstreamError
from rawkit.nets.metadata_codec import SCALE_TABLE, STEP_TABLE, MetadataCodecNet, checkerboard


def _net(seed: int = 0, rates: int = 5) -> MetadataCodecNet:
    return MetadataCodecNet(
        latent_channels=4, global_channels=4, width=8, guide_width=4, rates=rates, seed=seed
    ).eval()


def _inputs(h: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, 2 * h, 2 * w, generator=g)
    return torch.rand(1, 4, h, w, generator=g), x, torch.rand(1, 4, h, w, generator=g)


_NETS = {s: _net(s) for s in range(3)}


@settings(max_examples=15)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    rate=st.integers(0, 4),
    seed=st.integers(0, 2),
    data_seed=st.integers(0, 2**16),
    gain=st.floats(0.1, 30.0),
)
def test_round_trip_reproduces_the_latents_exactly(h, w, rate, seed, data_seed, gain):
    net = _NETS[seed]
    r, x, b = _inputs(h, w, data_seed)
    code = net.compress(r * gain, x, b, rate=rate)
    assert len(code.payload) % 4 == 0
    dec = net.decompress(code.payload, x, b, rate=rate, check=code.check)
    assert torch.equal(dec.symbols, code.symbols)
    assert torch.equal(dec.y_hat, code.y_hat) and torch.equal(dec.z_hat, code.z_hat)
    assert dec.raw.shape == (1, 4, h, w)
    # The reconstruction is the decoder applied to exactly those latents.
    with torch.no_grad():
        assert torch.equal(dec.raw, net.synthesize(code.y_hat, code.z_hat, x, b))


def test_estimated_bits_are_the_discretised_gaussian_and_match_the_payload():
    net = _net(1)
    r, x, b = _inputs(96, 128, 7)
    code = net.compress(r * 20, x, b, rate=4)
    s = code.symbols.double().numpy()
    sigma = SCALE_TABLE[code.scale_index.numpy()]
    p = norm.cdf((s + 0.5) / sigma) - norm.cdf((s - 0.5) / sigma)  # independent reference
    ref = float(-np.log2(np.maximum(p, 2.0**-24)).sum())
    assert code.bits == pytest.approx(ref, rel=1e-6)
    assert code.bits > 3000
    assert 8 * len(code.payload) == pytest.approx(code.bits, rel=0.03)


def test_rate_gains_are_strictly_increasing_for_any_parameters():
    net = _net(2, rates=8)
    with torch.no_grad():
        net.rate_increments.normal_(0, 3)
        net.rate_base.normal_(0, 3)
    g = net.log2_gain(torch.arange(8))
    assert bool((g[1:] > g[:-1]).all())


def test_steps_and_scales_are_on_their_tables():
    net = _net(0)
    r, x, b = _inputs(24, 40, 3)
    code = net.compress(r, x, b, rate=2)
    assert code.scale_index.min() >= 0 and code.scale_index.max() < len(SCALE_TABLE)
    # global + local symbols: C_g + C * h' * w' (latent 1/8 of the packed grid, rounded up)
    assert code.symbols.shape == (4 + 4 * 3 * 5,) and code.latent_shape == (3, 5)
    with torch.no_grad():
        step = net._step(net._guides(x, b)[2], torch.tensor([2]), hard=True)
    assert np.isin(step.numpy(), STEP_TABLE.astype(np.float32)).all()


def test_checkerboard_against_numpy():
    h, w = 5, 7
    ref = (np.add.outer(np.arange(h), np.arange(w)) % 2 == 0).astype(np.float32)
    assert np.array_equal(checkerboard(h, w)[0, 0].numpy(), ref)


def test_wrong_check_wrong_rate_and_garbage_are_refused():
    net = _net(0)
    r, x, b = _inputs(32, 32, 5)
    code = net.compress(r * 10, x, b, rate=3)
    with pytest.raises(BitstreamError, match="differ"):
        net.decompress(code.payload, x, b, rate=3, check=code.check ^ 1)
    with pytest.raises(BitstreamError, match="multiple of 4"):
        net.decompress(code.payload[:-1], x, b, rate=3)
    with pytest.raises(ValueError, match="rate"):
        net.compress(r, x, b, rate=5)
    with pytest.raises(TypeError, match="rate"):
        net.compress(r, x, b, rate=1.0)  # type: ignore[arg-type]


def test_forward_trains_and_checks_shapes():
    net = _net(0).train()
    r, x, b = _inputs(16, 16, 1)
    out = net(r, x, b, rate=torch.tensor([1]))
    (out.bits.sum() + out.raw.square().mean()).backward()
    assert all(p.grad is not None for n, p in net.named_parameters() if "head" in n)
    with pytest.raises(ValueError, match="blind"):
        net(r, x, b[..., :-1], rate=torch.tensor([1]))
    with pytest.raises(ValueError, match="raw"):
        net(r[..., :-1, :], x, b, rate=torch.tensor([1]))


def test_untrained_decoder_with_zero_latents_is_the_blind_estimate():
    net = _net(0)
    r, x, b = _inputs(16, 24, 2)
    code = net.compress(r, x, b, rate=0)
    with torch.no_grad():
        out = net.synthesize(torch.zeros_like(code.y_hat), torch.zeros_like(code.z_hat), x, b)
    assert torch.allclose(out, b, atol=1e-6)


def test_model_tag_changes_with_the_weights():
    a, b = _net(0), _net(1)
    assert a.model_tag() != b.model_tag()
    a.load_state_dict(b.state_dict())
    assert a.model_tag() == b.model_tag()
