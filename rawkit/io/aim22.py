"""The AIM 2022 Reversed ISP Challenge file format and folder layout.

The challenge (Conde et al., "Reversed Image Signal Processing and RAW Reconstruction.
AIM 2022 Challenge Report", ECCVW 2022) ships, per track (``data-s7``, ``data-p20``)::

    <root>/
        train/      <id>.jpg  sRGB from the camera ISP
                    <id>.npy  its RAW: (h, w, 4) uint16, channels R, Gr, Gb, B, max 1024
        val_rgb/    <id>.jpg  sRGB only (the RAW is what a method must predict)

where ``<id>`` is a number (``1.jpg``, ``1.npy``, ...).  The RAW is already converted to
the RGGB pattern, packed so that channel order equals rawkit's ``[R, Gr, Gb, B]``
(``raw[0::2, 0::2]`` is R, ``[0::2, 1::2]`` Gr, ``[1::2, 0::2]`` Gb, ``[1::2, 1::2]`` B),
and scored as ``npy / 1024``.  Submissions are ``.npy`` files in the same format.

Here the RAW is rawkit's packed layout ``(4, h, w)``, float in ``[0, 1]`` (the file's
integers divided by 1024) or, on request, the file's uint16.  Readers refuse files that
break the format (wrong dtype or shape, values above 1024) and writers refuse values
outside ``[0, 1]``; nothing is clipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from rawkit._checks import check_dtype, check_finite, check_tensor_like
from rawkit._tensor import Array
from rawkit.io._atomic import PathLike, atomic_write, check_writable
from rawkit.io._files import FileFormatError, check_readable, describe_format, sniff_format
from rawkit.io.images import from_hwc, read_image, to_hwc, write_image

__all__ = [
    "AIM22_MAX",
    "aim22_pairs",
    "aim22_val_rgb",
    "read_aim22_raw",
    "read_aim22_rgb",
    "write_aim22_raw",
    "write_aim22_rgb",
]

#: The white level of AIM22 RAW files: values lie in ``[0, 1024]`` and are scored as ``/ 1024``.
AIM22_MAX = 1024


def _check_npy_header(p: Path) -> None:
    """Parse the ``.npy`` header first: a corrupt header, an object dtype or data that the
    file is too short to hold is refused before NumPy allocates the array."""
    size = p.stat().st_size
    try:
        with open(p, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            start = f.tell()
    except Exception as e:  # ValueError, SyntaxError, TokenError, EOFError, ...
        raise FileFormatError(p, f"corrupt .npy header ({type(e).__name__}: {e})") from e
    if dtype.hasobject:
        raise ValueError(f"{p}: holds Python objects (pickled), expected a uint16 array")
    need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if start + need > size:
        raise FileFormatError(
            p,
            f"truncated .npy file: its header says {need} bytes of data, the file has {size - start}",
        )


def read_aim22_raw(path: PathLike, *, normalize: bool = True) -> np.ndarray:
    """Read an AIM22 RAW ``.npy`` as a packed RAW ``(4, h, w)``.

    Args:
        path: a ``.npy`` file holding a ``(h, w, 4)`` uint16 array with values
            ``<= 1024``, channels ``[R, Gr, Gb, B]``.
        normalize: True (default): float32 in ``[0, 1]`` (values / 1024, as the
            challenge scores them); False: the file's uint16 values.

    Returns:
        ``(4, h, w)`` NumPy array, channels ``[R, Gr, Gb, B]``.

    Raises:
        FileNotFoundError: missing file.
        FileFormatError: empty, truncated or not a ``.npy`` file (an ``OSError``).
        ValueError: wrong dtype, wrong shape, object array, or values above 1024 (the
            message names the file).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_aim22_raw(pathlib.Path(d) / "1.npy", np.full((4, 2, 3), 0.5))
        ...     print(np.load(p).shape, read_aim22_raw(p).shape, read_aim22_raw(p).max())
        (2, 3, 4) (4, 2, 3) 0.5
    """
    p = check_readable(path, "an AIM22 RAW .npy file")
    if p.suffix.lower() != ".npy":
        raise ValueError(f"path: expected a .npy file, got {p.suffix!r} ({p})")
    fmt = sniff_format(p)
    if fmt != "npy":
        raise FileFormatError(p, f"content is {describe_format(fmt)}, not a NumPy .npy array")
    _check_npy_header(p)
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e) or "pickle" in str(e):
            raise ValueError(f"{p}: holds Python objects (pickled), expected a uint16 array") from e
        raise FileFormatError(p, f"truncated or corrupt .npy file ({e})") from e
    except Exception as e:  # np.load parses the header with ast: any error means corrupt
        raise FileFormatError(p, f"truncated or corrupt .npy file ({type(e).__name__}: {e})") from e
    if arr.dtype != np.uint16:
        raise ValueError(f"{p}: expected dtype uint16, got {arr.dtype}")
    if arr.ndim != 3 or arr.shape[2] != 4 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{p}: expected shape (h, w, 4) with h, w > 0, got {arr.shape}")
    top = int(arr.max())
    if top > AIM22_MAX:
        raise ValueError(
            f"{p}: {int((arr > AIM22_MAX).sum())} values above the AIM22 white level {AIM22_MAX} (max {top})"
        )
    packed = np.ascontiguousarray(from_hwc(arr))
    if not normalize:
        return packed
    return packed.astype(np.float32) / np.float32(AIM22_MAX)


def write_aim22_raw(path: PathLike, packed: Array, *, overwrite: bool = False) -> Path:
    """Write a packed RAW ``(4, h, w)`` as an AIM22 ``.npy`` (``(h, w, 4)`` uint16), atomically.

    Floating input in ``[0, 1]`` becomes ``round(x * 1024)``; uint16 input (values
    ``<= 1024``) is written as is, so ``read_aim22_raw(..., normalize=False)`` returns it
    unchanged, and float input that holds multiples of 1/1024 round-trips exactly.

    Args:
        path: destination ``.npy``; its folder must exist.
        packed: ``(4, h, w)`` tensor or array, channels ``[R, Gr, Gb, B]``: floating in
            ``[0, 1]`` (finite) or uint16 in ``[0, 1024]``.
        overwrite: replace an existing file (default: raise FileExistsError).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: dtype neither floating nor uint16.
        ValueError: wrong shape, NaN/Inf, values outside ``[0, 1]`` (or above 1024),
            extension not ``.npy``.
        FileExistsError: the file exists and ``overwrite`` is False.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_aim22_raw(pathlib.Path(d) / "1.npy", np.ones((4, 2, 2)))
        ...     print(np.load(p).dtype, int(np.load(p).max()))
        uint16 1024
    """
    dest = check_writable(path, overwrite=overwrite)
    if dest.suffix != ".npy":
        raise ValueError(f"path: expected a .npy file name, got {dest.suffix!r} ({dest})")
    check_tensor_like(packed, "packed")
    if packed.ndim != 3 or packed.shape[0] != 4 or packed.shape[1] == 0 or packed.shape[2] == 0:
        raise ValueError(
            f"packed: expected shape (4, h, w) with h, w > 0, got {tuple(packed.shape)}"
        )
    x = packed.detach().cpu().numpy() if isinstance(packed, torch.Tensor) else np.asarray(packed)
    if x.dtype == np.uint16:
        ints = x
        if int(ints.max()) > AIM22_MAX:
            raise ValueError(
                f"packed: expected uint16 values <= {AIM22_MAX}, got max {int(ints.max())}"
            )
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
        if not np.isfinite(x).all():
            raise ValueError("packed: expected finite values, got NaN or Inf")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"packed: expected values in [0, 1], got [{lo:.6g}, {hi:.6g}] (not clipped)"
            )
        ints = np.rint(x * AIM22_MAX).astype(np.uint16)
    else:
        raise TypeError(f"packed: expected a floating dtype or uint16, got {x.dtype}")
    hwc = np.ascontiguousarray(to_hwc(ints))
    with atomic_write(dest, overwrite=overwrite) as f:
        np.save(f, hwc, allow_pickle=False)
    return dest


def read_aim22_rgb(path: PathLike) -> np.ndarray:
    """Read an AIM22 sRGB ``.jpg`` as ``(3, H, W)`` float32 in ``[0, 1]`` (8-bit / 255).

    Raises:
        FileNotFoundError, FileFormatError: as :func:`rawkit.io.read_image`.
        ValueError: not a ``.jpg``/``.jpeg``, or not a 3-channel image.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_aim22_rgb(pathlib.Path(d) / "1.jpg", np.zeros((3, 4, 4)))
        ...     print(read_aim22_rgb(p).shape)
        (3, 4, 4)
    """
    if isinstance(path, (str, os.PathLike)) and Path(path).suffix.lower() not in (".jpg", ".jpeg"):
        raise ValueError(f"path: expected a .jpg file, got {Path(path).suffix!r} ({path})")
    img, _ = read_image(path)
    if img.shape[0] != 3:
        raise ValueError(f"{path}: expected an RGB image, got {img.shape[0]} channel(s)")
    return img


def write_aim22_rgb(
    path: PathLike, rgb: Array, *, quality: int = 95, overwrite: bool = False
) -> Path:
    """Write ``(3, H, W)`` sRGB in ``[0, 1]`` as an AIM22 ``.jpg`` (8-bit, ``quality``), atomically.

    A thin wrapper of :func:`rawkit.io.write_image` that insists on a ``.jpg``/``.jpeg``
    name and 3 channels.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     print(write_aim22_rgb(pathlib.Path(d) / "7.jpg", np.ones((3, 4, 4))).name)
        7.jpg
    """
    dest = check_writable(path, overwrite=overwrite)
    if dest.suffix.lower() not in (".jpg", ".jpeg"):
        raise ValueError(f"path: expected a .jpg file name, got {dest.suffix!r} ({dest})")
    check_tensor_like(rgb, "rgb")
    check_dtype(rgb, ["float"], "rgb")
    if rgb.ndim != 3 or rgb.shape[0] != 3:
        raise ValueError(f"rgb: expected shape (3, H, W), got {tuple(rgb.shape)}")
    check_finite(rgb if isinstance(rgb, torch.Tensor) else torch.from_numpy(np.asarray(rgb)), "rgb")
    return write_image(dest, rgb, bit_depth=8, quality=quality, overwrite=overwrite)


def _id_key(p: Path) -> tuple[int, int, str]:
    """Sort numeric ids numerically (2 before 10), other names after them by name."""
    stem = p.stem
    return (0, int(stem), stem) if stem.isdigit() else (1, 0, stem)


def _folder(root: PathLike, name: str) -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root: expected a str or os.PathLike, got {type(root).__name__}")
    folder = Path(root) / name
    if not folder.is_dir():
        raise FileNotFoundError(
            2, f"no {name}/ folder (expected the AIM22 layout <root>/{name}/)", str(folder)
        )
    return folder


def _files(folder: Path, suffix: str) -> dict[str, Path]:
    return {f.stem: f for f in folder.iterdir() if f.is_file() and f.suffix.lower() == suffix}


def aim22_pairs(root: PathLike) -> list[tuple[Path, Path]]:
    """The ``(sRGB .jpg, RAW .npy)`` training pairs under ``<root>/train/``, sorted by id.

    Files are paired by name (``train/17.jpg`` with ``train/17.npy``); numeric ids sort
    numerically.  Other files in ``train/`` are ignored; the files themselves are not
    opened (use :func:`read_aim22_rgb` and :func:`read_aim22_raw`).

    Args:
        root: a track folder such as ``data-s7`` holding ``train/``.

    Returns:
        A list of ``(jpg_path, npy_path)``.

    Raises:
        FileNotFoundError: ``<root>/train`` is missing, or holds no pair.
        ValueError: an id has a ``.jpg`` without its ``.npy`` or the other way round (the
            message lists them).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     (pathlib.Path(d) / "train").mkdir()
        ...     for i in (10, 2):
        ...         _ = write_aim22_raw(pathlib.Path(d) / "train" / f"{i}.npy", np.zeros((4, 2, 2)))
        ...         _ = write_aim22_rgb(pathlib.Path(d) / "train" / f"{i}.jpg", np.zeros((3, 4, 4)))
        ...     print([(a.name, b.name) for a, b in aim22_pairs(d)])
        [('2.jpg', '2.npy'), ('10.jpg', '10.npy')]
    """
    folder = _folder(root, "train")
    jpgs, npys = _files(folder, ".jpg"), _files(folder, ".npy")
    alone = sorted(set(jpgs) ^ set(npys), key=lambda s: _id_key(Path(s)))
    if alone:
        shown = ", ".join(f"{s}{'.jpg' if s in jpgs else '.npy'}" for s in alone[:10])
        more = f" and {len(alone) - 10} more" if len(alone) > 10 else ""
        raise ValueError(f"{folder}: {len(alone)} file(s) without their pair: {shown}{more}")
    if not jpgs:
        raise FileNotFoundError(2, "no <id>.jpg / <id>.npy pairs", str(folder))
    stems = sorted(jpgs, key=lambda s: _id_key(Path(s)))
    return [(jpgs[s], npys[s]) for s in stems]


def aim22_val_rgb(root: PathLike) -> list[Path]:
    """The validation inputs ``<root>/val_rgb/<id>.jpg``, sorted by id.

    Raises:
        FileNotFoundError: ``<root>/val_rgb`` is missing or holds no ``.jpg``.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     (pathlib.Path(d) / "val_rgb").mkdir()
        ...     _ = write_aim22_rgb(pathlib.Path(d) / "val_rgb" / "3.jpg", np.zeros((3, 4, 4)))
        ...     print([p.name for p in aim22_val_rgb(d)])
        ['3.jpg']
    """
    folder = _folder(root, "val_rgb")
    jpgs = _files(folder, ".jpg")
    if not jpgs:
        raise FileNotFoundError(2, "no <id>.jpg files", str(folder))
    return sorted(jpgs.values(), key=_id_key)
