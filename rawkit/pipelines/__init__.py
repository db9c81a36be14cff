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

from rawkit.pipelines import baselines, priorraw, tiling, unet_baseline
from rawkit.pipelines._common import Pair, RandomCrops, TrainResult, as_pairs, module_id
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
