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
of ``chunk_size`` pixels, reusing one ``chunk_size x N`` buffer, so that their peak
memory is ``O(chunk_size x N)``.  Training memory stays bounded too: :func:`assemble`
has its own chunked backward pass that recomputes each chunk's softmax (as
flash-attention does; first-order gradients only), and :func:`max_affinity` and
:func:`~rawkit.search.topk_assemble` recompute each chunk with
:func:`torch.utils.checkpoint.checkpoint`.  :func:`affinity` returns the whole matrix
and is meant for small inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Literal

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch.autograd.function import once_differentiable

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


def _chunks(b: int, m: int, chunk_size: int) -> Iterator[tuple[int, int, int]]:
    """``(batch index, first pixel, pixels)`` of every chunk."""
    for i in range(b):
        for j in range(0, m, chunk_size):
            yield i, j, min(chunk_size, m - j)


def _rows(x: torch.Tensor, i: int, j: int, c: int, layout: str) -> torch.Tensor:
    """Chunk ``(c, V)`` of an output laid out ``(B, V, M)`` (image) or ``(B, M, V)`` (points)."""
    return x[i, :, j : j + c].T if layout == "image" else x[i, j : j + c]


def _map_chunks(
    fn: Callable[..., torch.Tensor],
    t: torch.Tensor,
    extra: tuple[torch.Tensor, ...],
    chunk_size: int,
    out_channels: int,
    layout: str,
    aligned: tuple[torch.Tensor, ...] = (),
    work_columns: int = 0,
) -> torch.Tensor:
    """Apply ``fn(t_chunk (c, C), *aligned_chunks, *extra, work=...) -> (c, V)`` chunk-wise.

    ``t`` is ``(B, M, C)``; each tensor in ``aligned`` is ``(B, M, ...)`` and is sliced
    along with it.  Returns ``(B, V, M)`` for images or ``(B, M, V)`` for points.

    Without autograd the chunks are written into one preallocated output, and ``fn`` gets
    ``work``, one ``(chunk_size, work_columns)`` buffer reused by every chunk (a fresh
    buffer per chunk would leave the C allocator with a fragmented heap whose resident
    size grows with the number of chunks).  With autograd every chunk is a checkpoint
    (recomputed in the backward pass, ``work=None``) and the chunks are concatenated.
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
    work = None
    if work_columns and b and m:
        work = torch.empty((min(chunk_size, m), work_columns), dtype=t.dtype, device=t.device)
    for i, j, c in _chunks(b, m, chunk_size):
        args = (t[i, j : j + c], *(a[i, j : j + c] for a in aligned), *extra)
        res = fn(*args) if work is None else fn(*args, work=work[:c])
        _rows(out, i, j, c, layout).copy_(res)
    return out


# --------------------------------------------------------------------------- softmax assembly


def _softmax_(a: torch.Tensor) -> torch.Tensor:
    """Turn affinities ``(c, N)`` into unnormalised softmax weights in place; row sums."""
    a.sub_(a.amax(dim=1, keepdim=True)).exp_()
    return a.sum(dim=1, keepdim=True)


def _assemble_forward(
    t: torch.Tensor, r_scaled: torch.Tensor, values: torch.Tensor, chunk_size: int, layout: str
) -> torch.Tensor:
    """Eq. 3 chunk by chunk with one reused ``(chunk, N)`` buffer; no autograd."""
    b, m, _ = t.shape
    n, v = values.shape
    shape = (b, v, m) if layout == "image" else (b, m, v)
    out = torch.empty(shape, dtype=t.dtype, device=t.device)
    if b == 0 or m == 0:
        return out
    rows = min(chunk_size, m)
    work = torch.empty((rows, n), dtype=t.dtype, device=t.device)
    tmp = torch.empty((rows, v), dtype=t.dtype, device=t.device)
    for i, j, c in _chunks(b, m, chunk_size):
        a = torch.mm(t[i, j : j + c], r_scaled.T, out=work[:c])  # Eq. 2 / temperature
        s = _softmax_(a)
        o = torch.mm(a, values, out=tmp[:c]).div_(s)  # normalise after the product
        _rows(out, i, j, c, layout).copy_(o)
    return out


class _SoftmaxAssemble(torch.autograd.Function):
    """Chunked Eq. 3 with a chunked backward pass that recomputes the softmax.

    With ``a = t r^T`` (``r`` already divided by the temperature), ``P = softmax(a)``
    and ``o = P v``, the gradients for an output gradient ``g`` are, chunk by chunk,
    ``dv += P^T g``, ``da = P * (g v^T - rowsum(g * o))``, ``dt = da r`` and
    ``dr += da^T t``; two ``(chunk, N)`` buffers, whatever ``M``.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        t: torch.Tensor,
        r_scaled: torch.Tensor,
        values: torch.Tensor,
        chunk_size: int,
        layout: str,
    ) -> torch.Tensor:
        out = _assemble_forward(t, r_scaled, values, chunk_size, layout)
        ctx.save_for_backward(t, r_scaled, values, out)
        ctx.chunk_size, ctx.layout = chunk_size, layout
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        t, r, v, out = ctx.saved_tensors
        need_t, need_r, need_v = ctx.needs_input_grad[:3]
        b, m, c_feat = t.shape
        n = r.shape[0]
        layout, cs = ctx.layout, ctx.chunk_size
        grad = grad.contiguous()
        dt = torch.empty((b, m, c_feat), dtype=t.dtype, device=t.device) if need_t else None
        dr = torch.zeros_like(r) if need_r else None
        dv = torch.zeros_like(v) if need_v else None
        rows = min(cs, m)
        p_buf = torch.empty((rows, n), dtype=t.dtype, device=t.device)
        q_buf = torch.empty((rows, n), dtype=t.dtype, device=t.device) if need_t or need_r else None
        for i, j, c in _chunks(b, m, cs):
            tc = t[i, j : j + c]
            gc = _rows(grad, i, j, c, layout)
            p = torch.mm(tc, r.T, out=p_buf[:c])
            p.div_(_softmax_(p))  # P, exactly as in the forward pass
            if dv is not None:
                dv.addmm_(p.T, gc)
            if q_buf is not None:
                delta = (gc * _rows(out, i, j, c, layout)).sum(dim=1, keepdim=True)
                da = torch.mm(gc, v.T, out=q_buf[:c]).sub_(delta).mul_(p)
                if dt is not None:
                    torch.mm(da, r, out=dt[i, j : j + c])
                if dr is not None:
                    dr.addmm_(da.T, tc)
        return dt, dr, dv, None, None


# --------------------------------------------------------------------------- max affinity


def _max_inner_chunk(
    t: torch.Tensor, r: torch.Tensor, work: torch.Tensor | None = None
) -> torch.Tensor:
    a = torch.mm(t, r.T) if work is None else torch.mm(t, r.T, out=work)
    return a.amax(dim=1, keepdim=True)


def _max_softmax_chunk(
    t: torch.Tensor, r_scaled: torch.Tensor, work: torch.Tensor | None = None
) -> torch.Tensor:
    if work is None:  # differentiable: max_j softmax(a)_j = exp(max_j a_j - logsumexp(a))
        a = torch.mm(t, r_scaled.T)
        return torch.exp(a.amax(dim=1, keepdim=True) - torch.logsumexp(a, dim=1, keepdim=True))
    # In place: after subtracting the row maximum the largest weight is exp(0) = 1.
    return _softmax_(torch.mm(t, r_scaled.T, out=work)).reciprocal_()


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

    Differentiable with respect to ``f_t``, ``f_r`` and ``values`` (first-order: the
    backward pass is itself chunked and recomputes each chunk's softmax instead of
    storing it, so training memory is ``O(chunk_size x N)`` as well; it is not
    differentiable twice).

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
    if _needs_grad(t, r_scaled, v):
        out = _SoftmaxAssemble.apply(t, r_scaled, v, cs, layout)
    else:
        out = _assemble_forward(t, r_scaled, v, cs, layout)
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
    out = _map_chunks(fn, t, (r,), cs, 1, layout, work_columns=r.shape[0])
    return out.reshape(*lead, *pix)
