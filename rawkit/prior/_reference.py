"""The reference set of :func:`rawkit.prior.build_prior_bank`, and the bank file's bytes
(private to ``rawkit.prior``).

* collecting: batches of (features, sRGB, RAW) -- arrays, or an iterable, optionally
  through an encoder -- checked and pooled onto the feature grid, kept as row blocks
  (no single concatenated copy of a paper-scale reference set);
* the file format: the SHA-256 of a bank's metadata and arrays, and reading a ``.npz``
  archive where every failure is a :class:`rawkit.prior.PriorBankFileError`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sized
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm  # text bars: tqdm.auto warns in Jupyter without ipywidgets

from rawkit._checks import check_tensor_like
from rawkit._tensor import to_numpy, to_tensor

#: Members of a bank file besides its metadata.
ARRAYS = ("features", "srgb", "raw")
_CHECK_ROWS = 1 << 20  # rows per slice when scanning large arrays for NaN/Inf


def checksum(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    rest = {key: val for key, val in meta.items() if key != "sha256"}
    h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    for name in ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def read_archive(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Members and metadata of a bank file; every failure is a PriorBankFileError."""
    from rawkit.prior.bank import FORMAT_NAME, PriorBankFileError  # (bank imports this module)

    try:
        z = np.load(path, allow_pickle=False)
    except (PermissionError, IsADirectoryError):
        raise
    except Exception as e:  # not a .npz/.npy, truncated, pickled, ...
        raise PriorBankFileError(f"path: {path} is not a readable PriorBank file ({e})") from e
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise PriorBankFileError(f"path: {path} is a single NumPy array, not a PriorBank archive")
    try:
        with z:
            missing = [m for m in (*ARRAYS, "metadata") if m not in z.files]
            if missing:
                raise PriorBankFileError(
                    f"path: {path} is not a PriorBank file (members {missing} missing)"
                )
            arrays = {name: z[name] for name in ARRAYS}
            meta = json.loads(str(z["metadata"][()]))
    except PriorBankFileError:
        raise
    except Exception as e:  # truncated member, bad zip, bad JSON
        raise PriorBankFileError(f"path: {path} is corrupt ({type(e).__name__}: {e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise PriorBankFileError(f"path: {path} is not a PriorBank file (format tag missing)")
    for name, a in arrays.items():
        if a.dtype != np.dtype("<f4") or a.ndim != 2:
            raise PriorBankFileError(
                f"path: {path}: member {name} is {a.dtype} {a.shape}, expected <f4 2-D"
            )
    return arrays, meta


def _pool_to(x: torch.Tensor, hw: tuple[int, int], name: str) -> torch.Tensor:
    """Area-average ``(*, V, H, W)`` onto a ``(h, w)`` grid by an integer factor."""
    h, w = x.shape[-2:]
    if (h, w) == hw:
        return x
    if h % hw[0] or w % hw[1] or h // hw[0] != w // hw[1]:
        raise ValueError(
            f"{name}: expected a size that is an integer multiple of the feature map {hw}, got {(h, w)}"
        )
    s = h // hw[0]
    lead = x.shape[:-3]
    y = F.avg_pool2d(x.reshape(-1, *x.shape[-3:]).to(torch.float64), s)
    return y.reshape(*lead, *y.shape[-3:])


def _points(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.ndim == 2:
        return x
    if x.ndim < 3:
        raise ValueError(
            f"{name}: expected shape (N, channels) or (*, channels, H, W), got {tuple(x.shape)}"
        )
    n = math.prod(x.shape[:-3]) * x.shape[-2] * x.shape[-1]
    return x.movedim(-3, -1).reshape(n, x.shape[-3])


def _as_torch(x: Any, name: str) -> torch.Tensor:
    check_tensor_like(x, name)
    t = to_tensor(x) if isinstance(x, np.ndarray) else x.detach()
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating dtype, got {t.dtype}")
    return t


def _one_batch(feats: Any, srgb: Any, raw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch as float32 ``(n, C)``, ``(n, 3)``, ``(n, R)`` NumPy arrays (values pooled
    onto the feature grid when they come as larger images)."""
    f, s, r = _as_torch(feats, "features"), _as_torch(srgb, "srgb"), _as_torch(raw, "raw")
    if f.ndim >= 3:
        hw = (f.shape[-2], f.shape[-1])
        for name, v in (("srgb", s), ("raw", r)):
            if v.ndim != f.ndim or v.shape[:-3] != f.shape[:-3]:
                raise ValueError(
                    f"{name}: expected images (*, channels, H, W) with the leading shape "
                    f"{tuple(f.shape[:-3])} of the features, got {tuple(v.shape)}"
                )
        s, r = _pool_to(s, hw, "srgb"), _pool_to(r, hw, "raw")
    elif s.ndim != 2 or r.ndim != 2:
        raise ValueError(
            f"srgb, raw: expected (N, channels) arrays like features {tuple(f.shape)}, got "
            f"{tuple(s.shape)} and {tuple(r.shape)}"
        )
    f, s, r = _points(f, "features"), _points(s, "srgb"), _points(r, "raw")
    if not (f.shape[0] == s.shape[0] == r.shape[0]):
        raise ValueError(
            f"srgb, raw: expected one row per feature ({f.shape[0]}), got {s.shape[0]} and {r.shape[0]}"
        )
    if s.shape[1] != 3:
        raise ValueError(f"srgb: expected 3 channels, got {s.shape[1]}")
    out = []
    for t in (f, s, r):
        out.append(np.ascontiguousarray(to_numpy(t.to(torch.float32))))
    return out[0], out[1], out[2]


def _check_finite_np(a: np.ndarray, name: str) -> None:
    """Raise on NaN/Inf; min/max per slice (NaN propagates), no temporary arrays."""
    for i in range(0, a.shape[0], _CHECK_ROWS):
        part = a[i : i + _CHECK_ROWS]
        if part.size and not (np.isfinite(part.min()) and np.isfinite(part.max())):
            raise ValueError(
                f"{name}: expected finite values, got NaN or Inf (rows {i}..{i + part.shape[0]})"
            )


class Blocks:
    """The reference set as a list of row blocks (no single concatenated copy)."""

    def __init__(self) -> None:
        self.f: list[np.ndarray] = []
        self.s: list[np.ndarray] = []
        self.r: list[np.ndarray] = []
        self.starts: list[int] = []
        self.n = 0

    def add(self, f: np.ndarray, s: np.ndarray, r: np.ndarray) -> None:
        if self.f and (f.shape[1] != self.f[0].shape[1] or r.shape[1] != self.r[0].shape[1]):
            raise ValueError(
                f"features, raw: expected every batch to have {self.f[0].shape[1]} feature and "
                f"{self.r[0].shape[1]} RAW channels, got {f.shape[1]} and {r.shape[1]}"
            )
        for a, name in ((f, "features"), (s, "srgb"), (r, "raw")):
            _check_finite_np(a, name)
        self.starts.append(self.n)
        self.f.append(f)
        self.s.append(s)
        self.r.append(r)
        self.n += f.shape[0]

    def gather(self, which: list[np.ndarray], ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` (global) of the blocks in ``which``."""
        if len(which) == 1:
            return which[0][ids]
        out = np.empty((ids.size, which[0].shape[1]), dtype=which[0].dtype)
        b = np.searchsorted(np.asarray(self.starts), ids, side="right") - 1
        for bi in np.unique(b):
            m = b == bi
            out[m] = which[bi][ids[m] - self.starts[bi]]
        return out


def _batches(features: Any, encoder: Callable[[Any], Any] | None) -> Iterator[tuple[Any, Any, Any]]:
    for item in features:
        if not isinstance(item, (tuple, list)):
            raise TypeError(f"features: expected batches as tuples, got {type(item).__name__}")
        if encoder is None:
            if len(item) != 3:
                raise ValueError(
                    f"features: expected (features, srgb, raw) batches without an encoder, got {len(item)} items"
                )
            yield item[0], item[1], item[2]
        else:
            if len(item) != 2:
                raise ValueError(
                    f"features: expected (srgb, raw) batches with an encoder, got {len(item)} items"
                )
            with torch.no_grad():
                f = encoder(item[0])
            yield f, item[0], item[1]


def collect(
    features: Any,
    srgb: Any,
    raw: Any,
    encoder: Callable[[Any], Any] | None,
    block_rows: int,
    progress: bool,
) -> Blocks:
    blocks = Blocks()
    if isinstance(features, (np.ndarray, torch.Tensor)):
        if encoder is not None:
            raise ValueError(
                "encoder: only used with an iterable of (srgb, raw) batches, got an array of features"
            )
        if srgb is None or raw is None:
            raise ValueError("srgb, raw: required with an array of features")
        blocks.add(*_one_batch(features, srgb, raw))
        return blocks
    if srgb is not None or raw is not None:
        raise ValueError("srgb, raw: pass them inside the batches when features is an iterable")
    if not isinstance(features, Iterable):
        raise TypeError(
            f"features: expected an array or an iterable of batches, got {type(features).__name__}"
        )
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    rows = 0

    def flush() -> None:
        nonlocal pending, rows
        if pending:
            blocks.add(
                *(
                    np.concatenate([p[i] for p in pending]) if len(pending) > 1 else pending[0][i]
                    for i in range(3)
                )
            )
        pending, rows = [], 0

    total = len(features) if isinstance(features, Sized) else None
    for f, s, r in tqdm(
        _batches(features, encoder),
        total=total,
        desc="reference",
        unit="batch",
        disable=not progress,
    ):
        batch = _one_batch(f, s, r)
        pending.append(batch)
        rows += batch[0].shape[0]
        if rows >= block_rows:
            flush()
    flush()
    return blocks
