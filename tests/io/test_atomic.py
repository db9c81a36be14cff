"""Atomic, no-clobber writes and file checks shared by rawkit.io (private helpers)."""

import os
import stat

import pytest

from rawkit.io._atomic import atomic_write, check_writable
from rawkit.io._files import FileFormatError, check_readable, sniff_format


def test_atomic_write_creates_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.bin"
    with atomic_write(p) as f:
        f.write(b"abc")
        assert not p.exists()  # nothing visible before the block ends
    assert p.read_bytes() == b"abc"
    assert [x.name for x in tmp_path.iterdir()] == ["a.bin"]


def test_atomic_write_refuses_existing_file_and_names_it(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True") as e:
        with atomic_write(p) as f:
            f.write(b"new")
    assert e.value.filename == str(p)
    assert p.read_bytes() == b"old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.bin"]


def test_atomic_write_overwrite_replaces(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    with atomic_write(p, overwrite=True) as f:
        f.write(b"new")
    assert p.read_bytes() == b"new"


def test_atomic_write_error_keeps_old_file_and_removes_temp(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(p, overwrite=True) as f:
            f.write(b"half")
            raise RuntimeError("boom")
    assert p.read_bytes() == b"old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.bin"]


def test_file_created_meanwhile_is_not_clobbered(tmp_path):
    p = tmp_path / "a.bin"
    with pytest.raises(FileExistsError):
        with atomic_write(p) as f:
            f.write(b"mine")
            p.write_bytes(b"theirs")  # another process wins the race
    assert p.read_bytes() == b"theirs"
    assert [x.name for x in tmp_path.iterdir()] == ["a.bin"]


def test_permissions_follow_umask(tmp_path):
    p = tmp_path / "a.bin"
    with atomic_write(p) as f:
        f.write(b"x")
    ref = tmp_path / "ref.bin"
    ref.write_bytes(b"x")
    assert stat.S_IMODE(os.stat(p).st_mode) == stat.S_IMODE(os.stat(ref).st_mode)


def test_check_writable_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder does not exist"):
        check_writable(tmp_path / "nope" / "a.bin", overwrite=False)
    with pytest.raises(IsADirectoryError):
        check_writable(tmp_path, overwrite=True)
    with pytest.raises(TypeError, match="path"):
        check_writable(3, overwrite=False)
    with pytest.raises(TypeError, match="overwrite"):
        check_writable(tmp_path / "a", overwrite="yes")


def test_check_readable_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        check_readable(tmp_path / "missing.dng", "a RAW file")
    assert "missing.dng" in str(e.value) and "a RAW file" in str(e.value)
    (tmp_path / "empty.dng").write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"empty\.dng: empty file"):
        check_readable(tmp_path / "empty.dng", "a RAW file")
    with pytest.raises(IsADirectoryError):
        check_readable(tmp_path, "a RAW file")


def test_file_format_error_is_an_oserror_with_filename(tmp_path):
    err = FileFormatError(tmp_path / "x.npy", "truncated")
    assert isinstance(err, OSError)
    assert err.filename == str(tmp_path / "x.npy")
    assert str(err) == f"{tmp_path / 'x.npy'}: truncated"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"II*\x00", "tiff"),
        (b"MM\x00*", "tiff"),
        (b"\x93NUMPY", "npy"),
        (b"PK\x03\x04", "zip"),
        (b"hello world", None),
    ],
)
def test_sniff_format(tmp_path, head, fmt):
    p = tmp_path / "f"
    p.write_bytes(head + bytes(20))
    assert sniff_format(p) == fmt
