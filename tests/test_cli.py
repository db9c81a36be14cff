import json

import numpy as np
import pytest

from rawkit.bench.harness import SpeedRecord, compare, format_table, write_json
from rawkit.cli import main


def test_demo_writes_figure_and_refuses_overwrite(tmp_path, capsys):
    assert main(["demo", "--cfa", "-o", str(tmp_path), "--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "malvar" in out and "RAW12" in out
    assert (tmp_path / "cfa_demo.png").stat().st_size > 10_000
    assert main(["demo", "--cfa", "-o", str(tmp_path), "--size", "64"]) == 2
    assert "exists" in capsys.readouterr().err


def test_bench_speed_small_writes_json(tmp_path, capsys):
    path = tmp_path / "speed.json"
    assert (
        main(
            [
                "bench",
                "speed",
                "--suite",
                "cfa",
                "--megapixels",
                "0.05",
                "--repeats",
                "1",
                "--json",
                str(path),
            ]
        )
        == 0
    )
    records = json.loads(path.read_text())
    assert {"name", "size", "rawkit_s", "peer", "peer_s", "ratio"} <= set(records[0])
    names = [r["name"] for r in records]
    assert any(n.startswith("pack float32") for n in names)
    assert any(n.startswith("demosaic_malvar") for n in names)
    assert all(r["ratio"] == pytest.approx(r["rawkit_s"] / r["peer_s"]) for r in records)
    # no silent overwrite
    assert (
        main(["bench", "speed", "--suite", "cfa", "--megapixels", "0.05", "--json", str(path)]) == 2
    )


def test_bench_unknown_suite(capsys):
    assert main(["bench", "speed", "--suite", "nope"]) == 2


def test_harness_pieces(tmp_path):
    rec = compare("a", "1", lambda: None, "b", lambda: sum(range(1000)), repeats=3)
    assert isinstance(rec, SpeedRecord) and rec.ratio == rec.rawkit_s / rec.peer_s
    assert "ratio" in format_table([rec])
    p = write_json([rec], tmp_path / "r.json")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_json([rec], p)
    with pytest.raises(ValueError, match="repeats"):
        compare("a", "1", lambda: None, "b", lambda: None, repeats=0)


@pytest.fixture(scope="module")
def unet_pipeline(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipe") / "unet"
    args = ["train", "--method", "unet", "-o", str(out), "--steps", "2", "--width", "4",
            "--max-side", "64", "--crop", "32", "--pairs-per-photo", "1"]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 2  # refuses to overwrite the pipeline
    return out


@pytest.fixture(scope="module")
def srgb_png(tmp_path_factory):
    import rawkit.io as rio
    from rawkit.data import load_photo

    path = tmp_path_factory.mktemp("img") / "coffee.png"
    rio.write_image(path, load_photo("coffee", max_side=67, even=False), bit_depth=8)
    return path


def test_reconstruct_writes_dng_libraw_opens(unet_pipeline, srgb_png, tmp_path):
    import rawpy

    out = tmp_path / "out.dng"
    assert (
        main(["reconstruct", str(srgb_png), "-o", str(out), "--pipeline", str(unet_pipeline)]) == 0
    )
    with rawpy.imread(str(out)) as r:
        h, w = r.raw_image_visible.shape
        assert (h, w) == (44, 66)  # odd 67 -> 66; 44 is even already
        assert r.postprocess(no_auto_bright=True).shape == (44, 66, 3)
    assert (
        main(["reconstruct", str(srgb_png), "-o", str(out), "--pipeline", str(unet_pipeline)]) == 2
    )


def test_reconstruct_npy_and_png(unet_pipeline, srgb_png, tmp_path):
    import rawkit.io as rio

    assert (
        main(
            [
                "reconstruct",
                str(srgb_png),
                "-o",
                str(tmp_path / "r.npy"),
                "--pipeline",
                str(unet_pipeline),
            ]
        )
        == 0
    )
    arr = np.load(tmp_path / "r.npy")
    assert arr.shape == (22, 33, 4) and arr.dtype == np.uint16 and arr.max() <= 1024
    assert (
        main(
            [
                "reconstruct",
                str(srgb_png),
                "-o",
                str(tmp_path / "m.png"),
                "--pipeline",
                str(unet_pipeline),
            ]
        )
        == 0
    )
    img = rio.read_image(tmp_path / "m.png")
    assert img.bit_depth == 16 and img.image.shape == (1, 44, 66)
    assert (
        main(
            [
                "reconstruct",
                str(srgb_png),
                "-o",
                str(tmp_path / "x.tif"),
                "--pipeline",
                str(unet_pipeline),
            ]
        )
        == 2
    )


def test_reconstruct_missing_pipeline(srgb_png, tmp_path, capsys):
    assert (
        main(
            [
                "reconstruct",
                str(srgb_png),
                "-o",
                str(tmp_path / "o.dng"),
                "--pipeline",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "pipeline" in capsys.readouterr().err


def test_bench_quality_quick_writes_json(tmp_path, capsys):
    path = tmp_path / "q.json"
    assert main(["bench", "quality", "--preset", "quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "PriorRAW" in out and "goals" in out
    assert path.stat().st_size > 100
    assert main(["bench", "quality", "--preset", "quick", "--json", str(path)]) == 2


def test_demo_quick_writes_figure_dng_json(tmp_path, capsys):
    import rawpy

    assert main(["demo", "--preset", "quick", "-o", str(tmp_path)]) == 0
    assert "PSNR" in capsys.readouterr().out
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    with rawpy.imread(str(tmp_path / "priorraw.dng")) as r:
        assert r.raw_image_visible.size > 0
    assert (tmp_path / "quality.json").exists()
    assert main(["demo", "--preset", "quick", "-o", str(tmp_path)]) == 2
