"""PNG (8/16-bit) and JPEG images, and the channel-last <-> channel-first conversions.

Files store images channel-last, ``(H, W, C)``; every other part of rawkit works on
``(*, C, H, W)``.  The two conversions, :func:`to_hwc` and :func:`from_hwc`, live here
and only here (DESIGN.md, "Layout").

Pixel values in memory are float in ``[0, 1]``: an 8-bit file's integers are divided by
255, a 16-bit PNG's by 65535, and writing multiplies back and rounds to the nearest
integer.  So a 16-bit PNG round trip is exact for every value ``k / 65535``, and an 8-bit
one for every ``k / 255``.  Writers refuse values outside ``[0, 1]`` (and NaN) unless
``clip=True`` asks for clipping; nothing is clipped silently.

Colour order is RGB(A) in memory; OpenCV, which does the encoding, stores BGR(A), and
the swap happens here.  JPEG is 8-bit only and lossy: ``quality`` (0-100) trades size
for error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np
import torch

from rawkit._checks import check_choice, check_dtype, check_tensor_like
from rawkit._tensor import Array
from rawkit.io._atomic import PathLike, atomic_write, check_writable
from rawkit.io._files import (
    FileFormatError,
    check_image_header,
    check_readable,
    check_tiff_size,
    describe_format,
    sniff_format,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "PHOTO_EXTENSIONS",
    "LoadedImage",
    "Photo",
    "from_hwc",
    "read_image",
    "read_photo",
    "to_hwc",
    "write_image",
]

#: File extensions (lower case) and the format each one means.
IMAGE_EXTENSIONS: dict[str, str] = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


class LoadedImage(NamedTuple):
    """What :func:`read_image` returns.

    Attributes:
        image: ``(C, H, W)`` float32 NumPy array in ``[0, 1]``; ``C`` is 1 (grey),
            3 (RGB) or 4 (RGBA), as stored in the file.
        bit_depth: bits per sample in the file, 8 or 16.
    """

    image: np.ndarray
    bit_depth: int


def to_hwc(x: Array) -> Array:
    """Channel-first ``(*, C, H, W)`` -> channel-last ``(*, H, W, C)`` (a view, no copy).

    Args:
        x: tensor or NumPy array with at least 3 dims.

    Returns:
        The same kind of array, ``(*, H, W, C)``.

    Raises:
        TypeError: not an array.
        ValueError: fewer than 3 dims.

    Example:
        >>> import numpy as np
        >>> to_hwc(np.zeros((2, 3, 4, 5))).shape
        (2, 4, 5, 3)
    """
    check_tensor_like(x, "x")
    if x.ndim < 3:
        raise ValueError(f"x: expected shape (*, C, H, W), got {tuple(x.shape)}")
    if isinstance(x, torch.Tensor):
        return x.movedim(-3, -1)
    return np.moveaxis(x, -3, -1)


def from_hwc(x: Array) -> Array:
    """Channel-last ``(*, H, W, C)`` -> channel-first ``(*, C, H, W)`` (a view, no copy).

    The inverse of :func:`to_hwc`.

    Example:
        >>> import torch
        >>> from_hwc(torch.zeros(4, 5, 3)).shape
        torch.Size([3, 4, 5])
    """
    check_tensor_like(x, "x")
    if x.ndim < 3:
        raise ValueError(f"x: expected shape (*, H, W, C), got {tuple(x.shape)}")
    if isinstance(x, torch.Tensor):
        return x.movedim(-1, -3)
    return np.moveaxis(x, -1, -3)


def _image_format(path: Path, name: str = "path") -> str:
    fmt = IMAGE_EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{name}: expected an extension in {sorted(IMAGE_EXTENSIONS)}, got {path.suffix!r} ({path})"
        )
    return fmt


_SWAP = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}
_SWAP_BACK = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}


def read_image(path: PathLike) -> LoadedImage:
    """Read a PNG (8- or 16-bit) or JPEG file as a ``(C, H, W)`` float array in ``[0, 1]``.

    Args:
        path: a ``.png``, ``.jpg`` or ``.jpeg`` file.  The content must match the
            extension (a JPEG named ``.png`` is refused, not decoded by luck).

    Returns:
        :class:`LoadedImage` ``(image, bit_depth)``: ``image`` is float32 ``(C, H, W)``
        with ``C`` in {1, 3, 4} in RGB(A) order, the file's integers divided by
        ``2**bit_depth - 1``.

    Raises:
        ValueError: unsupported extension.
        FileNotFoundError: missing file.
        FileFormatError: empty, truncated or undecodable file, or content that does not
            match the extension (an ``OSError``).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_image(pathlib.Path(d) / "a.png", np.full((3, 2, 2), 0.5), bit_depth=16)
        ...     img, depth = read_image(p)
        >>> img.shape, depth, round(float(img[0, 0, 0]), 4)
        ((3, 2, 2), 16, 0.5)
    """
    p = check_readable(path, "an image file")
    fmt = _image_format(p)
    found = sniff_format(p)
    if found != fmt:
        raise FileFormatError(
            p,
            f"content is {describe_format(found)}, not what the extension {p.suffix!r} says ({fmt})",
        )
    check_image_header(p, found)
    buf = np.fromfile(p, dtype=np.uint8)
    arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise FileFormatError(
            p, f"could not decode the {fmt.upper()} data (truncated or corrupt file)"
        )
    if arr.dtype == np.uint8:
        depth = 8
    elif arr.dtype == np.uint16:
        depth = 16
    else:
        raise FileFormatError(p, f"unsupported sample type {arr.dtype} (expected 8- or 16-bit)")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    elif arr.shape[2] in _SWAP:
        arr = cv2.cvtColor(arr, _SWAP[arr.shape[2]])
    else:
        raise FileFormatError(p, f"unsupported channel count {arr.shape[2]} (expected 1, 3 or 4)")
    scale = np.float32(2**depth - 1)
    image = np.ascontiguousarray(from_hwc(arr)).astype(np.float32) / scale
    return LoadedImage(image, depth)


def write_image(
    path: PathLike,
    image: Array,
    *,
    bit_depth: Literal[8, 16] = 8,
    quality: int | None = None,
    clip: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a ``(C, H, W)`` float image in ``[0, 1]`` as PNG (8/16-bit) or JPEG, atomically.

    Values are scaled by ``2**bit_depth - 1`` and rounded to the nearest integer, so
    ``read_image(write_image(p, x))`` returns ``x`` exactly when ``x`` holds multiples
    of ``1 / (2**bit_depth - 1)``.

    Args:
        path: destination; the extension picks the format (``.png``, ``.jpg``,
            ``.jpeg``).  Its folder must exist.
        image: ``(C, H, W)`` floating tensor or array, ``C`` in {1, 3, 4} (RGB(A)
            order; JPEG takes 1 or 3), finite, in ``[0, 1]``.
        bit_depth: 8 or 16; JPEG is 8-bit only.
        quality: JPEG quality 0-100 (default 95); PNG (lossless) takes none.
        clip: clip values outside ``[0, 1]`` instead of raising.
        overwrite: replace an existing file (default: raise FileExistsError).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: ``image`` not a floating array.
        ValueError: wrong shape or channel count, NaN/Inf, values outside ``[0, 1]``
            with ``clip=False``, bad ``bit_depth``/``quality``, unsupported extension.
        FileExistsError: the file exists and ``overwrite`` is False.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_image(pathlib.Path(d) / "a.jpg", np.zeros((3, 8, 8)), quality=90)
        ...     print(p.name, read_image(p).image.shape)
        a.jpg (3, 8, 8)
    """
    dest = check_writable(path, overwrite=overwrite)
    fmt = _image_format(dest)
    check_tensor_like(image, "image")
    check_dtype(image, ["float"], "image")
    check_choice(bit_depth, (8, 16), "bit_depth")
    if not isinstance(clip, bool):
        raise TypeError(f"clip: expected a bool, got {type(clip).__name__}")
    if image.ndim != 3 or image.shape[0] not in (1, 3, 4):
        raise ValueError(
            f"image: expected shape (C, H, W) with C in (1, 3, 4), got {tuple(image.shape)}"
        )
    if image.shape[1] == 0 or image.shape[2] == 0:
        raise ValueError(f"image: expected a non-empty image, got shape {tuple(image.shape)}")
    params: list[int] = []
    if fmt == "jpeg":
        if bit_depth != 8:
            raise ValueError(
                f"bit_depth: JPEG is 8-bit only, got {bit_depth} (use .png for 16-bit)"
            )
        if image.shape[0] == 4:
            raise ValueError("image: JPEG has no alpha channel, got 4 channels (use .png)")
        quality = 95 if quality is None else quality
        if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
            raise ValueError(f"quality: expected an int in [0, 100], got {quality!r}")
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    elif quality is not None:
        raise ValueError(f"quality: only for JPEG, got quality={quality!r} for a PNG ({dest.name})")

    x = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(
            f"image: expected finite values, got {int(np.isnan(x).sum())} NaN, {int(np.isinf(x).sum())} Inf"
        )
    lo, hi = float(x.min()), float(x.max())
    if clip:
        x = np.clip(x, 0.0, 1.0)
    elif lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"image: expected values in [0, 1], got [{lo:.6g}, {hi:.6g}]; pass clip=True to clip"
        )
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    ints = np.rint(x * (2**bit_depth - 1)).astype(dtype)
    arr = np.ascontiguousarray(to_hwc(ints))
    if arr.shape[2] == 1:
        arr = arr[:, :, 0]
    else:
        arr = cv2.cvtColor(arr, _SWAP_BACK[arr.shape[2]])
    ok, encoded = cv2.imencode(".png" if fmt == "png" else ".jpg", arr, params)
    if not ok:  # pragma: no cover - OpenCV reports no reason
        raise OSError(f"{os.fspath(dest)}: OpenCV could not encode the image as {fmt}")
    with atomic_write(dest, overwrite=overwrite) as f:
        f.write(encoded.tobytes())
    return dest


#: Extensions :func:`read_photo` accepts (lower case) and the format each one means.
PHOTO_EXTENSIONS: dict[str, str] = {**IMAGE_EXTENSIONS, ".tif": "tiff", ".tiff": "tiff"}

# EXIF/TIFF Orientation -> (transpose first?, then np.rot90 k on the transposed image)
# written as the operation that shows the image upright (EXIF 2.32, tag 0x0112).
_ORIENT_NAMES = {
    1: "upright",
    2: "mirrored left-right",
    3: "rotated 180 degrees",
    4: "mirrored top-bottom",
    5: "transposed",
    6: "rotated 90 degrees clockwise",
    7: "transversed",
    8: "rotated 90 degrees counter-clockwise",
}


class Photo(NamedTuple):
    """What :func:`read_photo` returns.

    Attributes:
        image: ``(3, H, W)`` float32 RGB in ``[0, 1]``, shown upright.
        bit_depth: bits per sample in the file, 8 or 16.
        orientation: the file's EXIF/TIFF orientation code (1 = upright, already applied).
        notes: what was changed to make an RGB image of it, one sentence each (grey
            replicated, alpha dropped, orientation applied); empty when nothing was.
    """

    image: np.ndarray
    bit_depth: int
    orientation: int
    notes: tuple[str, ...]


def _orientation_tag(p: Path, fmt: str) -> int:
    if fmt == "tiff":
        import tifffile

        with tifffile.TiffFile(p) as tif:
            tag = tif.pages[0].tags.get("Orientation")
            value = int(tag.value) if tag is not None else 1
    else:
        from PIL import Image

        try:
            with Image.open(p) as im:
                value = int(im.getexif().get(0x0112, 1))
        except Exception:  # noqa: BLE001 - a broken EXIF block means no orientation
            value = 1
    return value if value in _ORIENT_NAMES else 1


def _upright(hwc: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation ``orientation`` to an ``(H, W, C)`` array (a view)."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, k=1),
    }
    return ops[orientation](hwc)


def read_photo(path: PathLike, *, orientation: bool = True) -> Photo:
    """Read a photo as upright ``(3, H, W)`` RGB in ``[0, 1]``, whatever its file holds.

    The reader for tools that take "any photo": PNG, JPEG and TIFF, 8- or 16-bit, grey
    (replicated to three equal channels), RGB or RGBA (alpha dropped), with the EXIF or
    TIFF orientation applied so the image is the way a viewer shows it.  Every such
    change is listed in :attr:`Photo.notes` so that a caller can tell the user.  For the
    file as stored, use :func:`read_image`.

    Args:
        path: a ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff`` file; the content must
            match the extension.
        orientation: apply the orientation tag (default); False keeps the stored layout.

    Returns:
        :class:`Photo`.

    Raises:
        ValueError: unsupported extension.
        FileNotFoundError: missing file.
        FileFormatError: empty, truncated, undecodable, or not what its extension says,
            or a sample type/channel count that is not a photo (an ``OSError``).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_image(pathlib.Path(d) / "g.png", np.full((1, 2, 4), 0.5), bit_depth=16)
        ...     photo = read_photo(p)
        >>> photo.image.shape, photo.bit_depth, photo.notes
        ((3, 2, 4), 16, ('grey image: its one channel is used as R, G and B',))
    """
    p = check_readable(path, "a photo (PNG, JPEG or TIFF)")
    suffix = p.suffix.lower()
    fmt = PHOTO_EXTENSIONS.get(suffix)
    if fmt is None:
        raise ValueError(
            f"path: expected an extension in {sorted(PHOTO_EXTENSIONS)}, got {p.suffix!r} ({p})"
        )
    if not isinstance(orientation, bool):
        raise TypeError(f"orientation: expected a bool, got {type(orientation).__name__}")
    notes: list[str] = []
    if fmt == "tiff":
        import tifffile

        found = sniff_format(p)
        if found != "tiff":
            raise FileFormatError(
                p, f"content is {describe_format(found)}, not what the extension {p.suffix!r} says"
            )
        check_tiff_size(p)
        try:
            arr = tifffile.imread(p)
        except Exception as e:  # noqa: BLE001 - tifffile raises many kinds
            raise FileFormatError(p, f"could not decode the TIFF data ({e})") from e
        if arr.dtype not in (np.uint8, np.uint16):
            raise FileFormatError(p, f"unsupported sample type {arr.dtype} (expected 8- or 16-bit)")
        depth = 8 if arr.dtype == np.uint8 else 16
        if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (1, 3, 4):
            arr = np.moveaxis(arr, 0, -1)  # planar TIFF
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
            raise FileFormatError(p, f"unsupported layout {arr.shape} (expected a single image)")
    else:
        loaded = read_image(p)
        arr, depth = to_hwc(loaded.image), loaded.bit_depth
    channels = arr.shape[2]
    if channels in (2, 4):
        notes.append("alpha channel dropped (rawkit works on opaque RGB)")
        arr = arr[:, :, : channels - 1]
    if arr.shape[2] == 1:
        notes.append("grey image: its one channel is used as R, G and B")
        arr = np.repeat(arr, 3, axis=2)
    code = _orientation_tag(p, fmt)
    if orientation and code != 1:
        arr = _upright(arr, code)
        notes.append(f"orientation tag {code} applied (the file is stored {_ORIENT_NAMES[code]})")
    image = np.ascontiguousarray(from_hwc(arr))
    if image.dtype != np.float32:
        image = image.astype(np.float32) / np.float32(2**depth - 1)
    return Photo(image, depth, code, tuple(notes))
