r"""A small, checked container for learned-metadata bitstreams.

The entropy-coded payload of a learned metadata codec is useless without knowing how it
was made, and a damaged payload decodes to *some* latents without complaint.  This
container wraps the payload in a fixed 20-byte header and a CRC-32 trailer so that a
reader either gets exactly the bytes the writer produced, with the settings they need, or
a :class:`BitstreamError` that says what is wrong:

===========  =======  ==========================================================
offset       type     field
===========  =======  ==========================================================
0            4 bytes  magic ``b"RKLM"``
4            uint8    format version (:data:`FORMAT_VERSION`)
5            uint8    rate index (the codec's rate setting)
6            uint16   packed-RAW height ``h`` (the image is ``2h`` pixels high)
8            uint16   packed-RAW width ``w``
10           uint16   model tag: 16 bits of the weights' fingerprint
12           uint32   consistency check: CRC-32 of the decoder-side index maps
16           uint32   payload length in bytes
20           bytes    payload (e.g. 32-bit ANS words)
20 + n       uint32   CRC-32 (:func:`zlib.crc32`) of bytes ``0 .. 20 + n``
===========  =======  ==========================================================

All integers are little-endian.  Truncation is caught by the payload length (a clear
"truncated" error), other corruption by the CRC (the chance that random damage passes
is :math:`2^{-32}`), a stream of another model by the model tag, and a decoder whose
floating-point arithmetic disagrees with the encoder's by the consistency check (the
codec compares it after decoding).

Example:
    >>> h = MetadataHeader(rate=3, shape=(64, 96), model_tag=0xBEEF, check=7)
    >>> data = pack_metadata(b"payload", h)
    >>> len(data)
    31
    >>> unpack_metadata(data) == (h, b"payload")
    True
    >>> unpack_metadata(data[:-1])
    Traceback (most recent call last):
    ...
    rawkit.io.bitstream.BitstreamError: metadata: truncated stream: expected 31 bytes (20-byte header + 7-byte payload + 4-byte CRC), got 30
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "HEADER_BYTES",
    "MAGIC",
    "OVERHEAD_BYTES",
    "BitstreamError",
    "MetadataHeader",
    "pack_metadata",
    "unpack_metadata",
]

#: First four bytes of every learned-metadata stream.
MAGIC = b"RKLM"
#: Version of the container and of the codec's symbol layout.
FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sBBHHHII")
#: Bytes before the payload.
HEADER_BYTES = _HEADER.size
#: Bytes a stream adds to its payload (header + CRC-32).
OVERHEAD_BYTES = HEADER_BYTES + 4


class BitstreamError(ValueError):
    """A metadata stream is truncated, corrupt, of another format version or of another model."""


@dataclasses.dataclass(frozen=True)
class MetadataHeader:
    """The settings a decoder needs, stored in front of the payload.

    Attributes:
        rate: rate index, 0-255.
        shape: ``(h, w)`` of the packed RAW, each 1-65535.
        model_tag: 16 bits of the fingerprint of the weights that wrote the stream.
        check: 32-bit consistency check of the codec (0 if unused).
        version: format version (:data:`FORMAT_VERSION`).
    """

    rate: int
    shape: tuple[int, int]
    model_tag: int = 0
    check: int = 0
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        _uint(self.rate, 0xFF, "rate")
        _uint(self.model_tag, 0xFFFF, "model_tag")
        _uint(self.check, 0xFFFFFFFF, "check")
        _uint(self.version, 0xFF, "version")
        if not isinstance(self.shape, tuple) or len(self.shape) != 2:
            raise TypeError(f"shape: expected a tuple (h, w), got {self.shape!r}")
        for i, s in enumerate(self.shape):
            _uint(s, 0xFFFF, f"shape[{i}]")
            if s < 1:
                raise ValueError(f"shape[{i}]: expected 1..65535, got {s}")


def _uint(value: Any, top: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if not 0 <= value <= top:
        raise ValueError(f"{name}: expected 0..{top}, got {value}")


def pack_metadata(payload: bytes, header: MetadataHeader) -> bytes:
    """Wrap ``payload`` in the header and a CRC-32 (see the module notes).

    Args:
        payload: the entropy-coded bytes.
        header: the settings stored in front of it.

    Returns:
        ``HEADER_BYTES + len(payload) + 4`` bytes.

    Example:
        >>> pack_metadata(b"", MetadataHeader(rate=0, shape=(1, 1)))[:5]
        b'RKLM\\x01'
    """
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"payload: expected bytes, got {type(payload).__name__}")
    if not isinstance(header, MetadataHeader):
        raise TypeError(f"header: expected a MetadataHeader, got {type(header).__name__}")
    payload = bytes(payload)
    if len(payload) > 0xFFFFFFFF:
        raise ValueError(f"payload: expected at most 4 GiB, got {len(payload)} bytes")
    head = _HEADER.pack(
        MAGIC, header.version, header.rate, header.shape[0], header.shape[1],
        header.model_tag, header.check, len(payload),
    )  # fmt: skip
    body = head + payload
    return body + struct.pack("<I", zlib.crc32(body))


def unpack_metadata(
    data: bytes, *, expected_version: int = FORMAT_VERSION, name: str = "metadata"
) -> tuple[MetadataHeader, bytes]:
    """Check and open a stream made by :func:`pack_metadata`.

    Args:
        data: the stream.
        expected_version: the format version the caller can decode.
        name: what to call the stream in error messages.

    Returns:
        ``(header, payload)``.

    Raises:
        TypeError: ``data`` is not bytes.
        BitstreamError: not a learned-metadata stream (magic), another format version,
            truncated (shorter than the header or than header + payload + CRC says),
            trailing bytes, or a CRC mismatch (corrupt).

    Example:
        >>> unpack_metadata(b"JFIF and more")
        Traceback (most recent call last):
        ...
        rawkit.io.bitstream.BitstreamError: metadata: not a learned-metadata stream: expected magic b'RKLM', got b'JFIF'
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) >= 4 and data[:4] != MAGIC:
        raise BitstreamError(
            f"{name}: not a learned-metadata stream: expected magic {MAGIC!r}, got {data[:4]!r}"
        )
    if len(data) < OVERHEAD_BYTES:
        raise BitstreamError(
            f"{name}: truncated stream: expected at least {OVERHEAD_BYTES} bytes "
            f"(header + CRC), got {len(data)}"
        )
    magic, version, rate, h, w, tag, check, n = _HEADER.unpack_from(data)
    if version != expected_version:
        raise BitstreamError(
            f"{name}: format version {version} is not supported: expected {expected_version}"
        )
    total = OVERHEAD_BYTES + n
    if len(data) < total:
        raise BitstreamError(
            f"{name}: truncated stream: expected {total} bytes ({HEADER_BYTES}-byte header + "
            f"{n}-byte payload + 4-byte CRC), got {len(data)}"
        )
    if len(data) > total:
        raise BitstreamError(
            f"{name}: {len(data) - total} unexpected bytes after the end of the stream "
            f"(expected {total} bytes)"
        )
    (crc,) = struct.unpack_from("<I", data, HEADER_BYTES + n)
    actual = zlib.crc32(data[: HEADER_BYTES + n])
    if crc != actual:
        raise BitstreamError(
            f"{name}: corrupt stream: CRC-32 mismatch (stored {crc:08x}, computed {actual:08x})"
        )
    if h < 1 or w < 1:
        raise BitstreamError(f"{name}: corrupt header: shape ({h}, {w}) is empty")
    header = MetadataHeader(rate=rate, shape=(h, w), model_tag=tag, check=check, version=version)
    return header, data[HEADER_BYTES : HEADER_BYTES + n]
