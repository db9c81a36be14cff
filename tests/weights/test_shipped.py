"""Shipped weights: they load, are small, and carry a complete card."""

import json
from pathlib import Path

import numpy as np
import pytest

import rawkit.weights
from rawkit.pipelines import available, pretrained

FOLDER = Path(rawkit.weights.__file__).parent
SHIPPED = sorted(p.parent.name for p in FOLDER.glob("*/card.json"))
CARD_KEYS = {"name", "data", "preset", "steps", "val_psnr", "test_psnr", "seed", "cpu_seconds",
             "command", "dtype"}  # fmt: skip


def test_the_learned_methods_ship_weights_within_the_budget():
    assert {"srgb_unet", "priorraw"} <= set(SHIPPED)
    total = sum(f.stat().st_size for f in FOLDER.rglob("*") if f.is_file())
    assert total <= 25 * 2**20


@pytest.mark.parametrize("name", ["srgb_unet", "priorraw"])
def test_card(name):
    card = json.loads((FOLDER / name / "card.json").read_text())
    assert CARD_KEYS <= set(card), sorted(CARD_KEYS - set(card))
    assert card["name"] == name and name in available()
    assert card["preset"] == "default" and card["steps"] > 0 and card["dtype"] == "float16"
    assert 20 < card["test_psnr"] < 60 and "rawkit.weights.recipes" in card["command"]


@pytest.mark.parametrize("name", SHIPPED)
def test_load(name):
    pipe = pretrained(name)
    srgb = np.full((3, 32, 48), 0.5, np.float32)
    meta = None
    if pipe.stores_metadata:
        meta = pipe.encode_metadata(np.full((4, 16, 24), 0.2, np.float32), srgb)
    out = pipe.reconstruct(srgb, metadata=meta)
    assert out.shape == (4, 16, 24) and np.isfinite(out).all()


def test_video_card_and_its_validation_number():
    """The FAGDN card says what it is and its validation chain PSNR is what the weights give."""
    from rawkit.pipelines.video import synthetic_videos
    from rawkit.weights.video_recipe import VAL_VIDEOS, chain_psnr

    card = json.loads((FOLDER / "video" / "card.json").read_text())
    keys = {"name", "data", "steps", "seed", "cpu_seconds", "command", "dtype", "curve",
            "best_step", "val_chain_psnr", "test_chain_psnr", "test_base_alone_chain_psnr"}  # fmt: skip
    assert keys <= set(card), sorted(keys - set(card))
    assert card["name"] == "video" and card["formulation"] == "warped"
    assert "rawkit.weights.video_recipe" in card["command"] and card["dtype"] == "float16"
    curve = dict((int(s), v) for s, v in card["curve"])
    assert card["best_step"] in curve and curve[card["best_step"]] == max(curve.values())
    n, size = VAL_VIDEOS
    got = chain_psnr(pretrained("video"), synthetic_videos("val", n_frames=n, size=size))
    assert got == pytest.approx(card["val_chain_psnr"], abs=0.01)
