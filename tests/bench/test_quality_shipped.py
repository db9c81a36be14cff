"""The demo's default path: shipped weights stand in for training, row by row."""

from __future__ import annotations

from rawkit.bench.quality import _shipped_row, demo_data, train_methods


def test_shipped_rows_are_the_shipped_configurations():
    unet = _shipped_row("srgb_unet", "srgb_unet")
    assert unet is not None and unet.fitted
    assert _shipped_row("priorraw", "non_local") is not None  # the shipped Table 1 row
    assert _shipped_row("priorraw", "pixel_search") is None  # another row: trained instead
    assert _shipped_row("blind_unprocess", "blind_unprocess") is None  # nothing to ship


def test_train_methods_uses_shipped_weights_without_training():
    data = demo_data("quick")
    tm = train_methods(data, "quick", methods=["srgb_unet"], shipped=True, progress=False)
    assert tm.seconds["srgb_unet"] == 0.0
    assert tm.pipelines["srgb_unet"].config.width != 8  # not the quick preset's tiny net
