"""The recipe of the shipped ``video`` weights: FAGDN trained on synthetic videos.

``python -m rawkit.weights.video_recipe --out FOLDER [--base warped] [--steps N] ...``
trains :class:`rawkit.pipelines.video.VideoPipeline` on its default training set
(:meth:`~rawkit.pipelines.video.VideoPipeline.synthetic_training_data`: one 8-frame
192x256 video of every train-split photo, the benchmark camera), validates the whole
chain on the validation split's videos every ``--val-every`` steps (10 frames of
128x192 each, the flows computed once) and keeps the weights of the best validation
(``info["curve"]``, ``info["best_step"]``), saves them as float16 and writes
``card.json``: the settings, the curve, the chain PSNR of the saved weights on the
validation videos and on the test videos (30 frames, as ``python -m rawkit.bench.video``)
beside the calibrated base alone on the same frames, the CPU seconds and the command.

Example:
    >>> from rawkit.weights.video_recipe import chain_psnr
    >>> from rawkit.pipelines.video import VideoPipeline, synthetic_videos
    >>> vs = synthetic_videos("test", n_frames=3, size=(32, 48))[:1]
    >>> chain_psnr(VideoPipeline.base_only(), vs) > 40
    True
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["ABLATIONS", "VAL_VIDEOS", "TEST_VIDEOS", "chain_psnr", "main", "train_video"]

#: The switches of Table 3's rows, in the paper's order (each turned off alone).
ABLATIONS = ("warping", "confidence", "gla", "aux_loss")

#: ``(n_frames, size)`` of the validation and test videos of the recipe.
VAL_VIDEOS: tuple[int, tuple[int, int]] = (10, (128, 192))
TEST_VIDEOS: tuple[int, tuple[int, int]] = (30, (128, 192))


def chain_psnr(pipe: Any, videos: Sequence[Any]) -> float:
    """Mean over ``videos`` of the mean PSNR (dB, packed RAW, range 1) of frames ``1..T-1``
    of ``pipe``'s chain from the stored frame 0 (:meth:`VideoPipeline.reconstruct`)."""
    from rawkit.pipelines.video import quality_over_time

    curves = []
    with torch.no_grad():
        for v in videos:
            raw = pipe.reconstruct(v.srgb, metadata=pipe.encode_metadata(v.packed, v.srgb))
            curves.append(np.asarray(quality_over_time(raw, v.packed))[1:].mean())
    return float(np.mean(curves))


def train_video(
    *, base: str = "warped", steps: int = 12000, lr: float = 1e-3, seed: int = 0,
    reference_noise: float = 0.0, width: int = 8, depth: int = 3, patch: int = 8,
    crop: int = 96, batch_size: int = 4, val_every: int = 500, progress: bool = True,
    ablation: str | None = None, rollout: int = 0,
) -> Any:  # fmt: skip
    """Fit the ``video`` pipeline as the recipe does (module notes); returns it.

    ``ablation``: one of :data:`ABLATIONS` (a row of Table 3: that switch of
    :class:`~rawkit.pipelines.video.VideoConfig` turned off), or None.
    """
    from rawkit.pipelines.video import VideoConfig, VideoPipeline, synthetic_videos, video_pairs

    torch.set_num_threads(1)
    cfg = VideoConfig(
        base=base, width=width, depth=depth, patch=patch, confidence_width=8, crop=crop,
        batch_size=batch_size, steps=steps, lr=lr, reference_noise=reference_noise,
        val_every=val_every, rollout=rollout,
    )  # fmt: skip
    if ablation is not None:
        if ablation not in ABLATIONS:
            raise ValueError(f"ablation: expected one of {list(ABLATIONS)}, got {ablation!r}")
        cfg = cfg.replace(**{ablation: False})
    n, size = VAL_VIDEOS
    val = video_pairs(synthetic_videos("val", n_frames=n, size=size))
    return VideoPipeline.fit(
        VideoPipeline.synthetic_training_data(), cfg, seed=seed, progress=progress, val_data=val
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (module notes)."""
    from rawkit.pipelines import Pipeline
    from rawkit.pipelines.video import VideoPipeline, synthetic_videos
    from rawkit.weights.recipes import write_card

    ap = argparse.ArgumentParser(prog="python -m rawkit.weights.video_recipe", description=__doc__)
    ap.add_argument("--out", required=True, help="folder of the saved pipeline")
    ap.add_argument("--base", default="warped", choices=["warped", "keyframe"])
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference-noise", type=float, default=0.0)
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--patch", type=int, default=8, help="GLA patch side at the first level")
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--ablation", choices=ABLATIONS, help="a Table 3 row: turn this switch off")
    ap.add_argument("--rollout", type=int, default=0, help="VideoConfig.rollout (0: the paper)")
    ap.add_argument("--overwrite", action="store_true", help="replace a saved pipeline in --out")
    a = ap.parse_args(argv)
    if (Path(a.out) / "pipeline.json").exists() and not a.overwrite:  # before, not after, training
        ap.error(f"--out: {a.out} holds a saved pipeline; pass --overwrite to replace it")
    command = "python -m rawkit.weights.video_recipe " + " ".join(
        str(x) for x in (argv if argv is not None else sys.argv[1:])
    )
    pipe = train_video(
        base=a.base, steps=a.steps, lr=a.lr, seed=a.seed, reference_noise=a.reference_noise,
        width=a.width, depth=a.depth, patch=a.patch, val_every=a.val_every, ablation=a.ablation,
        rollout=a.rollout,
    )  # fmt: skip
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    pipe.save(a.out, dtype="float16", overwrite=a.overwrite)
    saved = Pipeline.load(a.out)
    base = VideoPipeline.base_only()
    card: dict[str, Any] = {
        "name": "video", "formulation": a.base, "ablation": a.ablation,
        "config": dict(pipe.config.to_dict()),
        "steps": a.steps, "lr": a.lr, "seed": a.seed, "reference_noise": a.reference_noise, "rollout": a.rollout,
        "curve": pipe.info.get("curve"), "best_step": pipe.info.get("best_step"),
        "val_chain_psnr_float32": pipe.info.get("best_val_psnr"),
        "data": "VideoPipeline.synthetic_training_data(): one 8-frame 192x256 video per "
                "train-split photo, camera nikon_d5100, sensor noise, 8-bit sRGB",
        "dtype": "float16", "command": command, "cpu_seconds": cpu,
    }  # fmt: skip
    for split, (n, size) in (("val", VAL_VIDEOS), ("test", TEST_VIDEOS)):
        videos = synthetic_videos(split, n_frames=n, size=size)
        card[f"{split}_chain_psnr"] = chain_psnr(saved, videos)
        card[f"{split}_base_alone_chain_psnr"] = chain_psnr(base, videos)
        card[f"{split}_videos"] = f"{len(videos)} videos x {n} frames of {size[0]}x{size[1]}"
    write_card(a.out, card)
    print(json.dumps(card, indent=2, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
