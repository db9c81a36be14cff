r"""Video de-rendering from one RAW frame: the FAGDN pipeline (CVPR 2024, ``002_*``).

A camera stores the sRGB video and **one** RAW frame, the first (Eq. 3:
:math:`\varepsilon = y_1`); every later RAW frame is recovered by a chain (Fig. 3):

.. math::  o_{t\to t+1} = \Theta(x_t, x_{t+1}),\qquad
           \hat y_{t+1} = \mathrm{FAGDN}(x_t, \hat y_t, x_{t+1}, o_{t\to t+1}),
           \qquad \hat y_1 = y_1,

with the flow :math:`\Theta` of :func:`rawkit.flow.estimate_flow` (or any callable of
its signature) and the network :class:`rawkit.nets.FAGDN`.  Each predicted frame is
clamped to ``[0, 1]`` (the normalised RAW range) before it is returned and used as the
next reference; nothing else is clipped.  With ``keyframe_interval = K > 0`` the camera
also stores the RAW of frames ``K, 2K, ...`` (0-based), the paper's stated future work
(Sec. 5.5): the chain restarts from the true RAW there.

:class:`VideoPipeline` (registry name ``"video"``) follows the pipeline contract:

* ``fit(data)`` -- ``data`` are the **frames of videos in temporal order**: a
  :class:`rawkit.data.PairSet` (or what it takes) whose consecutive items with the same
  ``group`` are consecutive frames (:func:`video_pairs` makes one from
  :func:`rawkit.data.synthesize_video` clips).  Training samples pairs of consecutive
  frames with the *true* previous RAW as reference, flows from the configured
  estimator (computed once), random crops at even offsets (the Bayer phase is kept),
  Adam, a cosine schedule, and the loss of Eq. (8) (:func:`rawkit.losses.multiscale_loss`,
  L2 + SSIM, :math:`\lambda = 0.5`; :math:`\lambda = 0` with ``aux_loss=False``);
* ``encode_metadata(raw, srgb)`` -- ``(T, 4, h, w)`` / ``(T, 3, H, W)`` frames of one
  video -> bytes: the keyframes' RAW, 16-bit (``round(65535 x)``, an absolute error of
  at most 7.7e-6 of the normalised range), with their indices and a CRC-32;
* ``reconstruct(srgb, metadata=...)`` -- the chain over the ``T`` frames of one video;
  not tileable (the flow needs whole frames).  :func:`derender_frames` is the
  streaming form used by the CLI: frames in, RAW frames out, holding two frames.

:func:`quality_over_time` and :func:`plot_quality_over_time` give the PSNR per frame
(Fig. 8).  :func:`read_video_frames` reads an sRGB video file (mp4, mov, ... through
OpenCV) or a folder of frames one frame at a time.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import re
import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from rawkit._checks import check_finite
from rawkit._tensor import Array, to_tensor
from rawkit.cfa import PATTERNS
from rawkit.data.pairs import Pair, PairSet
from rawkit.flow import FlowFn, estimate_flow
from rawkit.io import FileFormatError, read_image
from rawkit.losses import multiscale_loss
from rawkit.metrics import psnr
from rawkit.nets import FAGDN
from rawkit.pipelines.base import Pipeline, PipelineConfig, register, setting

__all__ = [
    "VideoConfig",
    "VideoPipeline",
    "decode_keyframes",
    "derender_frames",
    "encode_keyframes",
    "keyframe_indices",
    "plot_quality_over_time",
    "quality_over_time",
    "read_video_frames",
    "synthetic_videos",
    "video_pairs",
]

_MAGIC = b"RKVIDEO1"
_HEADER = struct.Struct("<8sIIII")  # magic, frames T, h, w, number of keyframes


@dataclasses.dataclass(frozen=True)
class VideoConfig(PipelineConfig):
    """Settings of :class:`VideoPipeline` (network, ablations, flow, keyframes, training)."""

    width: int = setting(12, "FAGDN channels of the first level (doubling per level)")
    depth: int = setting(4, "FAGDN encoder levels (depth - 1 auxiliary outputs)")
    patch: int = setting(8, "GLA patch side at the first level (halved per level)")
    confidence_width: int = setting(16, "channels of the confidence head (Eq. 6)")
    pattern: str = setting("RGGB", "Bayer pattern of the camera's RAW", choices=PATTERNS)
    warping: bool = setting(True, "ablation: warp the previous RAW (Eq. 5)")
    confidence: bool = setting(True, "ablation: confidence map M (Eq. 6)")
    gla: bool = setting(True, "ablation: reference encoder with GLA (Eq. 7, Fig. 6)")
    aux_loss: bool = setting(True, "ablation: auxiliary multi-scale loss (Eq. 8)")
    lam: float = setting(0.5, "weight of the auxiliary terms of Eq. 8")
    flow_method: str = setting("dis", "optical flow estimator", choices=("dis", "farneback"))
    dis_preset: str = setting("medium", "DIS preset", choices=("ultrafast", "fast", "medium"))
    keyframe_interval: int = setting(0, "store the RAW of every K-th frame too (0: first only)")
    steps: int = setting(600, "optimiser steps")
    batch_size: int = setting(4, "frame pairs per step")
    crop: int = setting(176, "training crop side in sRGB pixels (even; SSIM needs 176 at depth 4)")
    lr: float = setting(1e-3, "Adam learning rate (cosine decay)")
    reference_noise: float = setting(
        0.0, "std of Gaussian noise added to the reference RAW in training (chain robustness)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("width", "depth", "patch", "confidence_width", "steps", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
        for name in ("warping", "confidence", "gla", "aux_loss"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected a bool, got {getattr(self, name)!r}")
        k = self.keyframe_interval
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"keyframe_interval: expected an int >= 0, got {k!r}")
        if (
            isinstance(self.crop, bool)
            or not isinstance(self.crop, int)
            or self.crop < 4
            or self.crop % 2
        ):
            raise ValueError(f"crop: expected an even int >= 4, got {self.crop!r}")
        for name in ("lam", "lr", "reference_noise"):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < 0
            ):
                raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
        levels = self.depth - 1 if self.aux_loss and self.lam > 0 else 0
        if (self.crop // 2) >> levels < 11:
            need = 2 * 11 * 2**levels
            raise ValueError(
                f"crop: the 11x11 SSIM window of Eq. 8 needs crop >= {need} at depth "
                f"{self.depth}, got {self.crop}"
            )


# --------------------------------------------------------------------------- keyframes


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


# --------------------------------------------------------------------------- data


def video_pairs(videos: Iterable[Any]) -> PairSet:
    """Training data for :class:`VideoPipeline` from synthetic videos.

    Args:
        videos: :class:`rawkit.data.SyntheticVideo` objects (or anything with ``srgb``
            ``(T, 3, H, W)``, ``packed`` ``(T, 4, H/2, W/2)`` and ``photo``).

    Returns:
        A :class:`PairSet` with every frame in order; video ``i`` has the group
        ``"video{i}:{photo}"``, so consecutive items of one group are consecutive frames.

    Example:
        >>> from rawkit.data import synthesize_video
        >>> v = synthesize_video("astronaut", n_frames=3, motion="pan", seed=0, size=(32, 48))
        >>> ps = video_pairs([v])
        >>> len(ps), ps[0].group
        (3, 'video0:astronaut')
    """
    pairs: list[Pair] = []
    for i, v in enumerate(videos):
        group = f"video{i}:{getattr(v, 'photo', '') or ''}"
        srgb, packed = np.asarray(v.srgb), np.asarray(v.packed)
        for t in range(srgb.shape[0]):
            pairs.append((srgb[t], packed[t], group))  # type: ignore[arg-type]
    return PairSet.from_any(pairs)


def synthetic_videos(
    split: str = "train",
    *,
    n_frames: int = 8,
    size: tuple[int, int] = (128, 192),
    motions: Sequence[str] = ("pan", "zoom", "rotate", "shake", "mixed"),
    camera: str = "nikon_d5100",
    seed: int = 0,
    per_photo: int = 1,
) -> list[Any]:
    """The benchmark camera's synthetic videos of one photo split (true flow known).

    Video ``k`` of photo ``i`` uses motion ``motions[(i * per_photo + k) % len(motions)]``
    and seed ``seed + 1000 * i + k``: :func:`rawkit.data.synthesize_video` with the
    photo's camera trajectory, a moving occluder, sensor noise and 8-bit sRGB.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"`` (:data:`rawkit.data.SPLITS`).
        n_frames, size: frames per video and their ``(h, w)``.
        motions: the motion kinds to cycle through.
        camera: the camera model (the benchmark's by default).
        seed: base seed.
        per_photo: videos per photo.

    Returns:
        A list of :class:`rawkit.data.SyntheticVideo`.

    Example:
        >>> vs = synthetic_videos("test", n_frames=2, size=(32, 48))
        >>> len(vs), vs[0].srgb.shape, vs[0].motion
        (5, (2, 3, 32, 48), 'pan')
    """
    from rawkit.data import SPLITS, synthesize_video

    if split not in SPLITS:
        raise ValueError(f"split: expected one of {sorted(SPLITS)}, got {split!r}")
    out = []
    for i, photo in enumerate(SPLITS[split]):
        for k in range(per_photo):
            motion = motions[(i * per_photo + k) % len(motions)]
            out.append(
                synthesize_video(
                    photo,
                    n_frames=n_frames,
                    motion=motion,  # type: ignore[arg-type]
                    seed=seed + 1000 * i + k,
                    camera=camera,
                    size=size,
                )
            )
    return out


def _frame_pairs(data: PairSet) -> list[tuple[int, int]]:
    """Indices ``(i, i + 1)`` of consecutive items of the same group."""
    return [(i, i + 1) for i in range(len(data) - 1) if data[i].group == data[i + 1].group]


_FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def _numeric_key(p: Path) -> tuple[Any, ...]:
    return tuple(int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name))


def read_video_frames(
    source: str | os.PathLike[str], *, min_frames: int = 2
) -> Iterator[np.ndarray]:
    """sRGB frames of a video file or a folder of frames, one at a time.

    Memory holds one frame whatever the video's length.  A folder is read in numeric
    name order (``2.png`` before ``10.png``; PNG, JPEG or TIFF through
    :func:`rawkit.io.read_image`); a file through OpenCV's ``VideoCapture`` (mp4, mov,
    avi... as its FFmpeg build decodes them), converted from BGR to RGB and from 8 bits
    to ``[0, 1]``.

    Args:
        source: a video file or a folder of frames.
        min_frames: fewer frames raise (checked before the first frame is yielded for
            folders and as soon as the stream ends for files).

    Yields:
        ``(3, H, W)`` float32 frames in ``[0, 1]``.

    Raises:
        FileNotFoundError: no such file or folder, or a folder without frames.
        FileFormatError: a file OpenCV cannot decode, or one that ends before the frame
            count its header gives (truncated or corrupt).
        ValueError: fewer than ``min_frames`` frames; frames of different sizes.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from rawkit.io import write_image
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for i in (2, 10):
        ...     _ = write_image(d / f"{i}.png", np.full((3, 4, 6), i / 10, np.float32), bit_depth=8)
        >>> [round(float(f.mean()), 1) for f in read_video_frames(d)]
        [0.2, 1.0]
    """
    p = Path(source)
    if not p.exists():
        raise FileNotFoundError(errno.ENOENT, "no such video file or folder", os.fspath(p))
    size: tuple[int, ...] | None = None
    if p.is_dir():
        files = sorted(
            (f for f in p.iterdir() if f.is_file() and f.suffix.lower() in _FRAME_SUFFIXES),
            key=_numeric_key,
        )
        if not files:
            raise FileNotFoundError(
                errno.ENOENT,
                f"no frames ({', '.join(_FRAME_SUFFIXES)}) in the folder",
                os.fspath(p),
            )
        if len(files) < min_frames:
            raise ValueError(
                f"VIDEO: expected at least {min_frames} frames, got {len(files)} in {p}"
            )
        for f in files:
            img = read_image(f).image
            if img.shape[0] == 1:
                img = np.repeat(img, 3, axis=0)
            img = img[:3]
            if size is not None and img.shape != size:
                raise ValueError(
                    f"VIDEO: frame {f.name} has size {img.shape[1:]}, expected {size[1:]}"
                )
            size = img.shape
            yield np.ascontiguousarray(img, dtype=np.float32)
        return
    import cv2

    cap = cv2.VideoCapture(os.fspath(p))
    try:
        if not cap.isOpened():
            raise FileFormatError(p, "OpenCV cannot open it as a video (corrupt or unsupported)")
        expected = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        n = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            n += 1
            rgb = np.ascontiguousarray(bgr[..., ::-1].transpose(2, 0, 1), dtype=np.float32) / 255
            if size is not None and rgb.shape != size:
                raise ValueError(f"VIDEO: frame {n} has size {rgb.shape[1:]}, expected {size[1:]}")
            size = rgb.shape
            yield rgb
        if n == 0:
            raise FileFormatError(p, "no frame could be decoded (corrupt or not a video)")
        if expected > 0 and n < expected:
            raise FileFormatError(
                p, f"decoding stopped after {n} of {expected} frames (truncated?)"
            )
        if n < min_frames:
            raise ValueError(f"VIDEO: expected at least {min_frames} frames, got {n} in {p}")
    finally:
        cap.release()


# --------------------------------------------------------------------------- chain


def _as_frame(x: Any, name: str, channels: int) -> torch.Tensor:
    t = to_tensor(x) if isinstance(x, np.ndarray) else x
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor or array, got {type(x).__name__}")
    if t.ndim != 3 or t.shape[0] != channels:
        raise ValueError(f"{name}: expected shape ({channels}, H, W), got {tuple(t.shape)}")
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating dtype, got {t.dtype}")
    check_finite(t, name)
    return t.to(torch.float32)


def derender_frames(
    net: FAGDN,
    frames: Iterable[Array],
    first_raw: Array,
    *,
    flow_fn: FlowFn | None = None,
    keyframes: Mapping[int, Array] | None = None,
) -> Iterator[torch.Tensor]:
    r"""The chain of Fig. 3, streaming: sRGB frames in, RAW frames out (float32, CPU).

    Frame 0's RAW is ``first_raw``; frame ``t >= 1`` is
    :math:`\hat y_t = \mathrm{clamp}(\mathrm{FAGDN}(x_{t-1}, \hat y_{t-1}, x_t,
    \Theta(x_{t-1}, x_t)), 0, 1)`, or the stored RAW where ``keyframes`` has frame ``t``.
    Only the previous frame and its RAW are kept: memory is a few frames whatever the
    video's length.

    Args:
        net: a trained :class:`rawkit.nets.FAGDN` (its device is used).
        frames: sRGB frames ``(3, H, W)`` float in ``[0, 1]`` in order (an iterator is
            fine, e.g. :func:`read_video_frames`).
        first_raw: ``(4, H/2, W/2)`` packed RAW of frame 0.
        flow_fn: the flow estimator (default: DIS, medium preset), any callable with the
            signature of :func:`rawkit.flow.estimate_flow` on ``(1, 3, H, W)`` tensors.
        keyframes: optional stored RAW ``{t: (4, H/2, W/2)}`` that restart the chain.

    Yields:
        ``(4, H/2, W/2)`` float32 RAW of frames ``0, 1, ...`` (frame 0 is ``first_raw``).

    Raises:
        TypeError, ValueError: frames or RAW of the wrong type, shape or size (raised
            when the offending frame arrives).

    Example:
        >>> import torch
        >>> net = FAGDN(width=4, depth=2, patch=2, seed=0)  # untrained: returns the warped RAW
        >>> frames = torch.rand(3, 3, 8, 8)
        >>> still = lambda a, b: torch.zeros(1, 2, 8, 8)  # any flow estimator
        >>> out = list(derender_frames(net, frames, torch.full((4, 4, 4), 0.5), flow_fn=still))
        >>> len(out), out[2].shape, float(out[2].mean())
        (3, torch.Size([4, 4, 4]), 0.5)
    """
    if not isinstance(net, FAGDN):
        raise TypeError(f"net: expected a rawkit.nets.FAGDN, got {type(net).__name__}")
    fn: FlowFn = flow_fn if flow_fn is not None else cast(FlowFn, estimate_flow)
    if not callable(fn):
        raise TypeError(f"flow_fn: expected a callable, got {type(flow_fn).__name__}")
    keys = dict(keyframes or {})
    dev = next(net.parameters()).device
    y_prev = _as_frame(first_raw, "first_raw", 4)
    x_prev: torch.Tensor | None = None
    net.eval()
    for t, frame in enumerate(frames):
        x = _as_frame(frame, f"frames[{t}]", 3)
        if tuple(x.shape[-2:]) != (2 * y_prev.shape[-2], 2 * y_prev.shape[-1]):
            raise ValueError(
                f"frames[{t}]: expected size {(2 * y_prev.shape[-2], 2 * y_prev.shape[-1])} "
                f"for the RAW's {tuple(y_prev.shape[-2:])}, got {tuple(x.shape[-2:])}"
            )
        if t in keys:
            y = _as_frame(keys[t], f"keyframes[{t}]", 4)
            if y.shape != y_prev.shape:
                raise ValueError(
                    f"keyframes[{t}]: expected {tuple(y_prev.shape)}, got {tuple(y.shape)}"
                )
        elif t == 0 or x_prev is None:
            y = y_prev
        else:
            a, b = x_prev[None].to(dev), x[None].to(dev)
            with torch.no_grad():
                flow = torch.as_tensor(fn(a, b)).to(dev, torch.float32)
                y = net(a, y_prev[None].to(dev), b, flow).raw[0].clamp(0.0, 1.0).cpu()
        yield y
        x_prev, y_prev = x, y


# --------------------------------------------------------------------------- quality


def quality_over_time(pred: Array, target: Array, *, data_range: float = 1.0) -> np.ndarray:
    """PSNR of every frame (Fig. 8 for one video): ``(T, C, h, w)`` pairs -> ``(T,)`` dB.

    Example:
        >>> import numpy as np
        >>> y = np.zeros((2, 4, 4, 4)); p = y.copy(); p[1] += 0.1
        >>> quality_over_time(p, y).round(1).tolist()
        [inf, 20.0]
    """
    return np.asarray(
        psnr(np.asarray(pred, np.float64), np.asarray(target, np.float64), data_range=data_range)
    )


def plot_quality_over_time(
    curves: Mapping[str, Sequence[float] | np.ndarray],
    path: str | os.PathLike[str],
    *,
    title: str = "PSNR over time",
    overwrite: bool = False,
) -> Path:
    """Write the PSNR-over-time figure (Fig. 8): one line per method, frames on x.

    Args:
        curves: ``{label: psnr per frame}``; infinite values (exact frames, e.g. stored
            keyframes) are drawn as gaps.
        path: a ``.png`` (or any format matplotlib writes); written atomically.
        title: the figure's title.
        overwrite: replace an existing file.

    Returns:
        ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "q.png"
        >>> plot_quality_over_time({"chain": [float("inf"), 40.0, 38.5]}, p).name
        'q.png'
    """
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    from rawkit.io import atomic_write, check_writable

    dest = check_writable(path, overwrite=overwrite)
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    for label, c in curves.items():
        v = np.asarray(c, np.float64)
        v = np.where(np.isfinite(v), v, np.nan)
        ax.plot(np.arange(1, v.size + 1), v, marker=".", label=label)
    ax.set_xlabel("frame")
    ax.set_ylabel("RAW PSNR (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(dest, overwrite=overwrite) as f:
        fig.savefig(f, format=dest.suffix.lstrip(".") or "png", dpi=110)
    return dest


# --------------------------------------------------------------------------- pipeline


@register
class VideoPipeline(Pipeline):
    """FAGDN video de-rendering from stored RAW keyframes (module notes).

    Attributes:
        net: the :class:`rawkit.nets.FAGDN`.
        flow_fn: the flow estimator used by :meth:`reconstruct` (default from the config:
            :func:`rawkit.flow.estimate_flow` with ``flow_method``/``dis_preset``); set it
            to any callable of that signature, e.g. a learned flow network.
    """

    name = "video"
    Config = VideoConfig
    learned = True
    stores_metadata = True
    tileable = False
    description = "FAGDN video de-rendering from one stored RAW frame (chained, flow-guided)"

    def __init__(self, config: VideoConfig | None = None) -> None:
        super().__init__(config)
        c = cast(VideoConfig, self.config)
        self.net = FAGDN(
            width=c.width,
            depth=c.depth,
            patch=c.patch,
            confidence_width=c.confidence_width,
            pattern=c.pattern,  # type: ignore[arg-type]
            warping=c.warping,
            confidence=c.confidence,
            gla=c.gla,
            seed=0,
        )
        self.flow_fn: FlowFn = self._default_flow

    def _default_flow(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        c = cast(VideoConfig, self.config)
        return cast(torch.Tensor, estimate_flow(a, b, method=c.flow_method, preset=c.dis_preset))  # type: ignore[arg-type]

    @classmethod
    def synthetic_training_data(cls, *, camera: str = "nikon_d5100", seed: int = 0) -> PairSet:
        """The default training set: one 8-frame video of every train-split photo.

        :func:`video_pairs` of :func:`synthetic_videos` (``"train"``, 192x256 frames, so
        that the default 176-pixel crops fit, motions cycling); used by ``rawkit train
        video``, whose single-image pairs have no consecutive frames.
        """
        return video_pairs(synthetic_videos("train", size=(192, 256), camera=camera, seed=seed))

    # ------------------------------------------------------------ contract hooks

    def check_training_data(self, data: PairSet | None) -> None:
        c = cast(VideoConfig, self.config)
        if data is None:
            return
        pairs = _frame_pairs(data)
        if not pairs:
            raise ValueError(
                "train_data: expected consecutive frames of videos (items of one group in "
                "order; see rawkit.pipelines.video.video_pairs), got no two frames of one group"
            )
        small = min(min(data[i].srgb.shape[-2:]) for i, _ in pairs)
        if small < c.crop:
            raise ValueError(
                f"crop: expected at most the smallest frame side {small}, got {c.crop}"
            )

    def _fit(self, data: PairSet, *, seed: int, progress: bool) -> None:
        from tqdm import tqdm  # text bars: tqdm.auto warns in Jupyter without ipywidgets

        c = cast(VideoConfig, self.config)
        pairs = _frame_pairs(data)
        flows = [
            cast(torch.Tensor, self.flow_fn(data[i].srgb[None], data[j].srgb[None]))[0]
            for i, j in tqdm(pairs, desc="flow", disable=not progress)
        ]
        g = torch.Generator().manual_seed(seed)
        net = self.net = FAGDN(**self.net.config, seed=seed)
        opt = torch.optim.Adam(net.parameters(), lr=c.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, c.steps)
        lam = c.lam if c.aux_loss else 0.0
        net.train()
        bar = tqdm(range(c.steps), desc="fagdn", disable=not progress)
        losses = []
        for _ in bar:
            batch = [self._crop(data, pairs, flows, g) for _ in range(c.batch_size)]
            x0, y0, x1, y1, fl = (torch.stack(v) for v in zip(*batch, strict=True))
            if c.reference_noise > 0:  # the chain feeds back its own, imperfect RAW
                y0 = y0 + c.reference_noise * torch.randn(y0.shape, generator=g)
            out = net(x0, y0, x1, fl)
            aux = list(out.aux) if lam > 0 else []
            loss = multiscale_loss(out.raw, aux, y1, data_range=1.0, lam=lam)
            opt.zero_grad(set_to_none=True)
            cast(torch.Tensor, loss).backward()
            opt.step()
            sched.step()
            losses.append(float(cast(torch.Tensor, loss).detach()))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        net.eval()
        self.info.update(
            steps=c.steps,
            frame_pairs=len(pairs),
            final_loss=float(np.mean(losses[-20:])) if losses else None,
        )

    def _crop(
        self,
        data: PairSet,
        pairs: list[tuple[int, int]],
        flows: list[torch.Tensor],
        g: torch.Generator,
    ) -> tuple[torch.Tensor, ...]:
        c = cast(VideoConfig, self.config)
        k = int(torch.randint(len(pairs), (), generator=g))
        i, j = pairs[k]
        h, w = data[i].srgb.shape[-2:]
        top = 2 * int(torch.randint((h - c.crop) // 2 + 1, (), generator=g))
        left = 2 * int(torch.randint((w - c.crop) // 2 + 1, (), generator=g))
        s = (slice(top, top + c.crop), slice(left, left + c.crop))
        r = (slice(top // 2, (top + c.crop) // 2), slice(left // 2, (left + c.crop) // 2))
        return (
            data[i].srgb[:, s[0], s[1]],
            data[i].packed[:, r[0], r[1]],
            data[j].srgb[:, s[0], s[1]],
            data[j].packed[:, r[0], r[1]],
            flows[k][:, s[0], s[1]],
        )

    def _encode_metadata(self, raw: torch.Tensor, srgb: torch.Tensor) -> bytes:
        return encode_keyframes(raw, interval=cast(VideoConfig, self.config).keyframe_interval)

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        t, _, h, w = srgb.shape
        idx, frames = decode_keyframes(cast(bytes, metadata), n_frames=t, size=(h // 2, w // 2))
        keys = {i: torch.from_numpy(f) for i, f in zip(idx, frames, strict=True)}
        out = torch.empty(t, 4, h // 2, w // 2)
        for k, y in enumerate(
            derender_frames(self.net, srgb.cpu(), keys[0], flow_fn=self.flow_fn, keyframes=keys)
        ):
            out[k] = y
        return out

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {f"net.{k}": v for k, v in self.net.state_dict().items()}

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        state = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        if len(state) != len(tensors):
            raise ValueError(
                f"tensors: expected names starting with 'net.', got {sorted(tensors)[:3]}"
            )
        self.net.load_state_dict(state)
        self.net.eval()
