"""One small training loop for every rawkit pipeline: seeded, resumable, and DDP-ready.

:func:`train` runs ``steps`` optimiser steps of ``loss_fn(model, batch)`` over a
map-style :class:`~torch.utils.data.Dataset`, with a tqdm progress bar, periodic
validation, atomic checkpoints and exact resume, and it runs unchanged under
``torchrun`` with PyTorch DistributedDataParallel (DDP)::

    history = train(net, loss_fn, dataset, steps=500, batch_size=8, lr=1e-3, seed=0,
                    val_data=val_set, val_fn=val_fn, val_every=100,
                    checkpoint_dir="runs/unet", checkpoint_every=100)

    torchrun --nproc_per_node=2 my_script.py     # the same script, two processes

**The step function.**  ``loss_fn(model, batch)`` returns a scalar loss tensor; it is
the only task-specific code (the batch is whatever the dataset's items collate to,
moved to the device: tensors, and tuples, lists and dicts of them).  Call the
``model`` it receives (under DDP it is the DDP wrapper, whose forward synchronises the
gradients): ``lambda m, b: l2_ssim_loss(m(b[0]), b[1], data_range=1.0)``.
``val_fn(model, batch)`` returns a dict of metrics, each a 0-d tensor (a batch mean)
or a ``(B,)`` tensor of per-image values (e.g. :func:`rawkit.metrics.psnr`); they
are averaged over all validation images (or batches) of all processes.  Without
``val_fn`` validation reports the mean ``loss_fn`` over the validation batches.

**Randomness.**  Data order comes from :class:`~torch.utils.data.DistributedSampler`
(also with one process) seeded by ``seed`` and the epoch; the global torch, NumPy
and ``random`` generators are seeded with ``seed + rank`` at the start (for dropout,
augmentation in ``__getitem__``...) and the caller's generator states are restored
when :func:`train` returns.  The same seed gives the same weights.

**Checkpoints and resume.**  Every ``checkpoint_every`` steps and at the end, process 0
writes ``checkpoint_dir/step-000000100.pt`` with :func:`rawkit.io.save_checkpoint`
(atomic: temporary file, then rename), holding the model weights (``"model/..."``
keys), the optimiser and scheduler state, the step, the history, and the generator
states of every process.  It keeps the ``keep_last`` newest and, at the end, writes
the bare weights to ``checkpoint_dir/model.pt`` (:func:`rawkit.io.load_weights` reads
it; the config is ``model.config`` when the model has one).  With ``resume=True`` a
later call continues from the newest checkpoint: the same settings give exactly the
weights of an uninterrupted run (with ``num_workers=0``, or with datasets whose items
do not draw from the global generators in worker processes).  ``steps`` may be raised
to train further.

**Distributed.**  Under ``torchrun`` (``WORLD_SIZE > 1`` in the environment) the
process group is initialised from the environment (``env://``): NCCL when training on
CUDA (each process on ``cuda:LOCAL_RANK``), gloo on the CPU.  Each process gets a
shard of every epoch, ``batch_size`` is per process (the effective batch is
``batch_size x WORLD_SIZE``), the losses of the history are averaged over processes,
validation is sharded and reduced exactly, and only process 0 prints and writes.
The group that :func:`train` (or :func:`init_distributed`) creates stays for later calls
(a pipeline trains several networks in one process: re-creating a group under
torchrun is not reliable) and is destroyed at interpreter exit, or earlier by
:func:`cleanup_distributed`.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import math
import os
import random
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset
from tqdm.auto import tqdm

from rawkit.io.checkpoint import load_checkpoint, save_checkpoint

__all__ = [
    "CHECKPOINT_PATTERN",
    "DistInfo",
    "LossFn",
    "TrainHistory",
    "TrainingState",
    "ValFn",
    "cleanup_distributed",
    "distributed_context",
    "init_distributed",
    "latest_checkpoint",
    "load_training_state",
    "train",
]

#: ``loss_fn(model, batch) -> scalar loss tensor``.
LossFn = Callable[[nn.Module, Any], torch.Tensor]
#: ``val_fn(model, batch) -> {name: 0-d or (B,) tensor}``.
ValFn = Callable[[nn.Module, Any], Mapping[str, Any]]

#: File names of training checkpoints in ``checkpoint_dir``.
CHECKPOINT_PATTERN = re.compile(r"^step-(\d{9})\.pt$")
_KIND = "rawkit.training_state"
_STATE_VERSION = 1
_MODEL = "model/"


# --------------------------------------------------------------------------- distributed


class DistInfo(NamedTuple):
    """This process's place in a (possibly one-process) job."""

    rank: int
    world_size: int
    local_rank: int


def distributed_context() -> DistInfo:
    """Rank, world size and local rank: from the process group if one is initialised,
    else from torchrun's environment variables, else ``(0, 1, 0)``.

    Example:
        >>> distributed_context().world_size >= 1
        True
    """
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), local)
    return DistInfo(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")), local)


def init_distributed(*, backend: str | None = None) -> bool:
    """Initialise the default process group from torchrun's environment when
    ``WORLD_SIZE > 1`` (``env://``); do nothing otherwise or if one exists.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; ``None`` picks NCCL when CUDA is available,
            else gloo.

    Returns:
        True if this call created the group.  It is destroyed at interpreter exit
        (or by :func:`cleanup_distributed`).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if dist.is_initialized():
        return False
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, init_method="env://")
    atexit.register(cleanup_distributed)
    return True


def cleanup_distributed() -> None:
    """Destroy the default process group if one is initialised."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _barrier() -> None:
    if _distributed():
        dist.barrier()


# --------------------------------------------------------------------------- state encoding


def _encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
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
        return {"__dict__": [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_encode(v, tensors) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(
        f"checkpoint: cannot store a {type(obj).__name__} in the training state (only tensors, "
        "arrays and plain values); an optimizer or scheduler with such state cannot be checkpointed"
    )


def _decode(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy().astype(np.dtype(obj["dtype"]))
        return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_decode(v, tensors) for v in obj)
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
        optimizer_state, scheduler_state: ``state_dict``s (scheduler None if unused).
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
        optimizer_state=_decode(cfg["optimizer"], tensors),
        scheduler_state=_decode(cfg["scheduler"], tensors),
        rng=[_decode(r, tensors) for r in cfg["rng"]],
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


# --------------------------------------------------------------------------- data


class _SkipSampler(Sampler[int]):
    """The indices of ``sampler`` after the first ``skip`` (to resume mid-epoch)."""

    def __init__(self, sampler: Sampler[int], skip: int) -> None:
        self.sampler, self.skip = sampler, skip

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.sampler), self.skip, None)

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.skip)  # type: ignore[arg-type]


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # NamedTuple
        return type(batch)(*(_to_device(b, device) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)


# --------------------------------------------------------------------------- checks


def _check_positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value}")
    return value


def _check_dataset(data: Any, name: str) -> int:
    if isinstance(data, DataLoader):
        raise TypeError(
            f"{name}: expected a map-style Dataset, got a DataLoader (train builds its own "
            "loader, so that it can seed, shard and resume the data order)"
        )
    try:
        n = len(data)
        data.__getitem__  # noqa: B018
    except (TypeError, AttributeError):
        raise TypeError(
            f"{name}: expected a map-style Dataset (with __len__ and __getitem__), got "
            f"{type(data).__name__}"
        ) from None
    if n < 1:
        raise ValueError(f"{name}: expected a non-empty dataset, got {n} items")
    return n


def _resolve_device(
    model: nn.Module, device: torch.device | str | None, local_rank: int, world: int
):
    if device is not None:
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", local_rank if world > 1 else torch.cuda.current_device())
        return dev
    if world > 1 and torch.cuda.is_available():
        return torch.device("cuda", local_rank)
    p = next(itertools.chain(model.parameters(), model.buffers()), None)
    return p.device if p is not None else torch.device("cpu")


# --------------------------------------------------------------------------- the loop


def _scalar_loss(loss: Any, step: int) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TypeError(f"loss_fn: expected a scalar loss tensor, got {got} at step {step}")
    return loss.reshape(())


def _validate(
    module: nn.Module,
    fn: ValFn,
    data: Dataset,
    *,
    batch_size: int,
    num_workers: int,
    collate_fn: Callable[[list[Any]], Any] | None,
    device: torch.device,
    seed: int,
    rank: int,
    world: int,
) -> dict[str, float]:
    shard = Subset(data, range(rank, len(data), world))  # type: ignore[arg-type]
    loader = DataLoader(
        shard,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=collate_fn,
        generator=torch.Generator().manual_seed(seed),
    )
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    was_training = module.training
    module.eval()
    with torch.no_grad():
        for batch in loader:
            out = fn(module, _to_device(batch, device))
            if not isinstance(out, Mapping):
                raise TypeError(f"val_fn: expected a dict of metrics, got {type(out).__name__}")
            for name, value in out.items():
                v = torch.as_tensor(value).detach().to(torch.float64)
                sums[name] = sums.get(name, 0.0) + float(v.sum())
                counts[name] = counts.get(name, 0.0) + float(max(v.numel(), 1) if v.ndim else 1)
    module.train(was_training)
    names = sorted(sums)
    if _distributed():
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, names)
        names = sorted(set().union(*gathered))
        t = torch.tensor(
            [[sums.get(n, 0.0), counts.get(n, 0.0)] for n in names], dtype=torch.float64
        )
        backend_device = device if dist.get_backend() == "nccl" else torch.device("cpu")
        t = t.to(backend_device)
        dist.all_reduce(t)
        t = t.cpu()
        return {n: float(t[i, 0] / t[i, 1]) for i, n in enumerate(names) if t[i, 1] > 0}
    return {n: sums[n] / counts[n] for n in names if counts[n] > 0}


def _mean_over_ranks(value: torch.Tensor, device: torch.device) -> float:
    if not _distributed():
        return float(value.detach())
    t = value.detach().to(torch.float64).reshape(1)
    if dist.get_backend() != "nccl":
        t = t.cpu()
    else:
        t = t.to(device)
    dist.all_reduce(t)
    return float(t) / dist.get_world_size()


def train(
    model: nn.Module,
    loss_fn: LossFn,
    train_data: Dataset,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int = 8,
    lr: float = 1e-3,
    optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer] | None = None,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    grad_clip: float | None = None,
    val_data: Dataset | None = None,
    val_fn: ValFn | None = None,
    val_every: int | None = None,
    val_batch_size: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    num_workers: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    keep_last: int | None = 2,
    resume: bool = True,
    progress: bool = True,
    desc: str = "train",
) -> TrainHistory:
    """Train ``model`` by minimising ``loss_fn(model, batch)``; see the module notes.

    Args:
        model: the network (moved to ``device``; trained in place).  Only parameters
            with ``requires_grad`` are optimised (freeze an encoder with
            ``requires_grad_(False)``).
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; ``model`` is the DDP
            wrapper when distributed (call it, do not reach into ``.module``).
        train_data: map-style dataset; items collate into batches (``collate_fn``).
        steps: optimiser steps in total (including those before a resume).
        epochs: alternatively, passes over ``train_data`` (``steps = epochs *
            ceil(ceil(len / world_size) / batch_size)``); give exactly one of the two.
        batch_size: items per step and process.
        lr: learning rate of the default optimiser, Adam (ignored with ``optimizer``).
        optimizer: factory ``params -> Optimizer`` (e.g.
            ``lambda p: torch.optim.AdamW(p, lr=3e-4)``).
        scheduler: factory ``optimizer -> LR scheduler``, stepped after every step.
        grad_clip: clip the gradients' global norm to this value (None: no clipping).
        val_data: validation dataset (None: no validation).
        val_fn: ``val_fn(model, batch) -> {name: tensor}`` (module notes); ``None``
            reports ``{"loss": mean loss_fn}``.
        val_every: validate every this many steps (and always at the end).
        val_batch_size: validation batch size (default ``batch_size``).
        seed: seeds the data order and the global generators (module notes).
        device: where to train; ``None``: ``cuda:LOCAL_RANK`` when distributed with
            CUDA, else the model's current device.
        num_workers: DataLoader worker processes (0: load in the main process).
        collate_fn: DataLoader collate function (None: PyTorch's default).
        checkpoint_dir: folder for checkpoints (created if missing); None: none.
        checkpoint_every: checkpoint every this many steps (and always at the end).
        keep_last: training checkpoints to keep (None: all).
        resume: continue from the newest checkpoint in ``checkpoint_dir``.  With
            ``False`` the folder must hold no training checkpoint.
        progress: show a tqdm progress bar (process 0 only).
        desc: label of the progress bar.

    Returns:
        :class:`TrainHistory` (the same on every process).

    Raises:
        TypeError, ValueError: bad settings (both or neither of ``steps``/``epochs``,
            a DataLoader instead of a dataset, no trainable parameters, a
            checkpoint of another model class), or a non-scalar loss.
        FloatingPointError: the loss became NaN or infinite (the step is reported).
        FileExistsError: ``resume=False`` and ``checkpoint_dir`` holds checkpoints.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> x = torch.linspace(-1, 1, 32).reshape(32, 1)
        >>> data = TensorDataset(x, 3 * x)
        >>> net = torch.nn.Linear(1, 1)
        >>> mse = lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1])
        >>> h = train(net, mse, data, steps=200, batch_size=8, lr=0.05, progress=False)
        >>> h.train_loss[-1] < 1e-3 < h.train_loss[0]
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
    n_train = _check_dataset(train_data, "train_data")
    if val_data is not None:
        _check_dataset(val_data, "val_data")
    if (steps is None) == (epochs is None):
        raise ValueError(f"steps, epochs: expected exactly one, got steps={steps}, epochs={epochs}")
    _check_positive_int(steps, "steps", allow_none=True)
    _check_positive_int(epochs, "epochs", allow_none=True)
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(val_every, "val_every", allow_none=True)
    _check_positive_int(val_batch_size, "val_batch_size", allow_none=True)
    _check_positive_int(checkpoint_every, "checkpoint_every", allow_none=True)
    _check_positive_int(keep_last, "keep_last", allow_none=True)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers: expected an int >= 0, got {num_workers!r}")
    if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and grad_clip > 0):
        raise ValueError(f"grad_clip: expected a number > 0 or None, got {grad_clip!r}")
    if val_fn is not None and val_data is None:
        raise ValueError("val_fn: given without val_data")
    if not isinstance(resume, bool):
        raise TypeError(f"resume: expected a bool, got {type(resume).__name__}")

    info = distributed_context()
    dev = _resolve_device(model, device, info.local_rank, info.world_size)
    init_distributed(backend="nccl" if dev.type == "cuda" else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if _distributed() else (0, 1)
    steps_per_epoch = math.ceil(math.ceil(n_train / world) / batch_size)  # shards padded equal
    total = steps if steps is not None else epochs * steps_per_epoch  # type: ignore[operator]
    ckpt_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
    settings = {"seed": seed, "batch_size": batch_size, "world_size": world, "n_train": n_train}

    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model: expected trainable parameters, got none (all frozen?)")
    opt = optimizer(params) if optimizer is not None else torch.optim.Adam(params, lr=lr)
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer: expected a factory returning an Optimizer, got {type(opt).__name__}"
        )
    sched = scheduler(opt) if scheduler is not None else None
    state = _find_state(ckpt_dir, resume=resume, rank=rank)

    caller_rng = _rng_state(dev)
    was_training = model.training
    bar = tqdm(total=total, desc=desc, disable=not (progress and rank == 0), dynamic_ncols=True)
    try:
        if state is None:
            history = TrainHistory()
            _seed_all(seed + rank)
        else:
            history = _restore(state, model, opt, sched, settings, rank=rank, device=dev, seed=seed)
        start = step = history.start_step
        bar.update(min(start, total))
        net = model
        if world > 1:
            net = DistributedDataParallel(
                model, device_ids=[dev.index] if dev.type == "cuda" else None
            )
        model.train()
        while step < total:
            epoch, skip = divmod(step, steps_per_epoch)
            sampler: DistributedSampler[int] = DistributedSampler(
                train_data, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=False
            )
            sampler.set_epoch(epoch)  # the order of every epoch follows from (seed, epoch)
            loader = DataLoader(
                train_data,
                batch_size=batch_size,
                sampler=_SkipSampler(sampler, skip * batch_size),  # resume mid-epoch
                num_workers=num_workers,
                collate_fn=collate_fn,
                generator=_epoch_generator(seed, epoch),
                pin_memory=dev.type == "cuda",
            )
            for batch in loader:
                loss = _scalar_loss(loss_fn(net, _to_device(batch, dev)), step + 1)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, grad_clip)
                opt.step()
                if sched is not None:
                    sched.step()
                step += 1
                value = _mean_over_ranks(loss, dev)
                if not math.isfinite(value):
                    raise FloatingPointError(f"loss_fn: the loss is {value} at step {step}")
                history.train_loss.append(value)
                history.steps = step
                if val_data is not None and (
                    (val_every and step % val_every == 0) or step == total
                ):
                    fn = val_fn if val_fn is not None else (lambda m, b: {"loss": loss_fn(m, b)})
                    metrics = _validate(
                        model, fn, val_data, batch_size=val_batch_size or batch_size,
                        num_workers=num_workers, collate_fn=collate_fn, device=dev, seed=seed,
                        rank=rank, world=world,
                    )  # fmt: skip
                    history.val.append({"step": step, **metrics})
                if ckpt_dir is not None and (
                    (checkpoint_every and step % checkpoint_every == 0) or step == total
                ):
                    rng = _gather_rng(dev, world)
                    if rank == 0:
                        _write_checkpoint(
                            ckpt_dir, step, model, opt, sched, rng, history, settings, keep_last
                        )
                    history.checkpoint = str(ckpt_dir / _checkpoint_name(step))
                    _barrier()
                post = {"loss": f"{value:.4g}"}
                if history.val:
                    post.update({k: f"{v:.4g}" for k, v in history.val[-1].items() if k != "step"})
                bar.set_postfix(post, refresh=False)
                bar.update(1)
                if step >= total:
                    break
        if ckpt_dir is not None and rank == 0:
            save_checkpoint(
                ckpt_dir / "model.pt", model, config=_plain_config(model), overwrite=True
            )
        _barrier()
    finally:
        bar.close()
        model.train(was_training)
        _set_rng_state(caller_rng, dev)
    history.steps = max(step, start)
    return history


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
        "optimizer": _encode(opt.state_dict(), tensors),
        "scheduler": None if sched is None else _encode(sched.state_dict(), tensors),
        "rng": [_encode(r, tensors) for r in rng],
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
