"""NumPy <-> torch bridging for "one implementation per op" (private module).

Every public op is written once, in PyTorch.  A NumPy input is wrapped with
:func:`torch.from_numpy` (no copy where NumPy's memory allows it) and the result is
handed back as NumPy in the same layout.  Use :func:`numpy_compat` as a decorator::

    @numpy_compat
    def op(x: Array, *, k: int) -> Array: ...

All positional and keyword ``ndarray`` arguments become tensors; if *any* of them was
a NumPy array (and no argument was a tensor), every tensor in the result becomes NumPy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = ["Array", "numpy_compat", "to_tensor", "to_numpy", "empty_output"]

#: A torch tensor or a NumPy array; rawkit functions return the same kind they got.
Array = torch.Tensor | np.ndarray

F = TypeVar("F", bound=Callable[..., Any])


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """Wrap a NumPy array as a tensor, sharing memory where possible.

    Arrays that ``torch.from_numpy`` cannot wrap (negative strides, read-only
    buffers, non-native byte order) are copied first; the copy never changes values.
    """
    if (
        x.dtype.byteorder not in ("=", "|")
        or not x.flags.writeable
        or any(s < 0 for s in x.strides)
    ):
        x = np.array(x, dtype=x.dtype.newbyteorder("="), copy=True)
    return torch.from_numpy(x)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """Tensor -> NumPy without a copy for CPU tensors that need no gradient."""
    return t.detach().cpu().numpy()


def _convert_out(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return to_numpy(obj)
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_convert_out(o) for o in obj)
    if isinstance(obj, list):
        return [_convert_out(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _convert_out(v) for k, v in obj.items()}
    return obj


def numpy_compat(fn: F) -> F:
    """Decorator: NumPy in -> NumPy out around a torch implementation."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        saw_numpy = False
        saw_tensor = False
        new_args = []
        for a in args:
            if isinstance(a, np.ndarray):
                saw_numpy = True
                a = to_tensor(a)
            elif isinstance(a, torch.Tensor):
                saw_tensor = True
            new_args.append(a)
        new_kwargs = {}
        for k, v in kwargs.items():
            if isinstance(v, np.ndarray):
                saw_numpy = True
                v = to_tensor(v)
            elif isinstance(v, torch.Tensor):
                saw_tensor = True
            new_kwargs[k] = v
        out = fn(*new_args, **new_kwargs)
        if saw_numpy and not saw_tensor:
            return _convert_out(out)
        return out

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def empty_output(
    shape: tuple[int, ...], *, like: torch.Tensor, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """A new uninitialised output tensor on ``like``'s device.

    For CPU outputs without autograd the memory comes from NumPy, whose large
    allocations get huge pages; filling a fresh torch CPU tensor page-faults 4 KiB
    at a time and is several times slower for tens of megabytes.
    """
    dtype = like.dtype if dtype is None else dtype
    if like.device.type == "cpu" and not like.requires_grad:
        try:
            np_dtype = torch.empty((), dtype=dtype).numpy().dtype
        except TypeError:  # dtypes NumPy lacks (bfloat16, ...)
            return torch.empty(shape, dtype=dtype)
        return torch.from_numpy(np.empty(shape, dtype=np_dtype))
    return torch.empty(shape, dtype=dtype, device=like.device)
