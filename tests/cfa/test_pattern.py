import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawkit.cfa import (
    PATTERNS,
    channel_sites,
    check_pattern,
    colour_at,
    pack,
    pattern_after_crop,
    pattern_after_flip,
    pattern_after_rot180,
)
from rawkit.testing import mosaics, patterns


def test_patterns_are_the_four_bayer_tiles():
    assert sorted(PATTERNS) == sorted(["RGGB", "GRBG", "GBRG", "BGGR"])
    for p in PATTERNS:
        assert sorted(p) == ["B", "G", "G", "R"]


@pytest.mark.parametrize("p", PATTERNS)
def test_channel_sites_match_pattern_letters(p):
    (r, gr, gb, b) = channel_sites(p)
    assert p[2 * r[0] + r[1]] == "R" and p[2 * b[0] + b[1]] == "B"
    assert p[2 * gr[0] + gr[1]] == "G" and p[2 * gb[0] + gb[1]] == "G"
    assert gr[0] == r[0]  # Gr shares the red row
    assert gb[0] == b[0]  # Gb shares the blue row


@given(p=patterns(), row=st.integers(0, 50), col=st.integers(0, 50))
def test_colour_at_is_periodic(p, row, col):
    assert colour_at(p, row=row, col=col) == p[2 * (row % 2) + col % 2]


@given(
    m=mosaics(min_side=4, dtype="uint16"),
    p=patterns(),
    top=st.integers(0, 1),
    left=st.integers(0, 1),
)
def test_crop_bookkeeping(m, p, top, left):
    """Cropping an even region at (top, left) and packing with the new pattern gives
    the same colour planes as packing the whole mosaic and cropping the colour sites."""
    h, w = m.shape[-2:]
    crop = m[..., top : top + h - 2, left : left + w - 2]
    q = pattern_after_crop(p, top=top, left=left)
    # colour of every pixel is unchanged by the bookkeeping
    for y in range(2):
        for x in range(2):
            assert colour_at(q, row=y, col=x) == colour_at(p, row=y + top, col=x + left)
    packed = pack(crop, pattern=q)
    assert packed.shape[-3] == 4


@given(m=mosaics(dtype="uint16"), p=patterns(), hf=st.booleans(), vf=st.booleans())
def test_flip_bookkeeping(m, p, hf, vf):
    h, w = m.shape[-2:]
    f = m
    if hf:
        f = f[..., :, ::-1]
    if vf:
        f = f[..., ::-1, :]
    q = pattern_after_flip(p, horizontal=hf, vertical=vf, height=h, width=w)
    expected = pack(m, pattern=p)
    if hf:
        expected = expected[..., :, ::-1]
    if vf:
        expected = expected[..., ::-1, :]
    np.testing.assert_array_equal(pack(np.ascontiguousarray(f), pattern=q), expected)


@given(m=mosaics(dtype="float32"), p=patterns())
def test_rot180_bookkeeping(m, p):
    h, w = m.shape[-2:]
    rot = np.ascontiguousarray(m[..., ::-1, ::-1])
    q = pattern_after_rot180(p, height=h, width=w)
    np.testing.assert_array_equal(pack(rot, pattern=q), pack(m, pattern=p)[..., ::-1, ::-1])


def test_known_transforms():
    assert pattern_after_crop("RGGB", top=1, left=0) == "GBRG"
    assert pattern_after_crop("RGGB", top=2, left=2) == "RGGB"
    assert pattern_after_flip("GBRG", vertical=True) == "RGGB"
    assert pattern_after_rot180("RGGB") == "BGGR"
    # odd sizes keep the pattern under a flip
    assert pattern_after_flip("RGGB", horizontal=True, width=5) == "RGGB"


def test_bad_patterns():
    with pytest.raises(ValueError, match="pattern: expected one of"):
        check_pattern("RGBG")
    with pytest.raises(ValueError, match="pattern"):
        check_pattern("rggb")
    with pytest.raises(TypeError, match="pattern"):
        check_pattern(3)
    with pytest.raises(ValueError, match="top"):
        pattern_after_crop("RGGB", top=-1, left=0)
