"""Reference networks of the reverse-ISP papers, and the shared training loop.

* :class:`UNet` - sRGB -> packed RAW ``(*, 4, H/2, W/2)`` or RAW-RGB ``(*, 3, H, W)``;
  the AIM 2022 baseline and PriorRAW's sRGB-only row (:mod:`rawkit.nets.unet`);
* :class:`PixelSearchEncoder` - unit-norm per-pixel embeddings at half resolution
  (PriorRAW Sec. 3.2, Eq. 1; :mod:`rawkit.nets.encoder`);
* :class:`PriorRAWNet` - PriorRAW's reconstructor: assembly (Eq. 4), distance (Eq. 5),
  fusion (Eq. 6), reliable attention (Eq. 7), attention over the bank (Eq. 8) and a
  U-Net with a sigmoid head, with the Table 1 ablation switches
  (:mod:`rawkit.nets.priorraw`);
* :class:`FAGDN` - FAGDN's video de-rendering step: confidence head (Eq. 6), two
  encoders (Eq. 7) with Global and Local feature Aggregation (Fig. 6), decoder with
  auxiliary outputs (Eq. 8), with the Table 3 ablation switches (:mod:`rawkit.nets.fagdn`);
* :func:`train` and its companions are re-exported from :mod:`rawkit.engine`, the
  generic training engine (seeded, resumable, DDP under ``torchrun``), which sits
  before ``nets`` in the dependency order.

Networks take and return tensors ``(*, C, H, W)`` on the device of their parameters;
each has a ``config`` dict that rebuilds it (``type(net)(**net.config)``) and a
``seed=`` argument for a reproducible initialisation.
"""

from rawkit.engine import (
    CHECKPOINT_PATTERN,
    DistInfo,
    LossFn,
    TrainHistory,
    TrainingState,
    ValFn,
    cleanup_distributed,
    distributed_context,
    init_distributed,
    latest_checkpoint,
    load_training_state,
    train,
)
from rawkit.nets.assembly import BankTensors, assemble_prior, distance_map
from rawkit.nets.base import BASES, GenericInverseBase
from rawkit.nets.encoder import PixelSearchEncoder, ResidualBlock
from rawkit.nets.fagdn import FAGDN, GLA, ConfidenceHead, FAGDNOutput
from rawkit.nets.metadata_codec import MetadataCodecNet
from rawkit.nets.overexposure import (
    FusionOutput,
    OverexposureFusionNet,
    fuse,
    laplacian_pyramid,
    laplacian_pyramid_loss,
    remosaic_pack,
)
from rawkit.nets.priorraw import (
    ABLATIONS,
    Ablation,
    BankAttention,
    PriorRAWNet,
    PriorRAWOutput,
)
from rawkit.nets.unet import HEADS, OUTPUTS, Head, Output, UNet, count_parameters

__all__ = [
    "ABLATIONS",
    "BASES",
    "CHECKPOINT_PATTERN",
    "HEADS",
    "OUTPUTS",
    "Ablation",
    "BankAttention",
    "BankTensors",
    "DistInfo",
    "FAGDN",
    "FAGDNOutput",
    "ConfidenceHead",
    "GLA",
    "GenericInverseBase",
    "Head",
    "LossFn",
    "MetadataCodecNet",
    "Output",
    "FusionOutput",
    "OverexposureFusionNet",
    "PixelSearchEncoder",
    "PriorRAWNet",
    "PriorRAWOutput",
    "ResidualBlock",
    "TrainHistory",
    "TrainingState",
    "UNet",
    "ValFn",
    "assemble_prior",
    "cleanup_distributed",
    "count_parameters",
    "distance_map",
    "distributed_context",
    "fuse",
    "init_distributed",
    "laplacian_pyramid",
    "laplacian_pyramid_loss",
    "latest_checkpoint",
    "load_training_state",
    "remosaic_pack",
    "train",
]
