"""Speed suite ``video``: one step of the video chain on a 720p frame.

The issue's goal is absolute: at most 1 s per 720p frame on 2 cores.  Each row is
timed against OpenCV's DIS optical flow on the same two frames (the ``medium`` preset
the chain uses; a step of the network chain includes one), so that the ratio says how
many flow computations a step costs, and the note gives the absolute seconds per frame
and the goal.  Rows:

* ``video base step``: the calibrated inverse of one frame
  (:class:`rawkit.pipelines.video.KeyframeInverse`, fitted once on frame 0, as between
  keyframes); the fit itself is timed once and reported in the note;
* ``video FAGDN step``: one step of the shipped FAGDN chain (``pretrained("video")``):
  DIS flow, warps and the network forward, as :func:`derender_frames` runs it (skipped
  where rawkit ships no FAGDN weights).

The frames are a synthetic 720x1280 video (:func:`rawkit.data.synthesize_video`, a pan
over a Kodak photo upsampled to 1.5x the frame): the timing does not depend on the
content beyond DIS's iterations.  ``megapixels`` is ignored: the goal is for 720p.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from rawkit.bench.harness import SpeedRecord, compare, register_speed

__all__ = ["video_suite"]

#: Frame size of the suite (the goal's 720p) and its goal in seconds per frame.
SIZE = (720, 1280)
GOAL_S = 1.0


def _frames(size: tuple[int, int]) -> Any:
    import torch.nn.functional as F

    from rawkit.data import load_photo, synthesize_video

    photo = torch.as_tensor(load_photo("kodim05"))[None]
    big = (size[0] * 3 // 2, size[1] * 3 // 2)
    big_photo = F.interpolate(photo, size=big, mode="bilinear", align_corners=False)[0]
    return synthesize_video(big_photo.clamp(0, 1), n_frames=2, motion="pan", seed=0, size=size)


def _note(seconds: float, extra: str = "") -> str:
    verdict = "met" if seconds <= GOAL_S else "missed"
    return f"{seconds:.3f} s/frame (goal <= {GOAL_S:g} s: {verdict}){extra}"


@register_speed("video")
def video_suite(
    *, megapixels: float, repeats: int, size: tuple[int, int] = SIZE
) -> list[SpeedRecord]:
    """Time one chain step at 720p (``size``: smaller frames, for tests), the calibrated
    base and the shipped FAGDN (module notes)."""
    from rawkit.flow import estimate_flow
    from rawkit.pipelines import pretrained
    from rawkit.pipelines.video import calibrate_inverse

    v = _frames(size)
    x0, x1 = torch.from_numpy(v.srgb[0])[None], torch.from_numpy(v.srgb[1])[None]
    y0 = torch.from_numpy(v.packed[0])[None]
    label = f"{size[0]}x{size[1]}"

    def dis() -> Any:
        return estimate_flow(x0, x1, method="dis", preset="medium")

    t0 = time.perf_counter()
    inverse = calibrate_inverse(v.srgb[0], v.packed[0], pattern=v.pattern)
    fit_s = time.perf_counter() - t0
    recs = []
    with torch.inference_mode():
        rec = compare("video base step", label, lambda: inverse(x1[0]), "OpenCV DIS flow (medium)",
                      dis, repeats=repeats)  # fmt: skip
        recs.append(_with_note(rec, _note(rec.rawkit_s, f"; keyframe fit {fit_s:.2f} s once")))
        try:
            pipe: Any = pretrained("video")
        except FileNotFoundError:
            return recs
        net = pipe.net.eval()

        def step() -> Any:
            flow = torch.as_tensor(pipe.flow_fn(x0, x1))
            kw = {"base": inverse(x1[0])[None]} if net.base_input else {}
            return net(x0, y0, x1, flow, **kw).raw

        rec = compare("video FAGDN step (flow + network)", label, step,
                      "OpenCV DIS flow (medium)", dis, repeats=repeats)  # fmt: skip
        cfg = pipe.config
        extra = f"; FAGDN width {cfg.width}, depth {cfg.depth}, patch {cfg.patch}"
        recs.append(_with_note(rec, _note(rec.rawkit_s, extra)))
    return recs


def _with_note(rec: SpeedRecord, note: str) -> SpeedRecord:
    import dataclasses

    return dataclasses.replace(rec, note=note)
