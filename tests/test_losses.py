"""Tests of rawkit.losses against independent NumPy / scikit-image computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _ssim_reference import sk_ssim_map, sk_ssim_per_channel
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.losses import (
    L2SSIMLoss,
    MultiScaleLoss,
    RateDistortionLoss,
    bits_per_pixel,
    l2_ssim_loss,
    multiscale_loss,
    rate_distortion_loss,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _sk_ssim(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """scikit-image SSIM of a ``(C, H, W)`` pair, averaged over channels."""
    return float(np.mean(sk_ssim_per_channel(x, y, data_range)))


def _pair(shape, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    y = rng.random(shape)
    return np.clip(y + rng.normal(0, noise, shape), 0, 1), y


def _block_mean(x: np.ndarray, f: int) -> np.ndarray:
    """Mean of ``f x f`` blocks of the last two axes (independent of torch pooling)."""
    *lead, h, w = x.shape
    return x.reshape(*lead, h // f, f, w // f, f).mean(axis=(-3, -1))


# --------------------------------------------------------------------------- L2 + SSIM


@settings(max_examples=10, deadline=None)
@given(
    alpha=st.floats(0, 5),
    beta=st.floats(0, 5),
    h=st.integers(11, 24),
    w=st.integers(11, 24),
    seed=st.integers(0, 2**31 - 1),
)
def test_l2_ssim_matches_reference(alpha, beta, h, w, seed):
    pred, target = _pair((2, 3, h, w), seed)
    got = l2_ssim_loss(pred, target, data_range=1.0, alpha=alpha, beta=beta, reduction="none")
    assert isinstance(got, np.ndarray) and got.shape == (2,)
    for i in range(2):
        ref = alpha * np.mean((pred[i] - target[i]) ** 2) + beta * (
            1 - _sk_ssim(pred[i], target[i], 1.0)
        )
        assert got[i] == pytest.approx(ref, abs=1e-9)


def test_l2_ssim_reductions_and_zero():
    pred, target = _pair((2, 3, 4, 12, 13))
    none = l2_ssim_loss(pred, target, data_range=1.0, reduction="none")
    assert none.shape == (2, 3)
    assert float(l2_ssim_loss(pred, target, data_range=1.0)) == pytest.approx(none.mean())
    assert float(l2_ssim_loss(pred, target, data_range=1.0, reduction="sum")) == pytest.approx(
        none.sum()
    )
    assert float(l2_ssim_loss(target, target, data_range=1.0)) == pytest.approx(0.0, abs=1e-12)


def test_l2_ssim_data_range_scales():
    """Same images in [0, 1023] with data_range 1023: the SSIM term is unchanged."""
    pred, target = _pair((1, 2, 16, 16))
    a = l2_ssim_loss(pred, target, data_range=1.0, alpha=0.0)
    b = l2_ssim_loss(pred * 1023, target * 1023, data_range=1023, alpha=0.0)
    assert float(a) == pytest.approx(float(b), abs=1e-9)


def test_l2_ssim_masked():
    pred, target = _pair((2, 3, 20, 22), seed=1)
    rng = np.random.default_rng(2)
    mask = rng.random((2, 1, 20, 22)) > 0.4
    ones = np.ones((1, 1, 20, 22))
    np.testing.assert_allclose(
        l2_ssim_loss(pred, target, data_range=1.0, mask=ones, reduction="none"),
        l2_ssim_loss(pred, target, data_range=1.0, reduction="none"),
        atol=1e-12,
    )
    # L2 term alone: MSE over the selected pixels.
    got = l2_ssim_loss(pred, target, data_range=1.0, beta=0.0, mask=mask, reduction="none")
    for i in range(2):
        sel = np.broadcast_to(mask[i], pred[i].shape)
        assert got[i] == pytest.approx(np.mean((pred[i][sel] - target[i][sel]) ** 2), abs=1e-12)
    # SSIM term alone: 1 - skimage's full map averaged over the selected cropped pixels.
    got = l2_ssim_loss(pred, target, data_range=1.0, alpha=0.0, mask=mask, reduction="none")
    for i in range(2):
        maps = [sk_ssim_map(pred[i, c], target[i, c], 1.0)[5:-5, 5:-5] for c in range(3)]
        sel = mask[i, 0, 5:-5, 5:-5]
        assert got[i] == pytest.approx(1 - np.mean([m[sel] for m in maps]), abs=1e-10)
    # Fractional confidence weights and a per-channel mask.
    conf = rng.random((2, 3, 20, 22))
    got = l2_ssim_loss(pred, target, data_range=1.0, beta=0.0, mask=conf, reduction="none")
    ref = ((pred - target) ** 2 * conf).sum(axis=(1, 2, 3)) / conf.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_all_zero_mask_gives_zero_and_finite_gradients():
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(2, 3, 24, 24, dtype=torch.float64, generator=g, requires_grad=True)
    target = torch.rand(2, 3, 24, 24, dtype=torch.float64, generator=g)
    mask = torch.ones(2, 1, 24, 24, dtype=torch.float64)
    mask[1] = 0
    loss = l2_ssim_loss(pred, target, data_range=1.0, mask=mask, reduction="none")
    assert float(loss[1].detach()) == 0.0 and float(loss[0].detach()) > 0
    loss.sum().backward()
    assert torch.isfinite(pred.grad).all()
    assert float(pred.grad[1].abs().max()) == 0.0
    aux = [pred[..., ::2, ::2] * 1.0]
    ms = multiscale_loss(pred, aux, target, data_range=1.0, mask=mask * 0)
    assert float(ms.detach()) == 0.0


def test_l2_ssim_gradcheck():
    g = torch.Generator().manual_seed(1)
    pred = torch.rand(1, 2, 12, 12, dtype=torch.float64, generator=g, requires_grad=True)
    target = torch.rand(1, 2, 12, 12, dtype=torch.float64, generator=g, requires_grad=True)
    mask = (torch.rand(1, 1, 12, 12, generator=g) > 0.3).double()

    def fn(p, t):
        return l2_ssim_loss(p, t, data_range=1.0, alpha=0.7, beta=0.3, mask=mask)

    assert torch.autograd.gradcheck(fn, (pred, target), fast_mode=True)


def test_l2_ssim_training_step_reduces_loss():
    g = torch.Generator().manual_seed(2)
    target = torch.rand(1, 4, 16, 16, generator=g)
    pred = torch.nn.Parameter(torch.rand(1, 4, 16, 16, generator=g))
    crit = L2SSIMLoss(data_range=1.0)
    opt = torch.optim.Adam([pred], lr=0.05)
    with torch.no_grad():
        first = float(crit(pred, target))
    for _ in range(20):
        opt.zero_grad()
        loss = crit(pred, target)
        loss.backward()
        opt.step()
    with torch.no_grad():
        assert float(crit(pred, target)) < 0.5 * first


def test_l2_ssim_errors():
    x = np.zeros((1, 2, 12, 12))
    with pytest.raises(TypeError):
        l2_ssim_loss(x, x)  # data_range is required
    with pytest.raises(ValueError, match="target: expected the shape"):
        l2_ssim_loss(x, x[..., :11], data_range=1.0)
    with pytest.raises(ValueError, match="alpha"):
        l2_ssim_loss(x, x, data_range=1.0, alpha=-1.0)
    with pytest.raises(TypeError, match="beta"):
        l2_ssim_loss(x, x, data_range=1.0, beta=None)
    with pytest.raises(ValueError, match="reduction"):
        l2_ssim_loss(x, x, data_range=1.0, reduction="avg")
    with pytest.raises(ValueError, match="pred: expected H and W >= 11"):
        l2_ssim_loss(x[..., :8, :8], x[..., :8, :8], data_range=1.0)
    small = l2_ssim_loss(x[..., :8, :8] + 0.5, x[..., :8, :8], data_range=1.0, beta=0.0)
    assert float(small) == pytest.approx(0.25)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="pred: expected finite"):
        l2_ssim_loss(bad, x, data_range=1.0)
    with pytest.raises(ValueError, match="mask"):
        l2_ssim_loss(x, x, data_range=1.0, mask=np.ones((1, 3, 12, 12)))


# ------------------------------------------------------------------------- multi-scale


def test_multiscale_matches_eq8():
    rng = np.random.default_rng(3)
    target = rng.random((2, 4, 48, 48))
    pred = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1)
    aux = [
        np.clip(_block_mean(target, f) + rng.normal(0, 0.1, (2, 4, 48 // f, 48 // f)), 0, 1)
        for f in (2, 4)
    ]
    got = multiscale_loss(pred, aux, target, data_range=1.0, reduction="none")

    def ell(p, t):
        return np.mean((p - t) ** 2) + 1 - _sk_ssim(p, t, 1.0)

    for i in range(2):
        ref = ell(pred[i], target[i]) + 0.5 * sum(
            ell(a[i], _block_mean(target[i], f)) for a, f in zip(aux, (2, 4), strict=True)
        )
        assert got[i] == pytest.approx(ref, abs=1e-9)
    # lam = 0 or no levels: the plain l2_ssim_loss.
    plain = l2_ssim_loss(pred, target, data_range=1.0)
    assert float(multiscale_loss(pred, aux, target, data_range=1.0, lam=0.0)) == pytest.approx(
        float(plain)
    )
    assert float(multiscale_loss(pred, [], target, data_range=1.0)) == pytest.approx(float(plain))


def test_multiscale_masked_small_levels_and_module():
    rng = np.random.default_rng(4)
    target = torch.from_numpy(rng.random((1, 4, 32, 32)))
    pred = target + 0.1
    aux = [target[..., ::4, ::4] + 0.2]  # 8x8: too small for SSIM
    mask = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    mask[..., :16, :] = 1
    with pytest.raises(ValueError, match=r"aux\[0\]: expected H and W >= 11"):
        multiscale_loss(pred, aux, target, data_range=1.0)
    got = multiscale_loss(pred, aux, target, data_range=1.0, beta=0.0, mask=mask)
    t8 = torch.from_numpy(_block_mean(target.numpy(), 4))
    m8 = torch.from_numpy(_block_mean(mask.numpy(), 4))
    ref_aux = float(((aux[0] - t8) ** 2 * m8).sum() / (m8.sum() * 4))
    assert float(got) == pytest.approx(0.01 + 0.5 * ref_aux, abs=1e-12)
    crit = MultiScaleLoss(data_range=1.0, beta=0.0, lam=0.25)
    assert float(crit(pred, aux, target, mask)) == pytest.approx(
        float(multiscale_loss(pred, aux, target, data_range=1.0, beta=0.0, lam=0.25, mask=mask))
    )
    assert "lam=0.25" in repr(crit)


def test_multiscale_gradients_reach_every_level():
    g = torch.Generator().manual_seed(5)
    target = torch.rand(1, 2, 24, 24, dtype=torch.float64, generator=g)
    pred = torch.rand(1, 2, 24, 24, dtype=torch.float64, generator=g, requires_grad=True)
    aux = torch.rand(1, 2, 12, 12, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda p, a: multiscale_loss(p, [a], target, data_range=1.0), (pred, aux), fast_mode=True
    )


def test_multiscale_errors():
    t = torch.zeros(1, 4, 32, 32)
    with pytest.raises(ValueError, match=r"aux\[0\]: expected shape \(1, 4, h, w\)"):
        multiscale_loss(t, [torch.zeros(1, 3, 16, 16)], t, data_range=1.0)
    with pytest.raises(ValueError, match=r"aux\[1\]: expected a size <="):
        multiscale_loss(
            t, [torch.zeros(1, 4, 16, 16), torch.zeros(1, 4, 33, 16)], t, data_range=1.0
        )
    with pytest.raises(TypeError, match="aux"):
        multiscale_loss(t, torch.zeros(1, 4, 16, 16), t, data_range=1.0)
    with pytest.raises(ValueError, match="lam"):
        multiscale_loss(t, [], t, data_range=1.0, lam=-0.5)
    nan = torch.full((1, 4, 16, 16), float("nan"))
    with pytest.raises(ValueError, match=r"aux\[0\]: expected finite"):
        multiscale_loss(t, [nan], t, data_range=1.0)


# --------------------------------------------------------------------- rate-distortion


def test_bits_per_pixel_and_rd_loss():
    rng = np.random.default_rng(6)
    py, pz = rng.uniform(0.01, 1.0, (2, 8, 4, 4)), rng.uniform(0.01, 1.0, (2, 4, 2, 2))
    n = 2 * 64 * 64
    ref_bpp = (-np.log2(py).sum() - np.log2(pz).sum()) / n
    assert float(bits_per_pixel({"y": py, "z": pz}, num_pixels=n)) == pytest.approx(ref_bpp)
    assert float(bits_per_pixel([py, pz], num_pixels=n)) == pytest.approx(ref_bpp)
    d = np.array([0.002, 0.004])
    got = rate_distortion_loss(d, lam=500.0, num_pixels=n, likelihoods=[py, pz])
    assert isinstance(got, np.ndarray) and got.shape == ()
    assert float(got) == pytest.approx(500 * 0.003 + ref_bpp)
    bits = rate_distortion_loss(d, lam=500.0, num_pixels=n, bits=np.array([1000, 24]))
    assert float(bits) == pytest.approx(1.5 + 1024 / n)


def test_rd_gradients_and_module():
    g = torch.Generator().manual_seed(7)
    p = (torch.rand(3, 5, dtype=torch.float64, generator=g) * 0.9 + 0.05).requires_grad_()
    d = torch.rand(3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda dd, pp: rate_distortion_loss(dd, lam=3.0, num_pixels=10, likelihoods=pp), (d, p)
    )
    crit = RateDistortionLoss(lam=3.0)
    torch.testing.assert_close(
        crit(d, likelihoods=p, num_pixels=10),
        rate_distortion_loss(d, lam=3.0, num_pixels=10, likelihoods=p),
    )
    assert "lam=3.0" in repr(crit)


def test_rd_errors():
    d = torch.tensor(0.1)
    p = torch.full((4,), 0.5)
    with pytest.raises(ValueError, match="exactly one"):
        rate_distortion_loss(d, lam=1.0, num_pixels=4)
    with pytest.raises(ValueError, match="exactly one"):
        rate_distortion_loss(d, lam=1.0, num_pixels=4, likelihoods=p, bits=torch.tensor(3.0))
    with pytest.raises(ValueError, match=r"likelihoods\[0\]: expected probabilities"):
        bits_per_pixel(torch.tensor([0.5, 0.0]), num_pixels=4)
    with pytest.raises(ValueError, match=r"likelihoods\[1\]: expected probabilities"):
        bits_per_pixel([p, torch.tensor([1.5])], num_pixels=4)
    with pytest.raises(ValueError, match="num_pixels"):
        bits_per_pixel(p, num_pixels=0)
    with pytest.raises(TypeError, match="num_pixels"):
        bits_per_pixel(p, num_pixels=4.0)
    with pytest.raises(ValueError, match="bits: expected values >= 0"):
        rate_distortion_loss(d, lam=1.0, num_pixels=4, bits=torch.tensor(-1.0))
    with pytest.raises(ValueError, match="none"):
        bits_per_pixel([], num_pixels=4)
    with pytest.raises(TypeError):
        rate_distortion_loss(d, num_pixels=4, bits=torch.tensor(1.0))  # lam is required


# ---------------------------------------------------------------------- module == function


@pytest.mark.parametrize("device", DEVICES)
def test_l2_ssim_module_equals_function(device):
    g = torch.Generator().manual_seed(8)
    pred = torch.rand(3, 4, 16, 17, generator=g).to(device)
    target = torch.rand(3, 4, 16, 17, generator=g).to(device)
    mask = (torch.rand(3, 1, 16, 17, generator=g) > 0.5).to(device)
    crit = L2SSIMLoss(data_range=1.0, alpha=2.0, beta=0.5, reduction="none")
    out = crit(pred, target, mask)
    assert out.device.type == device and out.shape == (3,)
    torch.testing.assert_close(
        out,
        l2_ssim_loss(
            pred, target, data_range=1.0, alpha=2.0, beta=0.5, mask=mask, reduction="none"
        ),
    )
    assert "alpha=2.0" in repr(crit)
    with pytest.raises(ValueError, match="data_range"):
        L2SSIMLoss(data_range=-1.0)


def test_l2_term_psnr_is_minus_the_psnr_of_each_image():
    rng = np.random.default_rng(3)
    pred, target = rng.random((3, 4, 16, 16)), rng.random((3, 4, 16, 16))
    pred[1] = target[1] + 0.01  # one image much closer than the others
    got = l2_ssim_loss(pred, target, data_range=2.0, beta=0.0, l2="psnr", reduction="none")
    mse = ((pred - target) ** 2).reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(got, 10 * np.log10(mse / 4.0), rtol=1e-10)
    # exact zero error: floored at -100 dB, not -inf
    assert float(l2_ssim_loss(target, target, data_range=1.0, beta=0.0, l2="psnr")) == -100.0
    # unlike the MSE, the mean weighs the close image's error as much as the others'
    g = torch.tensor(pred, requires_grad=True)
    l2_ssim_loss(g, torch.tensor(target), data_range=1.0, beta=0.0, l2="psnr").backward()
    per_image = g.grad.abs().reshape(3, -1).sum(1)
    assert per_image[1] > 10 * per_image[0]
    with pytest.raises(ValueError, match="l2"):
        l2_ssim_loss(pred, target, data_range=1.0, l2="rmse")
    crit = L2SSIMLoss(data_range=2.0, beta=0.0, l2="psnr", reduction="none")
    np.testing.assert_allclose(crit(torch.tensor(pred), torch.tensor(target)), got, rtol=1e-12)
    with pytest.raises(ValueError, match="l2"):
        L2SSIMLoss(data_range=1.0, l2="rmse")
