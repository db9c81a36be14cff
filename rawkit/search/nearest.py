r"""Raw-value nearest-neighbour search: the plain baseline that learned search must beat.

Every packed-RAW site ``[R, Gr, Gb, B]`` is rendered into one 2x2 block of sRGB pixels,
so the block's 12 sRGB values are a natural key for it.  Given a reference set of
(sRGB, packed RAW) pairs, :class:`BlockIndex` stores the 12 values of every block with
the block's 4 RAW values; :func:`nearest_raw` looks up the ``k`` reference blocks
closest to each target block (Euclidean distance in faiss, :class:`faiss.IndexFlatL2`,
exact) and returns the mean of their RAW values.  Nothing is learned: it is PriorRAW's
Eq. 4 with the affinity replaced by raw sRGB distance and the softmax by a uniform
average over the ``k`` nearest, and so the reference against which a learned
Pixel Searching Encoder (Alg. 1) has to show what it learned.

Memory and time: the index holds ``N x 12`` float32 keys and ``N x 4`` values
(``max_references`` caps ``N`` by a seeded uniform subsample); queries run in chunks of
``chunk`` blocks, so memory is ``O(chunk x k)`` beyond the index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import faiss
import numpy as np
import torch
import torch.nn.functional as F

from rawkit._checks import check_dtype, check_finite, check_shape, check_tensor_like
from rawkit._tensor import Array, numpy_compat

__all__ = ["BlockIndex", "block_keys", "build_block_index", "nearest_raw"]


@numpy_compat
def block_keys(srgb: Array) -> Array:
    """The 12 sRGB values of every 2x2 block: ``(*, 3, H, W) -> (*, 12, H/2, W/2)``.

    Channel ``4 c + 2 dy + dx`` holds colour ``c`` of pixel ``(2 i + dy, 2 j + dx)``
    (``torch.nn.functional.pixel_unshuffle``).  Differentiable.

    Example:
        >>> import numpy as np
        >>> x = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2) / 12
        >>> (block_keys(x)[0, :, 0, 0] * 12).round().astype(int).tolist()
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    """
    check_tensor_like(srgb, "srgb")
    check_shape(srgb, ["*", "3", "H", "W"], "srgb")
    check_dtype(srgb, ["float"], "srgb")
    h, w = srgb.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"srgb: expected even height and width, got H={h}, W={w}")
    lead = srgb.shape[:-3]
    x = srgb.reshape(-1, 3, h, w)
    out = F.pixel_unshuffle(x, 2)
    return out.reshape(*lead, 12, h // 2, w // 2)


@dataclasses.dataclass(frozen=True, eq=False)
class BlockIndex:
    """A reference set for :func:`nearest_raw`: block keys and their RAW values.

    Attributes:
        keys: ``(N, 12)`` float32, the sRGB values of each reference block.
        values: ``(N, 4)`` float32, the packed RAW ``[R, Gr, Gb, B]`` of each block.
    """

    keys: torch.Tensor
    values: torch.Tensor

    def __post_init__(self) -> None:
        for name, t, c in (("keys", self.keys, 12), ("values", self.values, 4)):
            if not isinstance(t, torch.Tensor) or t.ndim != 2 or t.shape[1] != c:
                raise ValueError(
                    f"{name}: expected a tensor (N, {c}), got {getattr(t, 'shape', t)}"
                )
        if self.keys.shape[0] != self.values.shape[0] or self.keys.shape[0] == 0:
            raise ValueError(
                f"keys, values: expected the same N >= 1, got {self.keys.shape[0]} and {self.values.shape[0]}"
            )

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def faiss_index(self) -> faiss.Index:
        """An exact L2 faiss index over ``keys`` (built on first use, then cached)."""
        cached = self.__dict__.get("_faiss")
        if cached is None:
            cached = faiss.IndexFlatL2(12)
            cached.add(np.ascontiguousarray(self.keys.numpy(), dtype=np.float32))
            object.__setattr__(self, "_faiss", cached)
        return cached


def build_block_index(
    pairs: Iterable[Any], *, max_references: int | None = 1_000_000, seed: int = 0
) -> BlockIndex:
    """Collect every 2x2 block of reference pairs into a :class:`BlockIndex`.

    Args:
        pairs: items with ``srgb`` ``(3, H, W)`` and ``packed`` ``(4, H/2, W/2)``
            (e.g. :class:`rawkit.data.Pair` or :class:`rawkit.data.SyntheticPair`),
            NumPy or torch.
        max_references: keep at most this many blocks (a uniform subsample drawn with
            ``seed``); None keeps all.
        seed: seed of the subsample.

    Raises:
        ValueError: no pairs, mismatched shapes, bad ``max_references``.

    Example:
        >>> import numpy as np
        >>> from rawkit.data import Pair
        >>> import torch
        >>> p = Pair(torch.rand(3, 8, 8), torch.rand(4, 4, 4), "a")
        >>> len(build_block_index([p, p]))
        32
    """
    if max_references is not None and (
        isinstance(max_references, bool)
        or not isinstance(max_references, int)
        or max_references < 1
    ):
        raise ValueError(f"max_references: expected an int >= 1 or None, got {max_references!r}")
    keys, values = [], []
    for i, p in enumerate(pairs):
        srgb = torch.as_tensor(
            np.asarray(p.srgb) if not isinstance(p.srgb, torch.Tensor) else p.srgb
        )
        packed = torch.as_tensor(
            np.asarray(p.packed) if not isinstance(p.packed, torch.Tensor) else p.packed
        )
        if srgb.ndim != 3 or packed.shape != (4, srgb.shape[-2] // 2, srgb.shape[-1] // 2):
            raise ValueError(
                f"pairs[{i}]: expected srgb (3, H, W) and packed (4, H/2, W/2), got "
                f"{tuple(srgb.shape)} and {tuple(packed.shape)}"
            )
        keys.append(block_keys(srgb.float()).reshape(12, -1).T)
        values.append(packed.float().reshape(4, -1).T)
    if not keys:
        raise ValueError("pairs: expected at least one reference pair, got none")
    k, v = torch.cat(keys), torch.cat(values)
    if max_references is not None and k.shape[0] > max_references:
        g = torch.Generator().manual_seed(seed)
        keep = torch.randperm(k.shape[0], generator=g)[:max_references].sort().values
        k, v = k[keep], v[keep]
    return BlockIndex(k.contiguous(), v.contiguous())


@numpy_compat
def nearest_raw(srgb: Array, *, index: BlockIndex, k: int = 16, chunk: int = 65536) -> Array:
    """Packed RAW by nearest-neighbour search: mean RAW of the ``k`` closest reference blocks.

    Args:
        srgb: ``(*, 3, H, W)`` float sRGB, even ``H``, ``W``.
        index: the reference set (:func:`build_block_index`).
        k: neighbours averaged (at most ``len(index)``).
        chunk: target blocks per faiss query.

    Returns:
        ``(*, 4, H/2, W/2)`` float32 packed RAW on ``srgb``'s device.  Not differentiable
        (a faiss search).

    Raises:
        ValueError: bad shapes, NaN/Inf, ``k`` out of range.  TypeError: wrong types.

    Example:
        >>> import torch
        >>> from rawkit.data import Pair
        >>> ref = Pair(torch.rand(3, 8, 8), torch.rand(4, 4, 4), "a")
        >>> idx = build_block_index([ref])
        >>> out = nearest_raw(ref.srgb, index=idx, k=1)   # each block finds itself
        >>> bool(torch.equal(out, ref.packed))
        True
    """
    check_tensor_like(srgb, "srgb")
    check_dtype(srgb, ["float"], "srgb")
    check_finite(srgb, "srgb")
    if not isinstance(index, BlockIndex):
        raise TypeError(f"index: expected a BlockIndex, got {type(index).__name__}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(index):
        raise ValueError(f"k: expected an int in [1, {len(index)}], got {k!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk: expected an int >= 1, got {chunk!r}")
    keys = block_keys(srgb.detach())
    lead, (h, w) = keys.shape[:-3], keys.shape[-2:]
    q = keys.reshape(-1, 12, h * w).permute(0, 2, 1).reshape(-1, 12)
    q = np.ascontiguousarray(q.cpu().numpy(), dtype=np.float32)
    out = np.empty((q.shape[0], 4), np.float32)
    vals = index.values.numpy()
    for s in range(0, q.shape[0], chunk):
        _, ids = index.faiss_index.search(q[s : s + chunk], k)
        out[s : s + chunk] = vals[ids].mean(axis=1)
    res = torch.from_numpy(out).reshape(-1, h * w, 4).permute(0, 2, 1)
    return res.reshape(*lead, 4, h, w).to(srgb.device)
