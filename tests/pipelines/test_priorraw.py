"""Tests for rawkit.pipelines.priorraw: Alg. 1-3, Table 1 as configs, tiled reconstruction, save/load."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rawkit.data import Pair, PairSet
from rawkit.nets import BankTensors, PixelSearchEncoder, PriorRAWNet, UNet, assemble_prior
from rawkit.pipelines import (
    Pipeline,
    PipelineConfigError,
    PriorRAW,
    PriorRAWConfig,
    get,
    module_id,
    priorraw,
)
from rawkit.pipelines.priorraw import build_encoder
from rawkit.prior import PriorBank

DIM = 8


def _encoder(seed=0):
    return PixelSearchEncoder(dim=DIM, width=8, blocks=1, seed=seed)


def _pairs(n=4, h=32, w=40, seed=0):
    """Piecewise-constant colour images whose RAW is a fixed function of the colour."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        cells = torch.rand(3, h // 8, w // 8, generator=g)
        srgb = F.interpolate(cells[None], size=(h, w), mode="nearest")[0]
        site = F.avg_pool2d(srgb[None], 2)[0]
        packed = torch.stack([site[0] ** 2, site[1], site[1] * 0.9, site[2] ** 0.5]) * 0.8
        out.append(Pair(srgb, packed, f"scene{i % 3}"))
    return out


def _bank(k=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return PriorBank(
        F.normalize(torch.randn(k, DIM, generator=g), dim=1).numpy(),
        torch.rand(k, 3, generator=g).numpy(),
        torch.rand(k, 4, generator=g).numpy(),
    )


def test_alg1_loss_equals_the_dense_softmax_assembly():
    g = torch.Generator().manual_seed(0)
    f = F.normalize(torch.randn(3, DIM, 4, 5, generator=g), dim=1)
    raw = torch.rand(3, 4, 4, 5, generator=g)
    groups = torch.tensor([0, 1, 1])
    tau = 0.2
    loss = priorraw.alg1_loss(f, raw, groups, tau)
    want = []
    for i, refs in enumerate([[1, 2], [0], [0]]):
        ft = f[i].flatten(1).T  # (M, C)
        fr = torch.cat([f[j].flatten(1).T for j in refs])
        vr = torch.cat([raw[j].flatten(1).T for j in refs])
        out = torch.softmax(ft @ fr.T / tau, dim=1) @ vr  # Eq. 2-3
        want.append(((out.T.reshape(4, 4, 5) - raw[i]) ** 2).mean())
    torch.testing.assert_close(loss, torch.stack(want).mean())
    # one group only: every other crop is a reference
    same = priorraw.alg1_loss(f, raw, torch.zeros(3, dtype=torch.long), tau)
    assert torch.isfinite(same)
    with pytest.raises(ValueError, match="at least 2"):
        priorraw.alg1_loss(f[:1], raw[:1], groups[:1], tau)


def test_alg1_trains_the_encoder_and_its_temperature():
    enc, pairs = _encoder(), _pairs()
    x = torch.stack([p.srgb for p in pairs])
    raw = torch.stack([p.packed for p in pairs])
    groups = torch.tensor([int(p.group[-1]) for p in pairs])

    def whole_loss():
        with torch.no_grad():
            return float(priorraw.alg1_loss(enc(x), raw, groups, enc.temperature))

    before, tau0 = whole_loss(), float(enc.temperature.detach())
    res = priorraw.train_encoder(
        pairs, encoder=enc, steps=40, batch_size=4, crop=16, lr=3e-3, schedule="constant",
        seed=0, progress=False,
    )  # fmt: skip
    assert res.model is enc and len(res.history.train_loss) == 40
    assert whole_loss() < 0.7 * before
    assert float(enc.temperature.detach()) != tau0


def test_build_bank_and_reference_set():
    enc = _encoder().requires_grad_(False)
    pairs = _pairs(n=3)
    bank = priorraw.build_bank(enc, pairs, n_clusters=10, group_size=5, niter=3, progress=False)
    assert len(bank) == 10 and bank.dim == DIM and bank.encoder_id == module_id(enc)
    full = priorraw.reference_set(enc, pairs)
    assert len(full) == 3 * 16 * 20 == full.n_reference
    with torch.no_grad():
        f0 = enc(pairs[0].srgb[None])[0]
    np.testing.assert_allclose(full.features[:320], f0.flatten(1).T.numpy(), atol=1e-6)
    np.testing.assert_allclose(full.raw[:320], pairs[0].packed.flatten(1).T.numpy())
    s0 = F.avg_pool2d(pairs[0].srgb[None], 2)[0]
    np.testing.assert_allclose(full.srgb[:320], s0.flatten(1).T.numpy(), atol=1e-6)
    # every bank entry is the mean of reference pixels: inside their range
    assert full.raw.min() - 1e-6 <= bank.raw.min() and bank.raw.max() <= full.raw.max() + 1e-6


def test_assemble_raw_and_reconstruct_untiled_equal_the_network():
    enc, bank = _encoder().eval(), _bank()
    net = PriorRAWNet(feature_dim=DIM, width=8, depth=2, temperature=0.3, seed=0).eval()
    x = torch.rand(2, 3, 24, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        f = enc(x)
        want = net(x, f, BankTensors.from_bank(bank))
        fs, fr = assemble_prior(f, bank, temperature=float(enc.temperature.detach()))
    got = priorraw.reconstruct(x, model=net, encoder=enc, bank=bank, tile=64, overlap=8)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    both = priorraw.assemble_raw(x, encoder=enc, bank=bank, tile=64, which="both")
    torch.testing.assert_close(both, torch.cat([fs, fr], dim=1), rtol=1e-5, atol=1e-6)
    out = priorraw.reconstruct(x[0].numpy(), model=net, encoder=enc, bank=bank, tile=16, overlap=4)
    assert isinstance(out, np.ndarray) and out.shape == (4, 12, 16)
    assert float(np.abs(out - want[0].numpy()).mean()) < 0.05


def test_reconstruct_errors():
    net = PriorRAWNet(feature_dim=DIM, width=8, depth=1, seed=0)
    x = torch.rand(3, 16, 16)
    with pytest.raises(ValueError, match="encoder, bank"):
        priorraw.reconstruct(x, model=net)
    with pytest.raises(TypeError, match="model"):
        priorraw.reconstruct(x, model=torch.nn.Identity())
    with pytest.raises(ValueError, match="even"):
        priorraw.reconstruct(torch.rand(3, 15, 16), model=UNet(width=4, depth=1))
    with pytest.raises(TypeError, match="dtype"):
        priorraw.reconstruct(
            torch.zeros(3, 16, 16, dtype=torch.uint8), model=UNet(width=4, depth=1)
        )
    assert priorraw.reconstruct(x, model=UNet(width=4, depth=1)).shape == (4, 8, 8)


def test_train_reconstructor_rows_and_checks():
    pairs, enc, bank = _pairs(n=3), _encoder().requires_grad_(False), _bank()
    kw = dict(width=8, depth=1, steps=3, batch_size=2, crop=24, seed=0, progress=False)
    a = priorraw.train_reconstructor(pairs, encoder=enc, bank=bank, ablation="non_local", **kw)
    b = priorraw.train_reconstructor(pairs, encoder=enc, bank=bank, ablation="non_local", **kw)
    assert a.model.ablation == "non_local" and len(a.history.train_loss) == 3
    assert a.model.temperature == pytest.approx(float(enc.temperature.detach()))
    for (n, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), n  # seeded: the same weights
    assert not any(p.requires_grad for p in enc.parameters())
    srgb_row = priorraw.train_reconstructor(pairs, ablation="srgb", **kw)
    assert not srgb_row.model.use_prior
    with pytest.raises(ValueError, match="encoder, bank"):
        priorraw.train_reconstructor(pairs, ablation="prior_raw", **kw)
    with pytest.raises(ValueError, match="ablation"):
        priorraw.train_reconstructor(pairs, ablation="everything", **kw)
    wrong = PriorRAWNet(feature_dim=DIM, width=8, depth=1, temperature=0.5)
    with pytest.raises(ValueError, match="temperature"):
        priorraw.train_reconstructor(pairs, encoder=enc, bank=bank, model=wrong, **kw)


TINY = PriorRAWConfig(
    encoder_dim=DIM, encoder_width=8, encoder_blocks=1, encoder_steps=3, encoder_batch_size=3,
    encoder_crop=16, n_clusters=12, group_size=4, niter=2, width=8, depth=1, steps=3,
    batch_size=2, crop=24,
)  # fmt: skip


def test_fold_banks_leave_out_the_pairs_own_scene():
    # scene "a" has RAW 0.9 everywhere, scene "b" 0.1: a bank without a pair's own scene
    # can only assemble the other scene's value for it
    g = torch.Generator().manual_seed(0)
    data = PairSet([Pair(torch.rand(3, 32, 32, generator=g), torch.full((4, 16, 16), v), name)
                    for name, v in (("a", 0.9), ("b", 0.1), ("a", 0.9), ("b", 0.1))])  # fmt: skip
    pipe = PriorRAW(TINY.replace(holdout_folds=2))
    enc = build_encoder(dim=DIM, width=8, blocks=1, seed=0)
    banks = pipe._fold_banks(enc, data, seed=0, progress=False)
    assert banks[0] is banks[2] and banks[1] is banks[3] and banks[0] is not banks[1]
    for p, bank in zip(data, banks, strict=True):
        other = 0.1 if p.group == "a" else 0.9
        np.testing.assert_allclose(bank.raw, other, atol=1e-6)
    with pytest.raises(ValueError, match="holdout_folds"):
        PriorRAW.fit(data[:1], TINY.replace(holdout_folds=2), progress=False)
    with pytest.raises(ValueError, match="holdout_folds"):
        TINY.replace(holdout_folds=1)


def test_pipeline_save_load_round_trip(tmp_path):
    pipe = PriorRAW.fit(_pairs(n=3), TINY, seed=1, progress=False)
    pipe.info["camera"] = "nikon_d5100"
    pipe.save(tmp_path / "p")
    again = Pipeline.load(tmp_path / "p")
    assert (
        type(again) is PriorRAW and again.config == TINY and again.info["camera"] == "nikon_d5100"
    )
    x = torch.rand(3, 20, 28)
    torch.testing.assert_close(again.reconstruct(x), pipe.reconstruct(x))
    assert again.bank.encoder_id == module_id(again.encoder) == pipe.bank.encoder_id
    with pytest.raises(FileExistsError, match="overwrite"):
        pipe.save(tmp_path / "p")
    pipe.save(tmp_path / "p", overwrite=True)
    # the same pipeline by the functions of Alg. 3
    direct = priorraw.reconstruct(
        x, model=pipe.net, encoder=pipe.encoder, bank=pipe.bank, tile=PriorRAW.tile
    )
    torch.testing.assert_close(pipe.reconstruct(x), direct)


def test_fit_end_to_end_and_table1_rows_share_stages():
    data = PairSet.from_any(_pairs(n=4))
    full = PriorRAW.fit(data, TINY, progress=False)
    assert full.net.ablation == "non_local" and len(full.bank) == 12
    assert full.bank.encoder_id == module_id(full.encoder)
    assert full.reconstruct(np.random.default_rng(0).random((3, 24, 24))).shape == (4, 12, 12)
    rows = {
        k: PriorRAW.fit(data, TINY.replace(**v), progress=False)
        for k, v in PriorRAW.variants.items()
    }
    assert set(rows) == {"pixel_search", "cluster_group", "prior_raw", "reliable_attention",
                         "non_local", "non_local_full"}  # fmt: skip
    assert rows["non_local"].info["shared"] == ["encoder", "bank", "fold_banks", "reconstructor"]
    assert rows["non_local_full"].info["shared"] == [
        "encoder",
        "bank",
        "reference",
        "fold_banks",
        "reconstructor",
    ]
    for a, b in zip(rows["non_local"].net.state_dict().values(),
                    full.net.state_dict().values(), strict=True):  # fmt: skip
        assert torch.equal(a, b)
    x = torch.rand(3, 24, 32, generator=torch.Generator().manual_seed(4))
    # the "assembled" rows are Eq. 4 alone, over the bank or every reference pixel
    enc = full.encoder
    torch.testing.assert_close(
        rows["cluster_group"].reconstruct(x), priorraw.assemble_raw(x, encoder=enc, bank=full.bank)
    )
    ref = priorraw.reference_set(enc, data)
    torch.testing.assert_close(
        rows["pixel_search"].reconstruct(x), priorraw.assemble_raw(x, encoder=enc, bank=ref)
    )
    want = priorraw.reconstruct(x, model=full.net, encoder=enc, bank=full.bank, search=ref)
    torch.testing.assert_close(rows["non_local_full"].reconstruct(x), want)
    assert get("priorraw") is PriorRAW


def test_fit_validates_before_any_training():
    data = _pairs(n=3)
    with pytest.raises(PipelineConfigError, match="ablation: expected one of"):
        PriorRAWConfig(ablation="foo")
    with pytest.raises(ValueError, match="crop: 48 is larger"):
        PriorRAW.fit(data, TINY.replace(crop=48), progress=False)
    with pytest.raises(ValueError, match="n_clusters"):
        PriorRAW.fit(data, TINY.replace(n_clusters=10_000), progress=False)
    with pytest.raises(ValueError, match="seed"):
        PriorRAW.fit(data, TINY, seed=-1, progress=False)


def test_pairset_accepts_the_usual_containers():
    from rawkit.data import SyntheticPairs

    ds = SyntheticPairs(["chelsea"], camera="nikon_d5100", seed=0, max_side=32)
    (p,) = PairSet.from_any(ds)
    assert p.group == "chelsea" and p.packed.shape == (
        4,
        p.srgb.shape[1] // 2,
        p.srgb.shape[2] // 2,
    )
    (q,) = PairSet.from_any([ds.pair(0)])
    assert torch.equal(q.srgb, p.srgb)
    with pytest.raises(ValueError, match="packed"):
        PairSet.from_any([(torch.rand(3, 8, 8), torch.rand(4, 8, 8))])
    with pytest.raises(TypeError, match="data"):
        PairSet.from_any("folder")
    with pytest.raises(ValueError, match="at least one"):
        PairSet.from_any([])


def test_reconstruct_with_another_search_set():
    enc, bank = _encoder().eval(), _bank()
    other = _bank(k=40, seed=5)
    tau = float(enc.temperature.detach())
    net = PriorRAWNet(feature_dim=DIM, width=8, depth=2, temperature=tau, seed=0).eval()
    x = torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(3))
    tiles = dict(tile=24, overlap=8)
    base = priorraw.reconstruct(x, model=net, encoder=enc, bank=bank, **tiles)
    same = priorraw.reconstruct(x, model=net, encoder=enc, bank=bank, search=bank, **tiles)
    torch.testing.assert_close(same, base)
    # Eq. 4 over `other`, Eq. 8 over `bank`: the network fed with the maps of `other`
    whole = dict(tile=64, overlap=8)
    searched = priorraw.reconstruct(x, model=net, encoder=enc, bank=bank, search=other, **whole)
    with torch.no_grad():
        fs, fr = assemble_prior(enc(x[None]), other, temperature=tau)
        want = net(x[None], None, BankTensors.from_bank(bank), assembled=(fs, fr))[0]
    torch.testing.assert_close(searched, want, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(searched, base)


def test_validation_curve_keeps_the_best_weights():
    pairs, enc, bank = _pairs(n=3), _encoder().requires_grad_(False), _bank()
    val = _pairs(n=2, seed=5)
    kw = dict(width=8, depth=1, steps=7, batch_size=2, crop=24, seed=0, progress=False, lr=0.5)
    res = priorraw.train_reconstructor(
        pairs, encoder=enc, bank=bank, val_data=val, val_every=2, **kw
    )
    assert [v["step"] for v in res.history.val] == [2, 4, 6, 7]
    best = max(res.history.val, key=lambda v: v["psnr"])
    assert best["step"] != 7  # a too-high rate: the last weights are not the best
    # recompute the validation PSNR of the returned weights, independently of the trainer:
    # whole images through the tiled inference, PSNR from its definition
    mse = [
        float(((priorraw.reconstruct(p.srgb, model=res.model, encoder=enc, bank=bank,
                                     tile=64).clamp(0, 1) - p.packed) ** 2).mean())
        for p in val
    ]  # fmt: skip
    got = float(np.mean([10 * np.log10(1 / m) for m in mse]))
    assert got == pytest.approx(max(v["psnr"] for v in res.history.val), abs=1e-4)
    # the fit records the curve; a pipeline that does not validate refuses val_data
    pipe = PriorRAW.fit(pairs, TINY, progress=False, val_data=val)
    assert pipe.info["curve"][-1]["step"] == TINY.steps and pipe.info["best_step"] >= 1
    from rawkit.pipelines import get

    with pytest.raises(ValueError, match="val_data: nn_search does not validate"):
        get("nn_search").fit(pairs, val_data=val, progress=False)
