import numpy as np
import pytest
import torch
from hypothesis import given

from rawkit.cfa import PATTERNS, channel_sites, mosaic, pack, unpack
from rawkit.testing import (
    assert_invertible,
    assert_numpy_torch_agree,
    mosaics,
    packed_raws,
    patterns,
    rgb_images,
)


@given(m=mosaics(dtype="uint16"), p=patterns())
def test_pack_unpack_round_trip_uint16(m, p):
    assert_invertible(lambda a: pack(a, pattern=p), lambda a: unpack(a, pattern=p), m)


@given(m=mosaics(dtype="float64", backend="torch"), p=patterns())
def test_pack_unpack_round_trip_float_torch(m, p):
    out = unpack(pack(m, pattern=p), pattern=p)
    assert isinstance(out, torch.Tensor)
    assert torch.equal(out, m)


@given(x=packed_raws(dtype="float32"), p=patterns())
def test_unpack_pack_round_trip(x, p):
    assert_invertible(lambda a: unpack(a, pattern=p), lambda a: pack(a, pattern=p), x)


@given(m=mosaics(dtype="uint16"), p=patterns())
def test_pack_against_reference_indexing(m, p):
    """Independent reference: read each channel's site from the pattern letters."""
    packed = pack(m, pattern=p)
    order = {"R": [], "G": [], "B": []}
    for dy in range(2):
        for dx in range(2):
            order[p[2 * dy + dx]].append((dy, dx))
    r, b = order["R"][0], order["B"][0]
    gr = next(s for s in order["G"] if s[0] == r[0])
    gb = next(s for s in order["G"] if s[0] == b[0])
    for k, (dy, dx) in enumerate([r, gr, gb, b]):
        np.testing.assert_array_equal(packed[..., k, :, :], m[..., 0, dy::2, dx::2])


@given(rgb=rgb_images(), p=patterns())
def test_mosaic_samples_the_pattern_colour(rgb, p):
    m = mosaic(rgb, pattern=p)
    assert m.shape == (*rgb.shape[:-3], 1, *rgb.shape[-2:])
    idx = {"R": 0, "G": 1, "B": 2}
    for dy in range(2):
        for dx in range(2):
            c = idx[p[2 * dy + dx]]
            np.testing.assert_array_equal(m[..., 0, dy::2, dx::2], rgb[..., c, dy::2, dx::2])


@given(rgb=rgb_images(), p=patterns())
def test_numpy_torch_agree(rgb, p):
    assert_numpy_torch_agree(mosaic, rgb, pattern=p)
    m = mosaic(rgb, pattern=p)
    assert_numpy_torch_agree(pack, m, pattern=p)
    assert_numpy_torch_agree(unpack, pack(m, pattern=p), pattern=p)


def test_canonical_order_lines_up_across_patterns():
    """The same colour planes come out of every pattern's packing."""
    rgb = np.random.default_rng(0).random((3, 8, 8))
    for p in PATTERNS:
        packed = pack(mosaic(rgb, pattern=p), pattern=p)
        (ry, rx), _, _, (by, bx) = channel_sites(p)
        np.testing.assert_array_equal(packed[0], rgb[0, ry::2, rx::2])
        np.testing.assert_array_equal(packed[3], rgb[2, by::2, bx::2])


def test_numpy_in_numpy_out_and_no_copy_of_input():
    m = np.random.default_rng(1).random((2, 1, 6, 8)).astype(np.float32)
    out = pack(m, pattern="RGGB")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    # the input is wrapped, not copied: a torch view of it shares memory
    t = torch.from_numpy(m)
    assert t.data_ptr() == m.ctypes.data


def test_non_contiguous_and_readonly_inputs():
    m = np.random.default_rng(2).random((1, 8, 12))
    ro = m.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(pack(ro, pattern="RGGB"), pack(m, pattern="RGGB"))
    flipped = m[..., ::-1]
    np.testing.assert_array_equal(
        pack(flipped, pattern="GRBG"), pack(flipped.copy(), pattern="GRBG")
    )


def test_gradients_flow_through_packing():
    m = torch.rand(1, 1, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: pack(a, pattern="GBRG"), (m,))
    p = torch.rand(2, 4, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: unpack(a, pattern="BGGR"), (p,))
    rgb = torch.rand(3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: mosaic(a, pattern="GRBG"), (rgb,))


_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8, torch.int8,
           torch.int16, torch.uint16, torch.int32, torch.int64]  # fmt: skip


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("p", PATTERNS)
@pytest.mark.parametrize("shape", [(1, 2, 2), (2, 3, 1, 6, 10), (1, 10, 4)])
def test_compiled_and_autograd_paths_move_the_same_bits(dtype, p, shape):
    """The compiled CPU loop (no autograd) and the strided torch copies (autograd) agree
    bit for bit with slicing, for every element size, and round-trip exactly."""
    g = torch.Generator().manual_seed(3)
    m = (torch.randn(shape, generator=g) * 50).to(dtype)
    if not dtype.is_floating_point:
        m = torch.randint(-100 if dtype.is_signed else 0, 100, shape, generator=g).to(dtype)
    packed = pack(m, pattern=p)
    sites = channel_sites(p)
    for k, (dy, dx) in enumerate(sites):
        assert torch.equal(packed[..., k, :, :], m[..., 0, dy::2, dx::2])
    assert torch.equal(unpack(packed, pattern=p), m)
    if dtype.is_floating_point:  # the autograd path: the torch copies
        via_grad = pack(m.clone().requires_grad_(True), pattern=p).detach()
        assert torch.equal(via_grad.view(torch.int8), packed.view(torch.int8))
        back = unpack(packed.clone().requires_grad_(True), pattern=p).detach()
        assert torch.equal(back.view(torch.int8), m.view(torch.int8))


def test_compiled_path_on_strided_views_and_two_threads():
    m = torch.arange(2 * 12 * 16, dtype=torch.float32).view(2, 1, 12, 16)
    view = m.transpose(-1, -2)  # (2, 1, 16, 12), not contiguous
    ref = pack(view.contiguous(), pattern="GBRG")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert torch.equal(pack(view, pattern="GBRG"), ref)
        assert torch.equal(unpack(ref.transpose(-1, -2), pattern="BGGR"),
                           unpack(ref.transpose(-1, -2).contiguous(), pattern="BGGR"))  # fmt: skip
    finally:
        torch.set_num_threads(before)


def test_empty_batch():
    m = np.zeros((0, 1, 4, 4), np.uint16)
    assert pack(m, pattern="RGGB").shape == (0, 4, 2, 2)


@pytest.mark.parametrize(
    ("fn", "arg", "kw", "exc", "match"),
    [
        (
            pack,
            np.zeros((1, 5, 4)),
            {"pattern": "RGGB"},
            ValueError,
            "mosaic: a Bayer mosaic needs even height",
        ),
        (pack, np.zeros((1, 4, 7)), {"pattern": "RGGB"}, ValueError, "W=7"),
        (
            pack,
            np.zeros((3, 4, 4)),
            {"pattern": "RGGB"},
            ValueError,
            r"mosaic: expected shape \(\*, 1, H, W\)",
        ),
        (pack, np.zeros((4, 4)), {"pattern": "RGGB"}, ValueError, "mosaic: expected shape"),
        (pack, np.zeros((1, 4, 4)), {"pattern": "XGGB"}, ValueError, "pattern: expected one of"),
        (pack, np.zeros((1, 4, 4), bool), {"pattern": "RGGB"}, TypeError, "mosaic: expected dtype"),
        (pack, [[0.0]], {"pattern": "RGGB"}, TypeError, "mosaic: expected a torch.Tensor"),
        (unpack, np.zeros((3, 2, 2)), {"pattern": "RGGB"}, ValueError, "packed: expected shape"),
        (mosaic, np.zeros((4, 4, 4)), {"pattern": "RGGB"}, ValueError, "rgb: expected shape"),
        (
            mosaic,
            np.zeros((3, 3, 4)),
            {"pattern": "RGGB"},
            ValueError,
            "rgb: a Bayer mosaic needs even",
        ),
    ],
)
def test_bad_input(fn, arg, kw, exc, match):
    with pytest.raises(exc, match=match):
        fn(arg, **kw)


def test_pattern_is_keyword_only():
    with pytest.raises(TypeError):
        pack(np.zeros((1, 4, 4)), "RGGB")  # type: ignore[misc]
