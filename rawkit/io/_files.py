"""File checks shared by rawkit's readers (private module).

Every reader starts with :func:`check_readable`, which turns the usual ways a path can be
wrong into :class:`OSError` subclasses whose message names the path and the problem:

- missing -> :class:`FileNotFoundError`;
- a folder -> :class:`IsADirectoryError`;
- empty, truncated, or content that is not what the reader (or the extension) expects ->
  :class:`FileFormatError`.

:func:`sniff_format` looks at a file's first bytes, so that a PNG named ``.dng`` is
reported as "a PNG image" rather than as an obscure decoder failure.
"""

from __future__ import annotations

import errno
import itertools
import os
import struct
from pathlib import Path

__all__ = [
    "MAX_IMAGE_PIXELS",
    "FileFormatError",
    "check_image_header",
    "check_tiff_size",
    "check_readable",
    "describe_format",
    "sniff_format",
]

#: Largest image (width x height) the readers decode: a 460-byte file must not make a
#: decoder allocate gigabytes (a "decompression bomb").  2**28 pixels is 268 megapixels.
MAX_IMAGE_PIXELS = 2**28
#: Pages a TIFF may have before its IFD chain is taken for a loop.
_MAX_TIFF_PAGES = 1024

PathLike = str | os.PathLike


class FileFormatError(OSError):
    """A file exists but is not what it should be: empty, truncated, or the wrong format.

    Subclasses :class:`OSError`, so ``except OSError`` catches it together with
    :class:`FileNotFoundError`.  ``filename`` holds the path; the message names it and
    says what was wrong.

    Example:
        >>> err = FileFormatError("x.dng", "empty file (0 bytes), expected a RAW file")
        >>> str(err)
        'x.dng: empty file (0 bytes), expected a RAW file'
        >>> isinstance(err, OSError)
        True
    """

    def __init__(self, path: PathLike, problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.filename = os.fspath(path)
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.filename}: {self.problem}"


_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"\x93NUMPY", "npy"),
    (0, b"PK\x03\x04", "zip"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
    (0, b"II+\x00", "tiff"),  # BigTIFF
    (0, b"MM\x00+", "tiff"),
    (0, b"FUJIFILMCCD-RAW", "raf"),
    (0, b"IIRO", "orf"),
    (0, b"IIRS", "orf"),
    (0, b"IIU\x00", "rw2"),
    (4, b"ftypcrx", "cr3"),
    (0, b"GIF8", "gif"),
    (0, b"BM", "bmp"),
)

_DESCRIPTION = {
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "npy": "a NumPy .npy array",
    "zip": "a ZIP archive (e.g. a PyTorch checkpoint)",
    "tiff": "a TIFF file (TIFF, DNG or a TIFF-based camera RAW)",
    "raf": "a Fujifilm RAF file",
    "orf": "an Olympus ORF file",
    "rw2": "a Panasonic RW2 file",
    "cr3": "a Canon CR3 file",
    "gif": "a GIF image",
    "bmp": "a BMP image",
}


def sniff_format(path: PathLike) -> str | None:
    """The format of a file from its first bytes (``"png"``, ``"tiff"``, ...), or None.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = pathlib.Path(d) / "a.dng"
        ...     _ = p.write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
        ...     sniff_format(p)
        'png'
    """
    with open(path, "rb") as f:
        head = f.read(32)
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def describe_format(fmt: str | None) -> str:
    """Human words for a :func:`sniff_format` result (``None`` -> "an unknown format")."""
    return _DESCRIPTION.get(fmt, "an unknown format") if fmt is not None else "an unknown format"


def check_readable(path: PathLike, what: str) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` if it is a non-empty regular file.

    Args:
        path: the file.
        what: what the caller expects, for messages (e.g. ``"a RAW file"``).

    Raises:
        TypeError: ``path`` is not a str or path-like.
        FileNotFoundError: no such file.
        IsADirectoryError: it is a folder.
        FileFormatError: it is empty.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(errno.ENOENT, f"no such file (expected {what})", os.fspath(p))
    if p.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"is a folder (expected {what})", os.fspath(p))
    if p.stat().st_size == 0:
        raise FileFormatError(p, f"empty file (0 bytes), expected {what}")
    return p


def _png_problem(data: bytes) -> str | None:
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if length > 2**31 - 1 or pos + 12 + length > n:
            return (
                f"truncated or corrupt PNG: chunk {kind!r} at byte {pos} claims {length} bytes, "
                f"the file has {n - pos - 12} left"
            )
        if kind == b"IHDR" and length >= 8:
            w, h = struct.unpack(">II", data[pos + 8 : pos + 16])
            if w * h > MAX_IMAGE_PIXELS:
                return f"PNG claims {w}x{h} pixels, more than the {MAX_IMAGE_PIXELS} rawkit decodes"
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_problem(data: bytes) -> str | None:
    pos, n = 2, len(data)
    while pos + 4 <= n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF and pos + 9 <= n:
            h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
            if w * h > MAX_IMAGE_PIXELS:
                return (
                    f"JPEG claims {w}x{h} pixels, more than the {MAX_IMAGE_PIXELS} rawkit decodes"
                )
            return None
        if marker == 0xDA:  # start of scan without a frame header: let the decoder refuse
            return None
        pos += 2 + length
    return None


def check_image_header(path: PathLike, fmt: str | None) -> None:
    """Refuse a PNG/JPEG whose header would make a decoder allocate absurd memory.

    PNG: every chunk must fit in the file (a chunk length of ``0xFFFFFFFF`` in a 460-byte
    file made OpenCV allocate 4 GB) and the image must have at most
    :data:`MAX_IMAGE_PIXELS` pixels; JPEG: the frame header's size, likewise.  Other
    formats pass.

    Raises:
        FileFormatError: a corrupt chunk or an oversized image (an ``OSError``).

    Example:
        >>> import tempfile, pathlib, struct
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = pathlib.Path(d) / "bomb.png"
        ...     ihdr = struct.pack(">II", 100000, 100000) + bytes(5)
        ...     _ = p.write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + bytes(4))
        ...     try:
        ...         check_image_header(p, "png")
        ...     except FileFormatError as e:
        ...         print(e.problem)
        PNG claims 100000x100000 pixels, more than the 268435456 rawkit decodes
    """
    if fmt not in ("png", "jpeg"):
        return
    with open(path, "rb") as f:
        data = f.read()
    problem = _png_problem(data) if fmt == "png" else _jpeg_problem(data)
    if problem:
        raise FileFormatError(path, problem)


def check_tiff_size(path: PathLike) -> None:
    """Refuse a TIFF whose first image claims more than :data:`MAX_IMAGE_PIXELS` pixels.

    tifffile allocates the whole array from the header before reading a byte of data:
    a 226-byte TIFF claiming 3 billion rows asked for 25 GB; a 302-byte one whose IFD
    chain loops kept tifffile busy for minutes.  Both are refused here, as are TIFFs
    with more than 1024 pages.  tifffile's log messages about the corrupt header are
    silenced.

    Raises:
        FileFormatError: an unreadable header or an oversized image (an ``OSError``).
    """
    import logging

    import tifffile

    logger = logging.getLogger("tifffile")
    old = logger.disabled
    logger.disabled = True
    try:
        with tifffile.TiffFile(path) as tif:
            shape = tuple(tif.pages[0].shape)
            n_pages = sum(1 for _ in itertools.islice(tif.pages, _MAX_TIFF_PAGES + 1))
    except Exception as e:  # tifffile raises many kinds on a corrupt header
        raise FileFormatError(
            path, f"truncated or corrupt TIFF header ({type(e).__name__}: {e})"
        ) from e
    finally:
        logger.disabled = old
    if n_pages > _MAX_TIFF_PAGES:
        raise FileFormatError(
            path, f"corrupt TIFF structure: more than {_MAX_TIFF_PAGES} pages (an IFD loop?)"
        )
    if len(shape) < 2 or any(v == 0 for v in shape):
        raise FileFormatError(path, f"TIFF holds no image (first page of shape {shape})")
    try:
        h, w = (int(v) for v in shape[:2])
    except (TypeError, ValueError) as e:
        raise FileFormatError(path, f"corrupt TIFF header (image shape {shape})") from e
    pixels = h * w
    if pixels > MAX_IMAGE_PIXELS:
        raise FileFormatError(
            path,
            f"TIFF claims {shape[0]}x{shape[1]} pixels, more than the {MAX_IMAGE_PIXELS} rawkit decodes",
        )
