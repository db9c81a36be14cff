"""Assertions for property tests of RAW pipelines (public API).

They raise :class:`AssertionError` with the worst offending position and values, so a
hypothesis failure report says what went wrong, not just that something did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rawkit._tensor import to_tensor

__all__ = [
    "TOLERANCES",
    "assert_close",
    "assert_invertible",
    "assert_numpy_torch_agree",
    "tolerance",
]

#: Default ``(atol, rtol)`` per floating dtype for float-exact round trips through a few
#: arithmetic steps.  Integer dtypes must round-trip exactly.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1e-2, 1e-2),
    torch.float32: (1e-5, 1e-5),
    torch.float64: (1e-12, 1e-10),
}


def tolerance(dtype: torch.dtype | np.dtype) -> tuple[float, float]:
    """``(atol, rtol)`` for a dtype: :data:`TOLERANCES`, or ``(0, 0)`` for integers."""
    if isinstance(dtype, np.dtype):
        dtype = torch.from_numpy(np.empty(0, dtype)).dtype
    return TOLERANCES.get(dtype, (0.0, 0.0))


def _t(x: Any) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        return to_tensor(x)
    if isinstance(x, torch.Tensor):
        return x.detach()
    raise TypeError(f"expected a torch.Tensor or numpy.ndarray, got {type(x).__name__}")


def assert_close(
    actual: Any,
    expected: Any,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    mask: Any = None,
    what: str = "values",
) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` element-wise.

    Args:
        actual, expected: arrays or tensors of the same shape (compared on the CPU).
        atol, rtol: tolerances; default from :func:`tolerance` of ``expected``'s dtype
            (exact for integers).
        mask: optional boolean array broadcastable to the shape; only ``True``
            positions are compared (e.g. the unclipped pixels).
        what: name used in the failure message.

    Example:
        >>> import numpy as np
        >>> assert_close(np.ones(3), np.ones(3) + 1e-13)
    """
    a, e = _t(actual).cpu(), _t(expected).cpu()
    if a.shape != e.shape:
        raise AssertionError(f"{what}: shape {tuple(a.shape)} != expected {tuple(e.shape)}")
    if a.dtype != e.dtype:
        raise AssertionError(f"{what}: dtype {a.dtype} != expected {e.dtype}")
    d_atol, d_rtol = tolerance(e.dtype)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    if not (a.is_floating_point() or e.is_floating_point()):
        a, e = a.to(torch.int64), e.to(torch.int64)
    else:
        a, e = a.to(torch.float64), e.to(torch.float64)
    err = (a - e).abs()
    bad = err > atol + rtol * e.abs()
    bad |= torch.isnan(a) != torch.isnan(e)
    if mask is not None:
        bad &= _t(mask).to(torch.bool).cpu().expand_as(bad)
    if bool(bad.any()):
        n = int(bad.sum())
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        worst = float(err[bad].max())
        raise AssertionError(
            f"{what}: {n} of {bad.numel()} elements differ beyond atol={atol:g}, rtol={rtol:g}; "
            f"first at {idx}: {float(a[idx])!r} vs expected {float(e[idx])!r}; worst abs error {worst:g}"
        )


def assert_invertible(
    fwd: Callable[[Any], Any],
    inv: Callable[[Any], Any],
    x: Any,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    mask: Any = None,
) -> None:
    """Assert ``inv(fwd(x)) == x`` within tolerance (exactly for integer dtypes).

    Args:
        fwd, inv: the operation and its claimed inverse (one-argument callables; bind
            options with ``functools.partial`` or a lambda).
        x: the input, array or tensor.
        atol, rtol, mask: as in :func:`assert_close`.

    Example:
        >>> import numpy as np
        >>> from rawkit.cfa import pack, unpack
        >>> m = np.arange(16, dtype=np.uint16).reshape(1, 4, 4)
        >>> assert_invertible(lambda a: pack(a, pattern="RGGB"), lambda a: unpack(a, pattern="RGGB"), m)
    """
    y = fwd(x)
    back = inv(y)
    if type(back) is not type(x):
        raise AssertionError(
            f"inv(fwd(x)) returned {type(back).__name__}, expected {type(x).__name__}"
        )
    assert_close(back, x, atol=atol, rtol=rtol, mask=mask, what="inv(fwd(x))")


def assert_numpy_torch_agree(
    fn: Callable[..., Any],
    x: np.ndarray,
    *args: Any,
    atol: float = 0.0,
    rtol: float = 0.0,
    **kwargs: Any,
) -> None:
    """Assert that ``fn`` gives the same result for a NumPy array and for a tensor.

    Checks that NumPy in gives NumPy out, tensor in gives tensor out, and that the two
    results are equal (exactly by default: rawkit has one implementation, so they should
    be bit-identical).

    Example:
        >>> import numpy as np
        >>> from rawkit.cfa import mosaic
        >>> assert_numpy_torch_agree(mosaic, np.random.rand(3, 4, 4), pattern="BGGR")
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x: expected a numpy.ndarray, got {type(x).__name__}")
    out_np = fn(x.copy(), *args, **kwargs)
    out_t = fn(torch.from_numpy(x.copy()), *args, **kwargs)
    outs_np = out_np if isinstance(out_np, tuple) else (out_np,)
    outs_t = out_t if isinstance(out_t, tuple) else (out_t,)
    for i, (a, b) in enumerate(zip(outs_np, outs_t, strict=True)):
        if isinstance(b, torch.Tensor) and not isinstance(a, np.ndarray):
            raise AssertionError(
                f"output {i}: NumPy input gave {type(a).__name__}, expected numpy.ndarray"
            )
        if isinstance(b, torch.Tensor):
            assert_close(
                a, b.detach().cpu().numpy(), atol=atol, rtol=rtol, what=f"output {i} numpy vs torch"
            )
