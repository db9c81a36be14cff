"""Stored RAW keyframes of a video as bytes (the metadata of :class:`VideoPipeline`).

Format: ``header + indices (uint32) + uint16 samples + CRC-32``, little-endian.  The
header is ``b"RKVIDEO1"``, the number of frames ``T``, the packed size ``h, w`` and the
number of keyframes; each sample is ``round(65535 x)`` of the normalised RAW (an
absolute error of at most 7.7e-6 of the range).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import torch

from rawkit._checks import check_finite
from rawkit._tensor import Array, to_tensor

__all__ = ["decode_keyframes", "encode_keyframes", "keyframe_indices"]

_MAGIC = b"RKVIDEO1"
_HEADER = struct.Struct("<8sIIII")  # magic, frames T, h, w, number of keyframes


def keyframe_indices(n_frames: int, interval: int) -> list[int]:
    """Frames whose RAW is stored: ``[0]``, or ``[0, K, 2K, ...]`` below ``n_frames``.

    Example:
        >>> keyframe_indices(25, 10), keyframe_indices(5, 0)
        ([0, 10, 20], [0])
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
        raise ValueError(f"n_frames: expected an int >= 1, got {n_frames!r}")
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
        raise ValueError(f"interval: expected an int >= 0, got {interval!r}")
    return [0] if interval == 0 else list(range(0, n_frames, interval))


def encode_keyframes(raw: Array, *, interval: int = 0) -> bytes:
    """The stored RAW frames of a video as bytes (format in the module notes).

    Args:
        raw: ``(T, 4, h, w)`` float packed RAW of every frame, in ``[0, 1]``.
        interval: keyframe interval ``K`` (0: the first frame only).

    Returns:
        ``header + indices (uint32) + uint16 samples + CRC-32``.

    Raises:
        ValueError: bad shape, NaN/Inf, values outside ``[0, 1]`` (16-bit storage
            cannot hold them; nothing is clipped silently).

    Example:
        >>> import numpy as np
        >>> raw = np.full((3, 4, 2, 2), 0.5, np.float32)
        >>> meta = encode_keyframes(raw, interval=2)
        >>> idx, frames = decode_keyframes(meta, n_frames=3, size=(2, 2))
        >>> idx, frames.shape, float(abs(frames - 0.5).max()) < 8e-6
        ([0, 2], (2, 4, 2, 2), True)
    """
    t = to_tensor(raw) if isinstance(raw, np.ndarray) else raw
    if not isinstance(t, torch.Tensor) or t.ndim != 4 or t.shape[1] != 4:
        raise ValueError(f"raw: expected (T, 4, h, w), got {getattr(raw, 'shape', type(raw))}")
    t = t.detach().to("cpu", torch.float64)
    check_finite(t, "raw")
    if t.numel() and (float(t.min()) < 0 or float(t.max()) > 1):
        raise ValueError(
            f"raw: expected values in [0, 1] for 16-bit storage, got [{float(t.min())}, "
            f"{float(t.max())}]"
        )
    idx = keyframe_indices(int(t.shape[0]), interval)
    samples = torch.round(t[idx] * 65535).to(torch.int32).numpy().astype("<u2")
    body = (
        _HEADER.pack(_MAGIC, t.shape[0], t.shape[2], t.shape[3], len(idx))
        + np.asarray(idx, "<u4").tobytes()
        + samples.tobytes()
    )
    return body + struct.pack("<I", zlib.crc32(body))


def decode_keyframes(
    metadata: bytes, *, n_frames: int, size: tuple[int, int]
) -> tuple[list[int], np.ndarray]:
    """Inverse of :func:`encode_keyframes`, checked against the video it is used with.

    Returns:
        The keyframe indices and their RAW ``(K, 4, h, w)`` float32 in ``[0, 1]``.

    Raises:
        ValueError: not this format, truncated, CRC mismatch, or frames/size that differ
            from ``n_frames`` / ``size`` (``(h, w)`` of the packed RAW).

    Example:
        >>> import numpy as np
        >>> meta = encode_keyframes(np.zeros((2, 4, 2, 2), np.float32))
        >>> decode_keyframes(meta, n_frames=2, size=(2, 2))[0]
        [0]
        >>> decode_keyframes(meta[:-1] + b"x", n_frames=2, size=(2, 2))
        Traceback (most recent call last):
        ...
        ValueError: metadata: CRC-32 mismatch; the keyframe bytes are corrupt or truncated
    """
    if not isinstance(metadata, (bytes, bytearray)):
        raise TypeError(f"metadata: expected bytes, got {type(metadata).__name__}")
    m = bytes(metadata)
    if len(m) < _HEADER.size + 4 or m[:8] != _MAGIC:
        raise ValueError("metadata: not rawkit video keyframes (bad magic or too short)")
    body, (crc,) = m[:-4], struct.unpack("<I", m[-4:])
    if zlib.crc32(body) != crc:
        raise ValueError("metadata: CRC-32 mismatch; the keyframe bytes are corrupt or truncated")
    _, t, h, w, k = _HEADER.unpack(body[: _HEADER.size])
    if (t, (h, w)) != (n_frames, tuple(size)):
        raise ValueError(
            f"metadata: made for {t} frames of packed size {(h, w)}, got {n_frames} frames of "
            f"{tuple(size)}"
        )
    off = _HEADER.size
    if len(body) != off + 4 * k + 2 * k * 4 * h * w:
        raise ValueError("metadata: length does not match its header")
    idx = np.frombuffer(body, "<u4", k, off).astype(int).tolist()
    data = np.frombuffer(body, "<u2", k * 4 * h * w, off + 4 * k).reshape(k, 4, h, w)
    if not idx or idx[0] != 0 or any(i >= t for i in idx) or sorted(set(idx)) != idx:
        raise ValueError(f"metadata: bad keyframe indices {idx[:8]}")
    return idx, (data.astype(np.float32) / np.float32(65535))
