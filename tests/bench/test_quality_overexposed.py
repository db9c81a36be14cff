"""Tests for the overexposed split of rawkit.bench.quality (``--preset overexposed``)."""

import dataclasses
import math

import numpy as np
import pytest

from rawkit.bench.quality import (
    METHODS,
    PRESETS,
    QualityConfig,
    QualityRecord,
    demo_data,
    format_quality_table,
    quality_goals,
    run_quality,
)
from rawkit.pipelines.overexposure import clipped_fraction

QUICK_OE = dataclasses.replace(
    PRESETS["quick"], name="quick-oe", exposures=("normal", "overexposed"),
    methods=("srgb_unet", "overexposure"), train_photos=PRESETS["quick"].train_photos[:4],
)  # fmt: skip


def test_overexposed_twins_share_the_raw_and_clip_5_to_30_percent():
    d = demo_data(QUICK_OE)
    normal, bright = d.test["rawkit"], d.test_overexposed["rawkit"]
    assert len(normal) == len(bright) > 0
    for n, b in zip(normal, bright, strict=True):
        assert n.seed == b.seed and np.array_equal(n.packed, b.packed)
        assert 0.04 <= clipped_fraction(b.srgb) <= 0.31 and not np.array_equal(n.srgb, b.srgb)
    # the training set holds every pair and its overexposed twin
    plain = demo_data(dataclasses.replace(QUICK_OE, exposures=("normal",)))
    assert len(d.train) == 2 * len(plain.train)
    only = demo_data(dataclasses.replace(QUICK_OE, exposures=("overexposed",)))
    assert only.test == {} and len(only.test_overexposed["rawkit"]) == len(bright)


def test_overexposed_preset_scores_both_splits_inside_and_outside_the_mask():
    records = run_quality(QUICK_OE, progress=False)
    keys = ["oracle", "generic_inverse", "srgb_unet", "overexposure"]
    assert [(r.split, r.method) for r in records] == [
        (s, k) for s in ("normal", "overexposed") for k in keys
    ]
    for r in records:
        assert all(math.isfinite(v) for v in (r.psnr_out, r.ssim_out, r.mask_share))
    by = {(r.split, r.method): r for r in records}
    assert by["overexposed", "oracle"].mask_share > by["normal", "oracle"].mask_share
    assert math.isfinite(by["overexposed", "overexposure"].psnr_in)
    table = format_quality_table(records)
    assert "PSNR in" in table and "overexposed" in table and METHODS["overexposure"] in table
    goals = [g for g in quality_goals(records) if g["split"] == "overexposed"]
    assert {g["target"] for g in goals} == {1.0, 0.0} and len(goals) == 2
    fusion, unet = by["overexposed", "overexposure"], by["overexposed", "srgb_unet"]
    inside = next(g for g in goals if "inside" in g["goal"])
    assert inside["value"] == pytest.approx(fusion.psnr_in - unet.psnr_in)


def test_default_tables_have_no_mask_columns():
    r = QualityRecord("rbf", METHODS["rbf"], "rawkit", 40.0, 0.99, 3, 8.0, 0.05, 0, 0.0, 1.0, [])
    assert math.isnan(r.psnr_in) and r.split == "normal"
    assert "PSNR in" not in format_quality_table([r])


def _rec(method, split, psnr_in, psnr_out):
    return QualityRecord(method, method, "rawkit", 20.0, 0.8, 1, 0.0, 0.0, 0, 0.0, 0.0, [],
                         split=split, psnr_in=psnr_in, psnr_out=psnr_out)  # fmt: skip


def test_overexposure_goals_are_margins_inside_and_outside_the_mask():
    recs = [_rec("srgb_unet", "overexposed", 15.0, 22.0),
            _rec("overexposure", "overexposed", 15.5, 23.0)]  # fmt: skip
    goals = {g["goal"]: g for g in quality_goals(recs)}
    inside = goals["overexposure fusion - sRGB-only U-Net, inside the mask >= 1 dB"]
    outside = goals["overexposure fusion - sRGB-only U-Net, outside the mask >= 0 dB"]
    assert inside["value"] == pytest.approx(0.5) and not inside["met"]
    assert outside["value"] == pytest.approx(1.0) and outside["met"]
    assert "MISSED" in format_quality_table(recs)


def test_exposures_are_checked():
    with pytest.raises(ValueError, match="exposures"):
        QualityConfig(name="x", exposures=("dark",))
    with pytest.raises(ValueError, match="exposures"):
        QualityConfig(name="x", exposures=())
    assert PRESETS["overexposed"].exposures == ("normal", "overexposed")
