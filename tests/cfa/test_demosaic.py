"""Tests of bilinear and Malvar demosaicing against colour-demosaicing and by construction."""

import colour_demosaicing as cd
import cv2
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from skimage import data

from rawkit.cfa import PATTERNS, demosaic, demosaic_bilinear, demosaic_malvar, mosaic
from rawkit.testing import assert_numpy_torch_agree, mosaics, patterns

LINEAR = [demosaic_bilinear, demosaic_malvar]


def _photo(h: int = 96, w: int = 128) -> np.ndarray:
    img = data.astronaut()[100 : 100 + h, 150 : 150 + w].astype(np.float64) / 255.0
    return np.moveaxis(img, -1, 0)


def _colour_demosaicing(fn, m: np.ndarray, pattern: str) -> np.ndarray:
    return np.moveaxis(fn(m[0], pattern), -1, 0)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_interior_matches_colour_demosaicing(pattern, dtype):
    m = mosaic(_photo(), pattern=pattern).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    ours = demosaic_bilinear(m, pattern=pattern)
    ref = _colour_demosaicing(cd.demosaicing_CFA_Bayer_bilinear, m.astype(np.float64), pattern)
    assert np.abs(ours - ref)[:, 1:-1, 1:-1].max() <= tol
    ours = demosaic_malvar(m, pattern=pattern)
    ref = _colour_demosaicing(cd.demosaicing_CFA_Bayer_Malvar2004, m.astype(np.float64), pattern)
    assert np.abs(ours - ref)[:, 2:-2, 2:-2].max() <= tol


@given(m=mosaics(dtype="float64", min_side=6, max_side=16, batch=st.just(())), p=patterns())
def test_interior_matches_colour_demosaicing_random(m, p):
    ours = demosaic_malvar(m, pattern=p)
    ref = _colour_demosaicing(cd.demosaicing_CFA_Bayer_Malvar2004, m, p)
    np.testing.assert_allclose(ours[:, 2:-2, 2:-2], ref[:, 2:-2, 2:-2], atol=1e-12)
    ours = demosaic_bilinear(m, pattern=p)
    ref = _colour_demosaicing(cd.demosaicing_CFA_Bayer_bilinear, m, p)
    np.testing.assert_allclose(ours[:, 1:-1, 1:-1], ref[:, 1:-1, 1:-1], atol=1e-12)


@pytest.mark.parametrize("fn", LINEAR)
@given(
    value=st.floats(-4, 4, allow_nan=False),
    p=patterns(),
    h=st.integers(2, 8).map(lambda n: 2 * n),
    w=st.integers(2, 8).map(lambda n: 2 * n),
)
def test_constant_mosaic_stays_constant_including_borders(fn, value, p, h, w):
    """colour-demosaicing's issue #8: its borders break this; rawkit must not."""
    m = np.full((1, h, w), value)
    np.testing.assert_allclose(fn(m, pattern=p), np.full((3, h, w), value), atol=1e-12)


@pytest.mark.parametrize("fn", LINEAR)
@given(
    colour=st.tuples(*[st.floats(0, 1, allow_nan=False)] * 3),
    p=patterns(),
    h=st.integers(2, 8).map(lambda n: 2 * n),
    w=st.integers(2, 8).map(lambda n: 2 * n),
)
def test_constant_colour_is_reproduced_including_borders(fn, colour, p, h, w):
    """The stronger form: a flat colour's mosaic demosaics to that colour everywhere."""
    rgb = np.broadcast_to(np.asarray(colour)[:, None, None], (3, h, w)).copy()
    np.testing.assert_allclose(fn(mosaic(rgb, pattern=p), pattern=p), rgb, atol=1e-12)


@pytest.mark.parametrize(
    "ref", [cd.demosaicing_CFA_Bayer_bilinear, cd.demosaicing_CFA_Bayer_Malvar2004]
)
def test_colour_demosaicing_border_is_wrong_where_rawkit_is_right(ref):
    """Document the reference's border bug (its issue #8) that the interior comparison skips."""
    rgb = np.broadcast_to(np.array([0.2, 0.5, 0.8])[:, None, None], (3, 8, 8)).copy()
    m = mosaic(rgb, pattern="RGGB")
    assert np.abs(_colour_demosaicing(ref, m, "RGGB") - rgb).max() > 1e-2


@pytest.mark.parametrize("fn", LINEAR)
@given(m=mosaics(min_side=4, dtype="float64"), p=patterns())
def test_sampled_values_are_kept(fn, m, p):
    rgb = fn(m, pattern=p)
    np.testing.assert_array_equal(mosaic(rgb, pattern=p), m)


@given(m=mosaics(dtype="float64", min_side=2, max_side=12, batch=st.just(())), p=patterns())
def test_bilinear_border_is_mean_of_existing_neighbours(m, p):
    """Independent brute-force reference: LibRaw's rule, pixel by pixel."""
    rgb = demosaic_bilinear(m, pattern=p)
    h, w = m.shape[-2:]
    for y in range(h):
        for x in range(w):
            for c, name in enumerate("RGB"):
                if p[2 * (y % 2) + x % 2] == name:
                    expected = m[0, y, x]
                else:
                    vals = [
                        m[0, y + dy, x + dx]
                        for dy in (-1, 0, 1)
                        for dx in (-1, 0, 1)
                        if 0 <= y + dy < h
                        and 0 <= x + dx < w
                        and p[2 * ((y + dy) % 2) + (x + dx) % 2] == name
                    ]
                    expected = np.mean(vals)
                assert abs(rgb[c, y, x] - expected) < 1e-12


@pytest.mark.parametrize("pattern", PATTERNS)
def test_bilinear_matches_opencv_in_the_interior(pattern):
    """OpenCV's Bayer codes are named one phase off: RGGB data -> COLOR_BayerBG2RGB."""
    code = {
        "RGGB": cv2.COLOR_BayerBG2RGB,
        "BGGR": cv2.COLOR_BayerRG2RGB,
        "GRBG": cv2.COLOR_BayerGB2RGB,
        "GBRG": cv2.COLOR_BayerGR2RGB,
    }[pattern]
    # OpenCV demosaics 8/16-bit integers only and rounds; 12-bit values that are
    # multiples of 16 make every bilinear mean exact, so both sides are exact.
    m = mosaic(np.round(_photo() * 255) * 16, pattern=pattern)
    ref = np.moveaxis(cv2.cvtColor(m[0].astype(np.uint16), code), -1, 0)
    ours = demosaic_bilinear(m, pattern=pattern)
    np.testing.assert_array_equal(ours[:, 1:-1, 1:-1], ref[:, 1:-1, 1:-1])


@pytest.mark.parametrize("fn", LINEAR)
def test_batch_dims_and_torch(fn):
    m = np.random.default_rng(0).random((2, 3, 1, 8, 10)).astype(np.float32)
    out = fn(m, pattern="GRBG")
    assert out.shape == (2, 3, 3, 8, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1, 2], fn(m[1, 2], pattern="GRBG"))
    assert_numpy_torch_agree(fn, m, pattern="GRBG")


@pytest.mark.parametrize("fn", LINEAR)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_gradcheck(fn, pattern):
    m = torch.rand(2, 1, 6, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: fn(a, pattern=pattern), (m,))


def test_dispatch():
    m = np.random.default_rng(3).random((1, 8, 8))
    np.testing.assert_array_equal(
        demosaic(m, pattern="RGGB", method="bilinear"), demosaic_bilinear(m, pattern="RGGB")
    )
    np.testing.assert_array_equal(demosaic(m, pattern="RGGB"), demosaic_malvar(m, pattern="RGGB"))
    with pytest.raises(ValueError, match="method: expected one of"):
        demosaic(m, pattern="RGGB", method="ahd")


@pytest.mark.parametrize("fn", LINEAR)
@pytest.mark.parametrize(
    ("arg", "kw", "exc", "match"),
    [
        (np.zeros((1, 5, 8)), {"pattern": "RGGB"}, ValueError, "even height"),
        (
            np.zeros((2, 8, 8)),
            {"pattern": "RGGB"},
            ValueError,
            r"mosaic: expected shape \(\*, 1, H, W\)",
        ),
        (np.zeros((1, 8, 8)), {"pattern": "RGB"}, ValueError, "pattern"),
        (
            np.full((1, 8, 8), np.nan),
            {"pattern": "RGGB"},
            ValueError,
            "mosaic: expected finite values, got 64 NaN",
        ),
        (np.full((1, 8, 8), np.inf), {"pattern": "RGGB"}, ValueError, "Inf"),
        (np.zeros((1, 8, 8), np.uint16), {"pattern": "RGGB"}, TypeError, "mosaic: expected dtype"),
    ],
)
def test_bad_input(fn, arg, kw, exc, match):
    with pytest.raises(exc, match=match):
        fn(arg, **kw)


def test_too_small_for_malvar():
    with pytest.raises(ValueError, match="H and W >= 4"):
        demosaic_malvar(np.zeros((1, 2, 2)), pattern="RGGB")


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", [(1, 2, 2), (1, 2, 6), (2, 1, 6, 4), (1, 10, 12)])
def test_bilinear_autograd_path_equals_fast_path(pattern, shape):
    """Bilinear has a compiled CPU path (no autograd) and a conv2d path (autograd)."""
    m = torch.rand(*shape, dtype=torch.float64)
    fast = demosaic_bilinear(m, pattern=pattern)
    slow = demosaic_bilinear(m.clone().requires_grad_(True), pattern=pattern)
    torch.testing.assert_close(slow.detach(), fast, rtol=0, atol=1e-15)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", [(1, 4, 4), (1, 4, 10), (2, 1, 6, 4), (3, 1, 12, 8)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_malvar_autograd_path_equals_fast_path(pattern, shape, dtype):
    """Malvar's compiled CPU path (no autograd) against its conv2d path (autograd), borders included."""
    m = torch.rand(*shape, dtype=dtype, generator=torch.Generator().manual_seed(2))
    fast = demosaic_malvar(m, pattern=pattern)
    slow = demosaic_malvar(m.clone().requires_grad_(True), pattern=pattern).detach()
    tol = 1e-14 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(fast, slow, rtol=0, atol=tol)
    assert fast.dtype == dtype


@pytest.mark.parametrize("pattern", PATTERNS)
def test_bilinear_compiled_path_float32_and_strided_views(pattern):
    """float32 and a transposed (non-contiguous) batch through the compiled path."""
    m = torch.rand(3, 1, 10, 8, generator=torch.Generator().manual_seed(5))
    view = m.transpose(-1, -2)  # (3, 1, 8, 10)
    fast = demosaic_bilinear(view, pattern=pattern)
    slow = demosaic_bilinear(view.contiguous().requires_grad_(True), pattern=pattern).detach()
    torch.testing.assert_close(fast, slow, rtol=0, atol=2e-7)
    assert fast.dtype == torch.float32 and fast.is_contiguous()


@pytest.mark.parametrize("fn", LINEAR)
def test_empty_batch(fn):
    assert fn(np.zeros((0, 1, 8, 8), np.float32), pattern="RGGB").shape == (0, 3, 8, 8)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_bilinear_compiled_path_matches_conv2d_path_at_two_threads(pattern):
    """The no-autograd path (in inference mode, at 2 threads) equals the conv2d path, borders included."""
    m = torch.rand(2, 1, 18, 14, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode():
            fast = demosaic_bilinear(m, pattern=pattern)
    finally:
        torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    with_grad = demosaic_bilinear(m.clone().requires_grad_(True), pattern=pattern).detach()
    torch.testing.assert_close(fast, with_grad, atol=1e-12, rtol=0)
    flat = demosaic_bilinear(torch.full((1, 18, 14), 0.3), pattern=pattern)
    torch.testing.assert_close(flat, torch.full((3, 18, 14), 0.3))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@given(
    y=st.integers(0, 139),
    x=st.integers(0, 9),
    bad=st.sampled_from([float("nan"), float("inf"), -float("inf")]),
)
def test_bilinear_one_non_finite_value_anywhere_raises(threads, dtype, y, x, bad):
    """The compiled pass checks every row it reads: one NaN/Inf anywhere, at 1 or 2 threads."""
    m = torch.rand(2, 1, 140, 10, dtype=dtype, generator=torch.Generator().manual_seed(4))
    m[1, 0, y, x] = bad
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        count = "1 NaN and 0 Inf" if bad != bad else "0 NaN and 1 Inf"
        with pytest.raises(ValueError, match=f"mosaic: expected finite values, got {count}"):
            demosaic_bilinear(m, pattern="GRBG")
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bilinear_row_bands_on_two_threads_equal_one_thread(pattern, dtype):
    """Enough rows to be split into bands: 2 threads give the same bits as 1, and the conv2d path."""
    m = torch.rand(3, 1, 150, 22, dtype=dtype, generator=torch.Generator().manual_seed(6))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = demosaic_bilinear(m, pattern=pattern)
        torch.set_num_threads(2)
        two = demosaic_bilinear(m, pattern=pattern)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(two, one, rtol=0, atol=0)
    slow = demosaic_bilinear(m.clone().requires_grad_(True), pattern=pattern).detach()
    torch.testing.assert_close(one, slow, rtol=0, atol=1e-6 if dtype == torch.float32 else 1e-14)


@given(rows=st.integers(0, 2000), threads=st.integers(1, 4), grain=st.integers(1, 100))
def test_run_rows_covers_every_row_once(rows, threads, grain):
    """The band scheduler hands out each row exactly once and reports any kernel's flag."""
    from rawkit.cfa._kernels import run_rows

    seen = np.zeros(rows, np.int64)

    def kernel(flag_at, r0, r1):
        seen[r0:r1] += 1
        return r0 <= flag_at < r1

    assert run_rows(kernel, (-1,), rows, threads, grain=grain) is False
    np.testing.assert_array_equal(seen, np.ones(rows, np.int64))
    if rows:
        assert run_rows(kernel, (rows - 1,), rows, threads, grain=grain) is True


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_bilinear_row_bands_in_a_forked_child():
    """The band workers are threads: a child forked after they started makes its own."""
    import multiprocessing

    m = torch.rand(1, 1, 200, 12, generator=torch.Generator().manual_seed(8))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        expected = demosaic_bilinear(m, pattern="RGGB")  # starts the parent's workers
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            got = pool.apply_async(_demosaic_two_threads, (m,)).get(timeout=60)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def _demosaic_two_threads(m):
    torch.set_num_threads(2)
    return demosaic_bilinear(m, pattern="RGGB")
