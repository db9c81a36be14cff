"""`rawkit reconstruct` / `rawkit render` as a user runs them: no training, errors in CLI words."""

from __future__ import annotations

import numpy as np
import pytest
import rawpy

from rawkit.cli import main
from rawkit.io import read_image, write_image


@pytest.fixture()
def photo(tmp_path):
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w] / w
    img = np.stack([0.2 + 0.6 * xx, 0.3 + 0.5 * yy, 0.7 - 0.4 * xx]).clip(0, 1)
    return write_image(tmp_path / "photo.jpg", img, quality=98)


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def test_reconstruct_then_render_back(photo, tmp_path, capsys):
    dng = tmp_path / "photo.dng"
    assert main(["reconstruct", str(photo), "-o", str(dng)]) == 0
    png = tmp_path / "back.png"
    assert main(["render", str(dng), "-o", str(png)]) == 0
    back = read_image(png).image.astype(np.float64)
    src = read_image(photo).image.astype(np.float64)
    psnr = 10 * np.log10(1 / np.mean((back - src)[:, 2:-2, 2:-2] ** 2))
    assert psnr > 38, psnr
    with rawpy.imread(str(dng)) as r:
        assert r.raw_image.shape == (48, 64)


def test_errors_are_one_line_before_any_work(photo, tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    assert main(["reconstruct", str(photo), str(text), "-o", str(tmp_path / "out")]) == 2
    _one_line_error(capsys, "notes.jpg")
    assert not (tmp_path / "out").exists()
    taken = tmp_path / "taken.dng"
    taken.write_bytes(b"x")
    assert main(["reconstruct", str(photo), "-o", str(taken)]) == 2
    _one_line_error(capsys, "--overwrite")
    assert main(["reconstruct", str(photo), "-o", str(tmp_path / "x.tiff")]) == 2
    _one_line_error(capsys, "x.tiff")
    small = write_image(tmp_path / "small.png", np.zeros((3, 10, 10)))
    assert main(["reconstruct", str(small), "-o", str(tmp_path / "s.dng")]) == 2
    _one_line_error(capsys, "too small")
    assert main(["render", str(photo), "-o", str(tmp_path / "r.png")]) == 2
    _one_line_error(capsys, "photo.jpg")


def test_linear_dng_renders_back_exactly_on_a_detailed_photo(tmp_path):
    rng = np.random.default_rng(0)
    src = write_image(tmp_path / "noisy.png", rng.uniform(0.05, 0.95, (3, 40, 48)), bit_depth=16)
    for kind in ("bayer", "linear"):
        dng = tmp_path / f"{kind}.dng"
        assert main(["reconstruct", str(src), "-o", str(dng), "--dng", kind]) == 0
        with rawpy.imread(str(dng)) as r:
            out = r.postprocess(
                use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
                adjust_maximum_thr=0.0, highlight_mode=rawpy.HighlightMode.Clip,
            ).transpose(2, 0, 1) / 65535.0  # fmt: skip
        psnr = 10 * np.log10(1 / np.mean((out - read_image(src).image) ** 2))
        assert (psnr > 45) if kind == "linear" else (psnr < 30), (kind, psnr)
