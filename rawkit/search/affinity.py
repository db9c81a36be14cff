r"""Feature affinity and softmax assembly (PriorRAW, Sec. 3.2, Eq. 1-4, Alg. 1 and 3).

PriorRAW encodes a target sRGB image and a set of reference sRGB images into per-pixel
feature vectors (Eq. 1), multiplies them into an affinity matrix (Eq. 2)

.. math:: \mathcal{A} = f_t \otimes f_r ,

applies a softmax over the reference dimension and multiplies the result with any
per-reference-pixel values (RAW, sRGB, ...) to assemble a target image (Eq. 3 and 4)

.. math:: \mathcal{F}RAW_t = \mathrm{Softmax}(\mathcal{A}) \otimes RAW_r .

**What the paper fixes and what it leaves open.**  Eq. 2 is a plain inner product
of the encoder's outputs: the paper normalises nothing and uses no temperature, so
``temperature=1`` (the default) reproduces it.  For cosine similarity, L2-normalise
the features first (``torch.nn.functional.normalize(f, dim=-3)`` for images).  The
temperature divides the affinity before the softmax: ``Softmax(A / temperature)``.

**Layouts.**  Targets are images ``(*, C, H, W)`` (``layout="image"``, the default) or
point sets ``(*, M, C)`` (``layout="points"``).  The reference is a point set ``(N, C)``
or a stack of feature maps ``(*, C, H', W')``; in the latter case *every* pixel of every
reference image is one reference entry (Alg. 1 searches the whole reference batch), in
the row-major order of ``(*, H', W')``.  Values are laid out like the reference:
``(N, V)`` or ``(*, V, H', W')``.

**Memory.**  The full affinity matrix has ``M x N`` entries (``M`` target and ``N``
reference pixels): 60 GB for a 3-megapixel feature map against 5,000 prior entries.
:func:`assemble` and :func:`max_affinity` therefore work through the targets in chunks
of ``chunk_size`` pixels, so that their peak memory is ``O(chunk_size x N)``, and with
autograd they recompute each chunk in the backward pass
(:func:`torch.utils.checkpoint.checkpoint`) so that training memory stays bounded too.
:func:`affinity` returns the whole matrix and is meant for small inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
import torch.utils.checkpoint

from rawkit._checks import check_choice, check_dtype, check_finite, check_tensor_like
from rawkit._tensor import Array, numpy_compat

__all__ = [
    "CHUNK_ELEMENTS",
    "ConfidenceKind",
    "Layout",
    "affinity",
    "assemble",
    "default_chunk_size",
    "max_affinity",
]

#: How targets are laid out: feature maps ``(*, C, H, W)`` or point sets ``(*, M, C)``.
Layout = Literal["image", "points"]
LAYOUTS: tuple[str, ...] = ("image", "points")

#: What :func:`max_affinity` maximises: the inner product of Eq. 2, the cosine
#: similarity, or the softmax weight of Eq. 3.
ConfidenceKind = Literal["inner", "cosine", "softmax"]
CONFIDENCE_KINDS: tuple[str, ...] = ("inner", "cosine", "softmax")

#: Affinity entries per chunk when ``chunk_size=None``: 2**21 (8 MiB in float32), small
#: enough to stay in this machine's cache and large enough for efficient matrix products.
CHUNK_ELEMENTS = 2**21


def default_chunk_size(n_reference: int) -> int:
    """Target pixels per chunk used when ``chunk_size=None``: ``CHUNK_ELEMENTS // N``.

    Example:
        >>> default_chunk_size(5000)
        419
    """
    return max(1, CHUNK_ELEMENTS // max(1, int(n_reference)))


# --------------------------------------------------------------------------- checks


def _check_features(x: object, name: str) -> torch.Tensor:
    """Check a floating, finite tensor (NumPy arrays arrive as tensors via numpy_compat)."""
    check_tensor_like(x, name)
    if not isinstance(x, torch.Tensor):  # called without numpy_compat
        raise TypeError(f"{name}: expected a torch.Tensor here, got {type(x).__name__}")
    check_dtype(x, ["float"], name)
    _check_finite_fast(x, name)
    return x


def _check_finite_fast(x: torch.Tensor, name: str) -> None:
    """``check_finite`` in one allocation-free pass: NaN propagates through min/max and
    an infinity is the min or the max (about 20x faster than ``isfinite(x).all()``)."""
    if x.numel() == 0:
        return
    try:
        lo, hi = torch.aminmax(x.detach())
    except (RuntimeError, NotImplementedError):  # dtypes without aminmax
        check_finite(x, name)
        return
    if not (bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))):
        check_finite(x, name)  # raises with the NaN/Inf counts


def _check_same_kind(x: torch.Tensor, ref: torch.Tensor, name: str, ref_name: str) -> None:
    if x.dtype != ref.dtype:
        raise TypeError(f"{name}: expected dtype {ref.dtype} (that of {ref_name}), got {x.dtype}")
    if x.device != ref.device:
        raise ValueError(
            f"{name}: expected device {ref.device} (that of {ref_name}), got {x.device}"
        )


def _check_temperature(temperature: float) -> float:
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
        raise TypeError(f"temperature: expected a float, got {type(temperature).__name__}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature: expected a finite value > 0, got {temperature}")
    return float(temperature)


def _check_chunk_size(chunk_size: int | None, n_reference: int) -> int:
    if chunk_size is None:
        return default_chunk_size(n_reference)
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool):
        raise TypeError(f"chunk_size: expected an int or None, got {type(chunk_size).__name__}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size: expected >= 1, got {chunk_size}")
    return chunk_size


# --------------------------------------------------------------------------- layouts


def _target_points(
    f_t: torch.Tensor, layout: str
) -> tuple[torch.Tensor, tuple[int, ...], tuple[int, ...]]:
    """``f_t`` as ``(B, M, C)`` (a view where possible), its leading and its pixel shape."""
    check_choice(layout, LAYOUTS, "layout")
    if layout == "image":
        if f_t.ndim < 3:
            raise ValueError(
                f"f_t: expected shape (*, C, H, W) for layout='image', got {tuple(f_t.shape)} "
                "(pass layout='points' for (*, M, C) point sets)"
            )
        lead, c, pix = tuple(f_t.shape[:-3]), f_t.shape[-3], tuple(f_t.shape[-2:])
        t = f_t.reshape(math.prod(lead), c, pix[0] * pix[1]).transpose(1, 2)
    else:
        if f_t.ndim < 2:
            raise ValueError(
                f"f_t: expected shape (*, M, C) for layout='points', got {tuple(f_t.shape)}"
            )
        lead, pix, c = tuple(f_t.shape[:-2]), (f_t.shape[-2],), f_t.shape[-1]
        t = f_t.reshape(math.prod(lead), pix[0], c)
    return t, lead, pix


def _reference_points(f_r: torch.Tensor, name: str = "f_r") -> torch.Tensor:
    """Reference features ``(N, C)`` or ``(*, C, H', W')`` as a contiguous ``(N, C)``."""
    if f_r.ndim == 2:
        return f_r
    if f_r.ndim < 3:
        raise ValueError(f"{name}: expected shape (N, C) or (*, C, H', W'), got {tuple(f_r.shape)}")
    n = math.prod(f_r.shape[:-3]) * f_r.shape[-2] * f_r.shape[-1]
    return f_r.movedim(-3, -1).reshape(n, f_r.shape[-3])


def _reference_values(values: torch.Tensor, f_r: torch.Tensor) -> torch.Tensor:
    """Values laid out like ``f_r`` (``(N, V)`` or ``(*, V, H', W')``) as ``(N, V)``."""
    if f_r.ndim == 2:
        if values.ndim != 2 or values.shape[0] != f_r.shape[0]:
            raise ValueError(
                f"values: expected shape ({f_r.shape[0]}, V) to match f_r {tuple(f_r.shape)}, "
                f"got {tuple(values.shape)}"
            )
        return values
    want_lead, want_pix = tuple(f_r.shape[:-3]), tuple(f_r.shape[-2:])
    if (
        values.ndim != f_r.ndim
        or tuple(values.shape[:-3]) != want_lead
        or tuple(values.shape[-2:]) != want_pix
    ):
        spec = ", ".join(str(s) for s in (*want_lead, "V", *want_pix))
        raise ValueError(
            f"values: expected shape ({spec}) to match f_r {tuple(f_r.shape)}, got {tuple(values.shape)}"
        )
    return _reference_points(values, "values")


def _prepare(
    f_t: object, f_r: object, layout: str
) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...], tuple[int, ...]]:
    """Validate both feature sets; return ``(B, M, C)`` targets and ``(N, C)`` references."""
    f_t = _check_features(f_t, "f_t")
    f_r = _check_features(f_r, "f_r")
    _check_same_kind(f_r, f_t, "f_r", "f_t")
    t, lead, pix = _target_points(f_t, layout)
    r = _reference_points(f_r)
    if r.shape[-1] != t.shape[-1]:
        raise ValueError(
            f"f_r: expected {t.shape[-1]} feature channels (those of f_t), got {r.shape[-1]} "
            f"(f_t {tuple(f_t.shape)}, f_r {tuple(f_r.shape)})"
        )
    if r.shape[0] == 0:
        raise ValueError(
            f"f_r: expected at least one reference feature, got an empty set {tuple(f_r.shape)}"
        )
    return t, r, lead, pix


def _output_shape(
    lead: tuple[int, ...], pix: tuple[int, ...], v: int, layout: str
) -> tuple[int, ...]:
    return (*lead, v, *pix) if layout == "image" else (*lead, *pix, v)


def _needs_grad(*xs: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(x.requires_grad for x in xs)


def _map_chunks(
    fn: Callable[..., torch.Tensor],
    t: torch.Tensor,
    extra: tuple[torch.Tensor, ...],
    chunk_size: int,
    out_channels: int,
    layout: str,
    aligned: tuple[torch.Tensor, ...] = (),
) -> torch.Tensor:
    """Apply ``fn(t_chunk (c, C), *aligned_chunks, *extra) -> (c, V)`` over target chunks.

    ``t`` is ``(B, M, C)``; each tensor in ``aligned`` is ``(B, M, ...)`` and is sliced
    along with it.  Returns ``(B, V, M)`` for images or ``(B, M, V)`` for points.  Without
    autograd the chunks are written into one preallocated output; with autograd every
    chunk is a checkpoint (recomputed in the backward pass) and the chunks are
    concatenated, so that no chunk's intermediates outlive it.
    """
    b, m, _ = t.shape
    if b and m and _needs_grad(t, *extra):
        rows = []
        for i in range(b):
            parts = [
                torch.utils.checkpoint.checkpoint(
                    fn,
                    t[i, j : j + chunk_size],
                    *(a[i, j : j + chunk_size] for a in aligned),
                    *extra,
                    use_reentrant=False,
                )
                for j in range(0, m, chunk_size)
            ]
            rows.append(torch.cat(parts, 0))
        out = torch.stack(rows, 0)
        return out.transpose(1, 2) if layout == "image" else out
    shape = (b, out_channels, m) if layout == "image" else (b, m, out_channels)
    out = torch.empty(shape, dtype=t.dtype, device=t.device)
    for i in range(b):
        for j in range(0, m, chunk_size):
            res = fn(t[i, j : j + chunk_size], *(a[i, j : j + chunk_size] for a in aligned), *extra)
            dst = (
                out[i, :, j : j + chunk_size].T if layout == "image" else out[i, j : j + chunk_size]
            )
            dst.copy_(res)
    return out


# --------------------------------------------------------------------------- chunk kernels


def _softmax_assemble_chunk(
    t: torch.Tensor, r_scaled: torch.Tensor, values: torch.Tensor
) -> torch.Tensor:
    """Eq. 3 for one chunk: ``softmax(t @ r_scaled.T, dim=1) @ values``, shape ``(c, V)``."""
    a = torch.mm(t, r_scaled.T)  # (c, N): Eq. 2 divided by the temperature
    if torch.is_grad_enabled() and (
        t.requires_grad or r_scaled.requires_grad or values.requires_grad
    ):
        return torch.mm(torch.softmax(a, dim=1), values)
    # In place, and normalised after the product: one (c, N) buffer, V divisions a row.
    a.sub_(a.amax(dim=1, keepdim=True)).exp_()
    s = a.sum(dim=1, keepdim=True)
    return torch.mm(a, values).div_(s)


def _max_inner_chunk(t: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.mm(t, r.T).amax(dim=1, keepdim=True)


def _max_softmax_chunk(t: torch.Tensor, r_scaled: torch.Tensor) -> torch.Tensor:
    a = torch.mm(t, r_scaled.T)
    # max_j softmax(a)_j = exp(max_j a_j - logsumexp(a))
    return torch.exp(a.amax(dim=1, keepdim=True) - torch.logsumexp(a, dim=1, keepdim=True))


# --------------------------------------------------------------------------- public


@numpy_compat
def affinity(f_t: Array, f_r: Array, *, layout: Layout = "image") -> Array:
    r"""The affinity matrix of PriorRAW, Eq. 2: :math:`\mathcal{A} = f_t \otimes f_r`.

    Every target feature vector's inner product with every reference feature vector.
    This materialises all ``M x N`` entries; for large sets use :func:`assemble` or
    :func:`max_affinity`, which never hold more than ``chunk_size x N``.

    Args:
        f_t: target features ``(*, C, H, W)`` (``layout="image"``) or ``(*, M, C)``
            (``layout="points"``), floating, finite.
        f_r: reference features ``(N, C)`` or ``(*, C, H', W')`` (all pixels of all
            images form the ``N`` entries, row-major), same dtype and device as ``f_t``.
        layout: ``"image"`` or ``"points"``, the layout of ``f_t``.

    Returns:
        ``(*, N, H, W)`` for images (one channel per reference entry) or ``(*, M, N)``
        for points; same dtype and device as ``f_t``.  Differentiable w.r.t. both.

    Raises:
        ValueError: wrong shapes, different channel counts ``C``, an empty reference
            set, NaN/Inf, unknown ``layout``, different devices.
        TypeError: not an array, not floating, or different dtypes.

    Example:
        >>> import torch
        >>> f_t = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # 2 target points, C=2
        >>> f_r = torch.tensor([[1.0, 1.0], [0.0, -1.0], [3.0, 0.0]])  # N=3
        >>> affinity(f_t, f_r, layout="points")
        tensor([[ 1.,  0.,  3.],
                [ 2., -2.,  0.]])
    """
    t, r, lead, pix = _prepare(f_t, f_r, layout)
    a = torch.matmul(t, r.T)  # (B, M, N)
    if layout == "image":
        return a.transpose(1, 2).reshape(*lead, r.shape[0], *pix)
    return a.reshape(*lead, *pix, r.shape[0])


@numpy_compat
def assemble(
    f_t: Array,
    f_r: Array,
    values: Array,
    *,
    temperature: float = 1.0,
    chunk_size: int | None = None,
    layout: Layout = "image",
) -> Array:
    r"""Softmax assembly of PriorRAW, Eq. 3/4: :math:`\mathrm{Softmax}(\mathcal{A}/\tau) \otimes v_r`.

    For every target pixel, a softmax over all reference entries of its affinities
    (Eq. 2) divided by ``temperature`` weights the reference ``values`` (RAW for Eq. 3,
    sRGB and RAW for Eq. 4, anything per reference entry).  The targets are processed
    ``chunk_size`` pixels at a time, so peak memory is ``O(chunk_size x N)`` (one
    ``chunk_size x N`` buffer) and never ``O(M x N)``; the result equals the unchunked
    formula up to floating-point rounding.

    Differentiable with respect to ``f_t``, ``f_r`` and ``values``.  With autograd each
    chunk is a :func:`torch.utils.checkpoint.checkpoint`, recomputed during the backward
    pass, so training memory is bounded by the chunk size as well.

    Args:
        f_t: target features ``(*, C, H, W)`` or ``(*, M, C)`` (see ``layout``),
            floating, finite.
        f_r: reference features ``(N, C)`` or ``(*, C, H', W')``, ``N >= 1``; same dtype
            and device as ``f_t``.
        values: per-reference values ``(N, V)`` if ``f_r`` is ``(N, C)``, else
            ``(*, V, H', W')`` with ``f_r``'s leading and pixel shape; any range
            (nothing is clipped), same dtype and device.
        temperature: ``tau > 0``; the paper's Eq. 3 is ``tau = 1``.  Smaller values
            sharpen the weights towards the single best match.
        chunk_size: target pixels per chunk; ``None`` picks
            :func:`default_chunk_size` (about 8 MiB of float32 affinities per chunk).
        layout: ``"image"`` or ``"points"``, the layout of ``f_t``.

    Returns:
        ``(*, V, H, W)`` for images or ``(*, M, V)`` for points.  Each output is a convex
        combination of the reference values.

    Raises:
        ValueError: shape or channel mismatch, empty reference set, NaN/Inf, a
            non-positive temperature or chunk size, unknown ``layout``.
        TypeError: non-array or non-floating input, mixed dtypes.

    Example:
        >>> import torch
        >>> f_r = torch.tensor([[4.0, 0.0], [0.0, 4.0]])  # two reference pixels
        >>> raw_r = torch.tensor([[0.2], [0.8]])  # their RAW values
        >>> f_t = torch.tensor([[[[1.0]], [[0.0]]]])  # one 1x1 target image, C=2
        >>> round(float(assemble(f_t, f_r, raw_r)), 4)  # (0.2 e^4 + 0.8) / (e^4 + 1)
        0.2108
    """
    tau = _check_temperature(temperature)
    t, r, lead, pix = _prepare(f_t, f_r, layout)
    values = _check_features(values, "values")
    _check_same_kind(values, t, "values", "f_t")
    v = _reference_values(values, _check_features(f_r, "f_r"))
    cs = _check_chunk_size(chunk_size, r.shape[0])
    r_scaled = r if tau == 1.0 else r / tau
    out = _map_chunks(_softmax_assemble_chunk, t, (r_scaled, v), cs, v.shape[1], layout)
    return out.reshape(_output_shape(lead, pix, v.shape[1], layout))


@numpy_compat
def max_affinity(
    f_t: Array,
    f_r: Array,
    *,
    kind: ConfidenceKind = "cosine",
    temperature: float = 1.0,
    chunk_size: int | None = None,
    layout: Layout = "image",
) -> Array:
    r"""The best match of every target pixel, as a confidence map (PriorRAW, Sec. 4).

    PriorRAW observes that pixels whose assembled RAW is accurate have a maximum
    affinity of about 0.9, while mismatched ones (no similar pixel in the reference
    set) stay below 0.6.  The paper does not say on which scale; values in ``[0, 1]``
    point to either the cosine similarity or the softmax weight, so both are offered
    along with the raw inner product of Eq. 2:

    * ``"cosine"`` (default): :math:`\max_n \cos(f_t, f_r^n)` in ``[-1, 1]``;
    * ``"softmax"``: :math:`\max_n \mathrm{Softmax}(\mathcal{A}/\tau)_n` in ``(0, 1]``,
      the largest weight of :func:`assemble`;
    * ``"inner"``: :math:`\max_n \mathcal{A}_n`, unbounded.

    Chunked like :func:`assemble` (peak memory ``O(chunk_size x N)``) and
    differentiable (a subgradient: the gradient flows through the arg-max entry).

    Args:
        f_t: target features ``(*, C, H, W)`` or ``(*, M, C)``, floating, finite.
        f_r: reference features ``(N, C)`` or ``(*, C, H', W')``; same dtype and device.
        kind: ``"cosine"``, ``"softmax"`` or ``"inner"``.
        temperature: ``tau > 0`` for ``kind="softmax"`` (ignored otherwise).
        chunk_size: target pixels per chunk; ``None`` for :func:`default_chunk_size`.
        layout: ``"image"`` or ``"points"``, the layout of ``f_t``.

    Returns:
        ``(*, H, W)`` for images or ``(*, M)`` for points.

    Raises:
        ValueError, TypeError: as :func:`assemble`, or an unknown ``kind``.

    Example:
        >>> import torch
        >>> f_r = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> f_t = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
        >>> max_affinity(f_t, f_r, kind="cosine", layout="points")
        tensor([1.0000, 0.7071])
    """
    check_choice(kind, CONFIDENCE_KINDS, "kind")
    tau = _check_temperature(temperature)
    t, r, lead, pix = _prepare(f_t, f_r, layout)
    cs = _check_chunk_size(chunk_size, r.shape[0])
    if kind == "cosine":
        t, r = F.normalize(t, dim=-1), F.normalize(r, dim=-1)
        fn: Callable[..., torch.Tensor] = _max_inner_chunk
    elif kind == "inner":
        fn = _max_inner_chunk
    else:
        r = r if tau == 1.0 else r / tau
        fn = _max_softmax_chunk
    out = _map_chunks(fn, t, (r,), cs, 1, layout)
    return out.reshape(*lead, *pix)
