"""The learned-metadata container: exact round trip, documented layout, damage refused."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawkit.io.bitstream import (
    HEADER_BYTES,
    MAGIC,
    OVERHEAD_BYTES,
    BitstreamError,
    MetadataHeader,
    pack_metadata,
    unpack_metadata,
)

headers = st.builds(
    MetadataHeader,
    rate=st.integers(0, 255),
    shape=st.tuples(st.integers(1, 0xFFFF), st.integers(1, 0xFFFF)),
    model_tag=st.integers(0, 0xFFFF),
    check=st.integers(0, 0xFFFFFFFF),
)
payloads = st.binary(max_size=300)


@given(headers, payloads)
def test_round_trip(header, payload):
    data = pack_metadata(payload, header)
    assert len(data) == OVERHEAD_BYTES + len(payload)
    assert unpack_metadata(data) == (header, payload)


@given(headers, payloads)
def test_layout_matches_the_documented_table(header, payload):
    # Parse by hand with the offsets of the module notes (independent of the module's Struct).
    data = pack_metadata(payload, header)
    assert data[0:4] == b"RKLM" == MAGIC
    assert data[4] == 1 and data[5] == header.rate
    assert struct.unpack("<HHH", data[6:12]) == (*header.shape, header.model_tag)
    assert struct.unpack("<II", data[12:20]) == (header.check, len(payload))
    assert data[20 : 20 + len(payload)] == payload
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])
    assert HEADER_BYTES == 20


@given(headers, payloads, st.data())
def test_truncated_streams_are_refused(header, payload, data):
    stream = pack_metadata(payload, header)
    cut = data.draw(st.integers(0, len(stream) - 1))
    with pytest.raises(BitstreamError, match="truncated|magic"):
        unpack_metadata(stream[:cut])


@given(headers, payloads, st.data())
def test_any_flipped_bit_is_refused(header, payload, data):
    stream = bytearray(pack_metadata(payload, header))
    bit = data.draw(st.integers(0, 8 * len(stream) - 1))
    stream[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BitstreamError):
        unpack_metadata(bytes(stream))


def test_trailing_bytes_other_versions_and_formats_are_refused():
    good = pack_metadata(b"abc", MetadataHeader(rate=1, shape=(2, 3)))
    with pytest.raises(BitstreamError, match="unexpected bytes"):
        unpack_metadata(good + b"\0")
    with pytest.raises(BitstreamError, match="magic"):
        unpack_metadata(b"\xff\xd8\xff\xe0" + good[4:])
    newer = pack_metadata(b"abc", MetadataHeader(rate=1, shape=(2, 3), version=2))
    with pytest.raises(BitstreamError, match="version 2"):
        unpack_metadata(newer)
    with pytest.raises(TypeError, match="metadata"):
        unpack_metadata("RKLM")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rate": 256, "shape": (1, 1)}, ValueError, "rate"),
        ({"rate": True, "shape": (1, 1)}, TypeError, "rate"),
        ({"rate": 0, "shape": (0, 1)}, ValueError, r"shape\[0\]"),
        ({"rate": 0, "shape": (1, 65536)}, ValueError, r"shape\[1\]"),
        ({"rate": 0, "shape": [1, 1]}, TypeError, "shape"),
        ({"rate": 0, "shape": (1, 1), "model_tag": -1}, ValueError, "model_tag"),
    ],
)
def test_header_fields_are_checked(kwargs, error, match):
    with pytest.raises(error, match=match):
        MetadataHeader(**kwargs)
