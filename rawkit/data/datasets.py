"""torch Datasets of RAW/sRGB pairs and RAW videos, with Bayer-aware crops and flips.

Every dataset yields a dict of tensors (``torch.utils.data.default_collate`` batches it):

==============  ================================  ====================================
key             shape                             meaning
==============  ================================  ====================================
``"srgb"``      ``(3, H, W)`` float32             sRGB in ``[0, 1]``
``"mosaic"``    ``(1, H, W)`` float32             linear RAW (Bayer mosaic)
``"packed"``    ``(4, H/2, W/2)`` float32         ``mosaic`` packed as ``[R, Gr, Gb, B]``
``"pattern"``   str                               the Bayer pattern of ``"mosaic"``
==============  ================================  ====================================

plus dataset-specific keys (paths, names, white balance).  Video datasets add a
leading time axis ``T`` to the image entries.

**Pattern bookkeeping.**  Cropping a mosaic at an odd offset or flipping it changes
which colour sits at its top-left pixel.  :func:`crop_sample` and :func:`flip_sample`
transform ``"srgb"`` and ``"mosaic"`` together, update ``"pattern"`` with
:func:`rawkit.cfa.pattern_after_crop` / :func:`rawkit.cfa.pattern_after_flip`, and
re-pack ``"packed"`` from the new mosaic with the new pattern, so the packed channels
are always ``[R, Gr, Gb, B]`` of the sample as it is now.  Random crops use even
offsets by default (the pattern stays); ``even_offsets=False`` allows any offset and
updates the pattern.

**Randomness** is explicit: a dataset's ``seed`` and the index (and the epoch, see
``set_epoch``) give each item its own ``torch.Generator``, so item ``i`` is the same
whatever the worker, the order or the number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rawkit.cfa import pack, pattern_after_crop, pattern_after_flip, unpack
from rawkit.cfa.pattern import check_pattern
from rawkit.data._dataset_base import (
    _SRGB_SUFFIXES,
    _Augmented,
    _check_root,
    _crop_size,
    _dng_sample,
    _find_srgb,
    _numeric_key,
    _read_srgb,
    _srgb_size_check,
)
from rawkit.data.photos import photo_info, photo_names
from rawkit.data.presets import DATA_PRESETS
from rawkit.data.synth import RENDERS, SyntheticPair, resolve_camera, synthesize
from rawkit.io import aim22_pairs, read_aim22_raw, read_aim22_rgb
from rawkit.io._files import FileFormatError
from rawkit.isp import CameraModel, normalize_levels

__all__ = [
    "AIM22Pairs",
    "PairedFolder",
    "RawVideoFolder",
    "SyntheticPairs",
    "crop_sample",
    "flip_sample",
    "random_crop_flip",
]

_IMAGE_KEYS = ("srgb", "mosaic")


def _spatial(sample: dict[str, Any]) -> tuple[int, int]:
    if not isinstance(sample, dict) or "mosaic" not in sample or "pattern" not in sample:
        got = sorted(sample) if isinstance(sample, dict) else type(sample).__name__
        raise ValueError(f"sample: expected a dict with 'mosaic' and 'pattern', got {got}")
    m = sample["mosaic"]
    return int(m.shape[-2]), int(m.shape[-1])


def _repack(sample: dict[str, Any]) -> dict[str, Any]:
    sample["packed"] = pack(sample["mosaic"], pattern=sample["pattern"])
    return sample


def crop_sample(
    sample: dict[str, Any], *, top: int, left: int, height: int, width: int
) -> dict[str, Any]:
    """Crop ``"srgb"`` and ``"mosaic"`` to ``[top:top+height, left:left+width]``.

    The pattern follows the offset (:func:`rawkit.cfa.pattern_after_crop`) and
    ``"packed"`` is re-packed from the cropped mosaic with it.

    Args:
        sample: a dict with ``"mosaic"`` ``(*, 1, H, W)``, ``"pattern"`` and optionally
            ``"srgb"`` ``(*, 3, H, W)`` (tensors); other keys are copied unchanged.
        top, left: offsets >= 0 (any parity).
        height, width: even, the crop inside the image.

    Returns:
        A new dict (the input is not modified).

    Raises:
        ValueError: odd or out-of-range crop.

    Example:
        >>> import torch
        >>> s = {"mosaic": torch.arange(16.0).reshape(1, 4, 4), "pattern": "RGGB"}
        >>> out = crop_sample(s, top=1, left=0, height=2, width=2)
        >>> out["pattern"], out["packed"].flatten().tolist()
        ('GBRG', [8.0, 9.0, 4.0, 5.0])
    """
    h, w = _spatial(sample)
    for name, v in (("top", top), ("left", left), ("height", height), ("width", width)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name}: expected an int >= 0, got {v!r}")
    if height < 2 or width < 2 or height % 2 or width % 2:
        raise ValueError(f"height, width: expected even sizes >= 2, got {height}x{width}")
    if top + height > h or left + width > w:
        raise ValueError(
            f"crop: {height}x{width} at ({top}, {left}) does not fit in the {h}x{w} image"
        )
    out = dict(sample)
    for k in _IMAGE_KEYS:
        if k in out:
            out[k] = out[k][..., top : top + height, left : left + width]
    out["pattern"] = pattern_after_crop(sample["pattern"], top=top, left=left)
    return _repack(out)


def flip_sample(
    sample: dict[str, Any], *, horizontal: bool = False, vertical: bool = False
) -> dict[str, Any]:
    """Flip ``"srgb"`` and ``"mosaic"`` left-right and/or up-down; update the pattern.

    With an even-sized mosaic a flip changes the pattern
    (:func:`rawkit.cfa.pattern_after_flip`); ``"packed"`` is re-packed with the new one,
    which amounts to flipping each packed plane (the channels keep their colours).

    Example:
        >>> import torch
        >>> s = {"mosaic": torch.arange(4.0).reshape(1, 2, 2), "pattern": "RGGB"}
        >>> out = flip_sample(s, horizontal=True)
        >>> out["pattern"], out["packed"].flatten().tolist()
        ('GRBG', [0.0, 1.0, 2.0, 3.0])
    """
    h, w = _spatial(sample)
    dims = [d for d, on in ((-1, horizontal), (-2, vertical)) if on]
    out = dict(sample)
    if not dims:
        return _repack(out)
    for k in _IMAGE_KEYS:
        if k in out:
            out[k] = torch.flip(out[k], dims=dims)
    out["pattern"] = pattern_after_flip(
        sample["pattern"], horizontal=horizontal, vertical=vertical, height=h, width=w
    )
    return _repack(out)


def random_crop_flip(
    sample: dict[str, Any],
    *,
    crop: int | tuple[int, int] | None,
    generator: torch.Generator,
    even_offsets: bool = True,
    flips: bool = False,
) -> dict[str, Any]:
    """A random crop (even offsets unless asked) and random flips, pattern kept in step.

    Args:
        sample: as for :func:`crop_sample`.
        crop: ``(height, width)`` (or one int for a square) of the crop, even; None: no crop.
        generator: the ``torch.Generator`` that draws the offsets and flips.
        even_offsets: True (default): offsets are even, the pattern stays; False: any
            offset, the pattern follows.
        flips: flip left-right and up-down, each with probability 1/2.

    Returns:
        The transformed sample (``"packed"`` always re-packed).

    Raises:
        ValueError: a crop larger than the image.

    Example:
        >>> import torch
        >>> s = {"mosaic": torch.rand(1, 8, 8), "pattern": "RGGB"}
        >>> out = random_crop_flip(s, crop=4, generator=torch.Generator().manual_seed(0))
        >>> out["mosaic"].shape, out["pattern"]
        (torch.Size([1, 4, 4]), 'RGGB')
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator: expected a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
            f"got {type(generator).__name__}"
        )
    size = _crop_size(crop)
    out = dict(sample)
    if size is not None:
        h, w = _spatial(sample)
        ch, cw = size
        if ch > h or cw > w:
            raise ValueError(f"crop: {ch}x{cw} is larger than the {h}x{w} image")
        step = 2 if even_offsets else 1

        def offset(room: int) -> int:
            n = room // step + 1
            return step * int(torch.randint(n, (), generator=generator))

        out = crop_sample(out, top=offset(h - ch), left=offset(w - cw), height=ch, width=cw)
    if flips:
        hflip, vflip = (bool(v) for v in torch.rand(2, generator=generator) < 0.5)
        out = flip_sample(out, horizontal=hflip, vertical=vflip)
    if size is None and not flips:
        out = _repack(out)
    return out


class SyntheticPairs(_Augmented):
    """Pairs made by :func:`rawkit.data.synthesize` from the bundled photos.

    Item ``i`` is pair ``i % pairs_per_photo`` of photo ``photos[i // pairs_per_photo]``,
    synthesised with its own seed (from ``seed`` and ``i``), so every pair has its own
    illuminant, exposure and noise; pairs are cached after the first access.

    Args:
        photos: a split name (``"train"``, ``"val"``, ``"test"``, ``"all"``) or photo names.
        camera: a camera model or built-in name.
        seed: the dataset's seed (pairs, crops, flips).
        render: ``"rawkit"`` or ``"libraw"`` (see :func:`rawkit.data.synthesize`).
        pairs_per_photo: how many differently rendered pairs per photo.
        crop, even_offsets, flips: augmentation (see :func:`random_crop_flip`).
        max_side: shrink the photos to this longer side first.
        noise, srgb_bits: passed to :func:`rawkit.data.synthesize`.
        preset: the data preset, ``"default"`` (the benchmark camera) or ``"hard"``
            (see :mod:`rawkit.data.presets`).
        cache: keep synthesised pairs in memory (default True).

    Items: ``"srgb"``, ``"mosaic"``, ``"packed"``, ``"pattern"``, ``"photo"``,
    ``"wb_gains"`` ``(3,)`` and ``"xyz_to_cam"`` ``(3, 3)`` (float32 tensors).

    Example:
        >>> ds = SyntheticPairs(["chelsea"], camera="nikon_d5100", seed=0, crop=32, max_side=64)
        >>> item = ds[0]
        >>> len(ds), item["srgb"].shape, item["packed"].shape, item["pattern"]
        (1, torch.Size([3, 32, 32]), torch.Size([4, 16, 16]), 'RGGB')
    """

    def __init__(
        self,
        photos: str | Sequence[str] = "train",
        *,
        camera: CameraModel | str = "nikon_d5100",
        seed: int = 0,
        render: str = "rawkit",
        pairs_per_photo: int = 1,
        crop: int | tuple[int, int] | None = None,
        even_offsets: bool = True,
        flips: bool = False,
        max_side: int | None = None,
        noise: bool = True,
        srgb_bits: int | None = 8,
        preset: str = "default",
        cache: bool = True,
    ) -> None:
        super().__init__(crop, even_offsets, flips, seed)
        if preset not in DATA_PRESETS:
            raise ValueError(f"preset: expected one of {list(DATA_PRESETS)}, got {preset!r}")
        names = photo_names(photos) if isinstance(photos, str) else tuple(photos)  # type: ignore[arg-type]
        for n in names:
            photo_info(n)
        if not names:
            raise ValueError("photos: expected at least one photo, got none")
        if (
            isinstance(pairs_per_photo, bool)
            or not isinstance(pairs_per_photo, int)
            or pairs_per_photo < 1
        ):
            raise ValueError(f"pairs_per_photo: expected an int >= 1, got {pairs_per_photo!r}")
        if render not in RENDERS:
            raise ValueError(f"render: expected one of {list(RENDERS)}, got {render!r}")
        self.photos = names
        self.camera = resolve_camera(camera)
        self.render = render
        self.pairs_per_photo = pairs_per_photo
        self.max_side = max_side
        self.noise = noise
        self.srgb_bits = srgb_bits
        self.preset = preset
        self.cache = cache
        self._pairs: dict[int, SyntheticPair] = {}

    def __len__(self) -> int:
        return len(self.photos) * self.pairs_per_photo

    def pair_seed(self, index: int) -> int:
        """The seed :func:`rawkit.data.synthesize` gets for item ``index``."""
        return int(np.random.SeedSequence([self.seed, self._index(index)]).generate_state(1)[0])

    def pair(self, index: int) -> SyntheticPair:
        """The whole :class:`rawkit.data.SyntheticPair` of item ``index`` (not cropped)."""
        i = self._index(index)
        if i in self._pairs:
            return self._pairs[i]
        p = synthesize(
            self.photos[i // self.pairs_per_photo],
            camera=self.camera,
            seed=self.pair_seed(i),
            render=self.render,  # type: ignore[arg-type]
            noise=self.noise,
            srgb_bits=self.srgb_bits,
            max_side=self.max_side,
            preset=self.preset,
        )
        if self.cache:
            self._pairs[i] = p
        return p

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = self._index(index)
        p = self.pair(i)
        sample = {
            "srgb": torch.from_numpy(p.srgb),
            "mosaic": torch.from_numpy(p.mosaic),
            "pattern": p.pattern,
            "photo": p.photo,
            "wb_gains": p.params.wb_gains.to(torch.float32),
            "xyz_to_cam": p.params.xyz_to_cam.to(torch.float32),
        }
        return self._augment(sample, i)


class AIM22Pairs(_Augmented):
    """The AIM 2022 reversed-ISP training pairs: ``<root>/train/<id>.jpg`` + ``<id>.npy``.

    Read with :func:`rawkit.io.aim22_pairs`, :func:`rawkit.io.read_aim22_rgb` and
    :func:`rawkit.io.read_aim22_raw` (values / 1024).  The RAW is packed RGGB, so the
    mosaic is ``unpack(raw, pattern="RGGB")``, aligned with the JPEG's pixels.

    Args:
        root: the track folder (e.g. ``data-s7``) holding ``train/``.
        crop, even_offsets, flips, seed: augmentation (see :func:`random_crop_flip`).

    Items: ``"srgb"``, ``"mosaic"``, ``"packed"``, ``"pattern"``, ``"id"``.

    Raises:
        FileNotFoundError, ValueError: as :func:`rawkit.io.aim22_pairs`; an item whose
            JPEG is not twice the size of its RAW raises ``ValueError`` when read.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        crop: int | tuple[int, int] | None = None,
        even_offsets: bool = True,
        flips: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(crop, even_offsets, flips, seed)
        self.root = _check_root(root, "AIM22 track folder")
        self.pairs = aim22_pairs(self.root)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = self._index(index)
        jpg, npy = self.pairs[i]
        packed = read_aim22_raw(npy)
        srgb = read_aim22_rgb(jpg)
        mosaic = unpack(packed, pattern="RGGB")
        _srgb_size_check(srgb, tuple(mosaic.shape[-2:]), jpg)
        sample = {
            "srgb": torch.from_numpy(np.ascontiguousarray(srgb, dtype=np.float32)),
            "mosaic": torch.from_numpy(np.ascontiguousarray(mosaic, dtype=np.float32)),
            "pattern": "RGGB",
            "id": jpg.stem,
        }
        return self._augment(sample, i)


class PairedFolder(_Augmented):
    """Paired sRGB and RAW files in one folder, matched by name.

    Layout: ``<root>/<name>.png`` (or ``.jpg``/``.jpeg``) with ``<root>/<name>.dng`` or
    ``<root>/<name>.npy``, same full-resolution size.

    * ``raw_format="dng"``: read with :func:`rawkit.io.read_raw` (pattern, levels and
      colour metadata from the file; the mosaic is black-subtracted and normalised,
      **not clipped**).  Items also carry ``"wb_gains"`` (from ``AsShotNeutral``) and
      ``"xyz_to_cam"`` when the file has them.
    * ``raw_format="npy"``: a packed RAW ``(H/2, W/2, 4)`` with channels
      ``[R, Gr, Gb, B]`` (the AIM22 layout), either floating in ``[0, 1]`` or unsigned
      integers normalised with ``black_level`` and ``white_level`` (required then);
      ``pattern`` says how it lies on the sRGB's pixel grid (default ``"RGGB"``).

    Args:
        root: the folder.
        raw_format: ``"dng"`` or ``"npy"``.
        pattern, black_level, white_level: for ``"npy"`` only (see above).
        crop, even_offsets, flips, seed: augmentation (see :func:`random_crop_flip`).

    Items: ``"srgb"``, ``"mosaic"``, ``"packed"``, ``"pattern"``, ``"name"``, and for
    DNG ``"wb_gains"``/``"xyz_to_cam"`` when known.

    Raises:
        FileNotFoundError: no folder or no pairs.
        ValueError: a RAW without its sRGB (or the other way round), sizes that
            disagree, out-of-range npy values, bad options.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        raw_format: str = "dng",
        pattern: str = "RGGB",
        black_level: float | Sequence[float] | None = None,
        white_level: float | None = None,
        crop: int | tuple[int, int] | None = None,
        even_offsets: bool = True,
        flips: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(crop, even_offsets, flips, seed)
        if raw_format not in ("dng", "npy"):
            raise ValueError(f"raw_format: expected one of ['dng', 'npy'], got {raw_format!r}")
        if raw_format == "dng" and (black_level is not None or white_level is not None):
            raise ValueError(
                "black_level, white_level: only for raw_format='npy' (DNGs carry theirs)"
            )
        check_pattern(pattern)
        self.root = _check_root(root, "paired sRGB/RAW folder")
        self.raw_format = raw_format
        self.pattern = pattern
        self.black_level = black_level
        self.white_level = white_level
        suffix = f".{raw_format}"
        raws = {
            p.stem: p for p in self.root.iterdir() if p.is_file() and p.suffix.lower() == suffix
        }
        images = {
            p.stem: p
            for p in self.root.iterdir()
            if p.is_file() and p.suffix.lower() in _SRGB_SUFFIXES
        }
        alone = sorted(set(raws) ^ set(images))
        if alone:
            shown = ", ".join(alone[:10])
            raise ValueError(f"{self.root}: {len(alone)} name(s) without their pair: {shown}")
        if not raws:
            raise FileNotFoundError(2, f"no <name>{suffix} + <name>.png/.jpg pairs", str(self.root))
        self.pairs = [
            (images[s], raws[s]) for s in sorted(raws, key=lambda s: _numeric_key(Path(s)))
        ]

    def __len__(self) -> int:
        return len(self.pairs)

    def _npy_sample(self, path: Path) -> dict[str, Any]:
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise FileFormatError(path, f"not a readable .npy array ({e})") from e
        if arr.ndim != 3 or arr.shape[-1] != 4:
            raise ValueError(f"{path}: expected a packed RAW (H/2, W/2, 4), got shape {arr.shape}")
        planes = np.ascontiguousarray(np.moveaxis(arr, -1, 0))
        if np.issubdtype(arr.dtype, np.floating):
            if self.black_level is not None or self.white_level is not None:
                raise ValueError(f"{path}: float RAW is already normalised; drop black/white_level")
            if not np.isfinite(planes).all() or planes.min() < 0 or planes.max() > 1:
                raise ValueError(f"{path}: float RAW values must be finite and in [0, 1]")
            lin = planes.astype(np.float32)
        elif np.issubdtype(arr.dtype, np.unsignedinteger):
            if self.white_level is None:
                raise ValueError(f"{path}: integer RAW needs white_level (and black_level)")
            lin = normalize_levels(
                planes,
                black_level=0.0 if self.black_level is None else self.black_level,  # type: ignore[arg-type]
                white_level=self.white_level,
            ).astype(np.float32)
        else:
            raise ValueError(f"{path}: expected float or unsigned integer data, got {arr.dtype}")
        mosaic = unpack(lin, pattern=self.pattern)
        return {"mosaic": torch.from_numpy(np.ascontiguousarray(mosaic)), "pattern": self.pattern}

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = self._index(index)
        img_path, raw_path = self.pairs[i]
        sample = _dng_sample(raw_path) if self.raw_format == "dng" else self._npy_sample(raw_path)
        srgb = _read_srgb(img_path)
        _srgb_size_check(srgb, _spatial(sample), img_path)
        sample["srgb"] = torch.from_numpy(srgb)
        sample["name"] = raw_path.stem
        return self._augment(sample, i)


class RawVideoFolder(_Augmented):
    """RAW videos stored as DNG sequences, served as clips of consecutive frames.

    Layout: ``<root>/<sequence>/<frame>.dng``, frames ordered by name (numeric names
    numerically: ``2.dng`` before ``10.dng``), optionally with an sRGB frame
    ``<frame>.png`` / ``.jpg`` next to each DNG (then every frame needs one).  All
    frames of a sequence must share size and pattern.

    Item ``i`` is the ``i``-th window of ``clip_length`` consecutive frames (windows start
    every ``stride`` frames, sequence by sequence); the same crop and flips apply to all
    its frames.

    Args:
        root: the folder of sequences.
        clip_length: frames per item ``T >= 1``.
        stride: step between window starts (default 1).
        crop, even_offsets, flips, seed: augmentation (see :func:`random_crop_flip`).

    Items: ``"mosaic"`` ``(T, 1, H, W)``, ``"packed"`` ``(T, 4, H/2, W/2)``,
    ``"pattern"``, ``"srgb"`` ``(T, 3, H, W)`` if the sequence has sRGB frames,
    ``"sequence"``, ``"frames"`` (the frame names), and ``"wb_gains"`` / ``"xyz_to_cam"``
    of the first frame when known.

    Raises:
        FileNotFoundError: no folder, or no sequence with ``clip_length`` frames.
        ValueError: bad options; frames of one sequence that disagree (raised when read).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        clip_length: int = 2,
        stride: int = 1,
        crop: int | tuple[int, int] | None = None,
        even_offsets: bool = True,
        flips: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(crop, even_offsets, flips, seed)
        for name, v in (("clip_length", clip_length), ("stride", stride)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
        self.root = _check_root(root, "folder of DNG sequences")
        self.clip_length = clip_length
        self.stride = stride
        self.sequences: dict[str, list[Path]] = {}
        for seq in sorted(p for p in self.root.iterdir() if p.is_dir()):
            frames = sorted(
                (p for p in seq.iterdir() if p.is_file() and p.suffix.lower() == ".dng"),
                key=_numeric_key,
            )
            if frames:
                self.sequences[seq.name] = frames
        self.windows = [
            (name, start)
            for name, frames in self.sequences.items()
            for start in range(0, len(frames) - clip_length + 1, stride)
        ]
        if not self.windows:
            raise FileNotFoundError(
                2, f"no <sequence>/<frame>.dng sequence with {clip_length} frames", str(self.root)
            )

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = self._index(index)
        name, start = self.windows[i]
        paths = self.sequences[name][start : start + self.clip_length]
        frames = [_dng_sample(p) for p in paths]
        first = frames[0]
        for p, f in zip(paths, frames, strict=True):
            if f["pattern"] != first["pattern"] or f["mosaic"].shape != first["mosaic"].shape:
                raise ValueError(
                    f"{p}: frame is {tuple(f['mosaic'].shape)} {f['pattern']}, but "
                    f"{paths[0].name} is {tuple(first['mosaic'].shape)} {first['pattern']}"
                )
        sample: dict[str, Any] = {
            "mosaic": torch.stack([f["mosaic"] for f in frames]),
            "pattern": first["pattern"],
            "sequence": name,
            "frames": [p.stem for p in paths],
        }
        for k in ("wb_gains", "xyz_to_cam"):
            if k in first:
                sample[k] = first[k]
        srgb_paths = [_find_srgb(p.parent, p.stem) for p in paths]
        if any(s is not None for s in srgb_paths):
            missing = [p.name for p, s in zip(paths, srgb_paths, strict=True) if s is None]
            if missing:
                raise ValueError(f"{paths[0].parent}: sRGB frames missing for {missing}")
            found = [s for s in srgb_paths if s is not None]
            srgb = [_read_srgb(s) for s in found]
            for image, path in zip(srgb, found, strict=True):
                _srgb_size_check(image, _spatial(first), path)
            sample["srgb"] = torch.from_numpy(np.stack(srgb))
        return self._augment(sample, i)
