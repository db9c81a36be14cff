"""read_photo: any photo as upright RGB, with every change reported."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from rawkit.io import FileFormatError, read_photo, write_image


def _rgb(h: int = 6, w: int = 10) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("code", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, code):
    path = tmp_path / "a.png"  # PNG keeps pixels exact; PIL writes its eXIf chunk
    exif = Image.Exif()
    exif[0x0112] = code
    Image.fromarray(_rgb()).save(path, exif=exif)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im)).astype(np.float32) / 255
    photo = read_photo(path)
    assert photo.orientation == code
    np.testing.assert_array_equal(photo.image, expected.transpose(2, 0, 1))
    assert (code == 1) == (not photo.notes)
    stored = read_photo(path, orientation=False).image
    assert stored.shape == (3, 6, 10)


def test_jpeg_orientation_6_is_rotated(tmp_path):
    path = tmp_path / "a.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_rgb(8, 16)).save(path, exif=exif, quality=95)
    photo = read_photo(path)
    assert photo.image.shape == (3, 16, 8)
    assert "orientation tag 6" in photo.notes[0]


def test_grey_alpha_and_16_bit(tmp_path):
    g = write_image(tmp_path / "g.png", np.full((1, 4, 4), 0.25), bit_depth=16)
    photo = read_photo(g)
    assert photo.bit_depth == 16 and photo.image.shape == (3, 4, 4)
    np.testing.assert_array_equal(photo.image[0], photo.image[2])
    assert any("grey" in n for n in photo.notes)
    rgba = np.concatenate([np.full((3, 4, 4), 0.5), np.zeros((1, 4, 4))])
    a = write_image(tmp_path / "a.png", rgba)
    photo = read_photo(a)
    assert photo.image.shape == (3, 4, 4) and any("alpha" in n for n in photo.notes)
    np.testing.assert_allclose(photo.image, 128 / 255)


def test_tiff_16_bit_with_orientation(tmp_path):
    data = np.random.default_rng(1).integers(0, 65536, (6, 10, 3), dtype=np.uint16)
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, data, photometric="rgb", extratags=[(274, "H", 1, 3, True)])
    photo = read_photo(path)
    assert photo.bit_depth == 16 and photo.orientation == 3
    np.testing.assert_array_equal(
        photo.image, data[::-1, ::-1].transpose(2, 0, 1) / np.float32(65535)
    )


def test_bad_files_are_refused_with_their_name(tmp_path):
    txt = tmp_path / "notes.jpg"
    txt.write_text("hello")
    with pytest.raises(FileFormatError, match="notes.jpg"):
        read_photo(txt)
    png = write_image(tmp_path / "x.png", np.zeros((3, 4, 4)))
    jpg_named_png = tmp_path / "y.jpg"
    jpg_named_png.write_bytes(png.read_bytes())
    with pytest.raises(FileFormatError, match="extension"):
        read_photo(jpg_named_png)
    with pytest.raises(ValueError, match="path: expected an extension"):
        read_photo(txt.with_suffix(".gif")) if txt.with_suffix(".gif").write_text("x") else None
    with pytest.raises(FileNotFoundError):
        read_photo(tmp_path / "missing.png")
    with pytest.raises(TypeError, match="orientation"):
        read_photo(png, orientation="yes")
