"""The bundled photos: load offline, fixed splits by scene, the stereo pair."""

import socket
import sys

import numpy as np
import pytest

from rawkit.data import (
    PHOTOS,
    SPLIT_SEED,
    SPLITS,
    load_photo,
    load_stereo_pair,
    photo_info,
    photo_names,
    photo_path,
    split_of,
)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_photo_loads_offline(no_network):
    for name in PHOTOS:
        x = load_photo(name)
        assert x.dtype == np.float32 and x.ndim == 3 and x.shape[0] == 3, name
        assert x.shape[1] % 2 == 0 and x.shape[2] % 2 == 0, name
        assert 0.0 <= x.min() and x.max() <= 1.0, name
        assert x.std() > 0.02, name  # a real picture, not a blank
        assert (x.std(axis=0) > 0.02).mean() > 0.01, name  # and in colour
        assert photo_path(name).is_file()
    assert "pooch" not in sys.modules  # nothing went through scikit-image's downloader


def test_pixels_match_scikit_image_and_matplotlib():
    from matplotlib import cbook
    from skimage import data
    from skimage.io import imread

    for name, ref in [
        ("astronaut", data.astronaut()),
        ("immunohistochemistry", data.immunohistochemistry()),
        ("chelsea", data.chelsea()),
    ]:
        x = load_photo(name, even=False)
        np.testing.assert_array_equal(np.round(x * 255).astype(np.uint8), ref.transpose(2, 0, 1))
    ref = imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    x = load_photo("grace_hopper", even=False)
    # Two JPEG decoders (OpenCV's and imageio's) may round a few values differently.
    assert np.abs(np.round(x * 255) - ref.transpose(2, 0, 1)).mean() < 0.5


def test_even_crop_and_shrink():
    full = load_photo("chelsea", even=False)
    assert full.shape == (3, 300, 451)
    even = load_photo("chelsea")
    np.testing.assert_array_equal(even, full[:, :, :450])
    small = load_photo("retina", max_side=100)
    assert small.shape == (3, 100, 100)
    # area averaging: the mean colour is kept
    np.testing.assert_allclose(
        small.mean(axis=(1, 2)), load_photo("retina").mean(axis=(1, 2)), atol=2e-3
    )
    assert load_photo("coffee", max_side=4000).shape == (3, 400, 600)  # never enlarged
    a = load_photo("coffee")
    a[:] = 0  # a fresh array every time: the cache is not touched
    assert load_photo("coffee").max() > 0


def test_splits_are_by_scene_and_fixed():
    allnames = [n for s in ("train", "val", "test", "ood") for n in SPLITS[s]]
    assert sorted(allnames) == sorted(PHOTOS) and len(set(allnames)) == len(PHOTOS)
    scenes = {}
    for name in PHOTOS:
        scenes.setdefault(photo_info(name).scene, set()).add(split_of(name))
    assert all(len(s) == 1 for s in scenes.values())  # a scene never straddles splits
    # The documented recipe reproduces the Kodak part of the written-out split.
    kodak = [f"kodim{i:02d}" for i in range(1, 25)]
    perm = [kodak[i] for i in np.random.default_rng(SPLIT_SEED).permutation(24)]
    expect = {"test": perm[:4], "val": perm[4:8], "train": perm[8:]}
    for split, want in expect.items():
        got = sorted(n for n in photo_names(split) if n.startswith("kodim"))
        assert got == sorted(want), split
    assert (len(SPLITS["train"]), len(SPLITS["val"]), len(SPLITS["test"])) == (20, 6, 5)
    # The non-photographic images are out of domain, never in train/val/test.
    assert set(photo_names("ood")) == {"hubble_deep_field", "immunohistochemistry", "retina"}
    assert photo_names("all") == PHOTOS


def test_kodak_files_match_their_checksums():
    import hashlib

    folder = photo_path("kodim01").parent
    sums = dict(
        line.split()[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines() if line
    )
    assert sorted(sums) == [f"kodim{i:02d}.png" for i in range(1, 25)]
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert "unrestricted" in (folder / "README.md").read_text()
    x = load_photo("kodim04")  # a portrait-format one
    assert x.shape == (3, 768, 512)


def test_stereo_pair_disparity_convention():
    pair = load_stereo_pair()
    assert pair.left.shape == pair.right.shape == (3, 500, 741)
    d = pair.disparity
    assert d.shape == (500, 741) and np.isnan(d).any() and np.nanmin(d) > 0
    h, w = d.shape
    yy, xx = np.mgrid[0:h, 0:w]
    ok = np.isfinite(d)

    def error(sign):
        xs = np.round(xx + sign * np.nan_to_num(d)).astype(int)
        v = ok & (xs >= 0) & (xs < w)
        return np.abs(pair.left[:, yy[v], xx[v]] - pair.right[:, yy[v], xs[v]]).mean()

    # left[:, y, x] shows what right[:, y, x - d] shows (as documented), not x + d
    assert error(-1) < 0.05 < error(+1)


def test_bad_names():
    with pytest.raises(ValueError, match="astronaut"):
        load_photo("lena")
    with pytest.raises(ValueError, match="split"):
        photo_names("training")
    with pytest.raises(ValueError, match="max_side"):
        load_photo("coffee", max_side=1)
