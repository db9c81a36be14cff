"""Tests for rawkit.prior.bank: Alg. 2 against brute force, determinism, the file format."""

import json
import zipfile

import numpy as np
import pytest
import torch

from rawkit.prior import PriorBank, PriorBankFileError, build_prior_bank
from rawkit.search import assemble


def _data(n=3000, c=8, r=4, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, c)).astype(np.float32)
    return f, rng.random((n, 3)).astype(np.float32), rng.random((n, r)).astype(np.float32)


def _build(f, s, r, **kw):
    opts = {
        "n_clusters": 20,
        "group_size": 50,
        "niter": 5,
        "seed": 0,
        "progress": False,
        "n_threads": 1,
    }
    opts.update(kw)
    return build_prior_bank(f, s, r, **opts)


def _same(a, b):
    for name in ("features", "srgb", "raw"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_same_seed_same_bank_bitwise():
    f, s, r = _data()
    a, b = _build(f, s, r, seed=7), _build(f, s, r, seed=7)
    _same(a, b)
    assert a.checksum() == b.checksum()
    c = _build(f, s, r, seed=8)
    assert not np.array_equal(a.features, c.features)


def test_same_seed_same_bank_when_subsampling():
    f, s, r = _data(5000)
    kw = {"n_clusters": 10, "max_points_per_centroid": 40}  # trains on 400 of 5000 points
    _same(_build(f, s, r, **kw), _build(f, s, r, **kw))


def test_distinct_points_are_reproduced():
    """A reference set of K distinct points, K clusters of one: the bank is that set."""
    k = 500
    rng = np.random.default_rng(1)
    f = rng.standard_normal((k, 16)).astype(np.float32)
    f /= np.linalg.norm(f, axis=1, keepdims=True)  # unit norm: each point is its own best match
    s = rng.random((k, 3)).astype(np.float32)
    r = rng.random((k, 4)).astype(np.float32)
    bank = _build(f, s, r, n_clusters=k, group_size=1, niter=3)
    assert len(bank) == k
    order = np.argmax(bank.features @ f.T, axis=1)  # which input each entry is
    assert sorted(order.tolist()) == list(range(k))
    np.testing.assert_allclose(bank.features, f[order], atol=1e-6)
    np.testing.assert_array_equal(bank.srgb, s[order])
    np.testing.assert_array_equal(bank.raw, r[order])


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_groups_are_the_nearest_points_of_each_centroid(metric, monkeypatch):
    """Grouping and averaging against brute force, given the centroids faiss found."""
    import faiss

    found = {}
    original = faiss.Kmeans.train

    def spy(self, x, *a, **kw):
        out = original(self, x, *a, **kw)
        found["centroids"] = self.centroids.copy()
        return out

    monkeypatch.setattr(faiss.Kmeans, "train", spy)
    f, s, r = _data(2000, c=6)
    bank = _build(f, s, r, metric=metric, n_clusters=15, group_size=30, block_rows=700)
    cent = found["centroids"]
    if metric == "ip":
        np.testing.assert_allclose(np.linalg.norm(cent, axis=1), 1.0, rtol=1e-5)  # spherical
        score = cent.astype(np.float64) @ f.T.astype(np.float64)
    else:
        score = -((cent[:, None, :].astype(np.float64) - f[None].astype(np.float64)) ** 2).sum(-1)
    idx = np.argsort(-score, axis=1, kind="stable")[:, :30]
    np.testing.assert_allclose(bank.features, f[idx].astype(np.float64).mean(1), atol=1e-6)
    np.testing.assert_allclose(bank.srgb, s[idx].astype(np.float64).mean(1), atol=1e-6)
    np.testing.assert_allclose(bank.raw, r[idx].astype(np.float64).mean(1), atol=1e-6)


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_blocks_smaller_and_larger_than_a_group_equal_one_array(metric):
    """Batches kept as separate blocks (one smaller than a group) give the one-array bank."""
    f, s, r = _data(2000, c=6, seed=3)
    cuts = [0, 700, 705, 2000]  # a 5-row block: fewer rows than group_size
    batches = [(f[a:b], s[a:b], r[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    kw = {"metric": metric, "n_clusters": 15, "group_size": 30, "max_points_per_centroid": 40}
    blocks = _build(iter(batches), None, None, block_rows=1, **kw)
    whole = _build(f, s, r, **kw)
    for name in ("features", "srgb", "raw"):
        np.testing.assert_allclose(getattr(blocks, name), getattr(whole, name), atol=1e-6)


def test_streaming_with_encoder_equals_arrays():
    """Batches of images through an encoder == precomputed arrays of the same pixels."""
    g = torch.Generator().manual_seed(2)
    imgs = torch.rand(6, 3, 8, 8, generator=g)
    raws = torch.rand(6, 4, 4, 4, generator=g)  # packed RAW at half resolution
    proj = torch.randn(5, 3, generator=g)

    def encoder(x):  # downsample by 2, then a 1x1 "network"
        return torch.einsum("dc,bchw->bdhw", proj, torch.nn.functional.avg_pool2d(x, 2))

    batches = [(imgs[i : i + 2], raws[i : i + 2]) for i in range(0, 6, 2)]
    kw = {
        "n_clusters": 8,
        "group_size": 10,
        "niter": 4,
        "seed": 3,
        "progress": False,
        "n_threads": 1,
    }
    streamed = build_prior_bank(
        iter(batches), encoder=encoder, encoder_id="toy", block_rows=40, **kw
    )
    feats = encoder(imgs)
    srgb = torch.nn.functional.avg_pool2d(imgs, 2)
    arrays = build_prior_bank(feats, srgb, raws, **kw)
    np.testing.assert_allclose(streamed.features, arrays.features, atol=1e-6)
    np.testing.assert_allclose(streamed.srgb, arrays.srgb, atol=1e-6)
    np.testing.assert_allclose(streamed.raw, arrays.raw, atol=1e-6)
    assert streamed.encoder_id == "toy" and streamed.n_reference == 6 * 16


def test_triplet_batches_and_progress_bar(capsys):
    f, s, r = _data(900)
    batches = [(f[i : i + 300], s[i : i + 300], r[i : i + 300]) for i in range(0, 900, 300)]
    bank = build_prior_bank(batches, n_clusters=5, group_size=20, niter=3, seed=0, progress=True)
    assert len(bank) == 5
    assert "prior bank" in capsys.readouterr().err


def test_save_load_round_trip(tmp_path):
    f, s, r = _data(600)
    bank = _build(f, s, r, encoder_id="enc-v1")
    path = bank.save(tmp_path / "bank.npz")
    back = PriorBank.load(path, encoder_id="enc-v1", dim=8)
    _same(bank, back)
    assert back.build_record() == bank.build_record()
    assert back.build_record()["n_reference"] == 600
    with np.load(path, allow_pickle=False) as z:  # documented format, no pickle
        meta = json.loads(str(z["metadata"][()]))
        assert meta["format"] == "rawkit.PriorBank" and meta["version"] == 1
        assert meta["sha256"] == bank.checksum()
        assert z["features"].dtype == np.dtype("<f4")


def test_save_refuses_to_overwrite_and_is_atomic(tmp_path):
    bank = PriorBank(np.eye(3), np.zeros((3, 3)), np.ones((3, 4)))
    path = bank.save(tmp_path / "b.npz")
    with pytest.raises(FileExistsError):
        bank.save(path)
    bank2 = PriorBank(2 * np.eye(3), np.zeros((3, 3)), np.ones((3, 4)))
    bank2.save(path, overwrite=True)
    np.testing.assert_array_equal(PriorBank.load(path).features, 2 * np.eye(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.npz"]  # no temporary left


def test_load_mismatch_raises_value_error(tmp_path):
    path = PriorBank(np.eye(3), np.zeros((3, 3)), np.ones((3, 4)), encoder_id="a").save(
        tmp_path / "b.npz"
    )
    with pytest.raises(ValueError, match="encoder_id"):
        PriorBank.load(path, encoder_id="b")
    with pytest.raises(ValueError, match="dim"):
        PriorBank.load(path, dim=32)


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    meta = json.loads(str(members["metadata"][()]))
    for k, v in changes.items():
        if k in ("features", "srgb", "raw"):
            members[k] = v
        else:
            meta[k] = v
    members["metadata"] = np.array(json.dumps(meta))
    np.savez(path, **members)


def test_newer_version_raises_value_error(tmp_path):
    path = PriorBank(np.eye(3), np.zeros((3, 3)), np.ones((3, 4))).save(tmp_path / "b.npz")
    _rewrite(path, version=99)
    with pytest.raises(ValueError, match="version 99") as e:
        PriorBank.load(path)
    assert not isinstance(e.value, OSError)


@pytest.mark.parametrize(
    "damage",
    ["truncate", "garbage", "flip_value", "edit_metadata", "drop_member", "single_npy", "pickle"],
)
def test_corrupt_files_raise_oserror(tmp_path, damage):
    path = PriorBank(np.eye(3), np.zeros((3, 3)), np.ones((3, 4))).save(tmp_path / "b.npz")
    if damage == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a bank at all" * 10)
    elif damage == "flip_value":
        _rewrite(path, raw=np.full((3, 4), 0.5, "<f4"))  # checksum no longer matches
    elif damage == "edit_metadata":
        _rewrite(path, encoder_id="someone else")
    elif damage == "drop_member":
        with zipfile.ZipFile(path) as z:
            keep = {n: z.read(n) for n in z.namelist() if n != "raw.npy"}
        with zipfile.ZipFile(path, "w") as z:
            for n, b in keep.items():
                z.writestr(n, b)
    elif damage == "single_npy":
        with open(path, "wb") as fh:
            np.save(fh, np.eye(3))
    else:
        import pickle

        path.write_bytes(pickle.dumps({"features": [1]}))
    with pytest.raises(PriorBankFileError) as e:
        PriorBank.load(path)
    assert isinstance(e.value, OSError)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        PriorBank.load(tmp_path / "nope.npz")


def test_bank_assemble_is_eq4_over_the_bank():
    f, s, r = _data(800)
    bank = _build(f, s, r)
    g = torch.Generator().manual_seed(4)
    f_t = torch.randn(2, 8, 3, 5, generator=g)
    out = bank.assemble(f_t, temperature=0.5)
    want_s = assemble(
        f_t,
        torch.from_numpy(bank.features.copy()),
        torch.from_numpy(bank.srgb.copy()),
        temperature=0.5,
    )
    want_r = assemble(
        f_t,
        torch.from_numpy(bank.features.copy()),
        torch.from_numpy(bank.raw.copy()),
        temperature=0.5,
    )
    torch.testing.assert_close(out.srgb, want_s)
    torch.testing.assert_close(out.raw, want_r)
    top = bank.assemble(f_t, k=len(bank), temperature=0.5)  # top-k over everything == full
    torch.testing.assert_close(top.raw, want_r, atol=1e-5, rtol=1e-5)
    index = bank.build_index()
    top3 = bank.assemble(f_t.numpy(), k=3, index=index)
    assert isinstance(top3.raw, np.ndarray) and top3.raw.shape == (2, 4, 3, 5)
    conf = bank.max_affinity(f_t)
    assert conf.shape == (2, 3, 5) and float(conf.max()) <= 1.0 + 1e-6


def test_bank_assemble_is_differentiable_in_the_target_features():
    bank = PriorBank(np.eye(3), np.full((3, 3), 0.5), np.eye(3)[:, :3] @ np.ones((3, 4)))
    f_t = torch.randn(1, 3, 2, 2, requires_grad=True)
    bank.assemble(f_t).raw.sum().backward()
    assert f_t.grad is not None


@pytest.mark.parametrize(
    ("args", "kw", "exc", "match"),
    [
        (_data(10), {"n_clusters": 11}, ValueError, "n_clusters"),  # k larger than the set
        (_data(10), {"n_clusters": 2, "group_size": 11}, ValueError, "group_size"),
        (
            (
                np.zeros((0, 8), np.float32),
                np.zeros((0, 3), np.float32),
                np.zeros((0, 4), np.float32),
            ),
            {},
            ValueError,
            "empty",
        ),
        (
            (np.full((10, 8), np.nan, np.float32), *_data(10)[1:]),
            {"n_clusters": 2},
            ValueError,
            "NaN",
        ),
        (
            (_data(10)[0], np.zeros((9, 3), np.float32), _data(10)[2]),
            {"n_clusters": 2},
            ValueError,
            "one row per feature",
        ),
        (
            (_data(10)[0], np.zeros((10, 4), np.float32), _data(10)[2]),
            {"n_clusters": 2},
            ValueError,
            "3 channels",
        ),
        ((np.zeros((10, 8), np.int32), *_data(10)[1:]), {"n_clusters": 2}, TypeError, "floating"),
        (_data(10), {"n_clusters": 2, "metric": "cos"}, ValueError, "metric"),
        (_data(10), {"n_clusters": 2, "niter": 0}, ValueError, "niter"),
        ((_data(10)[0], None, None), {"n_clusters": 2}, ValueError, "required"),
    ],
)
def test_bad_input(args, kw, exc, match):
    opts = {"n_clusters": 5, "group_size": 2, "niter": 2, "seed": 0, "progress": False}
    opts.update(kw)
    with pytest.raises(exc, match=match):
        build_prior_bank(*args, **opts)


def test_batches_with_mismatched_dimensions():
    a, b = _data(20, c=8), _data(20, c=6)
    with pytest.raises(ValueError, match="channels"):
        build_prior_bank(
            [a, b], n_clusters=2, group_size=2, niter=2, seed=0, progress=False, block_rows=10
        )


def test_bank_validation():
    with pytest.raises(ValueError, match="rows"):
        PriorBank(np.eye(3), np.zeros((2, 3)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="finite"):
        PriorBank(np.full((2, 2), np.nan), np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="at least one"):
        PriorBank(np.zeros((0, 2)), np.zeros((0, 3)), np.ones((0, 4)))
