import dataclasses
import json

import numpy as np
import pytest
import torch

from rawkit.bench.harness import SpeedRecord, compare, format_table, write_json
from rawkit.cli import main
from rawkit.pipelines import Pipeline, PipelineConfig, available
from rawkit.pipelines.base import register, setting, unregister


@dataclasses.dataclass(frozen=True)
class GainConfig(PipelineConfig):
    steps: int = setting(1, "unused: shows that the bench's budget reaches new methods")
    clip: bool = setting(True, "clip the output to [0, 1]")


class Gain(Pipeline):
    """A tiny learned method from the test suite: RAW = g * mean of each 2x2 sRGB block."""

    name = "test_gain"
    Config = GainConfig
    description = "a one-number toy for the CLI tests"

    def __init__(self, config=None):
        super().__init__(config)
        self.gain = torch.ones(())

    def _fit(self, data, *, seed, progress):
        num = sum(float(p.packed.mean()) for p in data)
        den = sum(float(p.srgb.mean()) for p in data)
        self.gain = torch.tensor(num / den)

    def _reconstruct(self, srgb, *, metadata):
        m = torch.nn.functional.avg_pool2d(srgb, 2).mean(1, keepdim=True) * self.gain
        out = m.expand(-1, 4, -1, -1)
        return out.clamp(0, 1) if self.config.clip else out

    def state_tensors(self):
        return {"gain": self.gain}

    def load_state_tensors(self, tensors):
        self.gain = tensors["gain"]


@pytest.fixture
def gain_registered():
    register(Gain)
    yield Gain
    unregister("test_gain")


def test_a_registered_pipeline_appears_everywhere(gain_registered, srgb_png, tmp_path, capsys):
    assert "test_gain" in available()
    for argv in (["train", "--help"], ["reconstruct", "--help"], ["bench", "quality", "--help"],
                 ["demo", "--help"]):  # fmt: skip
        with pytest.raises(SystemExit):
            main(argv)
        assert "test_gain" in capsys.readouterr().out, argv
    with pytest.raises(SystemExit):
        main(["train", "test_gain", "--help"])
    assert "--no-clip" in capsys.readouterr().out  # options come from the config
    out = tmp_path / "gain"
    assert main(["train", "test_gain", "-o", str(out), "--max-side", "32", "--pairs-per-photo",
                 "1", "--steps", "3", "--no-clip"]) == 0  # fmt: skip
    loaded = Pipeline.load(out)
    assert isinstance(loaded, Gain) and loaded.config == GainConfig(steps=3, clip=False)
    assert float(loaded.gain) != 1.0
    dest = tmp_path / "g.npy"
    assert main(["reconstruct", str(srgb_png), "-o", str(dest), "--pipeline", str(out)]) == 0
    assert np.load(dest).shape == (22, 33, 4)
    # no shipped weights for it: a one-line error, exit 2
    assert main(["reconstruct", str(srgb_png), "-o", str(tmp_path / "h.npy"),
                 "--method", "test_gain"]) == 2  # fmt: skip
    assert "no shipped weights" in capsys.readouterr().err
    assert main(["bench", "quality", "--preset", "quick", "--methods", "test_gain"]) == 0
    assert "test_gain" in capsys.readouterr().out


def test_cli_validates_before_work(tmp_path, capsys):
    assert main(["bench", "quality", "--preset", "quick", "--methods", "nope"]) == 2
    assert "unknown pipeline 'nope'" in capsys.readouterr().err
    assert main(["train", "priorraw", "-o", str(tmp_path / "p"), "--crop", "7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "crop" in err and not (tmp_path / "p").exists()
    with pytest.raises(SystemExit):
        main(["train", "priorraw", "-o", str(tmp_path / "p"), "--ablation", "foo"])


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
    args = ["train", "srgb_unet", "-o", str(out), "--steps", "2", "--width", "4",
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


def test_reconstruct_old_format_folder_fails_naming_the_version(srgb_png, tmp_path, capsys):
    old = {"format": "rawkit.PriorRAWPipeline", "version": 1, "model": "UNet", "info": {}}
    (tmp_path / "pipeline.json").write_text(json.dumps(old))
    dest = tmp_path / "o.dng"
    assert main(["reconstruct", str(srgb_png), "-o", str(dest), "--pipeline", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "format version 1" in err and "Retrain" in err and not dest.exists()


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
