"""Shared parts of the datasets of :mod:`rawkit.data.datasets` (private to ``rawkit.data``).

The base class with the crop/flip settings and the per-item generators, the crop size
check, and the helpers that find and read the files of a dataset folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from rawkit.io import FileFormatError, read_image, read_raw
from rawkit.isp import gains_from_neutral

_SRGB_SUFFIXES = (".png", ".jpg", ".jpeg")


def _crop_size(crop: Any) -> tuple[int, int] | None:
    if crop is None:
        return None
    if isinstance(crop, int) and not isinstance(crop, bool):
        crop = (crop, crop)
    try:
        ch, cw = (int(v) for v in crop)
    except (TypeError, ValueError) as e:
        raise TypeError(f"crop: expected None, an int or (height, width), got {crop!r}") from e
    if ch < 2 or cw < 2 or ch % 2 or cw % 2:
        raise ValueError(f"crop: expected even sizes >= 2, got {crop!r}")
    return ch, cw


class _Augmented(Dataset):
    """Shared crop/flip settings and per-item generators."""

    def __init__(self, crop: Any, even_offsets: bool, flips: bool, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
        self.crop = _crop_size(crop)
        self.even_offsets = bool(even_offsets)
        self.flips = bool(flips)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw different crops and flips for another epoch (as ``DistributedSampler``)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch: expected an int >= 0, got {epoch!r}")
        self.epoch = epoch

    def _generator(self, index: int) -> torch.Generator:
        state = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(2)
        return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))

    def _augment(self, sample: dict[str, Any], index: int) -> dict[str, Any]:
        from rawkit.data.datasets import random_crop_flip  # (datasets imports this module)

        return random_crop_flip(
            sample,
            crop=self.crop,
            generator=self._generator(index),
            even_offsets=self.even_offsets,
            flips=self.flips,
        )

    def _index(self, index: int) -> int:
        n = len(self)  # type: ignore[arg-type]
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index: expected an int, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} items")
        return int(index) % n


def _check_root(root: Any, what: str) -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root: expected a str or os.PathLike, got {type(root).__name__}")
    p = Path(root)
    if not p.is_dir():
        raise FileNotFoundError(2, f"no such folder ({what})", str(p))
    return p


def _srgb_size_check(srgb: np.ndarray, mosaic_hw: tuple[int, int], path: Path) -> None:
    if tuple(srgb.shape[-2:]) != mosaic_hw:
        raise ValueError(
            f"{path}: sRGB is {srgb.shape[-2]}x{srgb.shape[-1]} but its RAW is "
            f"{mosaic_hw[0]}x{mosaic_hw[1]} at full resolution"
        )


def _numeric_key(p: Path) -> tuple[int, int, str]:
    stem = p.stem
    return (0, int(stem), stem) if stem.isdigit() else (1, 0, stem)


def _find_srgb(folder: Path, stem: str) -> Path | None:
    for suffix in _SRGB_SUFFIXES:
        for cand in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if cand.is_file():
                return cand
    return None


def _read_srgb(path: Path) -> np.ndarray:
    image, _ = read_image(path)
    if image.shape[0] != 3:
        raise FileFormatError(path, f"expected an RGB image, got {image.shape[0]} channels")
    return image


def _dng_sample(path: Path) -> dict[str, Any]:
    img = read_raw(path)
    sample: dict[str, Any] = {
        "mosaic": torch.from_numpy(img.mosaic),
        "pattern": img.pattern,
    }
    if img.as_shot_neutral is not None:
        sample["wb_gains"] = gains_from_neutral(list(img.as_shot_neutral)).to(torch.float32)
    if img.color_matrix is not None:
        sample["xyz_to_cam"] = torch.tensor(img.color_matrix, dtype=torch.float32)
    return sample
