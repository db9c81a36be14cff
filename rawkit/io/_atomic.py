"""Atomic, no-clobber file writes shared by every rawkit writer (private module).

:func:`atomic_write` hands the caller a binary file object on a temporary file in the
destination's folder and, only once everything was written and flushed to disk, moves
it to the destination in one step.  A reader therefore sees either the old file (or no
file) or the complete new one, never half a file, and an error while writing leaves no
temporary file behind.

Without ``overwrite=True`` an existing destination is never replaced: the check is made
up front (so no work is wasted) and again at the final step, which uses a hard link
(atomic "create if absent") where the file system supports one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "check_writable"]

PathLike = str | os.PathLike


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permission bits of a freshly created file (what ``open(path, "wb")`` would give).
_FILE_MODE = 0o666 & ~_umask()


def _exists_error(path: Path) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST, "file exists; pass overwrite=True to replace it", os.fspath(path)
    )


def check_writable(path: PathLike, *, overwrite: bool) -> Path:
    """Validate a destination path before any work is done; return it as a Path.

    Raises:
        TypeError: ``path`` is not a str or path-like, or ``overwrite`` is not a bool.
        FileExistsError: the file exists and ``overwrite`` is False.
        IsADirectoryError: ``path`` is a folder.
        FileNotFoundError: its folder does not exist.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite: expected a bool, got {type(overwrite).__name__}")
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, expected a file path", os.fspath(p))
    if p.exists() and not overwrite:
        raise _exists_error(p)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "folder does not exist", os.fspath(parent))
    return p


def _publish(tmp: str, dest: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)  # atomic create-if-absent
    except FileExistsError:
        raise _exists_error(dest) from None
    except OSError:  # no hard links here (e.g. FAT, some network shares)
        if dest.exists():
            raise _exists_error(dest) from None
        os.replace(tmp, dest)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_write(path: PathLike, *, overwrite: bool = False) -> Iterator[BinaryIO]:
    """Context manager: write a file atomically through a binary file object.

    The temporary file lives in the destination's folder (so the final rename never
    crosses file systems), is named ``.<name>.<random>.tmp<suffix>`` and is removed if
    the block raises.

    Args:
        path: destination file; its folder must exist.
        overwrite: replace an existing file (default False: raise FileExistsError).

    Yields:
        A binary file object opened for writing.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False (checked before and
            after writing).
        FileNotFoundError: the destination's folder does not exist.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = pathlib.Path(d) / "a.bin"
        ...     with atomic_write(p) as f:
        ...         _ = f.write(b"hello")
        ...     print(p.read_bytes(), sorted(x.name for x in pathlib.Path(d).iterdir()))
        b'hello' ['a.bin']
    """
    dest = check_writable(path, overwrite=overwrite)
    fd, tmp = tempfile.mkstemp(
        dir=dest.parent if str(dest.parent) else ".",
        prefix=f".{dest.name}.",
        suffix=f".tmp{dest.suffix}",
    )
    os.close(fd)  # reopened by name: some writers (tifffile) want a named file object
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        _publish(tmp, dest, overwrite=overwrite)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
