"""Photo -> RAW file jobs: checks before work, DNG that renders back, render command."""

from __future__ import annotations

import numpy as np
import pytest
import rawpy

from rawkit.io import FileFormatError, read_image, read_raw, write_image
from rawkit.pipelines.photo import (
    default_photo_pipeline,
    plan_photo_jobs,
    reconstruct_photo,
    render_raw_file,
)


def _photo(tmp_path, name="a.png", h=64, w=96, seed=0):
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    rng = np.random.default_rng(seed)
    img = np.stack([0.2 + 0.5 * xx, 0.3 + 0.4 * yy, 0.6 - 0.3 * xx * yy]) + rng.uniform(
        0, 0.02, (3, h, w)
    )
    return write_image(tmp_path / name, img.clip(0, 1), bit_depth=16)


def test_planning_checks_everything_before_any_work(tmp_path):
    src = _photo(tmp_path)
    (tmp_path / "taken.dng").write_bytes(b"x")
    with pytest.raises(FileExistsError):
        plan_photo_jobs([src], tmp_path / "taken.dng")
    assert (
        plan_photo_jobs([src], tmp_path / "taken.dng", overwrite=True)[0].dest.name == "taken.dng"
    )
    with pytest.raises(ValueError, match="RAW outputs"):
        plan_photo_jobs([src], tmp_path / "out.tiff")
    small = write_image(tmp_path / "small.png", np.zeros((3, 10, 10)))
    with pytest.raises(ValueError, match="too small for a DNG"):
        plan_photo_jobs([small], tmp_path / "s.dng")
    assert plan_photo_jobs([small], tmp_path / "s.npy")[0].dest.suffix == ".npy"
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(FileFormatError, match="notes.jpg"):
        plan_photo_jobs([src, text], tmp_path / "outdir")
    assert not (tmp_path / "outdir").exists()  # nothing made before the failure
    jobs = plan_photo_jobs([src, small], tmp_path / "my.folder", format=".npy")
    assert [j.dest.parent.name for j in jobs] == ["my.folder", "my.folder"]


def test_default_dng_renders_back_to_the_photo_in_libraw(tmp_path):
    src = _photo(tmp_path)
    job = plan_photo_jobs([src], tmp_path / "a.dng")[0]
    res = reconstruct_photo(job, default_photo_pipeline())
    with rawpy.imread(str(res.dest)) as r:
        out = r.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
            adjust_maximum_thr=0.0, highlight_mode=rawpy.HighlightMode.Clip,
            demosaic_algorithm=rawpy.DemosaicAlgorithm.AHD,
        )  # fmt: skip
    photo = read_image(src).image.astype(np.float64)
    out = out.transpose(2, 0, 1) / 65535.0
    err = (out - photo)[:, 3:-3, 3:-3]
    assert 10 * np.log10(1 / np.mean(err**2)) > 38
    assert np.abs(err.mean(axis=(1, 2))).max() < 3e-3  # no colour cast


def test_rawkit_render_matches_libraw(tmp_path):
    src = _photo(tmp_path)
    dng = reconstruct_photo(
        plan_photo_jobs([src], tmp_path / "a.dng")[0], default_photo_pipeline()
    ).dest
    png = render_raw_file(dng, tmp_path / "back.png")
    ours = read_image(png).image.astype(np.float64)
    with rawpy.imread(str(dng)) as r:
        theirs = r.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
            adjust_maximum_thr=0.0, highlight_mode=rawpy.HighlightMode.Clip,
            demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR,
        ).transpose(2, 0, 1) / 65535.0  # fmt: skip
    assert 10 * np.log10(1 / np.mean((ours - theirs) ** 2)) > 60
    with pytest.raises(FileExistsError):
        render_raw_file(dng, png)
    with pytest.raises(ValueError, match="dest"):
        render_raw_file(dng, tmp_path / "x.tif")


def test_odd_sizes_and_other_formats(tmp_path):
    src = _photo(tmp_path, h=65, w=97)
    job = plan_photo_jobs([src], tmp_path / "odd.npy")[0]
    res = reconstruct_photo(job, default_photo_pipeline())
    assert len(res.notes) == 2 and np.load(res.dest).shape == (32, 48, 4)
    job = plan_photo_jobs([src], tmp_path / "odd.png")[0]
    res = reconstruct_photo(job, default_photo_pipeline())
    assert read_image(res.dest).image.shape == (1, 64, 96)
    raw = read_raw(
        reconstruct_photo(
            plan_photo_jobs([src], tmp_path / "o.dng")[0], default_photo_pipeline()
        ).dest
    )
    assert raw.mosaic.shape == (1, 64, 96)


def test_default_method_runs_tile_by_tile_exactly():
    import torch

    from rawkit.data.synth import resolve_camera
    from rawkit.pipelines.baselines import blind_unprocess, typical_params

    pipe = default_photo_pipeline()
    assert pipe.tileable  # no lens shading in LibRaw's render: per-pixel, so tiles are exact
    x = np.random.default_rng(0).random((3, 300, 420), dtype=np.float32)
    cam = resolve_camera("nikon_d5100")
    whole = blind_unprocess(torch.from_numpy(x).double(), camera=cam,
                            params=typical_params(cam, render="libraw")).float().numpy()  # fmt: skip
    tiled = pipe.reconstruct(x, tile=128, overlap=16)
    np.testing.assert_allclose(tiled, whole, atol=1e-6, rtol=0)
