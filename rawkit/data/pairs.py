"""Training data as one typed object: :class:`PairSet`, a sequence of :class:`Pair`.

Every trainer in rawkit (``Pipeline.fit`` and the algorithm functions behind it) takes
a :class:`PairSet`.  :meth:`PairSet.from_any` converts what a user has **once**, at the
public boundary, and checks every item on the way (shape, dtype, NaN/Inf); after that
the same object is handed down unchanged, so no stage converts or validates it again.

Accepted by :meth:`PairSet.from_any`:

* a :class:`PairSet` (returned as is);
* a sequence or iterable of :class:`rawkit.data.SyntheticPair`, of :class:`Pair`, of
  ``(srgb, packed)`` or ``(srgb, packed, group)`` tuples, or of dicts with ``"srgb"``
  and ``"packed"`` (and optionally ``"photo"``/``"id"`` as the group);
* a map-style :class:`torch.utils.data.Dataset` of such dicts, e.g.
  :class:`rawkit.data.SyntheticPairs` or :class:`rawkit.data.AIM22Pairs` (read item by
  item).

``srgb`` is ``(3, H, W)`` float sRGB in ``[0, 1]`` with even ``H, W``; ``packed`` is the
packed RAW ``(4, H/2, W/2)`` ``[R, Gr, Gb, B]`` in ``[0, 1]`` (DESIGN.md, "Layout").
Both are stored as float32 CPU tensors.  The ``group`` is the scene an image shows
(a photo's name): PriorRAW's Alg. 1 never takes an image's references from its own
group.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, overload

import numpy as np
import torch
from torch.utils.data import Dataset

from rawkit._checks import check_dtype, check_finite, check_tensor_like
from rawkit._tensor import to_tensor
from rawkit.data.synth import SyntheticPair

__all__ = ["Pair", "PairSet"]


class Pair(NamedTuple):
    """One training image in memory.

    Attributes:
        srgb: ``(3, H, W)`` float32 sRGB in ``[0, 1]``, even ``H, W``.
        packed: ``(4, H/2, W/2)`` float32 packed RAW ``[R, Gr, Gb, B]`` in ``[0, 1]``.
        group: the scene it shows (a photo's name).
    """

    srgb: torch.Tensor
    packed: torch.Tensor
    group: str


def _as_float_tensor(x: Any, name: str) -> torch.Tensor:
    check_tensor_like(x, name)
    t = to_tensor(x) if isinstance(x, np.ndarray) else x
    check_dtype(t, ["float"], name)
    t = t.detach().to("cpu", torch.float32)
    check_finite(t, name)
    return t


def _pair(item: Any, index: int) -> Pair:
    where = f"data[{index}]"
    if isinstance(item, SyntheticPair):
        srgb, packed, group = item.srgb, item.packed, item.photo or f"#{index}"
    elif isinstance(item, Pair):
        srgb, packed, group = item
    elif isinstance(item, Mapping):
        if "srgb" not in item or "packed" not in item:
            raise ValueError(
                f"{where}: expected a dict with 'srgb' and 'packed', got keys {sorted(item)}"
            )
        srgb, packed = item["srgb"], item["packed"]
        group = str(item.get("photo") or item.get("id") or f"#{index}")
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
        srgb, packed = item[0], item[1]
        group = str(item[2]) if len(item) == 3 else f"#{index}"
    else:
        raise TypeError(
            f"{where}: expected a SyntheticPair, a Pair, an (srgb, packed[, group]) tuple or "
            f"a dict with 'srgb' and 'packed', got {type(item).__name__}"
        )
    s = _as_float_tensor(srgb, f"{where}.srgb")
    p = _as_float_tensor(packed, f"{where}.packed")
    h, w = (s.shape[1], s.shape[2]) if s.ndim == 3 else (0, 0)
    if s.ndim != 3 or s.shape[0] != 3 or h < 2 or w < 2 or h % 2 or w % 2:
        raise ValueError(
            f"{where}.srgb: expected shape (3, H, W) with even H, W >= 2, got {tuple(s.shape)}"
        )
    if tuple(p.shape) != (4, h // 2, w // 2):
        raise ValueError(
            f"{where}.packed: expected shape (4, {h // 2}, {w // 2}) for srgb "
            f"{tuple(s.shape)}, got {tuple(p.shape)}"
        )
    return Pair(s, p, str(group))


class PairSet(Sequence[Pair]):
    """An immutable, validated sequence of :class:`Pair` (module notes).

    Build it with :meth:`from_any`; constructing it from :class:`Pair` objects directly
    also validates them.

    Example:
        >>> import numpy as np
        >>> ps = PairSet.from_any([(np.zeros((3, 4, 6), np.float32), np.zeros((4, 2, 3)))])
        >>> len(ps), ps[0].packed.shape, ps[0].packed.dtype, ps.groups
        (1, torch.Size([4, 2, 3]), torch.float32, ('#0',))
        >>> PairSet.from_any(ps) is ps
        True
    """

    __slots__ = ("_pairs", "__weakref__")

    def __init__(self, pairs: Iterable[Pair]) -> None:
        self._pairs: tuple[Pair, ...] = tuple(_pair(p, i) for i, p in enumerate(pairs))
        if not self._pairs:
            raise ValueError("data: expected at least one pair, got none")

    @classmethod
    def from_any(cls, data: Any) -> PairSet:
        """Convert and check training data once (see the module notes for what is accepted).

        Raises:
            TypeError: not a sequence/dataset of pairs, items of another kind or a
                non-floating dtype.
            ValueError: wrong shapes, NaN/Inf, no items.
        """
        if isinstance(data, PairSet):
            return data
        if isinstance(data, (str, bytes)) or not isinstance(data, (Iterable, Dataset)):
            raise TypeError(
                "data: expected a PairSet, a sequence of pairs or a map-style dataset of "
                f"dicts with 'srgb' and 'packed', got {type(data).__name__}"
            )
        if isinstance(data, Dataset) and not isinstance(data, Iterable):
            items: Iterable[Any] = (data[i] for i in range(len(data)))  # type: ignore[arg-type]
        else:
            items = data  # type: ignore[assignment]
        return cls(items)

    def __len__(self) -> int:
        return len(self._pairs)

    @overload
    def __getitem__(self, index: int) -> Pair: ...
    @overload
    def __getitem__(self, index: slice) -> PairSet: ...
    def __getitem__(self, index: int | slice) -> Pair | PairSet:
        if isinstance(index, slice):
            part = self._pairs[index]
            if not part:
                raise ValueError(f"index: the slice {index} selects no pair")
            new = object.__new__(PairSet)  # the pairs were checked when this set was made
            new._pairs = part
            return new
        return self._pairs[index]

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._pairs)

    def __repr__(self) -> str:
        return f"PairSet({len(self)} pairs, {len(self.groups)} groups)"

    @property
    def groups(self) -> tuple[str, ...]:
        """The distinct groups (scenes), sorted."""
        return tuple(sorted({p.group for p in self._pairs}))

    @property
    def min_side(self) -> int:
        """The smallest sRGB height or width over all pairs (the largest possible crop)."""
        return min(min(p.srgb.shape[-2:]) for p in self._pairs)
