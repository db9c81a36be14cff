"""Every setting of PriorRAW in one frozen dataclass, :class:`PriorRAWConfig`.

The Alg. 1, 2 and 3 functions take their defaults from :data:`DEFAULTS`
(``PriorRAWConfig()``), the CLI builds ``rawkit train priorraw`` options from the fields
and the bench presets override fields by name, so no default is written twice.

Table 1's rows are configurations, not classes (:data:`TABLE1`): the reconstructor's
switches (``ablation``) and what Eq. 4 searches at inference (``search``: the compact
bank of Alg. 2, or every reference pixel).
"""

from __future__ import annotations

import dataclasses

from rawkit.nets import ABLATIONS
from rawkit.pipelines._common import SCHEDULES, CropTrainingConfig
from rawkit.pipelines.base import setting

__all__ = ["ABLATION_CHOICES", "DEFAULTS", "SCHEDULES", "SEARCHES", "TABLE1", "PriorRAWConfig"]

#: What Eq. 4 searches at inference: the Alg. 2 bank or the full reference set.
SEARCHES: tuple[str, ...] = ("bank", "full")
#: Reconstructor rows of Table 1 (:data:`rawkit.nets.ABLATIONS`) plus ``"assembled"``:
#: no reconstructor, the RAW assembled by Eq. 4 is the output.
ABLATION_CHOICES: tuple[str, ...] = ("assembled", *ABLATIONS)


@dataclasses.dataclass(frozen=True)
class PriorRAWConfig(CropTrainingConfig):
    """Settings of PriorRAW: the Table 1 row, Alg. 1 (encoder), Alg. 2 (bank), Alg. 3.

    The Alg. 3 training settings (``steps``, ``batch_size``, ``crop``, ``lr``,
    ``schedule`` and Eq. 9's ``alpha``, ``beta``) come from
    ``CropTrainingConfig``, shared with the U-Net.

    Example:
        >>> row = PriorRAWConfig(steps=300).replace(**TABLE1["cluster_group"])
        >>> row.ablation, row.steps, row.uses_prior
        ('assembled', 300, True)
        >>> PriorRAWConfig(ablation="everything")
        Traceback (most recent call last):
        ...
        rawkit.pipelines.configs.PipelineConfigError: ablation: expected one of ['assembled', 'srgb', 'prior_raw', 'reliable_attention', 'non_local'], got 'everything'
    """

    ablation: str = setting(
        "non_local", "Table 1 row (non_local: full PriorRAW)", choices=ABLATION_CHOICES
    )
    search: str = setting("bank", "what Eq. 4 searches at inference", choices=SEARCHES)
    # Alg. 1: the Pixel Searching Encoder and its contrastive training
    encoder_dim: int = setting(
        32, "embedding size of the Pixel Searching Encoder (Eq. 1)", minimum=1
    )
    encoder_width: int = setting(32, "channels of the encoder's residual blocks", minimum=1)
    encoder_blocks: int = setting(2, "residual blocks of the encoder", minimum=1)
    encoder_steps: int = setting(300, "Alg. 1 optimiser steps", minimum=1)
    encoder_batch_size: int = setting(
        28, "Alg. 1 crops per step (targets + their references)", minimum=2
    )
    encoder_targets: int = setting(
        4,
        "Alg. 1 target crops per step, at most encoder_batch_size - 1 (the whole batch "
        "is their reference set)",
        minimum=1,
    )
    encoder_crop: int = setting(48, "Alg. 1 sRGB crop side in pixels (even)", minimum=2, even=True)
    encoder_lr: float = setting(1e-3, "Alg. 1 Adam learning rate", positive=True)
    # Alg. 2: clustering and grouping into the prior bank
    n_clusters: int = setting(5000, "prior bank entries (the paper: 5,000)", minimum=1)
    group_size: int = setting(10, "reference pixels averaged per entry (the paper: 200)", minimum=1)
    niter: int = setting(10, "k-means iterations (faiss)", minimum=1)
    holdout_folds: int = setting(
        2,
        "Alg. 3: training scenes are split into this many folds, and a training image's "
        "Eq. 4 map comes from a bank built without its fold (0: from the bank of all "
        "training images, its own scene included)",
        minimum=0,
    )
    # Alg. 3: the reconstructor and the loss of Eq. 9
    width: int = setting(16, "reconstructor U-Net width", minimum=1)
    depth: int = setting(4, "reconstructor U-Net depth (4: down to 1/16)", minimum=1)
    heads: int = setting(1, "attention heads over the bank (Eq. 8)", minimum=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ablation == "srgb" and self.search != "bank":
            raise ValueError("search: the 'srgb' row searches nothing; expected 'bank'")
        if self.holdout_folds == 1:
            raise ValueError(
                "holdout_folds: one fold leaves no scene for its bank; expected 0 or >= 2"
            )

    @property
    def uses_prior(self) -> bool:
        """Whether this row needs the encoder and the bank (all but ``"srgb"``)."""
        return self.ablation != "srgb"


#: The defaults of every PriorRAW function.
DEFAULTS = PriorRAWConfig()

#: Table 1 of the paper as configurations: row name -> settings that differ from the
#: defaults.  ("sRGB+UNet" is the ``srgb`` row; the sRGB-only U-Net pipeline
#: ``"srgb_unet"`` is the same network as the AIM22 baseline.)
TABLE1: dict[str, dict[str, str]] = {
    "pixel_search": {"ablation": "assembled", "search": "full"},
    "cluster_group": {"ablation": "assembled"},
    "prior_raw": {"ablation": "prior_raw"},
    "reliable_attention": {"ablation": "reliable_attention"},
    "non_local": {"ablation": "non_local"},
    "non_local_full": {"ablation": "non_local", "search": "full"},
}
