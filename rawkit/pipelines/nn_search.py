r"""Raw-value nearest-neighbour search as a pipeline: ``"nn_search"``, the plain baseline.

For every 2x2 block of the target sRGB, the ``k`` training blocks with the closest 12
sRGB values (faiss, exact L2) give their packed RAW, averaged
(:func:`rawkit.search.nearest.nearest_raw`).  "Training" only collects the reference
blocks (a seeded subsample of at most ``max_references``); nothing is optimised.  It is
what PriorRAW's Eq. 4 would assemble with raw sRGB distance instead of a learned
embedding, so a learned Pixel Searching Encoder (Alg. 1) has to beat it.

Example:
    >>> import torch
    >>> from rawkit.data import synthesize
    >>> pairs = [synthesize(n, camera="nikon_d5100", seed=0, max_side=48) for n in ("kodim01", "kodim02")]
    >>> pipe = NNSearch.fit(pairs, progress=False)
    >>> pipe.reconstruct(pairs[0].srgb).shape
    (4, 16, 24)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch

from rawkit.data import PairSet
from rawkit.pipelines.base import Pipeline, PipelineConfig, register, setting
from rawkit.search.nearest import BlockIndex, build_block_index, nearest_raw

__all__ = ["NNSearch", "NNSearchConfig"]


@dataclasses.dataclass(frozen=True)
class NNSearchConfig(PipelineConfig):
    """Settings of :class:`NNSearch`."""

    k: int = setting(16, "reference blocks averaged per target block")
    max_references: int = setting(200_000, "reference blocks kept (seeded uniform subsample)")


@register
class NNSearch(Pipeline):
    """Nearest-neighbour search on the 12 sRGB values of each 2x2 block (module notes)."""

    name = "nn_search"
    Config = NNSearchConfig
    learned = True
    description = "raw-value nearest-neighbour search on 2x2 sRGB blocks (faiss, k nearest)"
    tileable = True
    tile = 1024
    overlap = 0
    config: NNSearchConfig

    def __init__(self, config: NNSearchConfig | None = None) -> None:
        super().__init__(config)
        self.index: BlockIndex | None = None

    def _fit(self, data: PairSet, *, seed: int, progress: bool) -> None:
        self.index = build_block_index(data, max_references=self.config.max_references, seed=seed)
        self.info.update({"references": len(self.index), "train_pairs": len(data)})

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        assert self.index is not None
        k = min(self.config.k, len(self.index))
        return nearest_raw(srgb.float(), index=self.index, k=k)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        assert self.index is not None
        return {"keys": self.index.keys, "values": self.index.values}

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        if set(tensors) != {"keys", "values"}:
            raise ValueError(
                f"nn_search: expected tensors 'keys' and 'values', got {sorted(tensors)}"
            )
        self.index = BlockIndex(
            tensors["keys"].float().contiguous(), tensors["values"].float().contiguous()
        )
