"""Process-group set-up for :func:`rawkit.engine.train` under ``torchrun`` (DDP).

Under ``torchrun`` (``WORLD_SIZE > 1`` in the environment) the default process group is
initialised from the environment (``env://``): NCCL when training on CUDA (each
process on ``cuda:LOCAL_RANK``), gloo on the CPU.  The group stays for later calls (a
pipeline trains several networks in one process) and is destroyed at interpreter exit
or by :func:`cleanup_distributed`.  Nothing here is a home-made distributed system:
it is PyTorch's ``torch.distributed``.
"""

from __future__ import annotations

import atexit
import os
from typing import NamedTuple

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "cleanup_distributed", "distributed_context", "init_distributed"]


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


def _is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _barrier() -> None:
    """Wait for every process (no-op with one process)."""
    if _is_distributed():
        dist.barrier()


def _mean_over_ranks(value: torch.Tensor, device: torch.device) -> float:
    """The mean of a scalar over all processes (a collective when distributed)."""
    if not _is_distributed():
        return float(value.detach())
    t = value.detach().to(torch.float64).reshape(1)
    if dist.get_backend() != "nccl":
        t = t.cpu()
    else:
        t = t.to(device)
    dist.all_reduce(t)
    return float(t) / dist.get_world_size()
