"""Short fuzz run of every file reader: mutated valid files raise only documented errors.

The long, coverage-guided run is ``nox -s fuzz`` (atheris, ``tests/io/_fuzz_readers.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from _fuzz_readers import TARGETS, WORK, suffix_for  # noqa: E402


@pytest.fixture(autouse=True)
def _work_folder():
    """The readers' scratch folder exists for every test (an outside clean-up of /tmp
    during a long run must not turn into false failures)."""
    WORK.mkdir(parents=True, exist_ok=True)


_EXTREMES = [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x01\x00"]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file with a few random edits: byte flips, 4-byte extremes, cuts, inserts."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "extreme", "cut", "insert", "header"]))
        n = len(data)
        if n == 0:
            break
        pos = draw(st.integers(0, n - 1))
        if kind == "flip":
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "extreme":
            data[pos : pos + 4] = draw(st.sampled_from(_EXTREMES))
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:  # mutate the first bytes, where headers and offsets live
            hp = draw(st.integers(0, min(n, 256) - 1))
            data[hp] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_are_read(name):
    target = TARGETS[name]
    for seed in target.seeds():
        target.read(_write(target, seed))  # valid files read without error


def _write(target, data: bytes) -> Path:
    from _fuzz_readers import WORK

    p = WORK / f"seed{suffix_for(target, data)}"
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("name", ["raw", "npy", "image", "photo", "ckpt"])
def test_missing_and_empty_files_are_refused_by_name(name, tmp_path):
    """Every rawkit.io file reader: FileNotFoundError for a missing file and
    FileFormatError ("empty file") for an empty one, both naming the file."""
    from rawkit.io import FileFormatError

    target = TARGETS[name]
    missing = tmp_path / f"missing{target.suffix}"
    with pytest.raises(FileNotFoundError, match=rf"missing\{target.suffix}"):
        target.read(missing)
    empty = tmp_path / f"empty{target.suffix}"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match=rf"empty\{target.suffix}: empty file"):
        target.read(empty)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutated_files_raise_only_documented_errors(name):
    target = TARGETS[name]
    seeds = target.seeds()

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=mutated(seeds))
    def run(data: bytes) -> None:
        target.run(data, suffix_for(target, data))

    run()


def test_png_chunk_length_bomb_is_refused(tmp_path):
    """Found by atheris: a 460-byte PNG whose IDAT claims 4 GB made OpenCV allocate it."""
    from rawkit.io import FileFormatError, read_image

    seed = bytearray(TARGETS["image"].seeds()[0])  # the 16-bit PNG
    idat = seed.index(b"IDAT") - 4
    seed[idat : idat + 4] = b"\xff\xff\xff\xf0"
    p = tmp_path / "bomb.png"
    p.write_bytes(bytes(seed))
    with pytest.raises(FileFormatError, match="claims 4294967280 bytes"):
        read_image(p)


def test_jpeg_dimension_bomb_is_refused(tmp_path):
    from rawkit.io import FileFormatError, read_image

    data = bytearray(TARGETS["image"].seeds()[1])  # the JPEG
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = b"\xff\xff\xff\xff"  # 65535 x 65535
    p = tmp_path / "bomb.jpg"
    p.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="65535x65535"):
        read_image(p)


REGRESSIONS = Path(__file__).resolve().parents[1] / "data" / "fuzz_regressions"


@pytest.mark.parametrize(
    ("file", "target"),
    [("raw-ifd-loop.dng", "raw"),  # an IFD chain tifffile walked without end
     ("image-idat-4gb.png", "image"),  # a chunk length that made OpenCV allocate 4 GB
     ("photo-tiff-huge.tif", "photo"),  # 3 billion rows: tifffile allocated them
     ("photo-ifd-loop.tif", "photo")],  # an IFD loop: tifffile.imread never returned
)  # fmt: skip
def test_fuzz_regressions(file, target):
    """Inputs atheris found: each must be refused with a documented exception, quickly."""
    t = TARGETS[target]
    with pytest.raises(t.allowed):
        t.read(REGRESSIONS / file)
