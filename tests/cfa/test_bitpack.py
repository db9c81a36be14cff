import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rawkit.cfa import pack_bits, unpack_bits
from rawkit.testing import assert_invertible, assert_numpy_torch_agree, batch_shapes, mosaics

DEPTHS = (10, 12, 14)

# The byte layout of one group, transcribed from the MIPI CSI-2 tables: each byte lists
# its bit fields from the most significant bit down.  "P2[3:0]" is bits 3..0 of pixel 2.
SPEC = {
    10: [
        ["P1[9:2]"],
        ["P2[9:2]"],
        ["P3[9:2]"],
        ["P4[9:2]"],
        ["P4[1:0]", "P3[1:0]", "P2[1:0]", "P1[1:0]"],
    ],
    12: [
        ["P1[11:4]"],
        ["P2[11:4]"],
        ["P2[3:0]", "P1[3:0]"],
    ],
    14: [
        ["P1[13:6]"],
        ["P2[13:6]"],
        ["P3[13:6]"],
        ["P4[13:6]"],
        ["P2[1:0]", "P1[5:0]"],
        ["P3[3:0]", "P2[5:2]"],
        ["P4[5:0]", "P3[5:4]"],
    ],
}
GROUP_PIXELS = {10: 4, 12: 2, 14: 4}
GROUP_BYTES = {10: 5, 12: 3, 14: 7}


def reference_pack(x: np.ndarray, bit_depth: int) -> np.ndarray:
    """Pack with explicit loops over lines, groups and bit fields, as bit strings."""
    table = SPEC[bit_depth]
    p = GROUP_PIXELS[bit_depth]
    lines = x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])
    out = []
    for line in lines:
        packed = []
        for g in range(0, len(line), p):
            bits = [format(int(v), f"0{bit_depth}b") for v in line[g : g + p]]  # MSB first
            for fields in table:
                byte = ""
                for field in fields:
                    k, hi, lo = map(int, re.fullmatch(r"P(\d)\[(\d+):(\d+)\]", field).groups())
                    s = bits[k - 1]
                    byte += s[bit_depth - 1 - hi : bit_depth - lo]  # bits hi..lo
                assert len(byte) == 8, fields
                packed.append(int(byte, 2))
        out.append(packed)
    nbytes = x.shape[-1] * bit_depth // 8
    return np.array(out, dtype=np.uint8).reshape(*x.shape[:-1], nbytes)


def lines(bit_depth: int, *, max_groups: int = 6, backend: str = "numpy"):
    """uint16 arrays ``(*, W)`` with ``W`` a multiple of the group size."""
    p = GROUP_PIXELS[bit_depth]

    @st.composite
    def draw(draw):
        lead = draw(batch_shapes(max_dims=3))
        w = p * draw(st.integers(0, max_groups))
        elements = st.integers(0, 2**bit_depth - 1)
        arr = draw(hnp.arrays(np.uint16, (*lead, w), elements=elements))
        return torch.from_numpy(arr) if backend == "torch" else arr

    return draw()


def test_spec_table_matches_group_sizes():
    for bd, table in SPEC.items():
        assert len(table) == GROUP_BYTES[bd] == GROUP_PIXELS[bd] * bd // 8


# --- hand-checked vectors, derived from the tables above by hand -------------------------

# RAW10 [0x3FF, 0x000, 0x155, 0x2AA]: high bytes 0xFF 0x00 0x55 0xAA; low bits 3, 0, 1, 2
# -> byte 4 = 2<<6 | 1<<4 | 0<<2 | 3 = 0b10_01_00_11 = 0x93.
# RAW10 [1, 2, 0x100, 0x200]: high 0x00 0x00 0x40 0x80; low 1, 2, 0, 0 -> 0b00_00_10_01.
# RAW12 [0xABC, 0x123] -> 0xAB, 0x12, (0x3 << 4) | 0xC = 0x3C.
# RAW12 [0x001, 0x800] -> 0x00, 0x80, (0x0 << 4) | 0x1 = 0x01.
# RAW14 [0x3FFF, 0, 0x2AAA, 0x1555]: high 0xFF 0x00 0xAA 0x55; low 6 bits 0x3F, 0, 0x2A, 0x15
# -> 0<<6 | 0x3F = 0x3F;  (0x2A & 0xF)<<4 | 0>>2 = 0xA0;  0x15<<2 | 0x2A>>4 = 0x54 | 2 = 0x56.
# RAW14 [1, 2, 4, 8]: high bytes 0; -> (2&3)<<6 | 1 = 0x81; 4<<4 | 2>>2 = 0x40; 8<<2 | 0 = 0x20.
# RAW14 [0, 0x3C, 0x30, 0]: P2 = 0b111100, P3 = 0b110000 -> 0x00; 0<<4 | 0xF = 0x0F; 0 | 3 = 0x03.
KNOWN = [
    (10, [0x3FF, 0x000, 0x155, 0x2AA], [0xFF, 0x00, 0x55, 0xAA, 0x93]),
    (10, [0x001, 0x002, 0x100, 0x200], [0x00, 0x00, 0x40, 0x80, 0x09]),
    (12, [0xABC, 0x123], [0xAB, 0x12, 0x3C]),
    (12, [0x001, 0x800], [0x00, 0x80, 0x01]),
    (14, [0x3FFF, 0x0000, 0x2AAA, 0x1555], [0xFF, 0x00, 0xAA, 0x55, 0x3F, 0xA0, 0x56]),
    (14, [0x0001, 0x0002, 0x0004, 0x0008], [0x00, 0x00, 0x00, 0x00, 0x81, 0x40, 0x20]),
    (14, [0x0000, 0x003C, 0x0030, 0x0000], [0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x03]),
]


@pytest.mark.parametrize(("bit_depth", "pixels", "expected"), KNOWN)
def test_known_vectors(bit_depth, pixels, expected):
    x = np.array(pixels, dtype=np.uint16)
    packed = pack_bits(x, bit_depth=bit_depth)
    assert packed.dtype == np.uint8
    assert packed.tolist() == expected
    back = unpack_bits(np.array(expected, dtype=np.uint8), bit_depth=bit_depth)
    assert back.dtype == np.uint16
    assert back.tolist() == pixels


@pytest.mark.parametrize(("bit_depth", "pixels", "expected"), KNOWN)
def test_reference_agrees_with_known_vectors(bit_depth, pixels, expected):
    """The loop reference itself is checked against the hand-derived bytes."""
    assert reference_pack(np.array(pixels, np.uint16), bit_depth).tolist() == expected


def test_groups_are_independent_and_lines_separate():
    x = np.array([[0x3FF, 0, 0x155, 0x2AA, 1, 2, 0x100, 0x200], [0] * 8], dtype=np.uint16)
    out = pack_bits(x, bit_depth=10)
    assert out.tolist() == [
        [0xFF, 0x00, 0x55, 0xAA, 0x93, 0x00, 0x00, 0x40, 0x80, 0x09],
        [0] * 10,
    ]


# --- properties ---------------------------------------------------------------------------


@pytest.mark.parametrize("bit_depth", DEPTHS)
@given(data=st.data())
def test_pack_matches_bitstring_reference(bit_depth, data):
    x = data.draw(lines(bit_depth))
    out = pack_bits(x, bit_depth=bit_depth)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, reference_pack(x, bit_depth))


@pytest.mark.parametrize("bit_depth", DEPTHS)
@given(data=st.data())
def test_round_trip_numpy(bit_depth, data):
    x = data.draw(lines(bit_depth))
    assert_invertible(
        lambda a: pack_bits(a, bit_depth=bit_depth),
        lambda a: unpack_bits(a, bit_depth=bit_depth),
        x,
    )


@pytest.mark.parametrize("bit_depth", DEPTHS)
@given(data=st.data())
def test_round_trip_torch(bit_depth, data):
    x = data.draw(lines(bit_depth, backend="torch"))
    packed = pack_bits(x, bit_depth=bit_depth)
    assert isinstance(packed, torch.Tensor) and packed.dtype == torch.uint8
    assert packed.shape == (*x.shape[:-1], x.shape[-1] * bit_depth // 8)
    back = unpack_bits(packed, bit_depth=bit_depth)
    assert back.dtype == torch.uint16
    assert torch.equal(back.view(torch.int16), x.view(torch.int16))


@pytest.mark.parametrize("bit_depth", DEPTHS)
@given(data=st.data())
def test_unpack_then_pack_is_identity_on_bytes(bit_depth, data):
    """Every byte string is a valid packed line, so the inverse works both ways."""
    lead = data.draw(batch_shapes())
    groups = data.draw(st.integers(0, 6))
    b = data.draw(hnp.arrays(np.uint8, (*lead, groups * GROUP_BYTES[bit_depth])))
    x = unpack_bits(b, bit_depth=bit_depth)
    assert int(x.max(initial=0)) < 2**bit_depth
    np.testing.assert_array_equal(pack_bits(x, bit_depth=bit_depth), b)


@pytest.mark.parametrize("bit_depth", DEPTHS)
@given(data=st.data())
def test_mosaics_round_trip(bit_depth, data):
    """Packs Bayer mosaics (*, 1, H, W) line by line; numpy and torch agree."""
    m = data.draw(mosaics(dtype="uint16", bit_depth=bit_depth, max_side=16))
    m = np.ascontiguousarray(m[..., : m.shape[-1] // 4 * 4])
    assert_numpy_torch_agree(pack_bits, m, bit_depth=bit_depth)
    packed = pack_bits(m, bit_depth=bit_depth)
    assert_numpy_torch_agree(unpack_bits, packed, bit_depth=bit_depth)
    np.testing.assert_array_equal(unpack_bits(packed, bit_depth=bit_depth), m)


@pytest.mark.parametrize("bit_depth", DEPTHS)
@pytest.mark.parametrize("threads", [1, 2])
def test_many_lines_any_thread_count(bit_depth, threads):
    """Many lines at 1 and 2 threads match the reference (all bits set included)."""
    rng = np.random.default_rng(bit_depth)
    x = rng.integers(0, 2**bit_depth, size=(3, 5, 4 * 7), dtype=np.uint16)
    x[0, 0, :4] = 2**bit_depth - 1  # all bits set
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        packed = pack_bits(x, bit_depth=bit_depth)
        back = unpack_bits(packed, bit_depth=bit_depth)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(packed, reference_pack(x, bit_depth))
    np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("bit_depth", DEPTHS)
def test_strided_and_offset_inputs(bit_depth):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**bit_depth, size=(8, 21), dtype=np.uint16)
    views = [
        base[:, 1:17],  # storage offset not aligned to a group
        base[::2, 4:20],  # row stride
        base[:, 16:0:-1],  # negative stride (NumPy input is copied)
        base[:, :6].T,  # transposed
    ]
    for v in views:
        expected = reference_pack(np.ascontiguousarray(v), bit_depth)
        np.testing.assert_array_equal(pack_bits(v, bit_depth=bit_depth), expected)
    t = torch.from_numpy(base)[:, 1:17]  # tensor with an odd storage offset
    expected = torch.from_numpy(reference_pack(base[:, 1:17], bit_depth))
    assert torch.equal(pack_bits(t, bit_depth=bit_depth), expected)
    packed = pack_bits(base[:, :16], bit_depth=bit_depth)
    strided = np.repeat(packed, 2, axis=-1)[:, ::2]  # non-contiguous packed bytes
    np.testing.assert_array_equal(unpack_bits(strided, bit_depth=bit_depth), base[:, :16])


def test_input_is_not_modified():
    x = np.arange(64, dtype=np.uint16).reshape(2, 32) * 15
    before = x.copy()
    packed = pack_bits(x, bit_depth=10)
    packed_before = packed.copy()
    unpack_bits(packed, bit_depth=10)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(packed, packed_before)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 8), (2, 0, 1, 8)])
def test_empty(shape):
    x = np.zeros(shape, dtype=np.uint16)
    out = pack_bits(x, bit_depth=14)
    assert out.shape == (*shape[:-1], shape[-1] * 14 // 8) and out.dtype == np.uint8
    back = unpack_bits(out, bit_depth=14)
    assert back.shape == shape and back.dtype == np.uint16


def test_width_trims_line_padding():
    x = np.array([[0x3FF, 0, 0x155, 0x2AA], [1, 2, 0x100, 0x200]], dtype=np.uint16)
    packed = pack_bits(x, bit_depth=10)
    padded = np.concatenate([packed, np.full((2, 3), 0xEE, np.uint8)], axis=-1)  # stride 8
    np.testing.assert_array_equal(unpack_bits(padded, bit_depth=10, width=4), x)
    np.testing.assert_array_equal(unpack_bits(packed, bit_depth=10, width=4), x)
    assert unpack_bits(padded, bit_depth=10, width=0).shape == (2, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("bit_depth", DEPTHS)
def test_device_follows_input(bit_depth):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2**bit_depth, size=(2, 3, 16), dtype=np.uint16)
    packed = pack_bits(torch.from_numpy(x).cuda(), bit_depth=bit_depth)
    assert packed.device.type == "cuda"
    np.testing.assert_array_equal(packed.cpu().numpy(), reference_pack(x, bit_depth))
    back = unpack_bits(packed, bit_depth=bit_depth)
    assert back.device.type == "cuda"
    np.testing.assert_array_equal(back.cpu().numpy(), x)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", [np.int32, np.int64, np.int16, np.uint8, np.uint32, np.float32, np.bool_]
)
def test_pack_wrong_dtype(dtype):
    with pytest.raises(TypeError, match=r"^x: expected dtype uint16"):
        pack_bits(np.zeros((2, 8), dtype=dtype), bit_depth=12)


def test_pack_wrong_dtype_torch():
    with pytest.raises(TypeError, match=r"^x: .*got torch.int32"):
        pack_bits(torch.zeros(8, dtype=torch.int32), bit_depth=12)


@pytest.mark.parametrize("dtype", [np.uint16, np.int8, np.float32])
def test_unpack_wrong_dtype(dtype):
    with pytest.raises(TypeError, match=r"^data: expected dtype uint8"):
        unpack_bits(np.zeros((2, 6), dtype=dtype), bit_depth=12)


def test_not_an_array():
    with pytest.raises(TypeError, match="^x:"):
        pack_bits([1, 2, 3, 4], bit_depth=10)
    with pytest.raises(TypeError, match="^data:"):
        unpack_bits(b"\x00" * 5, bit_depth=10)


def test_zero_dim():
    with pytest.raises(ValueError, match="^x: expected shape"):
        pack_bits(np.array(3, dtype=np.uint16), bit_depth=10)
    with pytest.raises(ValueError, match="^data: expected shape"):
        unpack_bits(np.zeros((), np.uint8), bit_depth=10)


@pytest.mark.parametrize("bit_depth", [8, 16, 11, 0, -10, 10.0, "10", True, None])
def test_unknown_bit_depth(bit_depth):
    x = np.zeros(4, np.uint16)
    with pytest.raises(ValueError, match=re.escape("bit_depth: expected one of [10, 12, 14]")):
        pack_bits(x, bit_depth=bit_depth)
    with pytest.raises(ValueError, match=re.escape("bit_depth: expected one of [10, 12, 14]")):
        unpack_bits(np.zeros(5, np.uint8), bit_depth=bit_depth)


def test_numpy_integer_bit_depth_is_accepted():
    out = pack_bits(np.array([1, 2], np.uint16), bit_depth=np.int64(12))
    assert out.tolist() == [0x00, 0x00, 0x21]


@pytest.mark.parametrize("bit_depth", DEPTHS)
def test_value_out_of_range(bit_depth):
    x = np.zeros((2, 3, 8), np.uint16)
    x[1, 2, 5] = 2**bit_depth  # first offending value, in C order
    x[1, 2, 6] = 2**bit_depth + 7  # the maximum
    msg = (
        rf"^x: expected values < 2\*\*{bit_depth} = {2**bit_depth} for bit_depth={bit_depth}, "
        rf"got max {2**bit_depth + 7} \(first offending value {2**bit_depth} "
        rf"at index \(1, 2, 5\)\)"
    )
    with pytest.raises(ValueError, match=msg):
        pack_bits(x, bit_depth=bit_depth)
    with pytest.raises(ValueError, match=msg):
        pack_bits(torch.from_numpy(x), bit_depth=bit_depth)


@pytest.mark.parametrize("value", [2**15, 2**16 - 1])
def test_value_with_top_bit_set(value):
    """Values >= 2**15 are refused too (they would look negative as int16)."""
    x = np.zeros(4, np.uint16)
    x[3] = value
    with pytest.raises(ValueError, match=rf"got max {value} .*index \(3,\)"):
        pack_bits(x, bit_depth=14)


@pytest.mark.parametrize(("bit_depth", "w"), [(10, 6), (10, 2), (12, 3), (14, 5), (14, 1)])
def test_pack_width_not_a_group_multiple(bit_depth, w):
    p = GROUP_PIXELS[bit_depth]
    with pytest.raises(ValueError, match=rf"^x: line width W={w} .*RAW{bit_depth}.*\({p} pixels\)"):
        pack_bits(np.zeros((2, w), np.uint16), bit_depth=bit_depth)


@pytest.mark.parametrize(("bit_depth", "nbytes"), [(10, 4), (10, 6), (12, 4), (14, 5), (14, 8)])
def test_unpack_bytes_not_a_group_multiple(bit_depth, nbytes):
    g = GROUP_BYTES[bit_depth]
    with pytest.raises(ValueError, match=rf"^data: line length {nbytes} bytes .*\({g} bytes"):
        unpack_bits(np.zeros((2, nbytes), np.uint8), bit_depth=bit_depth)


def test_unpack_bad_width():
    data = np.zeros((2, 10), np.uint8)  # two RAW10 groups = 8 pixels
    with pytest.raises(ValueError, match=r"^width: .*group size \(4 pixels\), got width=6"):
        unpack_bits(data, bit_depth=10, width=6)
    with pytest.raises(ValueError, match=r"^width: .*got width=-4"):
        unpack_bits(data, bit_depth=10, width=-4)
    with pytest.raises(ValueError, match=r"^width: 12 pixels need 15 bytes .*but data has 10"):
        unpack_bits(data, bit_depth=10, width=12)
    with pytest.raises(TypeError, match=r"^width: expected an int or None, got float"):
        unpack_bits(data, bit_depth=10, width=8.0)
    with pytest.raises(TypeError, match=r"^width:"):
        unpack_bits(data, bit_depth=10, width=True)
