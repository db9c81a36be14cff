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
import os
from pathlib import Path

__all__ = ["FileFormatError", "check_readable", "describe_format", "sniff_format"]

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
