"""Tests for rawkit.bench.quality: the quick preset end to end, the table, the JSON, the goals."""

import dataclasses
import json
import math

import pytest

from rawkit.bench.quality import (
    METHODS,
    PRESETS,
    QualityRecord,
    demo_data,
    format_quality_table,
    quality_goals,
    run_quality,
    write_quality_json,
)


def test_quick_preset_runs_every_method(tmp_path):
    path = tmp_path / "q.json"
    records = run_quality("quick", seed=0, progress=False, json_path=path)
    # every row of the built-in methods (the overexposure fusion is a row of the overexposed preset)
    assert [r.method for r in records] == [m for m in METHODS if m != "overexposure"]
    n_test = len(PRESETS["quick"].test_photos) * PRESETS["quick"].test_pairs_per_photo
    for r in records:
        assert r.render == "rawkit" and r.n_images == n_test
        assert math.isfinite(r.psnr) and 0 < r.ssim <= 1 and len(r.per_image) == n_test
    by = {r.method: r for r in records}
    assert by["rbf"].metadata_bytes > 0 and by["non_local"].metadata_bytes == 0
    assert (
        by["srgb_unet"].train_steps
        == by["non_local"].train_steps
        == PRESETS["quick"].budget["steps"]
    )
    # the bytes are what encode_metadata returns: a 10-byte header + 4 x 14-bit values for
    # the packed site at the centre of every 16 x 16 block of pixels
    sizes = []
    for p in demo_data("quick", seed=0).test["rawkit"]:
        h, w = p.packed.shape[1:]
        n = len(range(4, h, 8)) * len(range(4, w, 8))
        sizes.append(10 + math.ceil(n * 4 * 14 / 8))
    assert by["rbf"].metadata_bytes == pytest.approx(sum(sizes) / len(sizes))
    assert by["non_local_full"].note.startswith("shares encoder, bank")
    doc = json.loads(path.read_text())
    assert doc["config"]["name"] == "quick" and len(doc["records"]) == len(records)
    assert {g["goal"] for g in doc["goals"]} == {g["goal"] for g in quality_goals(records)}
    table = format_quality_table(records)
    for key, label in METHODS.items():
        assert (label in table) == (key != "overexposure")
    with pytest.raises(FileExistsError):
        run_quality("quick", json_path=path)


def test_methods_are_checked_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown pipeline 'nope'"):
        run_quality("quick", methods=["srgb_unet", "nope"])
    bad = dataclasses.replace(PRESETS["quick"], variants={"priorraw": ("no_row",)})
    with pytest.raises(ValueError, match="no variant 'no_row'"):
        run_quality(bad)
    bad = dataclasses.replace(PRESETS["quick"], overrides={"srgb_unet": {"stepz": 3}})
    with pytest.raises(ValueError, match="stepz"):
        run_quality(bad, methods=["srgb_unet"])
    with pytest.raises(FileNotFoundError):
        run_quality("quick", json_path=tmp_path / "no" / "q.json")


def _rec(method, value):
    return QualityRecord(
        method, METHODS[method], "rawkit", value, 0.9, 1, 0.0, 0.0, 0, 0.0, 0.0, []
    )


def test_goals_are_margins_against_their_targets():
    recs = [_rec("srgb_unet", 30.0), _rec("rbf", 34.0), _rec("non_local", 33.5),
            _rec("non_local_full", 33.8)]  # fmt: skip
    goals = {g["goal"]: g for g in quality_goals(recs)}
    assert len(goals) == 3
    unet = goals["PriorRAW - sRGB-only U-Net >= 3 dB"]
    assert unet["value"] == pytest.approx(3.5) and unet["met"]
    assert not goals["PriorRAW (no metadata) - RBF metadata 1/256 >= 0 dB"]["met"]
    assert goals["PriorRAW bank - full reference set >= -0.5 dB"]["met"]
    assert "MISSED" in format_quality_table(recs)


def test_json_refuses_to_overwrite(tmp_path):
    p = write_quality_json([_rec("rbf", 30.0)], tmp_path / "a.json")
    with pytest.raises(FileExistsError):
        write_quality_json([], p)
    write_quality_json([], p, overwrite=True)
    assert json.loads(p.read_text())["records"] == []


def test_unknown_preset():
    with pytest.raises(ValueError, match="preset"):
        run_quality("huge")


def test_peak_memory_is_measured_in_a_subprocess():
    from rawkit.bench.memory import reconstruction_peak_memory

    m = reconstruction_peak_memory(96, 160, tile=64, overlap=16, bank_size=50)
    assert m["height"] == 96 and m["output_mb"] == pytest.approx(4 * 48 * 80 * 4 / 2**20)
    assert m["peak_mb"] >= m["peak_with_input_mb"] >= m["peak_before_input_mb"] > 0
    with pytest.raises(ValueError, match="height"):
        reconstruction_peak_memory(95, 160)
