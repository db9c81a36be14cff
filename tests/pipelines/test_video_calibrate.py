"""Tests of the keyframe-calibrated inverse ISP and the base-corrected FAGDN chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _video_common import TINY, video_fixture, write_cli_inputs
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.cfa import mosaic, pack
from rawkit.isp import lens_shading_gain, smoothstep, srgb_oetf, srgb_to_camera_matrix, unprocess
from rawkit.metrics import psnr
from rawkit.nets import FAGDN
from rawkit.pipelines import Pipeline
from rawkit.pipelines.video import (
    KeyframeInverse,
    VideoConfig,
    VideoPipeline,
    calibrate_inverse,
    derender_frames,
    video_pairs,
)

video = video_fixture("kodim19", motion="mixed", seed=3, size=(64, 96))


def _render(a: np.ndarray, s: float, lin: torch.Tensor, pattern: str) -> torch.Tensor:
    """RAW of the calibration model written out by hand: per site, row . lin / gain."""
    h, w = lin.shape[-2:]
    cam = torch.einsum("rc,chw->rhw", torch.as_tensor(a), lin)
    m = mosaic(cam, pattern=pattern)
    gain = lens_shading_gain(h, w, strength=s, dtype=torch.float64)
    return pack(m / gain, pattern=pattern)


@settings(max_examples=8, deadline=None)
@given(
    st.floats(0.0, 0.8),
    st.integers(0, 2**16),
    st.sampled_from(["RGGB", "GRBG", "GBRG", "BGGR"]),
)
def test_fit_recovers_a_known_model(s: float, seed: int, pattern: str) -> None:
    rng = np.random.default_rng(seed)
    a = np.diag(rng.uniform(0.3, 0.7, 3)) + rng.uniform(0.0, 0.1, (3, 3))
    lin = torch.from_numpy(rng.uniform(0.02, 0.9, (3, 16, 24)))
    raw = _render(a, s, lin, pattern)
    srgb = srgb_oetf(smoothstep(lin))  # what the model's linearisation inverts
    inv = calibrate_inverse(srgb, raw, pattern=pattern)
    np.testing.assert_allclose(inv.matrix, a, atol=1e-4)
    assert abs(inv.lens_shading - s) <= 1e-3
    assert inv.rms < 1e-3 and inv.pattern == pattern


def test_parameters_of_a_synthetic_video(video) -> None:  # type: ignore[no-untyped-def]
    # the truth comes from the video's ISP parameters, not from the fit
    p = video.params
    gains = (p.wb_gains / p.wb_gains.min() * p.exposure).numpy()
    c = srgb_to_camera_matrix(p.xyz_to_cam).numpy()
    truth = c / gains[:, None]
    inv = calibrate_inverse(video.srgb[0], video.packed[0], pattern=video.pattern)
    np.testing.assert_allclose(inv.matrix, truth, rtol=0.03, atol=0.004)
    assert abs(inv.lens_shading - p.lens_shading) < 0.02


def test_calibrated_inverse_is_as_good_as_the_true_parameters(video) -> None:  # type: ignore[no-untyped-def]
    inv = calibrate_inverse(video.srgb[0], video.packed[0], pattern=video.pattern)
    for t in (2, 4):
        mine = float(psnr(inv(video.srgb[t]), video.packed[t], data_range=1.0))
        oracle_raw, _ = unprocess(
            torch.from_numpy(video.srgb[t]).double(), camera=video.camera, params=video.params,
            layout="packed",
        )  # fmt: skip
        oracle = float(psnr(oracle_raw.numpy(), video.packed[t], data_range=1.0))
        assert mine > 40 and mine > oracle - 0.5


def test_inverse_call_layouts_and_refusals(video) -> None:  # type: ignore[no-untyped-def]
    inv = calibrate_inverse(video.srgb[0], video.packed[0], pattern=video.pattern)
    assert isinstance(inv, KeyframeInverse)
    batch = inv(video.srgb[:2])
    assert isinstance(batch, np.ndarray) and batch.shape == (2, 4, 32, 48)
    one = inv(torch.from_numpy(video.srgb[1]))
    assert isinstance(one, torch.Tensor) and one.dtype == torch.float32
    np.testing.assert_allclose(one.numpy(), batch[1], atol=1e-6)
    assert batch.min() >= 0 and batch.max() <= 1
    with pytest.raises(ValueError, match="srgb"):
        inv(video.srgb[0][:, :63])
    with pytest.raises(ValueError, match="srgb"):
        inv(video.srgb[0] * 2)


def test_calibration_refuses_bad_keyframes(video) -> None:  # type: ignore[no-untyped-def]
    x, y = video.srgb[0], video.packed[0]
    with pytest.raises(ValueError, match="raw: expected packed size"):
        calibrate_inverse(x, y[:, :10], pattern="RGGB")
    with pytest.raises(ValueError, match="unclipped sites"):
        calibrate_inverse(np.ones_like(x), y, pattern="RGGB")  # all clipped: nothing to fit
    with pytest.raises(ValueError, match="raw"):
        calibrate_inverse(x, y * 3, pattern="RGGB")
    with pytest.raises(ValueError, match="clip_level"):
        calibrate_inverse(x, y, pattern="RGGB", clip_level=0.0)
    with pytest.raises(ValueError, match="pattern"):
        calibrate_inverse(x, y, pattern="RGBG")  # type: ignore[arg-type]


# ----------------------------------------------------------------------- chain


def test_base_chain_recalibrates_on_keyframes(video) -> None:  # type: ignore[no-untyped-def]
    def flow_never(a, b):  # type: ignore[no-untyped-def]
        raise AssertionError("the base alone needs no flow")

    keys = {3: video.packed[3]}
    out = list(derender_frames(None, video.srgb, video.packed[0], keyframes=keys,
                               pattern=video.pattern, flow_fn=flow_never))  # fmt: skip
    first = calibrate_inverse(video.srgb[0], video.packed[0], pattern=video.pattern)
    again = calibrate_inverse(video.srgb[3], video.packed[3], pattern=video.pattern)
    assert torch.equal(out[0], torch.from_numpy(video.packed[0]))
    assert torch.equal(out[3], torch.from_numpy(video.packed[3]))
    for t, inv in ((1, first), (2, first), (4, again)):
        expected = inv(torch.from_numpy(video.srgb[t]))
        torch.testing.assert_close(out[t], expected, atol=1e-6, rtol=0)


def test_untrained_base_network_returns_the_base(video) -> None:  # type: ignore[no-untyped-def]
    net = FAGDN(width=4, depth=2, patch=2, base_input=True, seed=0)
    calls = []

    def flow(a, b):  # type: ignore[no-untyped-def]
        calls.append(1)
        return torch.zeros(1, 2, *a.shape[-2:])

    net_out = list(derender_frames(net, video.srgb, video.packed[0], flow_fn=flow,
                                   pattern=video.pattern))  # fmt: skip
    base_out = list(derender_frames(None, video.srgb, video.packed[0], pattern=video.pattern))
    assert len(calls) == 4  # the network path still estimates the flow of each step
    for a, b in zip(net_out, base_out, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_fagdn_base_argument_is_checked() -> None:
    x, y, f = torch.rand(1, 3, 8, 8), torch.rand(1, 4, 4, 4), torch.zeros(1, 2, 8, 8)
    with pytest.raises(ValueError, match="base"):
        FAGDN(width=4, depth=2, patch=2, base_input=True, seed=0)(x, y, x, f)
    with pytest.raises(ValueError, match="base"):
        FAGDN(width=4, depth=2, patch=2, seed=0)(x, y, x, f, base=y)
    with pytest.raises(ValueError, match="base"):
        FAGDN(width=4, depth=2, patch=2, base_input=True, seed=0)(x, y, x, f, base=y[..., :3])
    with pytest.raises(TypeError, match="base_input"):
        FAGDN(base_input=1)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- pipeline


def test_base_only_pipeline_needs_no_training(video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = VideoPipeline(VideoConfig(network=False, keyframe_interval=2))
    assert pipe.fitted and pipe.state_tensors() == {}
    meta = pipe.encode_metadata(video.packed, video.srgb)
    out = pipe.reconstruct(video.srgb, metadata=meta)
    assert np.abs(out[[0, 2, 4]] - video.packed[[0, 2, 4]]).max() <= 0.5 / 65535 + 1e-7
    assert float(psnr(out[1], video.packed[1], data_range=1.0)) > 40
    pipe.save(tmp_path / "p")
    back = Pipeline.load(tmp_path / "p")
    np.testing.assert_array_equal(back.reconstruct(video.srgb, metadata=meta), out)
    with pytest.raises(ValueError, match="network"):
        VideoConfig(base="warped", network=False)
    with pytest.raises(ValueError, match="base"):
        VideoConfig(base="previous")


def test_variants_are_valid_configs_and_training_uses_the_base(video) -> None:  # type: ignore[no-untyped-def]
    for name, change in VideoPipeline.variants.items():
        cfg = VideoConfig.from_dict({**TINY, **change})
        assert VideoPipeline(cfg).net.base_input == (cfg.base == "keyframe"), name
    pipe = VideoPipeline.fit(video_pairs([video]), VideoConfig(steps=2, **TINY), progress=False)
    assert pipe.net.base_input and pipe.info["frame_pairs"] == 4
    paper = VideoPipeline.fit(video_pairs([video]), VideoConfig(steps=2, base="warped", **TINY),
                              progress=False)  # fmt: skip
    assert not paper.net.base_input


def test_cli_without_weights_runs_the_calibrated_base(video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from rawkit.cli import main

    frames, first = write_cli_inputs(video, tmp_path)
    out = tmp_path / "out"
    args = ["derender-video", str(frames), "--first", str(first), "-o", str(out), "--format", "npy"]
    assert main(args) == 0
    for t in (1, 2):  # the sRGB frames and the first RAW alone give the RAW of later frames
        raw = np.load(out / f"{t:06d}.npy")
        assert float(psnr(raw, video.packed[t], data_range=1.0)) > 40
