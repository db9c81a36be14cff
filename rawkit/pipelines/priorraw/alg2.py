r"""Alg. 2 of PriorRAW: prior information compression (clustering and grouping).

The paper's box, line by line, and where each line is here::

    1: procedure PRIORINFORMATIONCOMPRESSION(data_r, Encoder)   build_bank(encoder, data)
    2:   f_rAll <- [Encoder(sRGB_r) for sRGB_r in data_r]        encode (tiled, _frozen)
    3:   RAW_rAll <- [RAW_r ...]                                 the packed RAW as is
    4:   sRGB_rAll <- [sRGB_r ...]                               2x2 means on the grid
    5:   clusters <- KMeansClustering(f_rAll)                    faiss spherical k-means
    6:   for each cluster in clusters do                         (rawkit.prior.build_prior_bank)
    7:     near_idx <- selectNearest(cluster, group_size)        nearest group_size pixels
    8-10:  RAW_avg, sRGB_avg, f_avg <- mean(near_idx, ...)       averaged entries
    11:    store(RAW_avg, sRGB_avg, f_avg, prior)                a rawkit.prior.PriorBank

:func:`reference_set` keeps every reference pixel instead: the full reference set that
Alg. 2 compresses ("Pixel Searching" in Table 1).

Example:
    >>> import torch
    >>> from rawkit.pipelines.priorraw.alg1 import build_encoder
    >>> enc = build_encoder(dim=8, width=8, blocks=1)
    >>> full = reference_set(enc, [(torch.rand(3, 8, 12), torch.rand(4, 4, 6))])
    >>> len(full), full.dim
    (24, 8)
    >>> encode(torch.rand(3, 36, 44), encoder=enc, tile=24, overlap=8).shape
    torch.Size([8, 18, 22])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from rawkit._tensor import Array
from rawkit.data.pairs import PairSet
from rawkit.nets import PixelSearchEncoder
from rawkit.pipelines._common import module_id
from rawkit.pipelines.base import check_srgb
from rawkit.pipelines.priorraw.alg1 import _check_encoder, _device_of, _frozen
from rawkit.pipelines.priorraw.config import DEFAULTS
from rawkit.pipelines.tiling import tiled_apply
from rawkit.prior import PriorBank, build_prior_bank

__all__ = ["build_bank", "encode", "reference_set"]


def encode(
    srgb: Array,
    *,
    encoder: PixelSearchEncoder,
    tile: int = 512,
    overlap: int = 32,
    device: torch.device | str | None = None,
) -> Array:
    """Line 2: the _frozen encoder's features, tiled: ``(*, 3, H, W) -> (*, C, H/2, W/2)``.

    Not differentiable (inference).  NumPy in -> NumPy out.
    """
    check_srgb(srgb)
    enc = _frozen(_check_encoder(encoder), _device_of(device, encoder))
    dev = _device_of(device, enc)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return enc(t.to(dev, torch.float32)).to(t.device)

    return tiled_apply(fn, srgb, tile=tile, overlap=overlap, downsample=2, multiple=2)


def _reference_batches(
    pairs: PairSet, encoder: PixelSearchEncoder, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Lines 2-4: ``(features, srgb, packed)`` of every reference image, one at a time."""
    for p in pairs:
        f = encode(p.srgb, encoder=encoder, device=device)
        yield f[None].cpu(), p.srgb[None], p.packed[None]  # type: ignore[index]


def build_bank(
    encoder: PixelSearchEncoder,
    data: Any,
    *,
    n_clusters: int = DEFAULTS.n_clusters,
    group_size: int = DEFAULTS.group_size,
    niter: int = DEFAULTS.niter,
    seed: int = 0,
    n_threads: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> PriorBank:
    """Alg. 2: the prior bank of a reference set, with the _frozen encoder (module notes).

    The bank records the encoder's fingerprint (``encoder_id``,
    :func:`rawkit.pipelines.module_id`).

    Args:
        encoder: the trained encoder (_frozen here).
        data: the reference images (:class:`rawkit.data.PairSet` or what it takes).
        n_clusters: bank entries (the paper: 5,000); at most the number of reference
            pixels (``H/2 x W/2`` per image).
        group_size: reference pixels averaged per entry.
        niter, seed, n_threads, progress: as :func:`rawkit.prior.build_prior_bank`.
        device: where to run the encoder (default: its device).

    Returns:
        :class:`rawkit.prior.PriorBank` with ``K = n_clusters`` entries.
    """
    pairs = PairSet.from_any(data)
    enc = _check_encoder(encoder)
    dev = _device_of(device, enc)
    return build_prior_bank(
        _reference_batches(pairs, enc, dev), niter=niter, seed=seed, n_clusters=n_clusters,
        group_size=group_size, encoder_id=module_id(enc), n_threads=n_threads, progress=progress,
    )  # fmt: skip


def reference_set(
    encoder: PixelSearchEncoder, data: Any, *, device: torch.device | str | None = None
) -> PriorBank:
    """Every reference pixel as a bank entry: the full set that Alg. 2 compresses.

    Searching it is the "Pixel Searching" row of Table 1.  Memory: ``N x (C + 7) x 4``
    bytes for ``N`` reference pixels, and every target pixel is compared with all ``N``.
    """
    pairs = PairSet.from_any(data)
    enc = _check_encoder(encoder)
    dev = _device_of(device, enc)
    feats, srgb, raw = [], [], []
    for f, s, r in _reference_batches(pairs, enc, dev):
        feats.append(f[0].flatten(1).T)
        srgb.append(F.avg_pool2d(s, 2)[0].flatten(1).T)
        raw.append(r[0].flatten(1).T)
    n = sum(len(f) for f in feats)
    return PriorBank(
        torch.cat(feats).numpy(), torch.cat(srgb).numpy(), torch.cat(raw).numpy(),
        encoder_id=module_id(enc), n_reference=n,
    )  # fmt: skip
