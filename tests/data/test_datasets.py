"""Datasets: Bayer pattern bookkeeping under crops and flips, and the folder loaders on
small files written in the exact on-disk formats."""

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import default_collate

from rawkit.cfa import mosaic, pack, pattern_after_crop, unpack
from rawkit.data import (
    SPLITS,
    AIM22Pairs,
    PairedFolder,
    RawVideoFolder,
    SyntheticPairs,
    crop_sample,
    flip_sample,
    random_crop_flip,
)
from rawkit.io import write_dng
from rawkit.testing import patterns, rgb_images

FAST = settings(max_examples=30, deadline=None)


def _sample(rgb, pattern):
    rgb = torch.as_tensor(rgb)
    return {"srgb": rgb, "mosaic": mosaic(rgb, pattern=pattern), "pattern": pattern}


def _is_consistent(out):
    """The transformed mosaic is the mosaic of the transformed image with the new pattern,
    and the packed planes are that mosaic packed with the new pattern."""
    torch.testing.assert_close(out["mosaic"], mosaic(out["srgb"], pattern=out["pattern"]))
    torch.testing.assert_close(out["packed"], pack(out["mosaic"], pattern=out["pattern"]))


@FAST
@given(pattern=patterns(), rgb=rgb_images(min_side=4, max_side=16), data=st.data())
def test_crops_keep_the_pattern_in_step(pattern, rgb, data):
    h, w = rgb.shape[-2:]
    ch = data.draw(st.integers(1, h // 2)) * 2
    cw = data.draw(st.integers(1, w // 2)) * 2
    top, left = data.draw(st.integers(0, h - ch)), data.draw(st.integers(0, w - cw))
    s = _sample(rgb, pattern)
    out = crop_sample(s, top=top, left=left, height=ch, width=cw)
    _is_consistent(out)
    assert out["pattern"] == pattern_after_crop(pattern, top=top, left=left)
    if top % 2 == 0 and left % 2 == 0:  # even offsets: the packed planes are just cropped
        assert out["pattern"] == pattern
        planes = pack(s["mosaic"], pattern=pattern)
        torch.testing.assert_close(
            out["packed"], planes[..., top // 2 : (top + ch) // 2, left // 2 : (left + cw) // 2]
        )
    assert s["mosaic"].shape[-2:] == (h, w)  # the input is untouched


@FAST
@given(
    pattern=patterns(),
    rgb=rgb_images(max_side=16),
    horizontal=st.booleans(),
    vertical=st.booleans(),
)
def test_flips_keep_the_pattern_in_step(pattern, rgb, horizontal, vertical):
    s = _sample(rgb, pattern)
    out = flip_sample(s, horizontal=horizontal, vertical=vertical)
    _is_consistent(out)
    # Packed channels stay [R, Gr, Gb, B]: a flip of the mosaic is a flip of each plane.
    dims = [d for d, on in ((-1, horizontal), (-2, vertical)) if on]
    planes = pack(s["mosaic"], pattern=pattern)
    torch.testing.assert_close(out["packed"], torch.flip(planes, dims) if dims else planes)
    if horizontal or vertical:
        assert out["pattern"] != pattern


@FAST
@given(pattern=patterns(), rgb=rgb_images(min_side=8, max_side=16), seed=st.integers(0, 2**31),
       even=st.booleans())  # fmt: skip
def test_random_crop_flip(pattern, rgb, seed, even):
    s = _sample(rgb, pattern)
    kw = {"crop": (4, 6), "even_offsets": even, "flips": True}
    out = random_crop_flip(s, generator=torch.Generator().manual_seed(seed), **kw)
    again = random_crop_flip(s, generator=torch.Generator().manual_seed(seed), **kw)
    _is_consistent(out)
    assert out["mosaic"].shape[-2:] == (4, 6)
    assert torch.equal(out["mosaic"], again["mosaic"]) and out["pattern"] == again["pattern"]
    plain = random_crop_flip(s, crop=(4, 6), generator=torch.Generator().manual_seed(seed))
    assert plain["pattern"] == pattern  # even offsets, no flip: pattern kept


def test_odd_offsets_are_drawn_when_allowed():
    s = _sample(torch.rand(3, 8, 8), "RGGB")
    seen = {
        random_crop_flip(s, crop=4, generator=torch.Generator().manual_seed(i), even_offsets=False)[
            "pattern"
        ]
        for i in range(40)
    }
    assert seen == {"RGGB", "GRBG", "GBRG", "BGGR"}


def test_crop_errors():
    s = _sample(torch.rand(3, 8, 8), "RGGB")
    with pytest.raises(ValueError, match="even"):
        crop_sample(s, top=0, left=0, height=3, width=4)
    with pytest.raises(ValueError, match="fit"):
        crop_sample(s, top=6, left=0, height=4, width=4)
    with pytest.raises(ValueError, match="larger"):
        random_crop_flip(s, crop=10, generator=torch.Generator())
    with pytest.raises(ValueError, match="crop"):
        random_crop_flip(s, crop=3, generator=torch.Generator())


# ----------------------------------------------------------------------------- AIM22


def _write_aim22(root, ids, h=8, w=12):
    rng = np.random.default_rng(0)
    (root / "train").mkdir(parents=True)
    truth = {}
    for i in ids:
        raw = rng.integers(0, 1025, size=(h // 2, w // 2, 4), dtype=np.uint16)
        np.save(root / "train" / f"{i}.npy", raw)  # the challenge's (h, w, 4) uint16, max 1024
        rgb = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        cv2.imwrite(
            str(root / "train" / f"{i}.jpg"), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100]
        )
        decoded = cv2.imread(str(root / "train" / f"{i}.jpg"))[..., ::-1]
        truth[str(i)] = (raw, decoded)
    return truth


def test_aim22_pairs(tmp_path):
    truth = _write_aim22(tmp_path, [10, 2, 1])
    ds = AIM22Pairs(tmp_path)
    assert [ds[i]["id"] for i in range(len(ds))] == ["1", "2", "10"]
    item = ds[1]
    raw, rgb = truth["2"]
    np.testing.assert_allclose(item["packed"].numpy(), raw.transpose(2, 0, 1) / 1024, atol=1e-7)
    np.testing.assert_allclose(item["srgb"].numpy(), rgb.transpose(2, 0, 1) / 255, atol=1e-6)
    assert item["pattern"] == "RGGB" and item["mosaic"].shape == (1, 8, 12)
    batch = default_collate([ds[0], ds[1]])
    assert batch["packed"].shape == (2, 4, 4, 6) and batch["pattern"] == ["RGGB", "RGGB"]


def test_aim22_crops_stay_aligned(tmp_path):
    truth = _write_aim22(tmp_path, [1])
    raw, rgb = truth["1"]
    full_mosaic = unpack(raw.transpose(2, 0, 1).astype(np.float32) / 1024, pattern="RGGB")
    full_rgb = rgb.transpose(2, 0, 1).astype(np.float32) / 255
    patterns_seen = set()
    for seed in range(12):
        ds = AIM22Pairs(tmp_path, crop=(4, 6), even_offsets=False, flips=False, seed=seed)
        item = ds[0]
        m = item["mosaic"].numpy()
        hits = [
            (t, x)
            for t in range(5)
            for x in range(7)
            if np.array_equal(full_mosaic[:, t : t + 4, x : x + 6], m)
        ]
        assert len(hits) == 1
        t, x = hits[0]
        np.testing.assert_allclose(
            item["srgb"].numpy(), full_rgb[:, t : t + 4, x : x + 6], atol=1e-6
        )
        assert item["pattern"] == pattern_after_crop("RGGB", top=t, left=x)
        torch.testing.assert_close(item["packed"], pack(item["mosaic"], pattern=item["pattern"]))
        patterns_seen.add(item["pattern"])
    assert len(patterns_seen) > 1


def test_aim22_bad_files(tmp_path):
    _write_aim22(tmp_path, [1])
    np.save(tmp_path / "train" / "1.npy", np.full((4, 6, 4), 2000, np.uint16))  # above 1024
    with pytest.raises(ValueError, match="1024"):
        AIM22Pairs(tmp_path)[0]
    np.save(tmp_path / "train" / "1.npy", np.zeros((2, 3, 4), np.uint16))  # half the JPEG's size
    with pytest.raises(ValueError, match="sRGB"):
        AIM22Pairs(tmp_path)[0]
    (tmp_path / "train" / "5.jpg").write_bytes((tmp_path / "train" / "1.jpg").read_bytes())
    with pytest.raises(ValueError, match="pair"):
        AIM22Pairs(tmp_path)


# ------------------------------------------------------------------------ paired folders


def _png16(path, rgb01):
    cv2.imwrite(str(path), np.round(rgb01.transpose(1, 2, 0)[..., ::-1] * 65535).astype(np.uint16))


def test_paired_folder_dng(tmp_path):
    rng = np.random.default_rng(1)
    raws = {}
    for name in ("b", "a"):
        raw = rng.integers(64, 1024, size=(24, 32), dtype=np.uint16)
        write_dng(tmp_path / f"{name}.dng", raw, pattern="GRBG", black_level=64, white_level=1023,
                  as_shot_neutral=[0.5, 1.0, 0.8], color_matrix=np.eye(3))  # fmt: skip
        _png16(tmp_path / f"{name}.png", rng.random((3, 24, 32)))
        raws[name] = raw
    ds = PairedFolder(tmp_path)
    assert len(ds) == 2
    item = ds[0]
    assert item["name"] == "a" and item["pattern"] == "GRBG"
    np.testing.assert_allclose(item["mosaic"][0].numpy(), (raws["a"] - 64) / 959.0, atol=1e-6)
    np.testing.assert_allclose(item["wb_gains"].numpy(), [2.0, 1.0, 1.25], atol=1e-6)
    torch.testing.assert_close(item["packed"], pack(item["mosaic"], pattern="GRBG"))
    flipped = PairedFolder(tmp_path, crop=(8, 8), flips=True, seed=3)
    for i in range(2):
        out = flipped[i]
        torch.testing.assert_close(out["packed"], pack(out["mosaic"], pattern=out["pattern"]))


def test_paired_folder_npy(tmp_path):
    rng = np.random.default_rng(2)
    packed = rng.integers(0, 4096, size=(6, 8, 4), dtype=np.uint16)
    np.save(tmp_path / "7.npy", packed)
    _png16(tmp_path / "7.png", rng.random((3, 12, 16)))
    ds = PairedFolder(tmp_path, raw_format="npy", pattern="BGGR", black_level=0, white_level=4095)
    item = ds[0]
    np.testing.assert_allclose(item["packed"].numpy(), packed.transpose(2, 0, 1) / 4095, atol=1e-6)
    assert item["pattern"] == "BGGR"
    m = item["mosaic"][0].numpy()
    assert m[1, 1] == pytest.approx(packed[0, 0, 0] / 4095)  # BGGR: red sits at (1, 1)
    np.save(tmp_path / "7.npy", packed.astype(np.float32) / 4095)
    ds = PairedFolder(tmp_path, raw_format="npy", pattern="BGGR")
    np.testing.assert_allclose(ds[0]["packed"].numpy(), packed.transpose(2, 0, 1) / 4095, atol=1e-6)
    with pytest.raises(ValueError, match="white_level"):
        np.save(tmp_path / "7.npy", packed)
        PairedFolder(tmp_path, raw_format="npy")[0]
    with pytest.raises(ValueError, match="white_level"):
        PairedFolder(tmp_path, raw_format="npy", white_level=1023)[0]  # values above it
    np.save(tmp_path / "7.npy", packed[..., :3])
    with pytest.raises(ValueError, match="shape"):
        PairedFolder(tmp_path, raw_format="npy", white_level=4095)[0]
    np.save(tmp_path / "7.npy", np.full((6, 8, 4), 1.5, np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PairedFolder(tmp_path, raw_format="npy")[0]
    (tmp_path / "7.npy").write_bytes(b"")
    with pytest.raises(OSError):
        PairedFolder(tmp_path, raw_format="npy")[0]
    with pytest.raises(ValueError, match="raw_format"):
        PairedFolder(tmp_path, raw_format="tiff")
    (tmp_path / "8.npy").write_bytes(b"")
    with pytest.raises(ValueError, match="pair"):
        PairedFolder(tmp_path, raw_format="npy")


# --------------------------------------------------------------------------- DNG video


def _dng(path, raw, pattern="RGGB"):
    write_dng(path, raw, pattern=pattern, black_level=0, white_level=4095,
              as_shot_neutral=[0.6, 1.0, 0.7], color_matrix=np.eye(3))  # fmt: skip


def test_raw_video_folder(tmp_path):
    rng = np.random.default_rng(3)
    frames = {}
    for seq, names in (("a", ["1", "2", "10"]), ("b", ["0", "1"])):
        (tmp_path / seq).mkdir()
        for n in names:
            raw = rng.integers(0, 4096, size=(24, 28), dtype=np.uint16)
            _dng(tmp_path / seq / f"{n}.dng", raw)
            frames[seq, n] = raw
            if seq == "a":
                _png16(tmp_path / seq / f"{n}.png", rng.random((3, 24, 28)))
    ds = RawVideoFolder(tmp_path, clip_length=2)
    assert len(ds) == 3
    assert [ds[i]["frames"] for i in range(3)] == [["1", "2"], ["2", "10"], ["0", "1"]]
    item = ds[1]
    assert item["mosaic"].shape == (2, 1, 24, 28) and item["packed"].shape == (2, 4, 12, 14)
    assert item["srgb"].shape == (2, 3, 24, 28) and "srgb" not in ds[2]
    np.testing.assert_allclose(item["mosaic"][1, 0].numpy(), frames["a", "10"] / 4095, atol=1e-6)
    cropped = RawVideoFolder(tmp_path, clip_length=3, crop=(8, 10), even_offsets=False, flips=True)
    assert len(cropped) == 1
    out = cropped[0]
    assert out["mosaic"].shape == (3, 1, 8, 10)
    torch.testing.assert_close(out["packed"], pack(out["mosaic"], pattern=out["pattern"]))
    with pytest.raises(FileNotFoundError):
        RawVideoFolder(tmp_path, clip_length=4)


def test_raw_video_frames_must_agree(tmp_path):
    (tmp_path / "s").mkdir()
    _dng(tmp_path / "s" / "0.dng", np.zeros((24, 24), np.uint16))
    _dng(tmp_path / "s" / "1.dng", np.zeros((24, 24), np.uint16), pattern="BGGR")
    with pytest.raises(ValueError, match="BGGR"):
        RawVideoFolder(tmp_path)[0]


# ------------------------------------------------------------------------ synthetic


def test_synthetic_pairs():
    kw = {"camera": "nikon_d5100", "seed": 1, "crop": 16, "max_side": 48, "pairs_per_photo": 2}
    ds = SyntheticPairs(["coffee", "chelsea"], **kw)
    assert len(ds) == 4
    a, b = ds[0], SyntheticPairs(["coffee", "chelsea"], **kw)[0]
    assert torch.equal(a["srgb"], b["srgb"]) and torch.equal(a["packed"], b["packed"])
    assert a["srgb"].shape == (3, 16, 16) and a["photo"] == "coffee"
    assert ds.pair_seed(0) != ds.pair_seed(1)
    assert not torch.equal(ds.pair(0).params.wb_gains, ds.pair(1).params.wb_gains) or (
        ds.pair(0).params.exposure != ds.pair(1).params.exposure
    )
    crops = {ds[0]["srgb"].sum().item()}
    for epoch in range(1, 6):
        ds.set_epoch(epoch)
        crops.add(ds[0]["srgb"].sum().item())
    assert len(crops) > 1  # other epochs, other crops (of the same pair)
    batch = default_collate([ds[i] for i in range(4)])
    assert batch["packed"].shape == (4, 4, 8, 8) and batch["wb_gains"].shape == (4, 3)
    assert SyntheticPairs("val", max_side=32).photos == SPLITS["val"]
    with pytest.raises(IndexError):
        ds[4]
    with pytest.raises(ValueError, match="astronaut"):
        SyntheticPairs(["lena"])
