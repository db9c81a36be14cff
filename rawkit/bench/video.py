r"""Quality of video de-rendering over chains of frames (the goals of the FAGDN pipeline).

:func:`run_video_quality` makes the benchmark camera's synthetic test videos
(:func:`rawkit.pipelines.video.synthetic_videos`: one per test photo, motions cycling,
one ISP setting per video, sensor noise, 8-bit sRGB), reconstructs every frame with

* the video chains given (``chains``: label -> a fitted ``"video"`` pipeline; by default
  the calibrated base alone and the shipped pipeline when rawkit ships one), each also
  with a stored keyframe every ``keyframe_interval`` frames,
* the per-frame baselines: the blind inverse (``blind_unprocess``), the shipped
  sRGB-only U-Net (``srgb_unet``), RBF metadata at one sample per 256 pixels with the
  blind inverse's camera RGB as colour (``rbf``: real bytes per frame), and the inverse
  with each video's true ISP parameters (``oracle``, the ceiling),

and records the PSNR of every frame on packed RAW (``data_range=1``).  Frame 0 (stored
by every chain) is left out of every mean; so are the frames a keyframe variant
stores.  :func:`format_video_table` prints the means, frame 2 and frame ``T`` (1-based,
as the paper's Fig. 8), the drop between them, and the goals.

Run it as ``python -m rawkit.bench.video [--frames 30] [--size 128 192] [--pipeline
FOLDER]``.

Example:
    >>> r = run_video_quality(n_frames=3, size=(32, 48), baselines=("blind_unprocess",),
    ...                       keyframe_interval=0, progress=False)
    >>> sorted(r.curves), r.curves["base_only"].shape
    (['FAGDN (shipped)', 'base_only', 'blind_unprocess'], (5, 3))
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from rawkit.isp import unprocess
from rawkit.pipelines import Pipeline, get, pretrained
from rawkit.pipelines.video import (
    VideoPipeline,
    keyframe_indices,
    quality_over_time,
    synthetic_videos,
)

__all__ = ["VideoQuality", "format_video_table", "run_video_quality"]

BASELINES = ("blind_unprocess", "srgb_unet", "rbf", "oracle")
#: Row label of the shipped FAGDN weights (``pretrained("video")``).
SHIPPED = "FAGDN (shipped)"


@dataclasses.dataclass(frozen=True)
class VideoQuality:
    """Per-frame PSNR of every row.

    Attributes:
        curves: row -> ``(videos, T)`` float64 PSNR in dB (inf where a frame is exact).
        stored: row -> the frame indices it stores (left out of its means).
        seconds: row -> wall-clock seconds of its reconstruction of all videos.
        videos: ``"motion:photo"`` of each video.
        n_frames, size: frames per video and ``(h, w)``.
    """

    curves: dict[str, np.ndarray]
    stored: dict[str, list[int]]
    seconds: dict[str, float]
    videos: list[str]
    n_frames: int
    size: tuple[int, int]

    def summary(self, row: str) -> dict[str, float]:
        """Mean over non-stored frames, mean curve at frame 2 and frame T, the drop."""
        c = self.curves[row]
        keep = [t for t in range(self.n_frames) if t not in self.stored[row]]
        mean_curve = c.mean(0)
        return {
            "mean": float(c[:, keep].mean()),
            "frame2": float(mean_curve[1]),
            "last": float(mean_curve[-1]),
            "drop": float(mean_curve[1] - mean_curve[-1]),
        }


def _with_keyframes(pipe: VideoPipeline, interval: int) -> VideoPipeline:
    keyed = VideoPipeline(pipe.config.replace(keyframe_interval=interval))
    keyed.load_state_tensors(pipe.state_tensors())
    keyed.fitted = True
    return keyed


def _default_chains() -> dict[str, VideoPipeline]:
    """The calibrated base alone and, where rawkit ships FAGDN weights, :data:`SHIPPED`."""
    chains = {"base_only": VideoPipeline.base_only()}
    try:
        chains[SHIPPED] = VideoPipeline.shipped()
    except FileNotFoundError:
        pass
    return chains


def run_video_quality(
    *,
    n_frames: int = 30,
    size: tuple[int, int] = (128, 192),
    split: str = "test",
    seed: int = 0,
    chains: Mapping[str, VideoPipeline] | None = None,
    baselines: Sequence[str] = BASELINES,
    keyframe_interval: int = 10,
    progress: bool = True,
) -> VideoQuality:
    """Reconstruct the synthetic videos with every row and record the PSNR per frame.

    Args:
        n_frames, size, split, seed: the videos (:func:`synthetic_videos`).
        chains: label -> fitted video pipeline (default: ``base_only``, and
            :data:`SHIPPED` when :func:`rawkit.pipelines.pretrained` finds video weights).
        baselines: some of ``("blind_unprocess", "srgb_unet", "rbf", "oracle")``.
        keyframe_interval: also run every chain with a keyframe every K frames
            (row ``"<label>, keyframes/K"``); 0: not.
        progress: print a line per row.

    Returns:
        A :class:`VideoQuality`.
    """
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise ValueError(f"baselines: expected some of {list(BASELINES)}, got {unknown}")
    videos = synthetic_videos(split, n_frames=n_frames, size=size, seed=seed)
    if chains is None:
        chains = _default_chains()
    rows: dict[str, tuple[Any, int]] = {}
    for label, pipe in chains.items():
        rows[label] = (pipe, 0)
        if keyframe_interval:
            rows[f"{label}, keyframes/{keyframe_interval}"] = (
                _with_keyframes(pipe, keyframe_interval),
                keyframe_interval,
            )
    curves: dict[str, np.ndarray] = {}
    stored: dict[str, list[int]] = {}
    seconds: dict[str, float] = {}
    for label, (pipe, k) in rows.items():
        t0, out = time.perf_counter(), []
        for v in videos:
            raw = pipe.reconstruct(v.srgb, metadata=pipe.encode_metadata(v.packed, v.srgb))
            out.append(quality_over_time(raw, v.packed))
        curves[label], stored[label] = np.stack(out), keyframe_indices(n_frames, k)
        seconds[label] = time.perf_counter() - t0
        if progress:  # the mean over the frames not stored, as the table's
            keep = [t for t in range(n_frames) if t not in stored[label]]
            print(f"{label}: {curves[label][:, keep].mean():.2f} dB ({seconds[label]:.0f} s)")
    per_frame: dict[str, Pipeline] = {}
    if "blind_unprocess" in baselines:
        per_frame["blind_unprocess"] = get("blind_unprocess")()
    if "srgb_unet" in baselines:
        per_frame["srgb_unet"] = pretrained("srgb_unet")
    if "rbf" in baselines:
        rbf = get("rbf_metadata")
        per_frame["rbf"] = rbf(rbf.Config.from_dict(dict(rbf.variants["rbf"])))
    for label, pipe in per_frame.items():
        t0, out = time.perf_counter(), []
        for v in videos:
            frames = []
            for t in range(n_frames):
                meta = (
                    pipe.encode_metadata(v.packed[t], v.srgb[t]) if pipe.stores_metadata else None
                )
                frames.append(pipe.reconstruct(v.srgb[t], metadata=meta))
            out.append(quality_over_time(np.stack(frames), v.packed))
        curves[label], stored[label] = np.stack(out), [0]
        seconds[label] = time.perf_counter() - t0
        if progress:
            print(f"{label}: {curves[label][:, 1:].mean():.2f} dB ({seconds[label]:.0f} s)")
    if "oracle" in baselines:
        t0 = time.perf_counter()
        out = []
        for v in videos:
            raw, _ = unprocess(torch.from_numpy(v.srgb).double(), camera=v.camera,
                               params=v.params, layout="packed")  # fmt: skip
            out.append(quality_over_time(raw.float().numpy(), v.packed))
        curves["oracle"], stored["oracle"] = np.stack(out), [0]
        seconds["oracle"] = time.perf_counter() - t0
    return VideoQuality(
        curves=curves, stored=stored, seconds=seconds,
        videos=[f"{v.motion}:{v.photo}" for v in videos], n_frames=n_frames, size=tuple(size),  # type: ignore[arg-type]
    )  # fmt: skip


def format_video_table(result: VideoQuality, *, chain: str | Sequence[str] | None = None) -> str:
    """A text table of :class:`VideoQuality` and the goals for the row(s) ``chain``.

    Goals (the FAGDN pipeline's): chain mean >= U-Net + 3 dB and >= RBF 1/256; drop
    from frame 2 to frame T < 2 dB; with keyframes, frame T within 0.5 dB of frame 2.
    """
    r = result
    lines = [
        "drop: mean curve at frame 2 minus frame T; drop-oracle: the same minus the oracle's "
        "(the part the content of the frames does not explain)",
        f"{len(r.videos)} videos x {r.n_frames} frames of {r.size[0]}x{r.size[1]} "
        f"({', '.join(r.videos)}); PSNR on packed RAW, dB; mean over frames not stored",
        f"{'row':40s} {'mean':>7s} {'frame 2':>8s} {f'frame {r.n_frames}':>9s} "
        f"{'drop':>6s} {'drop-oracle':>11s} {'s':>6s}",
    ]
    oracle_drop = r.summary("oracle")["drop"] if "oracle" in r.curves else math.nan
    for row in r.curves:
        s = r.summary(row)
        lines.append(f"{row:40s} {s['mean']:7.2f} {s['frame2']:8.2f} {s['last']:9.2f} "
                     f"{s['drop']:6.2f} {s['drop'] - oracle_drop:11.2f} "
                     f"{r.seconds[row]:6.0f}")  # fmt: skip
    wanted = [chain] if isinstance(chain, str) else list(chain or [])
    for row in (c for c in wanted if c in r.curves):
        lines += _goal_lines(r, row, oracle_drop)
    return "\n".join(lines)


def _goal_lines(r: VideoQuality, row: str, oracle_drop: float) -> list[str]:
    """The goal lines of one chain row."""
    lines: list[str] = []
    s = r.summary(row)
    lines.append(f"goals for {row!r}:")
    if "srgb_unet" in r.curves:
        u = r.summary("srgb_unet")["mean"]
        lines.append(f"  mean >= U-Net + 3 dB ({u + 3:.2f}): {s['mean']:.2f} "
                     f"{'met' if s['mean'] >= u + 3 else 'missed'}")  # fmt: skip
    if "rbf" in r.curves:
        b = r.summary("rbf")["mean"]
        lines.append(f"  mean >= RBF 1/256 ({b:.2f}): {'met' if s['mean'] >= b else 'missed'}")
    lines.append(f"  drop frame 2 -> {r.n_frames} < 2 dB: {s['drop']:.2f} "
                 f"{'met' if s['drop'] < 2 else 'missed'}")  # fmt: skip
    keyed = [k for k in r.curves if k.startswith(f"{row}, keyframes/")]
    for k in keyed:
        ks = r.summary(k)
        gap = ks["frame2"] - ks["last"]
        lines.append(f"  {k}: frame {r.n_frames} within 0.5 dB of frame 2: gap {gap:.2f} "
                     f"{'met' if gap <= 0.5 else 'missed'} (minus the oracle's drop: "
                     f"{gap - oracle_drop:.2f})")  # fmt: skip
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rawkit.bench.video``: print the table (see the module notes)."""
    p = argparse.ArgumentParser(
        prog="python -m rawkit.bench.video", description=__doc__.split("\n")[0]
    )
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--size", type=int, nargs=2, default=(128, 192))
    p.add_argument("--split", default="test")
    p.add_argument("--pipeline", action="append", default=[],
                   help="LABEL=FOLDER of a saved video pipeline (repeatable)")  # fmt: skip
    p.add_argument("--keyframes", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    chains = _default_chains() if not a.pipeline else {"base_only": VideoPipeline.base_only()}
    for item in a.pipeline:
        label, _, folder = item.partition("=")
        chains[label] = VideoPipeline.load(folder)
    r = run_video_quality(n_frames=a.frames, size=tuple(a.size), split=a.split, chains=chains,
                          keyframe_interval=a.keyframes)  # fmt: skip
    print(format_video_table(r, chain=list(chains)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
