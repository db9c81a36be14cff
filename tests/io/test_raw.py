"""read_raw / read_camera on DNG files written by hand (not by write_dng) and on bad files."""

import cv2
import numpy as np
import pytest
import tifffile

from rawkit.io import FileFormatError, UnsupportedRawError, read_camera, read_raw, write_dng
from rawkit.isp import CameraModel

COLOUR = {"R": 0, "G": 1, "B": 2}


def _rat(values, den=10000):
    out = []
    for v in values:
        out += [int(round(v * den)), den]
    return tuple(out)


def hand_dng(path, raw, *, cfa="RGGB", repeat=(2, 2), black=(0,), white=1023, neutral=(0.5, 1, 0.5),
             cm1=None, ill1=21, cm2=None, ill2=None, name="Hand Cam", photometric=32803):  # fmt: skip
    """A minimal DNG written directly with tifffile, tag by tag (independent of write_dng)."""
    cm1 = np.eye(3) if cm1 is None else np.asarray(cm1)
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),
        (50708, "s", 0, name, True),
        (50714, "H", len(black), tuple(black), True),
        (50717, "H", 1, white, True),
        (50721, "2i", 9, _rat(cm1.ravel()), True),
        (50728, "2I", 3, _rat(neutral), True),
        (50778, "H", 1, ill1, True),
    ]
    if len(black) == 4:
        tags.append((50713, "H", 2, (2, 2), True))
    if cm2 is not None:
        tags += [(50722, "2i", 9, _rat(np.asarray(cm2).ravel()), True), (50779, "H", 1, ill2, True)]
    if photometric == 32803:
        tags += [
            (33421, "H", 2, repeat, True),
            (33422, "B", len(cfa), bytes(COLOUR[c] for c in cfa), True),
        ]
    tifffile.imwrite(
        path, raw, photometric=photometric, subfiletype=0, metadata=None, extratags=tags
    )
    return path


def test_reads_hand_written_dng(tmp_path):
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 4096, size=(30, 40), dtype=np.uint16)
    # BlackLevel is stored per 2x2 site, row by row: GRBG -> sites G(Gr), R, B, G(Gb).
    p = hand_dng(tmp_path / "h.dng", raw, cfa="GRBG", black=(10, 20, 30, 40), white=4095,
                 neutral=(0.6, 1.0, 0.8))  # fmt: skip
    img = read_raw(p)
    assert img.pattern == "GRBG"
    assert img.black_level == (20.0, 10.0, 40.0, 30.0)  # [R, Gr, Gb, B]
    assert img.white_level == 4095 and img.bit_depth == 12
    np.testing.assert_array_equal(img.raw[0], raw)
    np.testing.assert_allclose(img.as_shot_neutral, (0.6, 1.0, 0.8))
    assert img.camera_name == "Hand Cam"
    assert img.height == 30 and img.width == 40
    black_map = np.tile([[10.0, 20.0], [30.0, 40.0]], (15, 20))
    np.testing.assert_allclose(img.mosaic[0], (raw - black_map) / (4095 - black_map), rtol=1e-6)


def test_values_below_black_stay_negative(tmp_path):
    raw = np.full((24, 24), 32, np.uint16)
    p = hand_dng(tmp_path / "b.dng", raw, black=(64,), white=1023)
    img = read_raw(p)
    np.testing.assert_allclose(img.mosaic, (32 - 64) / (1023 - 64), rtol=1e-6)


def test_odd_visible_area_is_cropped_to_even(tmp_path):
    raw = np.arange(23 * 25, dtype=np.uint16).reshape(23, 25)
    p = hand_dng(tmp_path / "o.dng", raw, cfa="BGGR")
    img = read_raw(p)
    assert img.raw.shape == (1, 22, 24) and img.pattern == "BGGR"
    np.testing.assert_array_equal(img.raw[0], raw[:22, :24])


def test_prefers_the_d65_matrix(tmp_path):
    a = np.diag([2.0, 1.0, 0.5])
    d65 = np.array([[1.0, 0.1, 0.0], [0.0, 1.0, 0.1], [0.1, 0.0, 1.0]])
    p = hand_dng(
        tmp_path / "m.dng", np.zeros((24, 24), np.uint16), cm1=a, ill1=17, cm2=d65, ill2=21
    )
    img = read_raw(p)
    assert img.calibration_illuminant == 21
    np.testing.assert_allclose(np.array(img.color_matrix), d65)
    cam = read_camera(p)
    assert cam.calibration_illuminant == "D65"
    np.testing.assert_allclose(np.array(cam.xyz_to_cam), d65)


def test_read_camera_matches_what_was_written(tmp_path):
    m = np.array([[0.8, -0.2, 0.0], [-0.3, 1.2, 0.1], [0.0, 0.1, 0.6]])
    p = write_dng(tmp_path / "c.dng", np.zeros((1, 24, 24), np.uint16), pattern="GBRG",
                  black_level=[1, 2, 3, 4], white_level=16383, as_shot_neutral=[0.5, 1, 0.6],
                  color_matrix=m, calibration_illuminant="D50", camera_name="My Cam")  # fmt: skip
    cam = read_camera(str(p))
    assert isinstance(cam, CameraModel)
    assert (cam.name, cam.pattern, cam.bit_depth) == ("My Cam", "GBRG", 14)
    assert cam.black_level == (1.0, 2.0, 3.0, 4.0) and cam.white_level == 16383
    assert cam.calibration_illuminant == "D50"
    np.testing.assert_allclose(np.array(cam.xyz_to_cam), m, atol=1e-9)


def test_x_trans_is_refused(tmp_path):
    xt = "".join(["GGRGGB", "GGBGGR", "BRGRBG", "GGBGGR", "GGRGGB", "RBGBRG"])
    p = hand_dng(tmp_path / "x.dng", np.full((36, 36), 500, np.uint16), cfa=xt, repeat=(6, 6))
    with pytest.raises(UnsupportedRawError, match="X-Trans"):
        read_raw(p)


def test_linear_dng_is_refused(tmp_path):
    p = hand_dng(tmp_path / "l.dng", np.full((24, 24, 3), 500, np.uint16), photometric=34892)
    with pytest.raises(UnsupportedRawError, match="not a Bayer"):
        read_raw(p)


# missing and empty files: test_missing_and_empty_files_are_refused_by_name (test_fuzz_readers.py)


def _good(tmp_path):
    return write_dng(tmp_path / "good.dng", np.full((1, 32, 32), 300, np.uint16), pattern="RGGB",
                     black_level=0, white_level=1023, as_shot_neutral=[1, 1, 1],
                     color_matrix=np.eye(3))  # fmt: skip


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_truncated_dng(tmp_path, keep):
    data = _good(tmp_path).read_bytes()
    p = tmp_path / "cut.dng"
    p.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FileFormatError, match="truncated") as e:
        read_raw(p)
    assert isinstance(e.value, OSError) and "cut.dng" in str(e.value)


def test_truncated_header(tmp_path):
    data = _good(tmp_path).read_bytes()
    p = tmp_path / "cut.dng"
    p.write_bytes(data[:60])
    with pytest.raises(FileFormatError, match="cut.dng"):
        read_raw(p)


@pytest.mark.parametrize(
    ("encoding", "name", "match"),
    [
        (".png", "fake.dng", "PNG image.*extension '.dng'"),  # a PNG named .dng
        (".jpg", "fake.nef", "JPEG image, not a RAW file"),  # a JPEG named .nef
    ],
)
def test_image_named_like_a_raw(tmp_path, encoding, name, match):
    p = tmp_path / name
    ok, buf = cv2.imencode(encoding, np.zeros((30, 30, 3), np.uint8))
    p.write_bytes(buf.tobytes())
    with pytest.raises(FileFormatError, match=match):
        read_raw(p)


def test_garbage_is_not_a_raw(tmp_path):
    p = tmp_path / "junk.cr2"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(FileFormatError, match="not a RAW file"):
        read_raw(p)


def test_plain_tiff_image_is_not_a_raw(tmp_path):
    p = tmp_path / "img.tif"
    tifffile.imwrite(p, np.zeros((32, 32, 3), np.uint8), photometric="rgb")
    with pytest.raises(FileFormatError):
        read_raw(p)


def test_folder_and_bad_path_type(tmp_path):
    with pytest.raises(IsADirectoryError):
        read_raw(tmp_path)
    with pytest.raises(TypeError, match="path"):
        read_raw(42)


def test_truncated_dng_with_a_camera_extension(tmp_path):
    data = _good(tmp_path).read_bytes()
    p = tmp_path / "cut.nef"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="truncated"):
        read_raw(p)


def test_full_dng_with_a_camera_extension_reads(tmp_path):
    p = tmp_path / "ok.nef"
    p.write_bytes(_good(tmp_path).read_bytes())
    img = read_raw(p)
    assert img.pattern == "RGGB" and int(img.raw.max()) == 300


def test_tiny_dng_message_names_the_libraw_limit(tmp_path):
    p = hand_dng(tmp_path / "tiny.dng", np.zeros((16, 16), np.uint16))
    with pytest.raises(FileFormatError, match="22x22"):
        read_raw(p)
