"""The training loop: :func:`train` (module notes in :mod:`rawkit.engine`)."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset
from tqdm import tqdm  # text bars: tqdm.auto warns in Jupyter without ipywidgets

from rawkit._checks import check_bool, check_int, check_positive, check_seed
from rawkit.engine.distributed import (
    _barrier,
    _is_distributed,
    _mean_over_ranks,
    distributed_context,
    init_distributed,
)
from rawkit.engine.state import (
    TrainHistory,
    _checkpoint_name,
    _find_state,
    _gather_rng,
    _plain_config,
    _restore,
    _rng_state,
    _seed_all,
    _set_rng_state,
    _write_checkpoint,
)
from rawkit.io.checkpoint import save_checkpoint

__all__ = ["LossFn", "NonFiniteLossError", "ValFn", "train"]

#: ``loss_fn(model, batch) -> scalar loss tensor``.
LossFn = Callable[[nn.Module, Any], torch.Tensor]
#: ``val_fn(model, batch) -> {name: 0-d or (B,) tensor}``.
ValFn = Callable[[nn.Module, Any], Mapping[str, Any]]


class NonFiniteLossError(ValueError, FloatingPointError):
    """``loss_fn`` returned NaN or Inf (a ValueError; also a FloatingPointError)."""


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


def _better(
    best: tuple[float, dict[str, torch.Tensor]] | None,
    metrics: Mapping[str, float],
    name: str,
    model: nn.Module,
) -> tuple[float, dict[str, torch.Tensor]]:
    """``best``, or this validation's metric and a copy of the weights if it is higher."""
    if name not in metrics:
        raise ValueError(
            f"keep_best: {name!r} is not a validation metric; val_fn returned {sorted(metrics)}"
        )
    if best is not None and not metrics[name] > best[0]:
        return best
    return metrics[name], {k: t.detach().clone() for k, t in model.state_dict().items()}


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
    if _is_distributed():
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
    keep_best: str | None = None,
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
        keep_best: a validation metric to maximise (e.g. ``"psnr"``): the model ends
            with the weights of the validation where it was highest (averaged over all
            images and processes), not the last ones; needs ``val_data``.  Only the
            validations of this call count (after a resume, earlier ones do not).
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
        NonFiniteLossError: ``loss_fn`` returned NaN or Inf (the step is reported); a
            ValueError (and a FloatingPointError).
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
    for name, v in (("steps", steps), ("epochs", epochs), ("val_every", val_every),
                    ("val_batch_size", val_batch_size), ("checkpoint_every", checkpoint_every),
                    ("keep_last", keep_last)):  # fmt: skip
        if v is not None:
            check_int(v, name, minimum=1)
    check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    seed = check_seed(seed)
    check_int(num_workers, "num_workers", minimum=0)
    if grad_clip is not None:
        check_positive(grad_clip, "grad_clip")
    if val_fn is not None and val_data is None:
        raise ValueError("val_fn: given without val_data")
    if keep_best is not None and (not isinstance(keep_best, str) or val_data is None):
        raise ValueError(
            f"keep_best: expected the name of a validation metric and val_data, got "
            f"{keep_best!r} with val_data={'None' if val_data is None else 'given'}"
        )
    check_bool(resume, "resume")
    check_bool(progress, "progress")

    info = distributed_context()
    dev = _resolve_device(model, device, info.local_rank, info.world_size)
    init_distributed(backend="nccl" if dev.type == "cuda" else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if _is_distributed() else (0, 1)
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
        best: tuple[float, dict[str, torch.Tensor]] | None = None  # (metric, weights)
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
                    raise NonFiniteLossError(
                        f"loss_fn: returned {value} at step {step} (NaN/Inf loss; lower the "
                        "learning rate or check the data)"
                    )
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
                    if keep_best is not None:
                        best = _better(best, metrics, keep_best, model)
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
        if best is not None:
            model.load_state_dict(best[1])
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
