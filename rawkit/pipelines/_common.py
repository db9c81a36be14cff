"""Shared training pieces of the pipelines: random crops, schedules, results, fingerprints.

:class:`RandomCrops` draws Bayer-aligned random crops from a
:class:`rawkit.data.PairSet` for :func:`rawkit.engine.train`; :func:`lr_scheduler`
and :func:`crops_length` set up a run; :func:`module_id` fingerprints a network (a
prior bank records its encoder's).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from rawkit._checks import check_choice, check_int, check_seed
from rawkit.data.pairs import Pair
from rawkit.engine import LossFn, TrainHistory, distributed_context, train
from rawkit.isp import BUILTIN_CAMERAS
from rawkit.losses import L2_TERMS, l2_ssim_loss
from rawkit.nets import BASES
from rawkit.pipelines.base import PipelineConfig, setting

__all__ = [
    "SCHEDULES",
    "CropTrainingConfig",
    "RandomCrops",
    "TrainResult",
    "crops_length",
    "eq9_loss",
    "lr_scheduler",
    "module_id",
    "train_on_crops",
]


class TrainResult(NamedTuple):
    """A trained network, its :class:`rawkit.engine.TrainHistory` and the wall time in seconds."""

    model: nn.Module
    history: TrainHistory
    seconds: float


class RandomCrops(Dataset):
    """Random Bayer-aligned crops of in-memory pairs, a fresh crop for every item.

    Item ``i`` is a ``crop x crop`` window of pair ``i % len(pairs)`` (cycling through
    the images, so every batch mixes them) at an even offset drawn from
    ``numpy.random.default_rng([seed, i])``: the same item is the same crop in every
    run, and the dataset is ``length`` items long so that :func:`rawkit.engine.train`
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
        check_int(crop, "crop", minimum=2, even=True)
        check_int(length, "length", minimum=1)
        check_seed(seed)
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


@dataclasses.dataclass(frozen=True)
class CropTrainingConfig(PipelineConfig):
    """Settings of a network trained on random crops with PriorRAW's Eq. 9, defined once.

    The configs of the sRGB-only U-Net and of PriorRAW's reconstructor (Alg. 3) extend
    it, so both train with the same knobs and defaults (the equal-budget comparison).

    Example:
        >>> CropTrainingConfig(steps=10).replace(crop=64).crop
        64
    """

    steps: int = setting(500, "optimiser steps", minimum=1)
    batch_size: int = setting(8, "crops per step", minimum=1)
    crop: int = setting(96, "sRGB crop side in pixels (even, >= 22 for SSIM)", minimum=22,
                        even=True)  # fmt: skip
    lr: float = setting(1e-3, "Adam learning rate", positive=True)
    schedule: str = setting("cosine", "learning-rate schedule", choices=SCHEDULES)
    alpha: float = setting(1.0, "weight of L2 in the loss (Eq. 9)", minimum=0.0)
    beta: float = setting(1.0, "weight of 1 - SSIM in the loss (Eq. 9; 0: plain L2)", minimum=0.0)
    l2: str = setting(
        "mse", "the L2 term of Eq. 9: the mean squared error (the paper's) or minus each crop's "
        "PSNR in dB (rawkit.losses.l2_ssim_loss)", choices=L2_TERMS,
    )  # fmt: skip
    base: str = setting(
        "generic_inverse",
        "what the network's output is added to: the blind generic inverse of the camera "
        "(rawkit's choice; at inference the sum is clipped to the RAW's [0, 1]) or none (the papers' "
        "sigmoid head)",
        choices=BASES,
    )
    camera: str = setting(
        "nikon_d5100", "built-in camera whose generic inverse is the base", choices=BUILTIN_CAMERAS
    )

    V2_DEFAULTS: ClassVar[dict[str, Any]] = {"base": "none"}  # the papers' sigmoid heads

    def net_base(self) -> dict[str, Any]:
        """The ``base``/``camera`` arguments of the network these settings build."""
        if self.base == "none":
            return {"base": "none", "camera": None}
        return {"base": self.base, "camera": self.camera}


def lr_scheduler(schedule: str, steps: int) -> Any:
    """A scheduler factory for :func:`rawkit.engine.train`: cosine decay from ``lr`` to 0
    over ``steps`` (``"cosine"``), or None (``"constant"``)."""
    check_choice(schedule, SCHEDULES, "schedule")
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


def eq9_loss(alpha: float, beta: float, l2: str = "mse") -> Any:
    """PriorRAW's Eq. 9 as ``loss(pred, target)``: ``alpha L2 + beta (1 - SSIM)`` on
    packed RAW in ``[0, 1]`` (:func:`rawkit.losses.l2_ssim_loss`; ``l2``: its L2 term)."""
    check_choice(l2, list(L2_TERMS), "l2")

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return l2_ssim_loss(pred, target, data_range=1.0, alpha=alpha, beta=beta, l2=l2)  # type: ignore[return-value]

    return loss


def train_on_crops(
    model: nn.Module,
    loss_fn: LossFn,
    crops: Dataset,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    schedule: str,
    seed: int,
    device: torch.device | str | None,
    checkpoint_dir: Any,
    progress: bool,
    desc: str,
    collate_fn: Any = None,
    val_data: Dataset | None = None,
    val_fn: Any = None,
    val_every: int | None = None,
    keep_best: str | None = None,
) -> TrainResult:
    """The training set-up every pipeline trainer shares: Adam with ``schedule`` over
    ``steps`` through :func:`rawkit.engine.train`, the model left in eval mode, the
    wall time measured; validation (whole images, batches of one) when ``val_data``,
    ending with the weights of the best value of the metric ``keep_best``."""
    scheduler = lr_scheduler(schedule, steps)
    with Timer() as t:
        hist = train(
            model, loss_fn, crops, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
            scheduler=scheduler, device=device, checkpoint_dir=checkpoint_dir,
            progress=progress, desc=desc, collate_fn=collate_fn, val_data=val_data,
            val_fn=val_fn, val_every=val_every, val_batch_size=1, keep_best=keep_best,
        )  # fmt: skip
    model.eval()
    return TrainResult(model, hist, t.seconds)
