r"""PriorRAW end to end (``000_*``): prior-metadata RAW reconstruction, one module per algorithm.

Prior-metadata RAW reconstruction needs no per-image metadata: a bank of RAW values,
built offline from reference RAW images of the same camera, tells the reconstructor
what RAW usually lies behind a given sRGB context.

* :mod:`~rawkit.pipelines.priorraw.alg1` - **Alg. 1**, contrastive training of the
  Pixel Searching Encoder by softmax assembly (Eq. 1-3): :func:`train_encoder`,
  :func:`alg1_loss`;
* :mod:`~rawkit.pipelines.priorraw.alg2` - **Alg. 2**, prior information compression
  (faiss k-means + grouping): :func:`build_bank`, :func:`reference_set`, :func:`encode`;
* :mod:`~rawkit.pipelines.priorraw.alg3` - **Alg. 3**, the reconstructor (Eq. 4-8 and
  a U-Net) with the loss of Eq. 9: :func:`train_reconstructor`, :func:`reconstruct`,
  :func:`assemble_raw`;
* :mod:`~rawkit.pipelines.priorraw.config` - every setting in :class:`PriorRAWConfig`
  and Table 1 as configurations (:data:`TABLE1`);
* :mod:`~rawkit.pipelines.priorraw.pipeline` - :class:`PriorRAW`, the registered
  pipeline ``"priorraw"`` composing them (fit, tiled reconstruct, save/load).

Typical use::

    from rawkit.data import SyntheticPairs
    from rawkit.pipelines import PriorRAW, PriorRAWConfig
    train = SyntheticPairs("train", camera="nikon_d5100", max_side=256, pairs_per_photo=4)
    pipe = PriorRAW.fit(train, PriorRAWConfig(encoder_steps=200, n_clusters=2000, steps=300))
    pipe.save("runs/priorraw")
    raw = Pipeline.load("runs/priorraw").reconstruct(srgb)  # (4, H/2, W/2)
"""

from rawkit.pipelines.priorraw.alg1 import alg1_loss, build_encoder, train_encoder
from rawkit.pipelines.priorraw.alg2 import build_bank, encode, reference_set
from rawkit.pipelines.priorraw.alg3 import (
    assemble_raw,
    reconstruct,
    reconstruct_tile,
    train_reconstructor,
)
from rawkit.pipelines.priorraw.config import (
    ABLATION_CHOICES,
    SEARCHES,
    TABLE1,
    PriorRAWConfig,
)
from rawkit.pipelines.priorraw.pipeline import PriorRAW

__all__ = [
    "ABLATION_CHOICES",
    "SEARCHES",
    "TABLE1",
    "PriorRAW",
    "PriorRAWConfig",
    "alg1_loss",
    "assemble_raw",
    "build_bank",
    "build_encoder",
    "encode",
    "reconstruct",
    "reconstruct_tile",
    "reference_set",
    "train_encoder",
    "train_reconstructor",
]
