"""Tests for rawkit.pipelines.unet_baseline: training sources, prediction, AIM22 submissions."""

import numpy as np
import pytest
import torch

from rawkit.data import SyntheticPairs, synthesize
from rawkit.io import read_aim22_raw, read_aim22_rgb, write_aim22_raw, write_aim22_rgb
from rawkit.metrics import aim22_score
from rawkit.nets import UNet
from rawkit.pipelines.unet_baseline import predict, train_unet, write_submission

KW = dict(width=4, depth=1, steps=3, batch_size=2, crop=32, seed=0, progress=False)


def _aim22_folder(root):
    """A tiny AIM22 track: train/<id>.jpg + <id>.npy, val_rgb/<id>.jpg, and the val RAW."""
    (root / "train").mkdir(parents=True)
    (root / "val_rgb").mkdir()
    (root / "val_raw").mkdir()
    names = ["chelsea", "coffee", "rocket", "astronaut", "retina"]
    for i, name in enumerate(names):
        pair = synthesize(name, camera="nikon_d5100", seed=i, max_side=64)
        where = "train" if i < 3 else "val_rgb"
        write_aim22_rgb(root / where / f"{i}.jpg", pair.srgb)
        write_aim22_raw(root / ("train" if i < 3 else "val_raw") / f"{i}.npy", pair.packed)
    return root


def test_train_on_an_aim22_folder_and_score_the_submission(tmp_path):
    root = _aim22_folder(tmp_path / "data-s7")
    res = train_unet(root, **KW)
    assert isinstance(res.model, UNet) and len(res.history.train_loss) == 3 and res.seconds > 0
    files = write_submission(tmp_path / "sub", res.model, root, tile=32, overlap=8)
    assert [f.name for f in files] == ["3.npy", "4.npy"]
    score = aim22_score(tmp_path / "sub", root / "val_raw")
    # the scorer's PSNR from the submitted files, recomputed by hand
    want = []
    for f in files:
        pred = np.load(f).astype(np.float64) / 1024
        gt = np.load(root / "val_raw" / f.name).astype(np.float64) / 1024
        want.append(10 * np.log10(1 / np.mean((pred - gt) ** 2)))
    assert score.n_images == 2 and score.psnr == pytest.approx(np.mean(want))
    # the files hold the prediction, quantised to the AIM22 format
    rgb = read_aim22_rgb(root / "val_rgb" / "3.jpg")
    pred = predict(rgb, res.model, tile=32, overlap=8)
    np.testing.assert_allclose(read_aim22_raw(files[0]), pred, atol=0.5 / 1024 + 1e-6)
    with pytest.raises(FileExistsError):
        write_submission(tmp_path / "sub", res.model, root)


def test_train_on_pairs_datasets_and_names():
    pairs = [
        synthesize(n, camera="nikon_d5100", seed=0, max_side=64) for n in ("chelsea", "coffee")
    ]
    a = train_unet(pairs, **KW)
    b = train_unet([(p.srgb, p.packed) for p in pairs], **KW)
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)  # the same crops from the same seed
    cropped = SyntheticPairs(
        ["chelsea", "coffee"], camera="nikon_d5100", seed=0, crop=32, max_side=64
    )
    c = train_unet(cropped, **KW)
    assert len(c.history.train_loss) == 3
    out = predict(np.random.default_rng(0).random((2, 3, 40, 24)).astype(np.float32), c.model)
    assert isinstance(out, np.ndarray) and out.shape == (2, 4, 20, 12)


def test_submission_from_named_arrays(tmp_path):
    net = UNet(width=4, depth=1, seed=0)
    srgb = np.random.default_rng(0).random((3, 24, 32)).astype(np.float32)
    files = write_submission(tmp_path, net, [("a", srgb), ("b", torch.from_numpy(srgb))])
    assert [f.name for f in files] == ["a.npy", "b.npy"]
    np.testing.assert_array_equal(np.load(files[0]), np.load(files[1]))
    assert np.load(files[0]).shape == (12, 16, 4)
    with pytest.raises(TypeError, match="inputs"):
        write_submission(tmp_path / "c", net, 42)


def test_errors():
    with pytest.raises(TypeError, match="UNet"):
        train_unet([], model=torch.nn.Identity(), **KW)
    with pytest.raises(TypeError, match="UNet"):
        predict(torch.rand(3, 8, 8), torch.nn.Identity())
    with pytest.raises(FileNotFoundError):
        train_unet("/nonexistent/aim22", **KW)


def test_submission_checks_every_input_before_writing(tmp_path):
    net = UNet(width=4, depth=1, seed=0)
    good = np.random.default_rng(0).random((3, 16, 16)).astype(np.float32)
    out = tmp_path / "sub"
    for bad, exc in [
        ([("a", good), ("b", good[:, :15])], ValueError),  # odd height, second input
        ([("a", good), ("b", tmp_path / "missing.jpg")], FileNotFoundError),
        ([("a", good), ("a", good)], ValueError),  # the same name twice
    ]:
        with pytest.raises(exc):
            write_submission(out, net, bad)
        assert not out.exists()  # nothing created, nothing written
    out.mkdir()
    (out / "b.npy").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        write_submission(out, net, [("a", good), ("b", good)])
    assert sorted(p.name for p in out.iterdir()) == ["b.npy"]  # "a" was not written first
