"""What the video pipeline's test modules share: a tiny config, the video fixture, CLI inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rawkit.data import SyntheticVideo, synthesize_video
from rawkit.io import write_dng, write_image

#: VideoConfig settings that train in a fraction of a second (small net, small crops).
TINY: dict[str, Any] = {
    "width": 4, "depth": 2, "patch": 2, "confidence_width": 4, "crop": 44, "batch_size": 2,
}  # fmt: skip


def video_fixture(photo: str, *, motion: str, seed: int, size: tuple[int, int]) -> Any:
    """A module-scoped ``video`` fixture: 5 frames of ``photo`` synthesized once per module."""

    @pytest.fixture(scope="module")
    def video() -> SyntheticVideo:
        return synthesize_video(photo, n_frames=5, motion=motion, seed=seed, size=size)

    return video


def write_cli_inputs(
    video: SyntheticVideo, folder: Path, *, n_frames: int = 3
) -> tuple[Path, Path]:
    """The ``derender-video`` command's inputs: a folder of 8-bit sRGB PNG frames and the
    first frame's RAW as a DNG.  Returns ``(frames folder, DNG path)``."""
    frames = folder / "frames"
    frames.mkdir()
    for t in range(n_frames):
        write_image(frames / f"{t}.png", video.srgb[t], bit_depth=8)
    cam = video.camera
    first = write_dng(
        folder / "first.dng", video.raw[0], pattern=video.pattern, black_level=cam.black_level,
        white_level=cam.white_level, as_shot_neutral=[1.0, 1.0, 1.0], color_matrix=cam.xyz_to_cam,
    )  # fmt: skip
    return frames, first
