r"""Prior metadata: clustering and grouping a reference set into a PriorBank (PriorRAW Alg. 2).

PriorRAW (Sec. 3.3) encodes a reference set of 100 images (26,214,400 feature pixels)
with its Pixel Searching Encoder, clusters the features with faiss k-means using the
inner product ("randomly select the initial centroid"), and for every one of the 5,000
centroids averages the features, sRGB and RAW values of the ``group_size`` reference
pixels nearest to it.  The resulting 5,000 entries (0.02 % of the set) replace the
reference set in Eq. 4.  Sec. 3.3 and Alg. 2 use ``group_size=200``; the ablation
(Sec. 4, Table 1) settles on 1,000, rawkit's default.

:func:`build_prior_bank` does exactly that, as Alg. 2 reads:

1. features, sRGB and RAW of all reference pixels (streamed through an encoder in
   batches when given images, so the images are never all in memory at once);
2. ``KMeansClustering``: :class:`faiss.Kmeans` with ``spherical=True`` (assignment by
   inner product, unit-norm centroids; ``metric="ip"``) or plain L2 k-means
   (``metric="l2"``), random initial centroids, ``niter`` iterations, ``seed``.  Like
   faiss itself, it trains on a random subset of at most
   ``max_points_per_centroid x n_clusters`` points (faiss's default 256: 1,280,000
   points for 5,000 clusters), drawn here with ``numpy.random.default_rng(seed)``;
3. ``selectNearest``: for each centroid, the ``group_size`` reference pixels of largest
   inner product (or smallest L2 distance) among *all* reference pixels, searched
   exactly with ``faiss.knn``, one call per block, merged with ``faiss.ResultHeap``
   when the reference set came in several blocks;
4. ``mean``: the averages (in float64, over the group's ids in increasing order) of
   their features, sRGB and RAW values.

**Determinism.**  The same inputs and ``seed`` give a bit-identical bank on one machine
with one thread count.  faiss's OpenMP parallel k-means and search are deterministic
for a fixed thread count; pass ``n_threads`` to pin it (the call sets
``faiss.omp_set_num_threads`` and restores it afterwards).

**File format** (:meth:`PriorBank.save`, version 1).  An uncompressed NumPy ``.npz``
archive (a ZIP of ``.npy`` members, readable with ``numpy.load(path,
allow_pickle=False)``) holding:

========== ================== ===============================================
member     dtype, shape       content
========== ================== ===============================================
features   ``<f4 (K, C)``     the averaged features of the ``K`` entries
srgb       ``<f4 (K, 3)``     their averaged sRGB values
raw        ``<f4 (K, R)``     their averaged RAW values (``R``: 3 RGB or 4 packed)
metadata   0-d unicode string JSON object, below
========== ================== ===============================================

The JSON holds ``"format": "rawkit.PriorBank"``, ``"version": 1``, the build record
(``encoder_id``, ``metric``, ``n_clusters``, ``group_size``, ``niter``, ``seed``,
``n_reference``; ``null`` when unknown), ``rawkit_version`` and ``"sha256"``: the hex
SHA-256 of the canonical JSON of all other metadata fields (sorted keys, no spaces),
then for ``features``, ``srgb``, ``raw`` in this order the member name, the dtype string,
the shape and the C-order bytes.  A file that cannot be read, misses a member or fails
the checksum raises :class:`PriorBankFileError` (an :class:`OSError`); a valid file of a
newer format version, or of another encoder or feature size than the caller asks
for, raises :class:`ValueError`.  Writes go to a temporary file in the same folder that
is then renamed, and never replace an existing file unless ``overwrite=True``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import faiss
import numpy as np
import torch
from tqdm import tqdm  # text bars: tqdm.auto warns in Jupyter without ipywidgets

from rawkit._checks import check_choice, check_tensor_like
from rawkit._tensor import Array, to_numpy, to_tensor
from rawkit.io._atomic import atomic_write, check_writable
from rawkit.prior._reference import ARRAYS, checksum, collect, read_archive
from rawkit.search import assemble, build_index, max_affinity, topk_assemble
from rawkit.search.affinity import ConfidenceKind, Layout
from rawkit.search.topk import IndexKind, faiss_threads

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METRICS",
    "Assembled",
    "Metric",
    "PriorBank",
    "PriorBankFileError",
    "build_prior_bank",
]

#: The ``format`` field of a saved prior bank's JSON.
FORMAT_NAME = "rawkit.PriorBank"
#: The file format version :meth:`PriorBank.save` writes and the newest it reads.
FORMAT_VERSION = 1

#: Clustering and grouping measure: inner product (the paper) or squared L2 distance.
Metric = Literal["ip", "l2"]
#: Every value of ``Metric``: inner product or L2.
METRICS: tuple[str, ...] = ("ip", "l2")

_BUILD_FIELDS = ("encoder_id", "metric", "n_clusters", "group_size", "niter", "seed", "n_reference")


class PriorBankFileError(OSError):
    """A PriorBank file that cannot be read: not an archive, truncated, members
    missing, or contents that fail the checksum."""


class Assembled(NamedTuple):
    """sRGB and RAW assembled from a bank (Eq. 4, Alg. 3 line 4)."""

    srgb: Array
    raw: Array


# --------------------------------------------------------------------------- PriorBank


def _target_tensor(f_t: object) -> tuple[torch.Tensor, bool]:
    """``f_t`` as a floating tensor, and whether it came as NumPy."""
    check_tensor_like(f_t, "f_t")
    is_np = isinstance(f_t, np.ndarray)
    t = to_tensor(f_t) if isinstance(f_t, np.ndarray) else f_t
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise TypeError(f"f_t: expected a floating dtype, got {getattr(t, 'dtype', None)}")
    return t, is_np


def _as_bank_array(x: Any, name: str) -> np.ndarray:
    check_tensor_like(x, name)
    a = to_numpy(x) if isinstance(x, torch.Tensor) else x
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating array, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name}: expected shape (K, channels), got {a.shape}")
    a = np.array(a, dtype="<f4", order="C", copy=True)
    if not np.isfinite(a).all():
        raise ValueError(
            f"{name}: expected finite values, got {int((~np.isfinite(a)).sum())} NaN/Inf"
        )
    a.flags.writeable = False
    return a


def _optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name}: expected an int or None, got {type(value).__name__}")
    return int(value)


@dataclasses.dataclass(frozen=True, eq=False)
class PriorBank:
    """Prior metadata: ``K`` entries of averaged features, sRGB and RAW, and how they were made.

    Arrays are stored as read-only float32 NumPy arrays (copies of what was passed).
    The build record (``encoder_id`` ... ``n_reference``) is informative: ``None``
    where unknown.  Use :func:`build_prior_bank` to make one from a reference set.

    Attributes:
        features: ``(K, C)`` averaged encoder features.
        srgb: ``(K, 3)`` averaged sRGB values in the reference's range (e.g. [0, 1]).
        raw: ``(K, R)`` averaged RAW values (``R`` = 3 for RAW-RGB, 4 for packed RAW).
        encoder_id: who made the features (free text, e.g. a checkpoint hash); a
            bank is only meaningful with the same encoder.
        metric: ``"ip"`` or ``"l2"``, the clustering/grouping measure.
        n_clusters, group_size, niter, seed, n_reference: the build parameters and
            the number of reference pixels.

    Example:
        >>> import numpy as np
        >>> bank = PriorBank(np.eye(2), np.full((2, 3), 0.5), np.array([[0.1] * 4, [0.9] * 4]))
        >>> len(bank), bank.dim
        (2, 2)
        >>> out = bank.assemble(np.array([[[[8.0]], [[0.0]]]]))  # one pixel, like entry 0
        >>> round(float(out.raw[0, 0, 0, 0]), 3)
        0.1
    """

    features: np.ndarray
    srgb: np.ndarray
    raw: np.ndarray
    encoder_id: str = ""
    metric: Metric = "ip"
    n_clusters: int | None = None
    group_size: int | None = None
    niter: int | None = None
    seed: int | None = None
    n_reference: int | None = None

    def __post_init__(self) -> None:
        for name in ARRAYS:
            object.__setattr__(self, name, _as_bank_array(getattr(self, name), name))
        k = self.features.shape[0]
        if k == 0:
            raise ValueError("features: expected at least one bank entry, got 0")
        for name in ("srgb", "raw"):
            if getattr(self, name).shape[0] != k:
                raise ValueError(
                    f"{name}: expected {k} rows (one per entry of features), got {getattr(self, name).shape[0]}"
                )
        if self.srgb.shape[1] != 3:
            raise ValueError(f"srgb: expected 3 channels, got {self.srgb.shape[1]}")
        if not isinstance(self.encoder_id, str):
            raise TypeError(f"encoder_id: expected a str, got {type(self.encoder_id).__name__}")
        check_choice(self.metric, METRICS, "metric")
        for name in ("n_clusters", "group_size", "niter", "seed", "n_reference"):
            object.__setattr__(self, name, _optional_int(getattr(self, name), name))

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def __repr__(self) -> str:
        return (
            f"PriorBank(K={len(self)}, C={self.dim}, R={self.raw.shape[1]}, encoder_id={self.encoder_id!r}, "
            f"metric={self.metric!r}, n_clusters={self.n_clusters}, group_size={self.group_size}, "
            f"niter={self.niter}, seed={self.seed}, n_reference={self.n_reference})"
        )

    @property
    def dim(self) -> int:
        """Feature channels ``C``."""
        return int(self.features.shape[1])

    def build_record(self) -> dict[str, Any]:
        """The build parameters as a JSON-ready dict."""
        return {name: getattr(self, name) for name in _BUILD_FIELDS}

    # ------------------------------------------------------------------ search

    def _tensors(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = to_tensor(self.features).to(device=like.device, dtype=like.dtype)
        vals = to_tensor(np.concatenate([self.srgb, self.raw], axis=1)).to(
            device=like.device, dtype=like.dtype
        )
        return feats, vals

    def assemble(
        self,
        f_t: Array,
        *,
        temperature: float = 1.0,
        k: int | None = None,
        index: faiss.Index | None = None,
        chunk_size: int | None = None,
        layout: Layout = "image",
    ) -> Assembled:
        r"""Assemble sRGB and RAW for target features from the bank (Eq. 4, Alg. 3 line 3-4).

        ``k=None`` takes the softmax over all ``K`` entries
        (:func:`rawkit.search.assemble`, differentiable w.r.t. ``f_t``); an int ``k``
        takes it over the ``k`` best found by faiss (:func:`rawkit.search.topk_assemble`;
        ``index`` from :meth:`build_index` reuses an index across calls).

        Args:
            f_t: target features ``(*, C, H, W)`` or ``(*, M, C)`` (``layout``),
                floating; the bank is cast to its dtype and device.
            temperature: softmax temperature ``tau > 0`` (the paper: 1).
            k: ``None`` (all entries) or ``1 <= k <= K``.
            index: optional faiss index over the bank's features (with ``k``).
            chunk_size: target pixels per chunk (``None``: automatic).
            layout: ``"image"`` or ``"points"``.

        Returns:
            :class:`Assembled` ``(srgb, raw)``: ``(*, 3, H, W)`` and ``(*, R, H, W)`` (or
            ``(*, M, 3)``, ``(*, M, R)``), NumPy for NumPy input.

        Raises:
            ValueError, TypeError: as :func:`rawkit.search.assemble`.
        """
        t, is_np = _target_tensor(f_t)
        feats, vals = self._tensors(t)
        if k is None:
            if index is not None:
                raise ValueError(
                    "index: only used with k (top-k assembly); got an index with k=None"
                )
            out: Any = assemble(
                t, feats, vals, temperature=temperature, chunk_size=chunk_size, layout=layout
            )
        else:
            out = topk_assemble(
                t,
                feats,
                vals,
                k=k,
                temperature=temperature,
                index=index,
                chunk_size=chunk_size,
                layout=layout,
            )
        ch = -3 if layout == "image" else -1
        srgb, raw = torch.split(out, [3, self.raw.shape[1]], dim=ch)
        if is_np:
            return Assembled(to_numpy(srgb), to_numpy(raw))
        return Assembled(srgb, raw)

    def max_affinity(
        self,
        f_t: Array,
        *,
        kind: ConfidenceKind = "cosine",
        temperature: float = 1.0,
        chunk_size: int | None = None,
        layout: Layout = "image",
    ) -> Array:
        """Best-match confidence of every target pixel against the bank
        (:func:`rawkit.search.max_affinity`)."""
        t, is_np = _target_tensor(f_t)
        feats, _ = self._tensors(t)
        out: Any = max_affinity(
            t, feats, kind=kind, temperature=temperature, chunk_size=chunk_size, layout=layout
        )
        return to_numpy(out) if is_np else out

    def build_index(self, *, kind: IndexKind = "flat", **options: Any) -> faiss.Index:
        """A faiss index over the bank's features (:func:`rawkit.search.build_index`)."""
        return build_index(self.features, kind=kind, **options)

    # ------------------------------------------------------------------ files

    def _metadata(self) -> dict[str, Any]:
        import rawkit

        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "rawkit_version": rawkit.__version__,
        }
        meta.update(self.build_record())
        return meta

    def checksum(self) -> str:
        """The SHA-256 stored in files (see the module notes for what it covers)."""
        return checksum(self._metadata(), {n: getattr(self, n) for n in ARRAYS})

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the bank to ``path`` (format: module notes), atomically.

        Args:
            path: destination; conventionally ``*.npz`` (written as given, no suffix
                added).  Its folder must exist.
            overwrite: replace an existing file.

        Returns:
            The path written.

        Raises:
            FileExistsError: ``path`` exists and ``overwrite`` is false.
            FileNotFoundError: the folder does not exist.
        """
        path = check_writable(path, overwrite=overwrite)
        meta = self._metadata()
        meta["sha256"] = self.checksum()
        with atomic_write(path, overwrite=overwrite) as f:
            np.savez(
                f,
                features=self.features,
                srgb=self.srgb,
                raw=self.raw,
                metadata=np.array(json.dumps(meta, sort_keys=True)),
            )
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        encoder_id: str | None = None,
        dim: int | None = None,
    ) -> PriorBank:
        """Read a bank written by :meth:`save`, verifying format, version and checksum.

        Args:
            path: the file.
            encoder_id: if given, the bank must have been built with this encoder.
            dim: if given, the bank's features must have this many channels.

        Returns:
            The bank.

        Raises:
            FileNotFoundError: no such file.
            PriorBankFileError: not a PriorBank archive, truncated or corrupt, members
                missing, or a checksum mismatch (all :class:`OSError`).
            ValueError: a newer format version, or another ``encoder_id``/``dim``.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"path: no such file {path}")
        arrays, meta = read_archive(path)
        version = meta.get("version")
        if not isinstance(version, int) or version < 1:
            raise PriorBankFileError(f"path: {path} has an invalid format version {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"path: {path} has PriorBank format version {version}; this rawkit reads up to "
                f"{FORMAT_VERSION} (upgrade rawkit)"
            )
        stored = meta.pop("sha256", None)
        if stored != checksum(meta, arrays):
            raise PriorBankFileError(f"path: {path} fails its SHA-256 checksum (corrupt file)")
        fields: dict[str, Any] = {name: meta.get(name) for name in _BUILD_FIELDS}
        fields.update(arrays)
        try:
            bank = cls(**fields)
        except (TypeError, ValueError) as e:
            raise PriorBankFileError(f"path: {path} holds an inconsistent bank: {e}") from e
        if encoder_id is not None and bank.encoder_id != encoder_id:
            raise ValueError(
                f"encoder_id: expected a bank built with {encoder_id!r}, got {bank.encoder_id!r} in {path}"
            )
        if dim is not None and bank.dim != dim:
            raise ValueError(
                f"dim: expected a bank of {dim}-channel features, got {bank.dim} in {path}"
            )
        return bank


# --------------------------------------------------------------------------- building


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: expected >= 1, got {value}")
    return int(value)


def build_prior_bank(
    features: Any,
    srgb: Array | None = None,
    raw: Array | None = None,
    *,
    niter: int,
    seed: int,
    n_clusters: int = 5000,
    group_size: int = 1000,
    metric: Metric = "ip",
    encoder: Callable[[Any], Any] | None = None,
    encoder_id: str = "",
    max_points_per_centroid: int = 256,
    block_rows: int = 1 << 22,
    n_threads: int | None = None,
    progress: bool = True,
) -> PriorBank:
    """Cluster and group a reference set into a :class:`PriorBank` (PriorRAW Alg. 2).

    k-means (faiss, ``metric="ip"``: spherical, assignment by inner product, as in the
    paper) into ``n_clusters`` centroids; then for each centroid the ``group_size``
    nearest reference pixels among all of them and the mean of their features, sRGB
    and RAW values (module notes give each step).

    The reference set comes in one of three forms:

    * arrays: ``features`` ``(N, C)``, ``srgb`` ``(N, 3)``, ``raw`` ``(N, R)``, or images
      ``(*, C, h, w)``, ``(*, 3, H, W)``, ``(*, R, H', W')``;
    * an iterable of ``(features, srgb, raw)`` batches in those layouts (e.g. read from
      disk one by one);
    * an iterable of ``(srgb, raw)`` image batches and ``encoder``: the features of each
      batch are ``encoder(srgb)`` (under ``torch.no_grad()``), so no more than one batch
      of images is in memory at a time.

    Images larger than the feature map (an encoder that downsamples by 2, as
    PriorRAW's does) are area-averaged onto the feature grid by the integer factor,
    separately for sRGB and RAW (so a packed RAW at half resolution fits directly).
    The features, sRGB and RAW of all ``N`` pixels are kept, as float32, in blocks of
    ``block_rows`` rows (``N x (C + 3 + R) x 4`` bytes: 4.1 GB at the paper's scale);
    faiss needs no further copy of them.

    Args:
        features: see above; floating, finite.
        srgb, raw: with array ``features`` only.
        niter: k-means iterations (faiss's default is 25).
        seed: seed of the training subset and of faiss's initial centroids.
        n_clusters: bank entries ``K`` (the paper: 5,000), ``<= N``.
        group_size: reference pixels averaged per entry (the paper: 200 in Sec. 3.3,
            1,000 after its ablation), ``<= N``.
        metric: ``"ip"`` (the paper) or ``"l2"``.
        encoder: callable mapping an sRGB batch to features ``(B, C, h, w)``.
        encoder_id: recorded in the bank (and checked by :meth:`PriorBank.load`).
        max_points_per_centroid: k-means trains on at most this many points per
            centroid (faiss's default, 256), drawn at random with ``seed``.
        block_rows: rows per block when collecting batches (the exact search runs
            once per block).
        n_threads: faiss OpenMP threads for the build (``None``: faiss's default).
        progress: show tqdm progress bars.

    Returns:
        The bank, entries in faiss's centroid order.

    Raises:
        ValueError: an empty set, fewer points than ``n_clusters`` or ``group_size``,
            channel mismatches between batches, NaN/Inf, bad options.
        TypeError: non-floating data, wrong argument types.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> f = rng.standard_normal((400, 8)).astype(np.float32)
        >>> bank = build_prior_bank(f, rng.random((400, 3)), rng.random((400, 4)),
        ...                         n_clusters=10, group_size=20, niter=5, seed=0, progress=False)
        >>> bank.features.shape, bank.raw.shape
        ((10, 8), (10, 4))
    """
    check_choice(metric, METRICS, "metric")
    niter = _positive_int(niter, "niter")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed: expected >= 0, got {seed}")
    seed = int(seed)
    n_clusters = _positive_int(n_clusters, "n_clusters")
    group_size = _positive_int(group_size, "group_size")
    mppc = _positive_int(max_points_per_centroid, "max_points_per_centroid")
    block_rows = _positive_int(block_rows, "block_rows")
    if encoder is not None and not callable(encoder):
        raise TypeError(f"encoder: expected a callable, got {type(encoder).__name__}")
    if not isinstance(encoder_id, str):
        raise TypeError(f"encoder_id: expected a str, got {type(encoder_id).__name__}")

    with faiss_threads(n_threads):
        blocks = collect(features, srgb, raw, encoder, block_rows, progress)
        n = blocks.n
        if n == 0:
            raise ValueError("features: expected a non-empty reference set, got 0 points")
        if n_clusters > n:
            raise ValueError(
                f"n_clusters: expected <= the number of reference points ({n}), got {n_clusters}"
            )
        if group_size > n:
            raise ValueError(
                f"group_size: expected <= the number of reference points ({n}), got {group_size}"
            )
        c = blocks.f[0].shape[1]

        # Alg. 2 line 5: k-means on a random subset of at most mppc points per centroid.
        bar = tqdm(total=3, desc="prior bank", disable=not progress)
        bar.set_postfix_str("k-means")
        n_train = min(n, n_clusters * mppc)
        if n_train == n:
            train = blocks.f[0] if len(blocks.f) == 1 else np.concatenate(blocks.f)
        else:
            ids = np.sort(np.random.default_rng(seed).choice(n, size=n_train, replace=False))
            train = blocks.gather(blocks.f, ids)
        km = faiss.Kmeans(
            c,
            n_clusters,
            niter=niter,
            seed=seed % (2**31),
            spherical=metric == "ip",
            max_points_per_centroid=mppc,
            min_points_per_centroid=1,
            verbose=False,
        )
        km.train(train)
        centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
        del train
        bar.update(1)

        # Alg. 2 line 7: the group_size nearest reference pixels of every centroid.
        bar.set_postfix_str("grouping")
        fmetric = faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2
        # One exact search per block (faiss blocks the distances itself); several merged.
        if len(blocks.f) == 1:
            ids = faiss.knn(centroids, blocks.f[0], group_size, metric=fmetric)[1]
        else:
            heap = faiss.ResultHeap(n_clusters, group_size, keep_max=metric == "ip")
            for start, block in zip(blocks.starts, blocks.f, strict=True):
                d, i = faiss.knn(centroids, block, min(group_size, len(block)), metric=fmetric)
                heap.add_result(d, i + start)
            heap.finalize()
            ids = heap.I
        groups = np.sort(ids, axis=1)  # ids in increasing order: a fixed summation order
        bar.update(1)

        # Alg. 2 lines 8-10: averages of features, sRGB and RAW over each group.
        bar.set_postfix_str("averaging")
        means = []
        per = max(1, (1 << 18) // group_size)  # centroids per gather: ~256k rows at a time
        for which in (blocks.f, blocks.s, blocks.r):
            out = np.empty((n_clusters, which[0].shape[1]), np.float32)
            for k0 in range(0, n_clusters, per):
                g = groups[k0 : k0 + per]
                rows = blocks.gather(which, g.ravel()).reshape(g.shape[0], group_size, -1)
                out[k0 : k0 + per] = rows.sum(axis=1, dtype=np.float64) / group_size
            means.append(out)
        bar.update(1)
        bar.close()

    return PriorBank(
        means[0],
        means[1],
        means[2],
        encoder_id=encoder_id,
        metric=metric,
        n_clusters=n_clusters,
        group_size=group_size,
        niter=niter,
        seed=seed,
        n_reference=n,
    )
