"""Video frames in and out: training clips, the sRGB video reader, PSNR over time (Fig. 8)."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rawkit._tensor import Array
from rawkit.data.pairs import Pair, PairSet
from rawkit.io import FileFormatError, read_image
from rawkit.metrics import psnr

__all__ = [
    "plot_quality_over_time",
    "quality_over_time",
    "read_video_frames",
    "synthetic_videos",
    "video_pairs",
]


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


def _val_videos(data: PairSet) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(srgb (T, 3, H, W), packed (T, 4, H/2, W/2))`` of each video of validation data
    (maximal runs of consecutive items of one group, at least two frames)."""
    runs: list[list[int]] = []
    for i in range(len(data)):
        if runs and data[runs[-1][-1]].group == data[i].group:
            runs[-1].append(i)
        else:
            runs.append([i])
    runs = [r for r in runs if len(r) >= 2]
    if not runs:
        raise ValueError(
            "val_data: expected consecutive frames of videos (items of one group in order; "
            "see rawkit.pipelines.video.video_pairs), got no two frames of one group"
        )
    return [
        (torch.stack([torch.as_tensor(data[i].srgb) for i in r]),
         torch.stack([torch.as_tensor(data[i].packed) for i in r]))
        for r in runs
    ]  # fmt: skip


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
    fig = Figure(figsize=(8, 3.2))
    ax = fig.subplots()
    for label, c in curves.items():
        v = np.asarray(c, np.float64)
        v = np.where(np.isfinite(v), v, np.nan)
        ax.plot(np.arange(1, v.size + 1), v, marker=".", label=label)
    ax.set_xlabel("frame")
    ax.set_ylabel("RAW PSNR (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside: no curve hidden
    fig.tight_layout()
    with atomic_write(dest, overwrite=overwrite) as f:
        fig.savefig(f, format=dest.suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
    return dest
