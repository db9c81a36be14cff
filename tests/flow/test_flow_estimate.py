"""Tests of rawkit.flow.estimate_flow: known shifts, the synthetic videos' true flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rawkit.data import load_photo, synthesize_video
from rawkit.flow import endpoint_error, estimate_flow, warp


def _textured(h: int, w: int) -> np.ndarray:
    photo = np.asarray(load_photo("astronaut"), dtype=np.float32)
    return np.ascontiguousarray(photo[..., 100 : 100 + h, 150 : 150 + w])


@pytest.mark.parametrize("method", ["dis", "farneback"])
@pytest.mark.parametrize(("dx", "dy"), [(3, -2), (-1, 4)])
def test_known_integer_shift(method: str, dx: int, dy: int) -> None:
    big = _textured(96, 112)
    # frame_b(p) = frame_a(p + (dx, dy)): crop frame_b at an offset of (dx, dy) into the photo
    a = big[:, 8:88, 8:104]
    b = big[:, 8 + dy : 88 + dy, 8 + dx : 104 + dx]
    flow = estimate_flow(a, b, method=method)  # type: ignore[arg-type]
    assert flow.shape == (2, 80, 96) and flow.dtype == np.float32
    inner = flow[:, 12:-12, 12:-12]
    assert abs(float(np.median(inner[0])) - dx) < 0.15
    assert abs(float(np.median(inner[1])) - dy) < 0.15
    # the convention: warping frame_a by the flow predicts frame_b
    pred = warp(a, flow)
    assert np.abs(pred - b)[:, 12:-12, 12:-12].mean() < 0.02


def test_leading_dims_and_tensor_in() -> None:
    big = _textured(48, 64)
    a = torch.from_numpy(np.stack([big[:, :40, :56], big[:, 4:44, :56]]))
    b = torch.from_numpy(np.stack([big[:, :40, 2:58], big[:, 4:44, 2:58]]))
    flow = estimate_flow(a, b, preset="fast")
    assert isinstance(flow, torch.Tensor) and flow.shape == (2, 2, 40, 56)
    assert not flow.requires_grad
    single = estimate_flow(a[1], b[1], preset="fast")
    torch.testing.assert_close(flow[1], single)


def test_dis_on_synthetic_video_true_flow() -> None:
    v = synthesize_video("astronaut", n_frames=3, motion="pan", seed=1, size=(96, 128))
    flow = estimate_flow(v.srgb[:-1], v.srgb[1:])
    epe = endpoint_error(flow, v.flow, valid=v.valid)
    assert (epe < 1.0).all(), epe


def test_errors() -> None:
    a = np.zeros((3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="frame_b"):
        estimate_flow(a, np.zeros((3, 8, 9), np.float32))
    with pytest.raises(ValueError, match="channels"):
        estimate_flow(np.zeros((4, 8, 8), np.float32), np.zeros((4, 8, 8), np.float32))
    with pytest.raises(ValueError, match="method"):
        estimate_flow(a, a, method="raft")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="preset"):
        estimate_flow(a, a, preset="slow")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="frame_a"):
        estimate_flow(a.astype(np.uint8), a)
    with pytest.raises(ValueError, match="frame_b: expected finite"):
        estimate_flow(a, np.full_like(a, np.nan))
