"""write_dng: tags, round trip through read_raw (LibRaw), LibRaw renders it, bad input."""

import numpy as np
import pytest
import rawpy
import tifffile
import torch
from hypothesis import given
from hypothesis import strategies as st

import rawkit.io.dng as dng_module
from rawkit.io import read_raw, write_dng
from rawkit.testing import patterns

EYE = np.eye(3)
COLOUR = {"R": 0, "G": 1, "B": 2}


def _sites(pattern):
    """(dy, dx) of R, Gr, Gb, B read from the pattern letters (independent of rawkit.cfa)."""
    r = divmod(pattern.index("R"), 2)
    b = divmod(pattern.index("B"), 2)
    gr = (r[0], b[1])
    gb = (b[0], r[1])
    return [r, gr, gb, b]


@st.composite
def dng_cases(draw):
    pattern = draw(patterns())
    depth = draw(st.integers(10, 16))
    white = 2**depth - 1
    h = 2 * draw(st.integers(11, 20))
    w = 2 * draw(st.integers(11, 20))
    black = draw(st.lists(st.integers(0, 2 ** (depth - 2)), min_size=4, max_size=4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, white + 1, size=(1, h, w), dtype=np.uint16)
    raw[0, 0, 0], raw[0, -1, -1] = 0, white  # the extremes are always present
    neutral = draw(st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3))
    matrix = np.eye(3) + rng.uniform(-0.4, 0.4, size=(3, 3))
    return pattern, depth, white, black, raw, neutral, matrix


@given(case=dng_cases())
def test_round_trip_is_bit_exact_with_metadata(tmp_path_factory, case):
    pattern, depth, white, black, raw, neutral, matrix = case
    path = tmp_path_factory.mktemp("dng") / "x.dng"
    out = write_dng(
        path, raw, pattern=pattern, black_level=black, white_level=white, as_shot_neutral=neutral,
        color_matrix=matrix, camera_name="Test Cam 1", bit_depth=depth,
    )  # fmt: skip
    assert out == path
    img = read_raw(path)
    np.testing.assert_array_equal(img.raw, raw)
    assert img.raw.dtype == np.uint16 and img.raw.shape == raw.shape
    assert img.pattern == pattern
    assert img.black_level == tuple(float(b) for b in black)
    assert img.white_level == white
    assert img.bit_depth == depth
    np.testing.assert_allclose(img.as_shot_neutral, neutral, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.array(img.color_matrix), matrix, rtol=0, atol=1e-9)
    assert img.calibration_illuminant == 21
    assert img.camera_name == "Test Cam 1"
    # Linear mosaic: each pixel's own site black level, computed here from the letters.
    ref = np.empty(raw.shape, np.float64)
    for k, (dy, dx) in enumerate(_sites(pattern)):
        ref[0, dy::2, dx::2] = (raw[0, dy::2, dx::2] - float(black[k])) / (white - float(black[k]))
    assert img.mosaic.dtype == np.float32 and img.mosaic.shape == raw.shape
    np.testing.assert_allclose(img.mosaic, ref, rtol=1e-6, atol=1e-7)
    # LibRaw itself (not read_raw) sees the levels and the white balance we wrote.
    with rawpy.imread(str(path)) as r:
        colors = r.raw_colors_visible
        for k, (dy, dx) in enumerate(_sites(pattern)):
            assert r.black_level_per_channel[colors[dy, dx]] == black[k]
        assert r.white_level == white
        np.testing.assert_allclose(r.camera_whitebalance[:3], 1 / np.array(neutral), rtol=1e-5)


@pytest.mark.parametrize("pattern", ["RGGB", "GRBG", "GBRG", "BGGR"])
def test_tags_as_the_dng_spec_asks(tmp_path, pattern):
    raw = np.zeros((24, 26), np.uint16)
    p = write_dng(
        tmp_path / "x.dng", raw, pattern=pattern, black_level=[1, 2, 3, 4], white_level=1000,
        as_shot_neutral=[0.5, 1, 0.25], color_matrix=[[1, -0.5, 0], [0, 2, 0], [0.125, 0, 1]],
        calibration_illuminant="A",
    )  # fmt: skip
    with tifffile.TiffFile(p) as tif:
        assert len(tif.pages) == 1
        page = tif.pages[0]
        tags = {t.code: t.value for t in page.tags.values()}
    assert tags[254] == 0  # NewSubfileType: main image
    assert tags[262] == 32803  # CFA
    assert tags[259] == 1  # uncompressed
    assert tags[258] == 16
    assert tuple(tags[33421]) == (2, 2)
    assert bytes(tags[33422]) == bytes(COLOUR[c] for c in pattern)
    assert bytes(tags[50706]) == bytes([1, 4, 0, 0])
    assert tags[50708] == "rawkit"
    assert tags[50717] == 1000
    assert tags[50778] == 17  # CIE A
    # Black levels row by row over the 2x2 tile, from the packed order [R, Gr, Gb, B].
    tile = [[0, 0], [0, 0]]
    for k, (dy, dx) in enumerate(_sites(pattern)):
        tile[dy][dx] = [1, 2, 3, 4][k]
    assert tuple(tags[50714]) == (*tile[0], *tile[1])
    cm = np.array(tags[50721], dtype=float).reshape(9, 2)
    np.testing.assert_allclose(cm[:, 0] / cm[:, 1], [1, -0.5, 0, 0, 2, 0, 0.125, 0, 1])
    an = np.array(tags[50728], dtype=float).reshape(3, 2)
    np.testing.assert_allclose(an[:, 0] / an[:, 1], [0.5, 1, 0.25])


def test_libraw_renders_it(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.integers(64, 1024, size=(1, 40, 48), dtype=np.uint16)
    p = write_dng(tmp_path / "x.dng", raw, pattern="GBRG", black_level=64, white_level=1023,
                  as_shot_neutral=[0.5, 1, 0.7], color_matrix=EYE)  # fmt: skip
    with rawpy.imread(str(p)) as r:
        rgb = r.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
            demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR, adjust_maximum_thr=0,
        )  # fmt: skip
    assert rgb.shape == (40, 48, 3) and rgb.dtype == np.uint16
    assert rgb.max() > 0


@pytest.mark.parametrize("pattern", ["RGGB", "GRBG", "GBRG", "BGGR"])
def test_libraw_renders_the_neutral_as_grey(tmp_path, pattern):
    """A flat field of the as-shot neutral must come out grey: the pattern and the neutral
    reach LibRaw as meant (swapping R and B would tint it strongly)."""
    neutral = np.array([0.45, 1.0, 0.7])
    black, white = 256, 4095
    raw = np.empty((1, 32, 32), np.uint16)
    for dy in range(2):
        for dx in range(2):
            c = COLOUR[pattern[2 * dy + dx]]
            raw[0, dy::2, dx::2] = round(black + 0.4 * neutral[c] * (white - black))
    m = np.array([[0.9, -0.3, -0.1], [-0.4, 1.3, 0.1], [0.0, 0.2, 0.7]])
    p = write_dng(tmp_path / "g.dng", raw, pattern=pattern, black_level=black, white_level=white,
                  as_shot_neutral=neutral, color_matrix=m)  # fmt: skip
    with rawpy.imread(str(p)) as r:
        rgb = r.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(1, 1), output_bps=16,
            demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR, adjust_maximum_thr=0,
        ).astype(float)  # fmt: skip
    centre = rgb[8:24, 8:24].reshape(-1, 3).mean(0)
    assert centre.min() > 0.3 * 65535
    np.testing.assert_allclose(centre / centre[1], [1, 1, 1], atol=0.01)


def test_accepts_torch_and_hw(tmp_path):
    raw = torch.arange(24 * 24, dtype=torch.int32).reshape(24, 24).to(torch.uint16)
    p = write_dng(tmp_path / "t.dng", raw, pattern="RGGB", black_level=0, white_level=1023,
                  as_shot_neutral=torch.tensor([0.5, 1.0, 0.5]), color_matrix=torch.eye(3))  # fmt: skip
    np.testing.assert_array_equal(read_raw(p).raw[0], raw.numpy())


def _kw(**over):
    kw = dict(
        pattern="RGGB",
        black_level=64,
        white_level=1023,
        as_shot_neutral=[0.5, 1, 0.7],
        color_matrix=EYE,
    )
    kw.update(over)
    return kw


RAW = np.full((1, 24, 24), 100, np.uint16)


@pytest.mark.parametrize(
    ("raw", "over", "exc", "match"),
    [
        (RAW.astype(np.float32) / 1023, {}, TypeError, "uint16"),
        (RAW.astype(np.int32), {}, TypeError, "uint16"),
        ([[1, 2]], {}, TypeError, "raw"),
        (np.zeros((2, 24, 24), np.uint16), {}, ValueError, r"\(1, H, W\)"),
        (np.zeros((1, 24, 23), np.uint16), {}, ValueError, "even"),
        (np.zeros((1, 20, 24), np.uint16), {}, ValueError, "22"),
        (np.full((1, 24, 24), 1024, np.uint16), {}, ValueError, "above white_level"),
        (RAW, {"pattern": "RGBG"}, ValueError, "pattern"),
        (RAW, {"black_level": 1023}, ValueError, "black_level"),
        (RAW, {"black_level": 63.5}, ValueError, "integer"),
        (RAW, {"black_level": [1, 2, 3]}, ValueError, "4 values"),
        (RAW, {"black_level": -1}, ValueError, "black_level"),
        (RAW, {"white_level": 70000}, ValueError, "white_level"),
        (RAW, {"white_level": 1023.5}, ValueError, "white_level"),
        (RAW, {"white_level": 4095, "bit_depth": 10}, ValueError, "bit_depth"),
        (RAW, {"bit_depth": 17}, ValueError, "bit_depth"),
        (RAW, {"as_shot_neutral": [0.5, 0, 0.7]}, ValueError, "as_shot_neutral"),
        (RAW, {"as_shot_neutral": [0.5, 1]}, ValueError, "as_shot_neutral"),
        (RAW, {"color_matrix": np.zeros((3, 3))}, ValueError, "singular"),
        (RAW, {"color_matrix": np.eye(3)[:2]}, ValueError, r"\(3, 3\)"),
        (RAW, {"color_matrix": np.full((3, 3), np.nan)}, ValueError, "finite"),
        (RAW, {"calibration_illuminant": "D99"}, ValueError, "calibration_illuminant"),
        (RAW, {"calibration_illuminant": 300}, ValueError, "calibration_illuminant"),
        (RAW, {"camera_name": "Caméra"}, ValueError, "ASCII"),
        (RAW, {"camera_name": ""}, ValueError, "camera_name"),
    ],
)
def test_bad_input_raises_and_writes_nothing(tmp_path, raw, over, exc, match):
    with pytest.raises(exc, match=match):
        write_dng(tmp_path / "x.dng", raw, **_kw(**over))
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_unless_asked(tmp_path):
    p = tmp_path / "x.dng"
    p.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True") as e:
        write_dng(p, RAW, **_kw())
    assert e.value.filename == str(p)
    assert p.read_bytes() == b"precious"
    write_dng(p, RAW, **_kw(), overwrite=True)
    np.testing.assert_array_equal(read_raw(p).raw, RAW)


def test_error_while_writing_leaves_no_temp_file(tmp_path, monkeypatch):
    def broken(fh, *args, **kwargs):
        fh.write(b"II*\x00 partial")
        raise OSError("disk full")

    monkeypatch.setattr(dng_module.tifffile, "imwrite", broken)
    with pytest.raises(OSError, match="disk full"):
        write_dng(tmp_path / "x.dng", RAW, **_kw())
    assert list(tmp_path.iterdir()) == []


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder"):
        write_dng(tmp_path / "no" / "x.dng", RAW, **_kw())
