"""Shared pieces of the pipelines: paired images in memory, random crops, training results.

:func:`as_pairs` turns what a user has (a list of :class:`rawkit.data.SyntheticPair`,
``(srgb, packed)`` tuples, or a map-style dataset of dicts with ``"srgb"`` and
``"packed"`` such as :class:`rawkit.data.SyntheticPairs`) into :class:`Pair` tuples of
tensors; :class:`RandomCrops` draws Bayer-aligned random crops from them for
:func:`rawkit.nets.train`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from rawkit.data.synth import SyntheticPair
from rawkit.nets import TrainHistory, distributed_context

__all__ = ["Pair", "RandomCrops", "TrainResult", "as_pairs", "check_srgb", "module_id"]


class Pair(NamedTuple):
    """One training image in memory.

    Attributes:
        srgb: ``(3, H, W)`` float32 sRGB in ``[0, 1]``, even ``H, W``.
        packed: ``(4, H/2, W/2)`` float32 packed RAW ``[R, Gr, Gb, B]`` in ``[0, 1]``.
        group: the scene it shows (a photo's name); Alg. 1 never takes an image's
            references from its own group.
    """

    srgb: torch.Tensor
    packed: torch.Tensor
    group: str


class TrainResult(NamedTuple):
    """A trained network, its :class:`rawkit.nets.TrainHistory` and the wall time in seconds."""

    model: nn.Module
    history: TrainHistory
    seconds: float


def check_srgb(x: Any, name: str = "srgb") -> None:
    """A floating ``(*, 3, H, W)`` tensor or array with even, non-zero ``H, W``."""
    if not isinstance(x, (torch.Tensor, np.ndarray)):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
    floating = (
        x.is_floating_point()
        if isinstance(x, torch.Tensor)
        else np.issubdtype(x.dtype, np.floating)
    )
    if not floating:
        raise TypeError(f"{name}: expected floating sRGB in [0, 1], got dtype {x.dtype}")
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f"{name}: expected shape (*, 3, H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h < 2 or w < 2 or h % 2 or w % 2:
        raise ValueError(
            f"{name}: expected an even height and width >= 2 (one packed RAW site per 2x2 "
            f"block), got H={h}, W={w}"
        )


def _tensor(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor or ndarray, got {type(x).__name__}")
    return x.detach().to(torch.float32)


def _pair(item: Any, index: int) -> Pair:
    if isinstance(item, Pair):
        return item
    if isinstance(item, SyntheticPair):
        srgb, packed, group = item.srgb, item.packed, item.photo or f"#{index}"
    elif isinstance(item, Mapping):
        if "srgb" not in item or "packed" not in item:
            raise ValueError(
                f"data[{index}]: expected a dict with 'srgb' and 'packed', got keys {sorted(item)}"
            )
        srgb, packed = item["srgb"], item["packed"]
        group = str(item.get("photo") or item.get("id") or f"#{index}")
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
        srgb, packed = item[0], item[1]
        group = str(item[2]) if len(item) == 3 else f"#{index}"
    else:
        raise TypeError(
            f"data[{index}]: expected a SyntheticPair, an (srgb, packed[, group]) tuple or a "
            f"dict with 'srgb' and 'packed', got {type(item).__name__}"
        )
    s, p = _tensor(srgb, f"data[{index}].srgb"), _tensor(packed, f"data[{index}].packed")
    check_srgb(s, f"data[{index}].srgb")
    if s.ndim != 3 or p.ndim != 3 or p.shape != (4, s.shape[1] // 2, s.shape[2] // 2):
        raise ValueError(
            f"data[{index}]: expected srgb (3, H, W) with packed (4, H/2, W/2), got "
            f"{tuple(s.shape)} and {tuple(p.shape)}"
        )
    if not (bool(torch.isfinite(s).all()) and bool(torch.isfinite(p).all())):
        raise ValueError(f"data[{index}]: expected finite values, got NaN or Inf")
    return Pair(s, p, group)


def as_pairs(data: Any) -> list[Pair]:
    """Images as :class:`Pair` tuples of float32 CPU tensors (all in memory).

    Args:
        data: a sequence (or iterable) of :class:`rawkit.data.SyntheticPair`,
            ``(srgb, packed)`` or ``(srgb, packed, group)`` tuples, or dicts with
            ``"srgb"`` ``(3, H, W)`` and ``"packed"`` ``(4, H/2, W/2)`` (and optionally
            ``"photo"``/``"id"`` as the group), e.g. a map-style dataset such as
            :class:`rawkit.data.SyntheticPairs` (read item by item).

    Returns:
        A list of :class:`Pair`.

    Raises:
        TypeError, ValueError: items of another kind or shape, NaN/Inf, no items.

    Example:
        >>> import numpy as np
        >>> pairs = as_pairs([(np.zeros((3, 4, 6), np.float32), np.zeros((4, 2, 3), np.float32))])
        >>> pairs[0].packed.shape, pairs[0].group
        (torch.Size([4, 2, 3]), '#0')
    """
    if isinstance(data, (str, bytes)) or not isinstance(data, (Iterable, Dataset)):
        raise TypeError(f"data: expected a sequence of pairs, got {type(data).__name__}")
    if isinstance(data, Dataset) and not isinstance(data, Iterable):
        items: Iterable[Any] = (data[i] for i in range(len(data)))  # type: ignore[arg-type]
    else:
        items = data  # type: ignore[assignment]
    out = [_pair(item, i) for i, item in enumerate(items)]
    if not out:
        raise ValueError("data: expected at least one pair, got none")
    return out


class RandomCrops(Dataset):
    """Random Bayer-aligned crops of in-memory pairs, a fresh crop for every item.

    Item ``i`` is a ``crop x crop`` window of pair ``i % len(pairs)`` (cycling through
    the images, so every batch mixes them) at an even offset drawn from
    ``numpy.random.default_rng([seed, i])``: the same item is the same crop in every
    run, and the dataset is ``length`` items long so that :func:`rawkit.nets.train`
    never sees the same crop twice.  Images smaller than ``crop`` are an error.

    Items are dicts of ``"srgb"`` ``(3, crop, crop)``, ``"packed"`` ``(4, crop/2,
    crop/2)``, ``"group"`` (int: the index of the pair's group) and any ``extras``:
    per-pair maps on the packed grid ``(V, H/2, W/2)`` cropped with the RAW.

    Example:
        >>> import torch
        >>> pairs = [Pair(torch.rand(3, 20, 30), torch.rand(4, 10, 15), "a")]
        >>> ds = RandomCrops(pairs, crop=8, length=5, seed=0)
        >>> len(ds), ds[3]["srgb"].shape, ds[3]["packed"].shape
        (5, torch.Size([3, 8, 8]), torch.Size([4, 4, 4]))
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        *,
        crop: int,
        length: int,
        seed: int,
        extras: Mapping[str, Sequence[torch.Tensor]] | None = None,
    ) -> None:
        if isinstance(crop, bool) or not isinstance(crop, int) or crop < 2 or crop % 2:
            raise ValueError(f"crop: expected an even int >= 2, got {crop!r}")
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length: expected an int >= 1, got {length!r}")
        if not pairs:
            raise ValueError("pairs: expected at least one pair, got none")
        small = [i for i, p in enumerate(pairs) if min(p.srgb.shape[-2:]) < crop]
        if small:
            p = pairs[small[0]]
            raise ValueError(
                f"crop: {crop} is larger than pair {small[0]} ({p.srgb.shape[-2]}x"
                f"{p.srgb.shape[-1]}); use a smaller crop or larger images"
            )
        self.pairs = list(pairs)
        self.crop, self.length, self.seed = crop, length, int(seed)
        self.extras = {k: list(v) for k, v in (extras or {}).items()}
        for k, v in self.extras.items():
            if len(v) != len(self.pairs):
                raise ValueError(f"extras[{k!r}]: expected {len(self.pairs)} maps, got {len(v)}")
        names = sorted({p.group for p in self.pairs})
        self.group_index = {g: i for i, g in enumerate(names)}

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        k = index % len(self.pairs)
        p = self.pairs[k]
        rng = np.random.default_rng([self.seed, index])
        h, w = p.srgb.shape[-2:]
        y = 2 * int(rng.integers(0, (h - self.crop) // 2 + 1))
        x = 2 * int(rng.integers(0, (w - self.crop) // 2 + 1))
        c, hy, hx = self.crop // 2, y // 2, x // 2
        item: dict[str, Any] = {
            "srgb": p.srgb[:, y : y + self.crop, x : x + self.crop],
            "packed": p.packed[:, hy : hy + c, hx : hx + c],
            "group": self.group_index[p.group],
        }
        for name, maps in self.extras.items():
            item[name] = maps[k][:, hy : hy + c, hx : hx + c]
        return item


#: Learning-rate schedules of the pipelines' trainers.
SCHEDULES: tuple[str, ...] = ("cosine", "constant")


def lr_scheduler(schedule: str, steps: int) -> Any:
    """A scheduler factory for :func:`rawkit.nets.train`: cosine decay from ``lr`` to 0
    over ``steps`` (``"cosine"``), or None (``"constant"``)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {list(SCHEDULES)}, got {schedule!r}")
    if schedule == "constant":
        return None
    return lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)


def crops_length(steps: int, batch_size: int) -> int:
    """Items a :class:`RandomCrops` needs for ``steps`` steps on every process."""
    return steps * batch_size * max(1, distributed_context().world_size)


def module_id(module: nn.Module) -> str:
    """A short fingerprint of a network's weights and config (the encoder of a bank).

    ``"<class>-<first 16 hex digits of SHA-256>"`` over the config JSON and every
    state-dict tensor's name, dtype, shape and bytes.

    Example:
        >>> import torch
        >>> a = module_id(torch.nn.Linear(2, 2))
        >>> a.startswith("Linear-"), len(a)
        (True, 23)
    """
    h = hashlib.sha256()
    cfg = getattr(module, "config", None)
    h.update(json.dumps(cfg if isinstance(cfg, Mapping) else None, sort_keys=True).encode())
    for name, t in module.state_dict().items():
        a = t.detach().cpu().contiguous()
        h.update(f"{name}|{a.dtype}|{tuple(a.shape)}".encode())
        h.update(a.numpy().tobytes() if a.dtype != torch.bfloat16 else a.float().numpy().tobytes())
    return f"{type(module).__name__}-{h.hexdigest()[:16]}"


class Timer:
    """Wall-clock seconds of a ``with`` block (``.seconds``)."""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
