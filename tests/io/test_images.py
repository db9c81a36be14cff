"""PNG 8/16-bit and JPEG read/write, colour order, layout conversion, bad files."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import rawkit.io.images as images_module
from rawkit.io import FileFormatError, from_hwc, read_image, to_hwc, write_image


@st.composite
def quantised_images(draw, depth):
    c = draw(st.sampled_from([1, 3, 4]))
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ints = rng.integers(0, 2**depth, size=(c, h, w))
    ints.flat[0] = 2**depth - 1
    return ints, (ints / (2**depth - 1)).astype(draw(st.sampled_from([np.float32, np.float64])))


@given(case=quantised_images(16))
def test_png16_round_trip_is_exact(tmp_path_factory, case):
    ints, x = case
    p = write_image(tmp_path_factory.mktemp("png") / "a.png", x, bit_depth=16)
    img, depth = read_image(p)
    assert depth == 16 and img.dtype == np.float32 and img.shape == x.shape
    np.testing.assert_array_equal(np.rint(img.astype(np.float64) * 65535), ints)


@given(case=quantised_images(8))
def test_png8_round_trip_is_exact(tmp_path_factory, case):
    ints, x = case
    p = write_image(tmp_path_factory.mktemp("png") / "a.png", torch.from_numpy(x), bit_depth=8)
    img, depth = read_image(p)
    assert depth == 8
    np.testing.assert_array_equal(np.rint(img.astype(np.float64) * 255), ints)


def test_colour_order_against_pillow(tmp_path):
    """An independent decoder/encoder (Pillow) agrees on which channel is red."""
    x = np.zeros((3, 4, 6))
    x[0, :, :2] = 1.0  # red left
    x[1, :, 2:4] = 1.0  # green middle
    x[2, :, 4:] = 1.0  # blue right
    p = write_image(tmp_path / "rgb.png", x)
    pil = np.asarray(Image.open(p).convert("RGB"))
    np.testing.assert_array_equal(pil, np.rint(np.moveaxis(x, 0, -1) * 255).astype(np.uint8))
    q = tmp_path / "pil.png"
    Image.fromarray(pil).save(q)
    np.testing.assert_array_equal(read_image(q).image, x.astype(np.float32))


def test_png16_against_pillow(tmp_path):
    ramp = np.arange(0, 65536, 257, dtype=np.uint16).reshape(16, 16)
    q = tmp_path / "g16.png"
    Image.fromarray(ramp).save(q)  # 16-bit greyscale PNG written by Pillow
    img, depth = read_image(q)
    assert depth == 16 and img.shape == (1, 16, 16)
    np.testing.assert_array_equal(np.rint(img[0] * 65535).astype(np.uint16), ramp)


def test_jpeg_quality_changes_size_and_error(tmp_path):
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(0.5, 0.15, (3, 64, 64)), 0, 1)
    lo = write_image(tmp_path / "lo.jpg", x, quality=20)
    hi = write_image(tmp_path / "hi.jpg", x, quality=95)
    assert lo.stat().st_size < 0.6 * hi.stat().st_size
    err_lo = np.abs(read_image(lo).image - x).mean()
    err_hi = np.abs(read_image(hi).image - x).mean()
    assert err_hi < err_lo
    assert read_image(hi).bit_depth == 8


def test_jpeg_is_close_at_high_quality(tmp_path):
    y, x = np.mgrid[0:32, 0:48] / 48.0
    img = np.stack([x, y, 0.5 * np.ones_like(x)])
    back = read_image(write_image(tmp_path / "s.jpeg", img, quality=100)).image
    assert np.abs(back - img).max() < 0.03


def test_clip_option(tmp_path):
    x = np.array([[[-0.5, 0.5, 1.5]]])
    with pytest.raises(ValueError, match=r"\[0, 1\].*clip=True"):
        write_image(tmp_path / "c.png", x)
    p = write_image(tmp_path / "c.png", x, clip=True)
    np.testing.assert_array_equal(np.rint(read_image(p).image * 255), [[[0, 128, 255]]])


@pytest.mark.parametrize(
    ("name", "image", "kw", "exc", "match"),
    [
        ("a.png", np.full((3, 2, 2), np.nan), {}, ValueError, "NaN"),
        ("a.png", np.zeros((3, 2, 2), np.uint8), {}, TypeError, "dtype"),
        ("a.png", np.zeros((2, 2, 2)), {}, ValueError, "C in"),
        ("a.png", np.zeros((2, 2)), {}, ValueError, r"\(C, H, W\)"),
        ("a.png", np.zeros((3, 0, 2)), {}, ValueError, "non-empty"),
        ("a.png", np.zeros((3, 2, 2)), {"bit_depth": 12}, ValueError, "bit_depth"),
        ("a.png", np.zeros((3, 2, 2)), {"quality": 90}, ValueError, "quality"),
        ("a.jpg", np.zeros((3, 2, 2)), {"bit_depth": 16}, ValueError, "8-bit"),
        ("a.jpg", np.zeros((3, 2, 2)), {"quality": 101}, ValueError, "quality"),
        ("a.jpg", np.zeros((4, 2, 2)), {}, ValueError, "alpha"),
        ("a.bmp", np.zeros((3, 2, 2)), {}, ValueError, "extension"),
        ("a.png", [[[0.0]]], {}, TypeError, "image"),
    ],
)
def test_write_bad_input(tmp_path, name, image, kw, exc, match):
    with pytest.raises(exc, match=match):
        write_image(tmp_path / name, image, **kw)
    assert list(tmp_path.iterdir()) == []


def test_write_never_overwrites_unless_asked(tmp_path):
    p = write_image(tmp_path / "a.png", np.zeros((3, 2, 2)))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_image(p, np.ones((3, 2, 2)))
    assert read_image(p).image.max() == 0
    write_image(p, np.ones((3, 2, 2)), overwrite=True)
    assert read_image(p).image.min() == 1


def test_write_error_leaves_no_temp_file(tmp_path, monkeypatch):
    monkeypatch.setattr(
        images_module.cv2, "imencode", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x"))
    )
    with pytest.raises(RuntimeError):
        write_image(tmp_path / "a.png", np.zeros((3, 2, 2)))
    assert list(tmp_path.iterdir()) == []


def test_read_bad_files(tmp_path):
    # missing and empty files: test_missing_and_empty_files_are_refused_by_name (test_fuzz_readers.py)
    jpg = write_image(tmp_path / "a.jpg", np.zeros((3, 8, 8)))
    fake = tmp_path / "fake.png"
    fake.write_bytes(jpg.read_bytes())
    with pytest.raises(FileFormatError, match="JPEG image, not what the extension"):
        read_image(fake)
    png = write_image(tmp_path / "b.png", np.random.default_rng(0).random((3, 32, 32)))
    cut = tmp_path / "cut.png"
    cut.write_bytes(png.read_bytes()[:200])
    with pytest.raises(FileFormatError, match="truncated or corrupt"):
        read_image(cut)
    (tmp_path / "x.tif").write_bytes(b"II*\x00" + bytes(20))
    with pytest.raises(ValueError, match="extension"):
        read_image(tmp_path / "x.tif")


@given(shape=st.lists(st.integers(1, 4), min_size=3, max_size=5))
def test_hwc_round_trip(shape):
    x = np.arange(int(np.prod(shape))).reshape(shape)
    h = to_hwc(x)
    assert h.shape == (*shape[:-3], shape[-2], shape[-1], shape[-3])
    np.testing.assert_array_equal(from_hwc(h), x)
    t = torch.from_numpy(x)
    assert torch.equal(from_hwc(to_hwc(t)), t)
    np.testing.assert_array_equal(to_hwc(t).numpy(), h)


def test_hwc_matches_transpose():
    x = np.random.default_rng(0).random((3, 4, 5))
    np.testing.assert_array_equal(to_hwc(x), x.transpose(1, 2, 0))
    with pytest.raises(ValueError, match="C, H, W"):
        to_hwc(np.zeros((3, 4)))
    with pytest.raises(TypeError):
        from_hwc([[1]])
