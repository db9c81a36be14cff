"""The benchmark's pairs: one seeding scheme for the bench, the demo, ``rawkit train``
and the recipes of the shipped weights.

:func:`synthetic_pairs` makes ``per_photo`` pairs of every photo of a list, pair ``k``
of photo ``i`` with the seed ``SeedSequence([seed, split, stream, i, k])``;
:func:`benchmark_pairs` is the benchmark camera's fixed splits
(:data:`rawkit.data.SPLITS`) made that way: 4 pairs per train photo, 2 per validation
and test photo, 256 pixels on the long side, ``seed=0``; split index 0 (train), 1 (test),
2 (validation).  ``rawkit bench quality --preset default`` evaluates on exactly the test
pairs that the shipped weights' cards report.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rawkit._checks import check_choice, check_seed
from rawkit.data.photos import photo_names
from rawkit.data.presets import DATA_PRESETS
from rawkit.data.synth import SyntheticPair, resolve_camera, synthesize
from rawkit.isp import CameraModel

__all__ = ["BENCHMARK_CAMERA", "SPLIT_INDEX", "benchmark_pairs", "pair_seed", "synthetic_pairs"]

#: The benchmark camera (a built-in camera's name).
BENCHMARK_CAMERA = "nikon_d5100"
#: The ``split`` number of each split in the seeds of :func:`synthetic_pairs`.
SPLIT_INDEX: dict[str, int] = {"train": 0, "test": 1, "val": 2}


def pair_seed(seed: int, split: int, stream: int, photo: int, pair: int) -> int:
    """The seed of one pair: ``SeedSequence([seed, split, stream, photo, pair])``'s first word.

    Example:
        >>> pair_seed(0, 0, 0, 0, 0) == pair_seed(0, 0, 0, 0, 0) != pair_seed(0, 0, 0, 0, 1)
        True
    """
    return int(np.random.SeedSequence([seed, split, stream, photo, pair]).generate_state(1)[0])


def synthetic_pairs(
    photos: Sequence[str],
    *,
    camera: CameraModel | str,
    per_photo: int,
    max_side: int,
    render: str = "rawkit",
    seed: int = 0,
    split: int = 0,
    stream: int = 0,
    preset: str = "default",
) -> list[SyntheticPair]:
    """``per_photo`` synthetic pairs of every photo, each with its own seed (module notes).

    Args:
        photos: bundled photo names (:func:`rawkit.data.photo_names`).
        camera: camera model or built-in camera name.
        per_photo: pairs per photo (each its own illuminant, noise...).
        max_side: photos are shrunk to this longer side.
        render, preset: as :func:`rawkit.data.synthesize`.
        seed, split, stream: the first three words of every pair's seed.

    Returns:
        ``len(photos) * per_photo`` pairs, photo by photo.

    Example:
        >>> a = synthetic_pairs(["coffee"], camera="nikon_d5100", per_photo=2, max_side=32)
        >>> len(a), a[0].seed != a[1].seed, a[0].packed.shape[0]
        (2, True, 4)
    """
    cam = resolve_camera(camera)
    for name, v in (("seed", seed), ("split", split), ("stream", stream)):
        check_seed(v, name)
    return [
        synthesize(
            photo, camera=cam, seed=pair_seed(seed, split, stream, i, k), render=render,  # type: ignore[arg-type]
            max_side=max_side, preset=preset,
        )
        for i, photo in enumerate(photos)
        for k in range(per_photo)
    ]  # fmt: skip


def benchmark_pairs(
    split: str,
    *,
    preset: str = "default",
    per_photo: int | None = None,
    max_side: int = 256,
) -> list[SyntheticPair]:
    """The benchmark camera's pairs of one split (module notes).

    Args:
        split: ``"train"``, ``"val"`` or ``"test"`` (the out-of-domain photos are not
            a benchmark split).
        preset: the data preset (:data:`rawkit.data.DATA_PRESETS`).
        per_photo: pairs per photo (default 4 for train, 2 otherwise).
        max_side: photos are shrunk to this longer side.

    Example:
        >>> from rawkit.data import SPLITS
        >>> p = benchmark_pairs("test", per_photo=1, max_side=32)
        >>> len(p) == len(SPLITS["test"]), p[0].photo
        (True, 'kodim05')
    """
    check_choice(split, list(SPLIT_INDEX), "split")
    check_choice(preset, DATA_PRESETS, "preset")
    n = per_photo if per_photo is not None else (4 if split == "train" else 2)
    return synthetic_pairs(
        photo_names(split), camera=BENCHMARK_CAMERA, per_photo=n, max_side=max_side,  # type: ignore[arg-type]
        split=SPLIT_INDEX[split], preset=preset,
    )  # fmt: skip
