"""The papers' full pipelines, composed from rawkit's ops, data, search, prior and nets.

* :mod:`rawkit.pipelines.priorraw` - PriorRAW (``000_*``): Alg. 1 encoder training by
  softmax assembly, Alg. 2 prior bank, Alg. 3 reconstructor with the loss of Eq. 9,
  tiled reconstruction, and :class:`PriorRAWPipeline` (save / load / reconstruct).
* :mod:`rawkit.pipelines.unet_baseline` - the AIM 2022 baseline U-Net: training on
  synthetic pairs or an AIM22 folder, prediction, submission folders.
* :mod:`rawkit.pipelines.baselines` - the baselines of every comparison: blind
  ``unprocess`` and uniform-sampling metadata with RBF interpolation.
* :mod:`rawkit.pipelines.tiling` - tiled inference with overlap and blending.

Typical use (a few minutes on a CPU with small settings)::

    from rawkit.data import SyntheticPairs
    from rawkit.pipelines import priorraw
    train = SyntheticPairs("train", camera="nikon_d5100", max_side=256, pairs_per_photo=4)
    pipe = priorraw.train_pipeline(train, encoder_steps=200, n_clusters=2000,
                                   group_size=20, steps=300)
    pipe.save("runs/priorraw")
    raw = priorraw.PriorRAWPipeline.load("runs/priorraw").reconstruct(srgb)  # (4, H/2, W/2)
"""

import errno
import os
from pathlib import Path

from rawkit.pipelines import baselines, blind, priorraw, tiling, unet_baseline  # noqa: F401 (blind registers)
from rawkit.pipelines._common import Pair, RandomCrops, TrainResult, as_pairs, module_id
from rawkit.pipelines.base import (
    Pipeline,
    PipelineConfig,
    PipelineConfigError,
    PipelineFormatError,
    register,
    registry,
)
from rawkit.pipelines.baselines import (
    SampledMetadata,
    blind_unprocess,
    rbf_reconstruct,
    typical_params,
    uniform_sampling_metadata,
)
from rawkit.pipelines.priorraw import PriorRAWPipeline, reconstruct, train_pipeline
from rawkit.pipelines.tiling import tiled_apply
from rawkit.pipelines.unet_baseline import predict, train_unet, write_submission

__all__ = [
    "Pipeline",
    "PipelineConfig",
    "PipelineConfigError",
    "PipelineFormatError",
    "available",
    "get",
    "pretrained",
    "register",
    "Pair",
    "PriorRAWPipeline",
    "RandomCrops",
    "SampledMetadata",
    "TrainResult",
    "as_pairs",
    "baselines",
    "blind_unprocess",
    "module_id",
    "predict",
    "priorraw",
    "rbf_reconstruct",
    "reconstruct",
    "tiled_apply",
    "tiling",
    "train_pipeline",
    "train_unet",
    "typical_params",
    "uniform_sampling_metadata",
    "unet_baseline",
    "write_submission",
]


#: Where shipped, converged weights live: ``rawkit/weights/<name>/`` (a saved pipeline).
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def available() -> list[str]:
    """The names of the registered pipelines, sorted.

    Example:
        >>> "blind_unprocess" in available()
        True
    """
    return sorted(registry())


def get(name: str) -> type[Pipeline]:
    """The pipeline class registered under ``name``.

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: an unknown name (the message lists the registered ones).

    Example:
        >>> get("blind_unprocess").learned
        False
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    reg = registry()
    if name not in reg:
        raise ValueError(f"name: unknown pipeline {name!r}; expected one of {sorted(reg)}")
    return reg[name]


def pretrained(name: str) -> Pipeline:
    """The pipeline ``name`` with its shipped weights (``rawkit/weights/<name>/``).

    Methods that learn nothing need no weights: their default configuration is
    returned.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: no weights are shipped for a learned pipeline (the message
            says how to train them).
    """
    cls = get(name)
    if not cls.learned:
        return cls()
    folder = WEIGHTS_DIR / name
    if not (folder / "pipeline.json").is_file():
        raise FileNotFoundError(
            errno.ENOENT,
            f"no shipped weights for pipeline {name!r} in this rawkit; train them with "
            f"`rawkit train {name} -o FOLDER` (or {cls.__name__}.fit(data)) and load them "
            "with rawkit.pipelines.Pipeline.load(FOLDER)",
            os.fspath(folder),
        )
    return Pipeline.load(folder)
