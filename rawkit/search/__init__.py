"""Feature affinity, softmax assembly and top-k search (PriorRAW, Sec. 3.2-3.3, Eq. 1-4).

* :func:`affinity` - the affinity matrix of Eq. 2 (whole, for small inputs);
* :func:`assemble` - softmax assembly of Eq. 3/4, chunked (memory ``O(chunk x N)``) and
  differentiable w.r.t. both feature sets and the values;
* :func:`max_affinity` - the best match per target pixel, as a confidence map;
* :func:`build_block_index`, :func:`nearest_raw` - the raw-value nearest-neighbour
  baseline (12 sRGB values of each 2x2 block, faiss L2);
* :func:`build_index`, :func:`topk`, :func:`topk_assemble` - faiss inner-product search
  (exact or approximate) and the softmax over the ``k`` found.

Targets are ``(*, C, H, W)`` (``layout="image"``) or ``(*, M, C)`` (``layout="points"``);
references ``(N, C)`` or ``(*, C, H', W')``.  NumPy in -> NumPy out.
"""

from rawkit.search.affinity import (
    CHUNK_ELEMENTS,
    ConfidenceKind,
    Layout,
    affinity,
    assemble,
    default_chunk_size,
    max_affinity,
)
from rawkit.search.nearest import BlockIndex, block_keys, build_block_index, nearest_raw
from rawkit.search.topk import (
    INDEX_KINDS,
    IndexKind,
    build_index,
    faiss_threads,
    topk,
    topk_assemble,
)

__all__ = [
    "BlockIndex",
    "block_keys",
    "build_block_index",
    "nearest_raw",
    "CHUNK_ELEMENTS",
    "INDEX_KINDS",
    "ConfidenceKind",
    "IndexKind",
    "Layout",
    "affinity",
    "assemble",
    "build_index",
    "default_chunk_size",
    "faiss_threads",
    "max_affinity",
    "topk",
    "topk_assemble",
]
