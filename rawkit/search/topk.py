r"""Top-k search with faiss and softmax assembly over the ``k`` found (PriorRAW, Sec. 3.3).

When the reference set is large, the softmax of Eq. 3 is dominated by a few entries:
searching the ``k`` largest affinities with faiss (an inner-product index) and taking
the softmax over those ``k`` only approximates Eq. 3 at a cost independent of ``N``
for approximate indices.

**Indices** (``kind`` of :func:`build_index`):

* ``"flat"``: :class:`faiss.IndexFlatIP`, exact brute force (a BLAS matrix product and a
  heap); the default and the right choice for a prior bank of 5,000 entries.
* ``"ivf"``: :class:`faiss.IndexIVFFlat` with inner product, for reference sets that
  outgrow brute force (millions of entries).  It is the approximate index rawkit
  recommends: it stores the vectors uncompressed (memory ~ the data, no graph), it is
  trained by k-means with a fixed ``seed`` so that it is reproducible, and its
  speed/recall trade-off is one number, ``nprobe``.
* ``"hnsw"``: :class:`faiss.IndexHNSWFlat` with inner product: no training and fast
  queries, but a graph of ``2 * hnsw_m`` links per vector on top of the data and, when
  built with several threads, a graph (and results) that change from run to run; set
  ``n_threads=1`` to make it reproducible.

**Gradients.**  The search itself (which entries are found) is not differentiable;
:func:`topk_assemble` recomputes the ``k`` affinities of the found entries in PyTorch,
so the softmax weights, and hence the output, are differentiable with respect to
both feature sets and the values.

**Threads.**  faiss parallelises with OpenMP.  Exact search involves no randomness;
the IVF index is trained with ``seed``; an HNSW graph built by several threads depends
on their timing.  For bit-identical indices pass ``n_threads`` to :func:`build_index`
(it is set with ``faiss.omp_set_num_threads`` for the call and restored afterwards).  faiss runs on the CPU (``faiss-cpu``): tensors on other devices are
copied to the CPU for the search, and results come back on the input's device.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import faiss
import numpy as np
import torch

from rawkit._checks import check_choice, check_int
from rawkit._tensor import Array, numpy_compat
from rawkit.search.affinity import (
    Layout,
    _check_chunk_size,
    _check_features,
    _check_same_kind,
    _check_temperature,
    _map_chunks,
    _output_shape,
    _reference_points,
    _reference_values,
    _target_points,
)

__all__ = ["INDEX_KINDS", "IndexKind", "build_index", "faiss_threads", "topk", "topk_assemble"]

#: faiss index families :func:`build_index` makes (all with inner product).
IndexKind = Literal["flat", "ivf", "hnsw"]
#: Every value of ``IndexKind`` (faiss flat, IVF or HNSW index).
INDEX_KINDS: tuple[str, ...] = ("flat", "ivf", "hnsw")


@contextmanager
def faiss_threads(n_threads: int | None) -> Iterator[None]:
    """Run a block with ``n_threads`` OpenMP threads in faiss (``None``: leave as is).

    Example:
        >>> with faiss_threads(1):
        ...     pass
    """
    if n_threads is None:
        yield
        return
    if not isinstance(n_threads, int) or isinstance(n_threads, bool) or n_threads < 1:
        raise ValueError(f"n_threads: expected an int >= 1 or None, got {n_threads!r}")
    old = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n_threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(old)


def _as_faiss(x: torch.Tensor) -> np.ndarray:
    """A ``(n, C)`` tensor as the C-contiguous float32 NumPy array faiss needs."""
    return np.ascontiguousarray(x.detach().to(device="cpu", dtype=torch.float32).numpy())


def _check_int(value: object, name: str, lo: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name}: expected >= {lo}, got {value}")
    return int(value)


@numpy_compat
def build_index(
    f_r: Array,
    *,
    kind: IndexKind = "flat",
    nlist: int | None = None,
    nprobe: int | None = None,
    hnsw_m: int = 32,
    ef_search: int = 128,
    seed: int = 0,
    n_threads: int | None = None,
) -> faiss.Index:
    """A faiss inner-product index over reference features, for :func:`topk`.

    Args:
        f_r: reference features ``(N, C)`` or ``(*, C, H', W')`` (pixels row-major),
            floating, finite, ``N >= 1``.  faiss stores them as float32.
        kind: ``"flat"`` (exact), ``"ivf"`` or ``"hnsw"`` (approximate); see the module
            notes for when to use which.
        nlist: ``"ivf"`` only: number of inverted lists; default
            ``clip(round(4 sqrt(N)), 1, N // 39)`` (faiss wants >= 39 training points
            per list).
        nprobe: ``"ivf"`` only: lists visited per query; default ``max(1, nlist // 8)``.
            More is slower and closer to exact; ``nprobe = nlist`` is exact.
        hnsw_m: ``"hnsw"`` only: graph links per vector.
        ef_search: ``"hnsw"`` only: search breadth; more is slower and more exact.
        seed: ``"ivf"`` only: seed of the k-means that trains the lists.
        n_threads: OpenMP threads for building (``None``: faiss's default).

    Returns:
        A trained :class:`faiss.Index` holding the ``N`` references (ids ``0..N-1``).
        Not differentiable (faiss copies the values).

    Raises:
        ValueError: empty set, NaN/Inf, bad shape, unknown ``kind``, bad parameters.
        TypeError: not a floating array.

    Example:
        >>> import numpy as np
        >>> index = build_index(np.eye(3, dtype=np.float32))
        >>> index.ntotal, index.d
        (3, 3)
    """
    check_choice(kind, INDEX_KINDS, "kind")
    check_int(hnsw_m, "hnsw_m", minimum=2)
    check_int(ef_search, "ef_search", minimum=1)
    check_int(seed, "seed", minimum=0)
    r = _reference_points(_check_features(f_r, "f_r"))
    n, c = r.shape
    if n == 0:
        raise ValueError(
            f"f_r: expected at least one reference feature, got an empty set {tuple(f_r.shape)}"
        )
    x = _as_faiss(r)
    with faiss_threads(n_threads):
        index: faiss.Index
        if kind == "flat":
            index = faiss.IndexFlatIP(c)
        elif kind == "ivf":
            nl = (
                max(1, min(round(4 * math.sqrt(n)), n // 39))
                if nlist is None
                else _check_int(nlist, "nlist", 1)
            )
            if nl > n:
                raise ValueError(
                    f"nlist: expected <= N = {n} (one training point per list), got {nl}"
                )
            np_ = max(1, nl // 8) if nprobe is None else _check_int(nprobe, "nprobe", 1)
            quantizer = faiss.IndexFlatIP(c)
            ivf = faiss.IndexIVFFlat(quantizer, c, nl, faiss.METRIC_INNER_PRODUCT)
            ivf.cp.seed = int(seed)
            ivf.cp.min_points_per_centroid = 1  # small sets: train without warnings
            ivf.train(x)
            ivf.nprobe = min(np_, nl)
            index = ivf
        else:
            hnsw = faiss.IndexHNSWFlat(
                c, _check_int(hnsw_m, "hnsw_m", 2), faiss.METRIC_INNER_PRODUCT
            )
            hnsw.hnsw.efSearch = _check_int(ef_search, "ef_search", 1)
            index = hnsw
        index.add(x)
    return index


def _resolve_index(f_r: object, c: int) -> faiss.Index:
    if isinstance(f_r, faiss.Index):
        if f_r.d != c:
            raise ValueError(
                f"f_r: expected an index of dimension {c} (the channels of f_t), got d={f_r.d}"
            )
        if f_r.ntotal == 0:
            raise ValueError("f_r: expected an index holding at least one entry, got an empty one")
        if not f_r.is_trained:
            raise ValueError("f_r: expected a trained faiss index, got an untrained one")
        return f_r
    r = _reference_points(_check_features(f_r, "f_r"))
    if r.shape[-1] != c:
        raise ValueError(
            f"f_r: expected {c} feature channels (those of f_t), got {r.shape[-1]} (dimension mismatch)"
        )
    return build_index(r, kind="flat")


def _search(index: faiss.Index, t: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """faiss search of ``(B, M, C)`` targets; ``(B*M, k)`` scores and ids (-1: none found)."""
    q = _as_faiss(t.reshape(-1, t.shape[-1]))
    d, i = index.search(q, k)
    return d, i


def _check_k(k: object, n: int) -> int:
    k = _check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k: expected <= the number of reference entries N = {n}, got {k}")
    return k


@numpy_compat
def topk(
    f_t: Array, f_r: Array | faiss.Index, *, k: int, layout: Layout = "image"
) -> tuple[Array, Array]:
    """The ``k`` reference entries of largest affinity (Eq. 2) for every target pixel.

    A faiss inner-product search: exact when ``f_r`` is a feature array (an
    :class:`faiss.IndexFlatIP` is built for the call) or a ``"flat"`` index, approximate
    for ``"ivf"``/``"hnsw"`` indices from :func:`build_index`.  Not differentiable: use
    :func:`topk_assemble` for gradients through the weights.

    Args:
        f_t: target features ``(*, C, H, W)`` or ``(*, M, C)`` (see ``layout``),
            floating, finite.  faiss searches in float32.
        f_r: reference features ``(N, C)`` or ``(*, C, H', W')``, or a faiss index
            over them (:func:`build_index`).
        k: entries per target pixel, ``1 <= k <= N``.
        layout: ``"image"`` or ``"points"``, the layout of ``f_t``.

    Returns:
        ``(scores, indices)``: the affinities in decreasing order (dtype of ``f_t``) and
        the reference ids (int64, row-major over ``f_r``'s pixels), each
        ``(*, k, H, W)`` for images or ``(*, M, k)`` for points, on ``f_t``'s device.
        Ties are broken by faiss.  An approximate index that finds fewer than ``k``
        entries reports id ``-1`` with score ``-inf``.

    Raises:
        ValueError: channel mismatch, NaN/Inf, empty set, ``k`` larger than the set,
            bad shape or ``layout``.
        TypeError: non-floating input, ``k`` not an int.

    Example:
        >>> import torch
        >>> f_r = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
        >>> scores, ids = topk(torch.tensor([[1.0, 0.2]]), f_r, k=2, layout="points")
        >>> ids
        tensor([[0, 2]])
    """
    f_t = _check_features(f_t, "f_t")
    t, lead, pix = _target_points(f_t, layout)
    index = _resolve_index(f_r, t.shape[-1])
    k = _check_k(k, index.ntotal)
    d, i = _search(index, t, k)
    missing = i < 0
    if missing.any():
        d[missing] = -np.inf
    scores = torch.from_numpy(d).to(device=f_t.device, dtype=f_t.dtype)
    ids = torch.from_numpy(i).to(device=f_t.device)
    shape = (*lead, *pix, k)
    if layout == "image":
        scores = scores.reshape(shape).movedim(-1, -3).contiguous()
        ids = ids.reshape(shape).movedim(-1, -3).contiguous()
        return scores, ids
    return scores.reshape(shape), ids.reshape(shape)


def _topk_chunk(
    t: torch.Tensor, ids: torch.Tensor, r_scaled: torch.Tensor, values: torch.Tensor
) -> torch.Tensor:
    """Softmax over the ``k`` found: ``t (c, C)``, ``ids (c, k)`` -> ``(c, V)``."""
    safe = ids.clamp(min=0)
    a = torch.bmm(r_scaled[safe], t.unsqueeze(-1)).squeeze(-1)  # (c, k) affinities / tau
    a = a.masked_fill(ids < 0, float("-inf"))
    w = torch.softmax(a, dim=1)
    return torch.bmm(w.unsqueeze(1), values[safe]).squeeze(1)


@numpy_compat
def topk_assemble(
    f_t: Array,
    f_r: Array,
    values: Array,
    *,
    k: int,
    temperature: float = 1.0,
    index: faiss.Index | None = None,
    chunk_size: int | None = None,
    layout: Layout = "image",
) -> Array:
    r"""Eq. 3 restricted to the ``k`` best matches: softmax over the ``k`` found only.

    For every target pixel, faiss finds the ``k`` reference entries of largest affinity;
    their affinities are recomputed in PyTorch, divided by ``temperature``, and a
    softmax over those ``k`` weights their ``values``.  With ``k = N`` this is
    :func:`~rawkit.search.assemble`; with ``k = 1`` it copies the best match's values.

    The selection is not differentiable (faiss); the weights are, so gradients reach
    ``f_t``, ``f_r`` (the found entries) and ``values``.  Chunked over the targets
    (memory ``O(chunk_size x k x (C + V))``, checkpointed under autograd).

    Args:
        f_t: target features ``(*, C, H, W)`` or ``(*, M, C)``, floating, finite.
        f_r: reference features ``(N, C)`` or ``(*, C, H', W')``, same dtype and device.
        values: ``(N, V)`` or ``(*, V, H', W')``, laid out like ``f_r``.
        k: entries per target pixel, ``1 <= k <= N``.
        temperature: ``tau > 0`` (the paper: 1).
        index: a faiss index over ``f_r`` (:func:`build_index`), e.g. an approximate
            one, reused across calls; ``None`` builds an exact ``IndexFlatIP``.
        chunk_size: target pixels per chunk; ``None`` keeps about 8 MiB per chunk.
        layout: ``"image"`` or ``"points"``, the layout of ``f_t``.

    Returns:
        ``(*, V, H, W)`` for images or ``(*, M, V)`` for points.

    Raises:
        ValueError: shape/channel mismatch, an index of another size than ``f_r``,
            NaN/Inf, empty set, ``k`` larger than the set, bad options; also when an
            approximate index finds nothing at all for some pixel (raise ``nprobe``).
        TypeError: non-floating input, mixed dtypes.

    Example:
        >>> import torch
        >>> f_r = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, 0.0]])
        >>> raw_r = torch.tensor([[0.2], [0.8], [0.5]])
        >>> out = topk_assemble(torch.tensor([[1.0, 0.0]]), f_r, raw_r, k=2, layout="points")
        >>> round(float(out), 4)  # the third entry is not among the 2 best
        0.2108
    """
    tau = _check_temperature(temperature)
    f_t = _check_features(f_t, "f_t")
    f_r = _check_features(f_r, "f_r")
    values = _check_features(values, "values")
    _check_same_kind(f_r, f_t, "f_r", "f_t")
    _check_same_kind(values, f_t, "values", "f_t")
    t, lead, pix = _target_points(f_t, layout)
    r = _reference_points(f_r)
    v = _reference_values(values, f_r)
    n, c = r.shape
    if c != t.shape[-1]:
        raise ValueError(f"f_r: expected {t.shape[-1]} feature channels (those of f_t), got {c}")
    if n == 0:
        raise ValueError(
            f"f_r: expected at least one reference feature, got an empty set {tuple(f_r.shape)}"
        )
    k = _check_k(k, n)
    if index is None:
        index = build_index(r, kind="flat")
    elif not isinstance(index, faiss.Index):
        raise TypeError(f"index: expected a faiss.Index or None, got {type(index).__name__}")
    elif index.ntotal != n or index.d != c:
        raise ValueError(
            f"index: expected an index over f_r (ntotal={n}, d={c}), got ntotal={index.ntotal}, d={index.d}"
        )
    _, i = _search(index, t, k)
    if (i < 0).all(axis=1).any():
        raise ValueError(
            "index: found no reference entry for some target pixels; raise the index's "
            "nprobe (ivf) or efSearch (hnsw), or use kind='flat'"
        )
    ids = torch.from_numpy(i).to(t.device).reshape(t.shape[0], t.shape[1], k)
    cs = _check_chunk_size(chunk_size, k * (c + v.shape[1]))  # default: ~CHUNK_ELEMENTS a chunk
    r_scaled = r if tau == 1.0 else r / tau
    out = _map_chunks(_topk_chunk, t, (r_scaled, v), cs, v.shape[1], layout, aligned=(ids,))
    return out.reshape(_output_shape(lead, pix, v.shape[1], layout))
