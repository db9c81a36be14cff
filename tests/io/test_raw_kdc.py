"""read_raw on a real camera file (Kodak DC50 KDC), orientation, declared levels.

The references are LibRaw's own renders (rawpy ``postprocess``) and NumPy rotations,
never read_raw itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rawpy
import tifffile

from rawkit.cfa import demosaic
from rawkit.io import FileFormatError, read_camera, read_raw, write_dng
from rawkit.io.raw import apply_flip

KDC = Path(__file__).resolve().parents[1] / "data" / "RAW_KODAK_DC50.KDC"
KDC_SHA256 = "37e290dbd0053f00e508d02a6b3a2a990432dad1eb74c40a52ca899f0f225ecc"

# Linear LibRaw renders with unit white balance: values at a pixel's own CFA colour are
# the black-subtracted sensor value scaled by 65535 / (white - black) (LibRaw's
# scale_colors), whatever the demosaicing.
LINEAR = {"gamma": (1, 1), "no_auto_bright": True, "output_bps": 16, "user_wb": [1, 1, 1, 1],
          "demosaic_algorithm": rawpy.DemosaicAlgorithm.LINEAR}  # fmt: skip


def _libraw(path, **kw):
    with rawpy.imread(str(path)) as r:
        return r.postprocess(**LINEAR, **kw).astype(np.float64) / 65535


def _own_colour(img):
    """LibRaw's linear raw-colour render (turned as LibRaw turns it) at each pixel's colour."""
    out = _libraw(img.path, output_color=rawpy.ColorSpace.raw)
    idx = {"R": 0, "G": 1, "B": 2}
    h, w = img.raw.shape[-2:]
    chan = np.array([[idx[img.pattern[2 * (y % 2) + (x % 2)]] for x in range(2)] for y in range(2)])
    chan = np.tile(chan, (h // 2, w // 2))
    return np.take_along_axis(out[:h, :w], chan[..., None], axis=-1)[..., 0]


def _oriented_copy(src: Path, dst: Path, orientation: int) -> Path:
    """The same DNG with a TIFF Orientation tag (LibRaw: 3 -> flip 3, 6 -> 6, 8 -> 5)."""
    with tifffile.TiffFile(src) as t:
        page = t.pages[0]
        data = page.asarray()
        extra = [(tg.code, tg.dtype, tg.count, tg.value, True) for tg in page.tags.values()
                 if tg.code >= 33421]  # fmt: skip
    extra.append((274, "H", 1, orientation, True))
    tifffile.imwrite(dst, data, photometric=32803, subfiletype=0, metadata=None, extratags=extra)
    return dst


@pytest.fixture(scope="module")
def kdc():
    return read_raw(KDC)


def test_sample_is_the_documented_file():
    assert hashlib.sha256(KDC.read_bytes()).hexdigest() == KDC_SHA256
    assert (KDC.parent / "RAW_KODAK_DC50.KDC.LICENSE.md").is_file()


def test_read_kdc(kdc):
    assert kdc.pattern == "GRBG" and kdc.raw.shape == (1, 512, 768) and kdc.raw.dtype == np.uint16
    assert kdc.white_level == 16383 and kdc.black_level == (0.0, 0.0, 0.0, 0.0)
    assert kdc.flip == 0 and "DC50" in kdc.camera_name
    with rawpy.imread(str(KDC)) as r:
        np.testing.assert_array_equal(kdc.raw[0], r.raw_image_visible)
    np.testing.assert_allclose(kdc.mosaic[0], kdc.raw[0] / 16383, rtol=1e-6)


def test_mosaic_matches_libraw_at_every_site(kdc):
    # LibRaw rounds to 16 bits: half a step of 1/65535.
    np.testing.assert_allclose(kdc.mosaic[0], _own_colour(kdc), atol=1 / 65535)


def test_colour_matrix_is_recovered(kdc):
    """rawpy exposes zeros for this camera; the fitted matrix reproduces LibRaw's sRGB render."""
    with rawpy.imread(str(KDC)) as r:
        assert not np.any(r.color_matrix)
    assert kdc.matrix_source == "fitted"
    m = np.array(kdc.cam_to_srgb)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-3)  # LibRaw's rows sum to 1
    cam = _libraw(KDC, output_color=rawpy.ColorSpace.raw)
    srgb = _libraw(KDC, output_color=rawpy.ColorSpace.sRGB)
    ok = (cam.max(-1) < 0.95) & (srgb.max(-1) < 0.95) & (srgb.min(-1) > 0.01)
    assert ok.sum() > 10_000
    np.testing.assert_allclose(cam[ok] @ m.T, srgb[ok], atol=5e-5)
    camera = read_camera(KDC)
    assert camera.pattern == "GRBG" and camera.calibration_illuminant == "D65"


def test_render_matches_libraw(kdc):
    """rawkit demosaic + the file's matrix vs LibRaw's linear sRGB render (bilinear both)."""
    rgb_cam = demosaic(kdc.mosaic.astype(np.float64), pattern=kdc.pattern, method="bilinear")
    ours = np.einsum("ij,jhw->hwi", np.array(kdc.cam_to_srgb), rgb_cam).clip(0, 1)
    ref = _libraw(KDC, output_color=rawpy.ColorSpace.sRGB)
    inner = (slice(2, -2), slice(2, -2))  # borders: each library pads its own way
    mse = float(((ours[inner] - ref[inner]) ** 2).mean())
    assert 10 * np.log10(1 / mse) > 45


def test_dng_rewrite_is_bit_exact(kdc, tmp_path):
    p = write_dng(tmp_path / "kdc.dng", kdc.raw, pattern=kdc.pattern, black_level=0,
                  white_level=16383, as_shot_neutral=[1, 1, 1],
                  color_matrix=np.array(kdc.color_matrix))  # fmt: skip
    back = read_raw(p)
    np.testing.assert_array_equal(back.raw, kdc.raw)
    np.testing.assert_array_equal(back.mosaic, kdc.mosaic)
    assert back.pattern == kdc.pattern and back.matrix_source == "dng"
    with rawpy.imread(str(p)) as r:
        np.testing.assert_array_equal(r.raw_image_visible, kdc.raw[0])


@pytest.mark.parametrize(
    ("orientation", "flip", "turn"),
    [
        (3, 3, lambda a: a[::-1, ::-1]),
        (6, 6, lambda a: np.rot90(a, -1)),
        (8, 5, lambda a: np.rot90(a, 1)),
    ],  # fmt: skip
)
def test_orientation(kdc, tmp_path, orientation, flip, turn):
    p = write_dng(tmp_path / "k.dng", kdc.raw, pattern=kdc.pattern, black_level=0,
                  white_level=16383, as_shot_neutral=[1, 1, 1],
                  color_matrix=np.array(kdc.color_matrix))  # fmt: skip
    q = _oriented_copy(p, tmp_path / f"o{orientation}.dng", orientation)
    img = read_raw(q)
    assert img.flip == flip and img.orientation == "display"
    np.testing.assert_array_equal(img.raw[0], turn(kdc.raw[0]))
    # Turn the 2x2 colour tile with NumPy to get the expected pattern.
    tile = np.array(list(kdc.pattern)).reshape(2, 2)
    big = np.tile(tile, (2, 2))
    assert img.pattern == "".join(turn(big)[:2, :2].ravel())
    # The turned mosaic and pattern agree with LibRaw's (turned) render at every site.
    np.testing.assert_allclose(img.mosaic[0], _own_colour(img), atol=1 / 65535)
    sensor = read_raw(q, orientation="sensor")
    assert sensor.flip == flip and sensor.orientation == "sensor"
    assert sensor.pattern == kdc.pattern
    np.testing.assert_array_equal(sensor.raw, kdc.raw)
    np.testing.assert_array_equal(apply_flip(sensor.raw, flip), img.raw)


def test_apply_flip_codes():
    a = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(apply_flip(a, 0), a)
    np.testing.assert_array_equal(apply_flip(a, 3), np.rot90(a, 2))
    np.testing.assert_array_equal(apply_flip(a, 6), np.rot90(a, -1))
    np.testing.assert_array_equal(apply_flip(a, 5), np.rot90(a, 1))
    with pytest.raises(ValueError, match="flip"):
        apply_flip(a, 2)


def test_orientation_and_clip_are_checked():
    with pytest.raises(ValueError, match="orientation"):
        read_raw(KDC, orientation="upright")
    with pytest.raises(TypeError, match="clip"):
        read_raw(KDC, clip="yes")


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_truncated_kdc_says_truncated(tmp_path, keep):
    p = tmp_path / "cut.kdc"
    data = KDC.read_bytes()
    p.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FileFormatError, match="truncated"):
        read_raw(p)


@pytest.mark.parametrize(("magic", "ext"), [(b"FUJIFILMCCD-RAW 0201FF383501", ".raf"),
                                            (b"IIRO\x08\x00\x00\x00", ".orf"),
                                            (b"IIU\x00\x08\x00\x00\x00", ".rw2"),
                                            (b"\x00\x00\x00\x18ftypcrx ", ".cr3")])  # fmt: skip
def test_truncated_camera_headers_say_truncated(tmp_path, magic, ext):
    p = tmp_path / f"cut{ext}"
    p.write_bytes(magic + bytes(40))
    with pytest.raises(FileFormatError, match="truncated"):
        read_raw(p)


def test_tifffile_logs_nothing_on_a_corrupt_file(tmp_path, capfd):
    p = tmp_path / "bad.nef"
    data = bytearray(KDC.read_bytes()[:4000])
    data[8:40] = b"\xff" * 32  # garbage IFD entries
    p.write_bytes(bytes(data))
    with pytest.raises(FileFormatError):
        read_raw(p)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------- declared levels


def _hand(path, raw, *, white=None):
    tags = [(50706, "B", 4, (1, 4, 0, 0), True), (33421, "H", 2, (2, 2), True),
            (33422, "B", 4, bytes((0, 1, 1, 2)), True), (50721, "2i", 9,
            (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1), True)]  # fmt: skip
    if white is not None:
        tags.append((50717, "H", 1, white, True))
    tifffile.imwrite(path, raw, photometric=32803, subfiletype=0, metadata=None, extratags=tags)
    return path


def test_data_above_white_level_is_refused_or_clipped(tmp_path):
    raw = np.full((32, 32), 400, np.uint16)
    raw[3, 5] = 963
    p = _hand(tmp_path / "w.dng", raw, white=500)
    with pytest.raises(FileFormatError, match="above the white level 500"):
        read_raw(p)
    img = read_raw(p, clip=True)
    assert int(img.raw.max()) == 500 and float(img.mosaic.max()) == 1.0


@pytest.mark.parametrize("bits", [8, 10, 12, 14])
def test_bits_per_sample_lower_than_the_data(tmp_path, bits):
    """A header that understates the bit depth never yields a mosaic above 1 unasked."""
    raw = np.full((32, 32), 100, np.uint16)
    raw[0, 0], raw[5, 5] = 4000, 60000
    p = _hand(tmp_path / "b.dng", raw)
    with tifffile.TiffFile(p, mode="r+b") as t:
        t.pages[0].tags[258].overwrite(bits)
    try:
        img = read_raw(p)
    except FileFormatError as e:
        assert "BitsPerSample" in str(e) or "white level" in str(e)
    else:
        assert int(img.raw.max()) <= 2**bits - 1 and float(img.mosaic.max()) <= 1.0


def test_white_level_zero_is_refused(tmp_path):
    p = _hand(tmp_path / "z.dng", np.full((32, 32), 100, np.uint16), white=0)
    with pytest.raises(FileFormatError, match="WhiteLevel 0"):
        read_raw(p)
