"""Fuzz targets for rawkit's file readers, and a coverage-guided long run (atheris).

Every reader gets bytes (a valid seed file, mutated) and must either return or raise
one of its *documented* exceptions; anything else (IndexError, struct.error, a torch
RuntimeError, a crash, a hang) is a bug.  The targets:

===========  =======================================  ======================================
target       call                                     documented exceptions
===========  =======================================  ======================================
``raw``      ``io.read_raw`` (.dng and .kdc seeds)    ``OSError`` (FileFormatError ...)
``npy``      ``io.read_aim22_raw``                    ``OSError``, ``ValueError``
``image``    ``io.read_image`` (.png, .jpg seeds)     ``OSError``, ``ValueError``
``photo``    ``io.read_photo`` (.tif seed)            ``OSError``, ``ValueError``
``bank``     ``prior.PriorBank.load``                 ``OSError`` (PriorBankFileError), ``ValueError``
``ckpt``     ``io.load_checkpoint``                   ``OSError`` (FileFormatError)
``meta``     ``io.bitstream.unpack_metadata``         ``ValueError`` (BitstreamError)
===========  =======================================  ======================================

The short run lives in ``tests/io/test_fuzz_readers.py`` (hypothesis over mutated
bytes).  The long run, coverage-guided with atheris (``nox -s fuzz``)::

    python tests/io/_fuzz_readers.py raw -runs=100000

(any libFuzzer flag works after the target name: ``-max_total_time=``, ``-timeout=``).
"""

from __future__ import annotations

import functools
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

KDC = Path(__file__).resolve().parents[1] / "data" / "RAW_KODAK_DC50.KDC"
WORK = Path(tempfile.mkdtemp(prefix="rawkit-fuzz-"))


@dataclass(frozen=True)
class Target:
    """One reader: how to call it on bytes, its seeds and the exceptions it documents."""

    name: str
    suffix: str
    read: Callable[[Path], object]
    allowed: tuple[type[BaseException], ...]
    seeds: Callable[[], list[bytes]]

    def run(self, data: bytes, suffix: str | None = None) -> None:
        """Feed ``data`` to the reader; re-raise anything it does not document."""
        WORK.mkdir(parents=True, exist_ok=True)
        p = WORK / f"input{suffix or self.suffix}"
        p.write_bytes(data)
        try:
            self.read(p)
        except self.allowed:
            pass


def _tmp(name: str) -> Path:
    p = WORK / "seeds" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.unlink(missing_ok=True)
    return p


@functools.cache
def _raw_seeds() -> list[bytes]:
    from rawkit.io import write_dng

    rng = np.random.default_rng(0)
    raw = rng.integers(0, 1024, size=(1, 24, 24), dtype=np.uint16)
    p = write_dng(_tmp("s.dng"), raw, pattern="GRBG", black_level=[1, 2, 3, 4], white_level=1023,
                  as_shot_neutral=[0.5, 1, 0.7], color_matrix=np.eye(3))  # fmt: skip
    return [p.read_bytes()]


@functools.cache
def _kdc_seed() -> bytes:
    return KDC.read_bytes()


@functools.cache
def _npy_seeds() -> list[bytes]:
    from rawkit.io import write_aim22_raw

    packed = np.random.default_rng(1).integers(0, 1025, size=(4, 4, 4)).astype(np.uint16)
    return [write_aim22_raw(_tmp("s.npy"), packed).read_bytes()]


@functools.cache
def _image_seeds() -> dict[str, bytes]:
    from rawkit.io import write_image

    rgb = np.random.default_rng(2).random((3, 8, 8))
    return {
        ".png": write_image(_tmp("s.png"), rgb, bit_depth=16).read_bytes(),
        ".jpg": write_image(_tmp("s.jpg"), rgb, quality=90).read_bytes(),
    }


@functools.cache
def _photo_seeds() -> list[bytes]:
    import tifffile

    p = _tmp("s.tif")
    rgb = (np.random.default_rng(4).random((8, 8, 3)) * 65535).astype(np.uint16)
    tifffile.imwrite(p, rgb, photometric="rgb", metadata=None)
    return [p.read_bytes()]


@functools.cache
def _bank_seeds() -> list[bytes]:
    from rawkit.prior import PriorBank

    rng = np.random.default_rng(3)
    feats = rng.standard_normal((4, 4)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    bank = PriorBank(features=feats, srgb=rng.random((4, 3)).astype(np.float32),
                     raw=rng.random((4, 4)).astype(np.float32))  # fmt: skip
    return [bank.save(_tmp("s.bank")).read_bytes()]


@functools.cache
def _ckpt_seeds() -> list[bytes]:
    from rawkit.io import save_checkpoint

    p = save_checkpoint(_tmp("s.pt"), {"w": torch.arange(6.0).reshape(2, 3)}, config={"a": 1})
    return [p.read_bytes()]


@functools.cache
def _meta_seeds() -> list[bytes]:
    from rawkit.io.bitstream import MetadataHeader, pack_metadata

    return [pack_metadata(b"\x01\x02\x03payload", MetadataHeader(rate=2, shape=(4, 6)))]


def _read_raw(p: Path) -> object:
    from rawkit.io import read_raw

    return read_raw(p)


def _read_npy(p: Path) -> object:
    from rawkit.io import read_aim22_raw

    return read_aim22_raw(p)


def _read_image(p: Path) -> object:
    from rawkit.io import read_image

    return read_image(p)


def _read_photo(p: Path) -> object:
    from rawkit.io import read_photo

    return read_photo(p)


def _read_bank(p: Path) -> object:
    from rawkit.prior import PriorBank

    return PriorBank.load(p)


def _read_ckpt(p: Path) -> object:
    from rawkit.io import load_checkpoint

    return load_checkpoint(p)


def _read_meta(p: Path) -> object:
    from rawkit.io.bitstream import unpack_metadata

    return unpack_metadata(p.read_bytes())


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target("raw", ".dng", _read_raw, (OSError,), lambda: [*_raw_seeds(), _kdc_seed()]),
        Target("npy", ".npy", _read_npy, (OSError, ValueError), _npy_seeds),
        Target("image", ".png", _read_image, (OSError, ValueError), lambda: list(_image_seeds().values())),
        Target("photo", ".tif", _read_photo, (OSError, ValueError), _photo_seeds),
        Target("bank", ".bank", _read_bank, (OSError, ValueError), _bank_seeds),
        Target("ckpt", ".pt", _read_ckpt, (OSError,), _ckpt_seeds),
        Target("meta", ".bin", _read_meta, (ValueError,), _meta_seeds),
    ]
}  # fmt: skip


def suffix_for(target: Target, data: bytes) -> str:
    """The file name suffix to try: the seed's own (a KDC, a JPEG) where it can be told."""
    if target.name == "raw" and data[:4] == b"MM\x00*":
        return ".kdc"
    if target.name == "image" and data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    return target.suffix


def _main(argv: list[str]) -> None:  # pragma: no cover - the long run
    import logging

    import atheris

    if len(argv) < 2 or argv[1] not in TARGETS:
        raise SystemExit(f"usage: {argv[0]} {{{'|'.join(TARGETS)}}} [libFuzzer flags]")
    # Silence LibRaw/tifffile chatter on stderr; libFuzzer reports go to stderr too,
    # so only Python logging is muted.
    logging.disable(logging.CRITICAL)
    # Coverage feedback from rawkit's own code (instrumenting all of torch is too slow).
    with atheris.instrument_imports(include=["rawkit"]):
        import rawkit.io
        import rawkit.io.bitstream
        import rawkit.prior  # noqa: F401
    target = TARGETS[argv[1]]
    corpus = WORK / f"corpus-{target.name}"
    corpus.mkdir(exist_ok=True)
    for i, seed in enumerate(target.seeds()):
        (corpus / f"seed{i}").write_bytes(seed)

    def one(data: bytes) -> None:
        target.run(data, suffix_for(target, data))

    flags = [f"-artifact_prefix={WORK}/", *argv[2:]]
    atheris.Setup([argv[0], *flags, str(corpus)], one)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv)
