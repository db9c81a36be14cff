"""Training state on disk: seeded generators, exact-resume checkpoints, the history.

A training checkpoint (``step-000000100.pt``) is a :func:`rawkit.io.save_checkpoint`
file (``torch.load(weights_only=True)``: no arbitrary pickle) whose tensors are the
model weights (``"model/..."``) and every tensor of the optimiser, scheduler and
generator states (``"state/N"``); the nested structure around them is plain JSON-able
values (``_encode_state`` / ``_decode_state``).
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from rawkit.engine.distributed import _barrier
from rawkit.io.checkpoint import load_checkpoint, save_checkpoint

__all__ = [
    "CHECKPOINT_PATTERN",
    "TrainHistory",
    "TrainingState",
    "latest_checkpoint",
    "load_training_state",
]

#: File names of training checkpoints in ``checkpoint_dir``.
CHECKPOINT_PATTERN = re.compile(r"^step-(\d{9})\.pt$")
_KIND = "rawkit.training_state"
_STATE_VERSION = 1
_MODEL = "model/"


def _encode_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Nested state (optimizer/scheduler/RNG) -> plain values, tensors moved to ``tensors``."""
    if isinstance(obj, torch.Tensor):
        key = f"state/{len(tensors)}"
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        key = f"state/{len(tensors)}"
        wide = np.int64 if np.issubdtype(obj.dtype, np.integer) else np.float64
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj, dtype=wide))
        return {"__ndarray__": key, "dtype": obj.dtype.str}
    if isinstance(obj, dict):
        return {
            "__dict__": [
                [_encode_state(k, tensors), _encode_state(v, tensors)] for k, v in obj.items()
            ]
        }
    if isinstance(obj, list):
        return [_encode_state(v, tensors) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_encode_state(v, tensors) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(
        f"checkpoint: cannot store a {type(obj).__name__} in the training state (only tensors, "
        "arrays and plain values); an optimizer or scheduler with such state cannot be checkpointed"
    )


def _decode_state(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy().astype(np.dtype(obj["dtype"]))
        return {_decode_state(k, tensors): _decode_state(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_decode_state(v, tensors) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_decode_state(v, tensors) for v in obj)
    return obj


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 (the global generator datasets use)
        "python": random.getstate(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    random.seed(seed)


# --------------------------------------------------------------------------- history, files


@dataclasses.dataclass
class TrainHistory:
    """What :func:`train` did.

    Attributes:
        train_loss: the loss of every step (entry ``i`` is step ``i + 1``), averaged over
            processes; includes the steps before a resume.
        val: one dict per validation, ``{"step": s, name: value, ...}``.
        steps: steps done in total.
        start_step: the step this call started from (0, or the checkpoint's).
        checkpoint: the last checkpoint written or resumed from (None without one).
    """

    train_loss: list[float] = dataclasses.field(default_factory=list)
    val: list[dict[str, float]] = dataclasses.field(default_factory=list)
    steps: int = 0
    start_step: int = 0
    checkpoint: str | None = None

    def metric(self, name: str) -> list[tuple[int, float]]:
        """``(step, value)`` of one validation metric.

        Example:
            >>> TrainHistory(val=[{"step": 5, "psnr": 30.0}]).metric("psnr")
            [(5, 30.0)]
        """
        return [(int(v["step"]), v[name]) for v in self.val if name in v]


@dataclasses.dataclass(frozen=True)
class TrainingState:
    """A training checkpoint as read by :func:`load_training_state`.

    Attributes:
        step: optimiser steps done.
        model_state: the model's ``state_dict`` (CPU tensors).
        model_class: class name of the model that was trained.
        model_config: its ``config`` (None if it had none).
        optimizer_state, scheduler_state: their ``state_dict`` (scheduler None if unused).
        rng: generator states, one per process.
        history: :class:`TrainHistory` up to ``step``.
        settings: seed, batch size, world size... of the run.
        path: the file.
    """

    step: int
    model_state: dict[str, torch.Tensor]
    model_class: str | None
    model_config: dict[str, Any] | None
    optimizer_state: dict[str, Any]
    scheduler_state: dict[str, Any] | None
    rng: list[dict[str, Any]]
    history: TrainHistory
    settings: dict[str, Any]
    path: Path


def _checkpoint_name(step: int) -> str:
    return f"step-{step:09d}.pt"


def latest_checkpoint(checkpoint_dir: str | os.PathLike[str]) -> Path | None:
    """The training checkpoint with the highest step in ``checkpoint_dir`` (or None).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     print(latest_checkpoint(d))
        None
    """
    d = Path(checkpoint_dir)
    if not d.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := CHECKPOINT_PATTERN.match(p.name))]
    return max(found)[1] if found else None


def load_training_state(path: str | os.PathLike[str]) -> TrainingState:
    """Read a training checkpoint written by :func:`train` (tensors on the CPU).

    Raises:
        FileNotFoundError, rawkit.io.FileFormatError: as
            :func:`rawkit.io.load_checkpoint`.
        ValueError: a rawkit checkpoint that is not a training state (e.g. ``model.pt``:
            read that with :func:`rawkit.io.load_weights`).
    """
    ck = load_checkpoint(path, map_location="cpu")
    cfg = ck.config
    if cfg.get("kind") != _KIND:
        raise ValueError(
            f"path: {path} is a rawkit checkpoint but not a training state (kind "
            f"{cfg.get('kind')!r}); bare weights load with rawkit.io.load_weights"
        )
    if int(cfg.get("version", 0)) > _STATE_VERSION:
        raise ValueError(
            f"path: {path} holds training state version {cfg.get('version')}; this rawkit "
            f"reads <= {_STATE_VERSION}"
        )
    tensors = ck.state_dict
    model_state = {k[len(_MODEL) :]: v for k, v in tensors.items() if k.startswith(_MODEL)}
    hist = cfg["history"]
    history = TrainHistory(
        train_loss=list(hist["train_loss"]),
        val=[dict(v) for v in hist["val"]],
        steps=int(cfg["step"]),
        start_step=int(cfg["step"]),
        checkpoint=str(path),
    )
    return TrainingState(
        step=int(cfg["step"]),
        model_state=model_state,
        model_class=cfg.get("model_class"),
        model_config=cfg.get("model_config"),
        optimizer_state=_decode_state(cfg["optimizer"], tensors),
        scheduler_state=_decode_state(cfg["scheduler"], tensors),
        rng=[_decode_state(r, tensors) for r in cfg["rng"]],
        history=history,
        settings=dict(cfg["settings"]),
        path=Path(path),
    )


def _plain_config(model: nn.Module) -> dict[str, Any] | None:
    cfg = getattr(model, "config", None)
    if isinstance(cfg, Mapping):
        try:
            _encode_plain_check(cfg)
        except TypeError:
            return None
        return dict(cfg)
    return None


def _encode_plain_check(value: Any) -> None:
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _encode_plain_check(v)
        return
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        for v in value.values():
            _encode_plain_check(v)
        return
    raise TypeError(type(value).__name__)


def _find_state(ckpt_dir: Path | None, *, resume: bool, rank: int) -> TrainingState | None:
    """The newest training state in ``ckpt_dir`` to resume from (creating the folder)."""
    if ckpt_dir is None:
        return None
    if rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    _barrier()
    found = latest_checkpoint(ckpt_dir)
    if found is None:
        return None
    if not resume:
        raise FileExistsError(
            f"checkpoint_dir: {ckpt_dir} holds training checkpoints ({found.name}); pass "
            "resume=True to continue from them or use an empty folder"
        )
    return load_training_state(found)


def _restore(
    state: TrainingState,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    sched: Any,
    settings: Mapping[str, Any],
    *,
    rank: int,
    device: torch.device,
    seed: int,
) -> TrainHistory:
    """Load weights, optimiser, scheduler and generator states; return the history."""
    if state.model_class not in (None, type(model).__qualname__):
        raise ValueError(
            f"checkpoint_dir: {state.path} was written while training a {state.model_class}, "
            f"not a {type(model).__qualname__}"
        )
    changed = {
        k: (state.settings.get(k), v) for k, v in settings.items() if state.settings.get(k) != v
    }
    if changed:
        warnings.warn(
            f"resuming from {state.path} with other settings {changed} (checkpoint, now): "
            "training continues, but not exactly as an uninterrupted run",
            stacklevel=3,
        )
    model.load_state_dict(state.model_state)
    opt.load_state_dict(state.optimizer_state)
    if sched is not None and state.scheduler_state is not None:
        sched.load_state_dict(state.scheduler_state)
    if len(state.rng) == settings["world_size"]:
        _set_rng_state(state.rng[rank], device)
    else:  # another number of processes: the generators cannot continue as they were
        _seed_all(seed + rank + state.step)
    state.history.start_step = state.step
    return state.history


def _gather_rng(device: torch.device, world: int) -> list[dict[str, Any]]:
    """Every process's generator states, on every process (a collective when distributed)."""
    if world == 1:
        return [_rng_state(device)]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, _rng_state(device))
    return out


def _write_checkpoint(
    ckpt_dir: Path,
    step: int,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    sched: Any,
    rng: list[dict[str, Any]],
    history: TrainHistory,
    settings: dict[str, Any],
    keep_last: int | None,
) -> Path:
    """Write ``step-{step:09d}.pt`` atomically and delete all but the ``keep_last`` newest."""
    tensors = {_MODEL + k: v for k, v in model.state_dict().items()}
    config = {
        "kind": _KIND,
        "version": _STATE_VERSION,
        "step": step,
        "model_class": type(model).__qualname__,
        "model_config": _plain_config(model),
        "optimizer": _encode_state(opt.state_dict(), tensors),
        "scheduler": None if sched is None else _encode_state(sched.state_dict(), tensors),
        "rng": [_encode_state(r, tensors) for r in rng],
        "history": {"train_loss": list(history.train_loss), "val": [dict(v) for v in history.val]},
        "settings": settings,
    }
    path = ckpt_dir / _checkpoint_name(step)
    save_checkpoint(path, tensors, config=config, overwrite=True)
    if keep_last is not None:
        old = sorted(p for p in ckpt_dir.iterdir() if CHECKPOINT_PATTERN.match(p.name))
        for p in old[:-keep_last]:
            p.unlink(missing_ok=True)
    return path
