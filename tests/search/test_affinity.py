"""Tests for rawkit.search.affinity: Eq. 2-4 against the unchunked formula written out here."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rawkit.search import affinity, assemble, default_chunk_size, max_affinity


def _reference_assemble(t_pts, r_pts, v_pts, tau):
    """Unchunked Eq. 3 on point sets ``(M, C)``, ``(N, C)``, ``(N, V)``, in float64."""
    a = t_pts.double() @ r_pts.double().T / tau
    return torch.softmax(a, dim=1) @ v_pts.double()


def _img_to_pts(x):
    """``(*, C, H, W)`` -> ``(prod(*) H W, C)``, pixels row-major."""
    return x.movedim(-3, -1).reshape(-1, x.shape[-3])


@st.composite
def problems(draw):
    b = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c = draw(st.integers(1, 5))
    n = draw(st.integers(1, 40))
    v = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    chunk = draw(st.integers(1, b * h * w + 3))
    tau = draw(st.sampled_from([0.05, 0.5, 1.0, 3.0]))
    g = torch.Generator().manual_seed(seed)
    f_t = torch.randn(b, c, h, w, generator=g, dtype=torch.float64)
    f_r = torch.randn(n, c, generator=g, dtype=torch.float64)
    vals = torch.rand(n, v, generator=g, dtype=torch.float64)
    return f_t, f_r, vals, chunk, tau


@given(problems())
def test_chunked_equals_unchunked_formula(p):
    f_t, f_r, vals, chunk, tau = p
    out = assemble(f_t, f_r, vals, temperature=tau, chunk_size=chunk)
    assert out.shape == (f_t.shape[0], vals.shape[1], *f_t.shape[-2:])
    ref = _reference_assemble(_img_to_pts(f_t), f_r, vals, tau)
    torch.testing.assert_close(_img_to_pts(out), ref, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("chunk", [1, 3, 7, 16, 64, None])
def test_chunk_sizes_not_dividing_m_float32(chunk):
    g = torch.Generator().manual_seed(1)
    f_t = torch.randn(2, 13, 8, generator=g)  # points: B=2, M=13, C=8
    f_r = torch.randn(50, 8, generator=g)
    vals = torch.rand(50, 3, generator=g)
    out = assemble(f_t, f_r, vals, chunk_size=chunk, layout="points")
    ref = torch.stack([_reference_assemble(f_t[i], f_r, vals, 1.0) for i in range(2)]).float()
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_one_chunk_equals_many_chunks_bitwise_close():
    g = torch.Generator().manual_seed(2)
    f_t = torch.randn(1, 4, 9, 11, generator=g)
    f_r = torch.randn(3, 4, 5, 6, generator=g)  # reference as images: N = 90
    vals = torch.rand(3, 2, 5, 6, generator=g)
    a = assemble(f_t, f_r, vals, chunk_size=99)
    b = assemble(f_t, f_r, vals, chunk_size=5)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    ref = _reference_assemble(_img_to_pts(f_t), _img_to_pts(f_r), _img_to_pts(vals), 1.0)
    torch.testing.assert_close(_img_to_pts(a).double(), ref, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("chunk", [1, 4, 10, None])
def test_gradients_chunked_equal_unchunked(chunk):
    g = torch.Generator().manual_seed(3)
    f_t = torch.randn(2, 3, 2, 5, generator=g, dtype=torch.float64, requires_grad=True)
    f_r = torch.randn(12, 3, generator=g, dtype=torch.float64, requires_grad=True)
    vals = torch.rand(12, 2, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 2, 5, generator=g, dtype=torch.float64)
    (assemble(f_t, f_r, vals, temperature=0.7, chunk_size=chunk) * w).sum().backward()
    got = [x.grad.clone() for x in (f_t, f_r, vals)]
    for x in (f_t, f_r, vals):
        x.grad = None
    ref = _reference_assemble(_img_to_pts(f_t), f_r, vals, 0.7)
    (ref * _img_to_pts(w)).sum().backward()
    for a, b in zip(got, (f_t.grad, f_r.grad, vals.grad), strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(4)
    f_t = torch.randn(1, 2, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    f_r = torch.randn(5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    vals = torch.rand(5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b, c: assemble(a, b, c, chunk_size=4), (f_t, f_r, vals)
    )
    assert torch.autograd.gradcheck(
        lambda a, b: max_affinity(a, b, kind="softmax", temperature=0.5, chunk_size=2), (f_t, f_r)
    )


def test_affinity_is_the_inner_product():
    g = torch.Generator().manual_seed(5)
    f_t = torch.randn(2, 3, 4, 5, generator=g)
    f_r = torch.randn(7, 3, generator=g)
    a = affinity(f_t, f_r)
    assert a.shape == (2, 7, 4, 5)
    want = torch.einsum("bchw,nc->bnhw", f_t, f_r)
    torch.testing.assert_close(a, want)
    pts = affinity(f_t.flatten(2).transpose(1, 2), f_r, layout="points")
    torch.testing.assert_close(pts, want.flatten(2).transpose(1, 2))


def test_numpy_in_numpy_out_and_softmax_rows():
    rng = np.random.default_rng(0)
    f_t = rng.standard_normal((3, 4, 4)).astype(np.float32)
    f_r = rng.standard_normal((9, 3)).astype(np.float32)
    ones = np.ones((9, 1), np.float32)
    out = assemble(f_t, f_r, ones, chunk_size=5)
    assert isinstance(out, np.ndarray) and out.shape == (1, 4, 4)
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)  # softmax rows sum to one


def test_max_affinity_kinds_against_brute_force():
    g = torch.Generator().manual_seed(6)
    f_t = torch.randn(2, 3, 4, 3, generator=g, dtype=torch.float64)
    f_r = torch.randn(11, 3, generator=g, dtype=torch.float64)
    t = _img_to_pts(f_t)
    a = t @ f_r.T
    cos = (t / t.norm(dim=1, keepdim=True)) @ (f_r / f_r.norm(dim=1, keepdim=True)).T
    want = {
        "inner": a.amax(1),
        "cosine": cos.amax(1),
        "softmax": torch.softmax(a / 0.3, 1).amax(1),
    }
    for kind, w in want.items():
        got = max_affinity(f_t, f_r, kind=kind, temperature=0.3, chunk_size=5)
        assert got.shape == (2, 4, 3)
        torch.testing.assert_close(got.reshape(-1), w)


def test_identical_pixel_has_full_cosine_confidence():
    f_r = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    f_t = torch.tensor([[[3.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    conf = max_affinity(f_t, f_r, layout="points")
    torch.testing.assert_close(conf, torch.tensor([[1.0, 0.0]]))


def test_memory_bound_chunk_default():
    assert default_chunk_size(5000) * 5000 <= 2**21
    assert default_chunk_size(10**9) == 1


def test_empty_targets():
    out = assemble(torch.zeros(0, 3, 4, 4), torch.randn(5, 3), torch.rand(5, 2))
    assert out.shape == (0, 2, 4, 4)
    out = assemble(torch.zeros(2, 0, 3), torch.randn(5, 3), torch.rand(5, 2), layout="points")
    assert out.shape == (2, 0, 2)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"f_r": torch.randn(5, 4)}, ValueError, "feature channels"),  # dimension mismatch
        ({"f_r": torch.zeros(0, 3)}, ValueError, "empty"),
        ({"f_r": torch.tensor([[float("nan"), 0.0, 0.0]] * 5)}, ValueError, "NaN"),
        ({"f_t": torch.full((1, 3, 2, 2), float("inf"))}, ValueError, "Inf"),
        ({"values": torch.rand(4, 2)}, ValueError, "values"),
        ({"values": torch.rand(5, 2, dtype=torch.float64)}, TypeError, "dtype"),
        ({"f_r": torch.randint(0, 3, (5, 3))}, TypeError, "dtype"),
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"temperature": float("nan")}, ValueError, "temperature"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
        ({"layout": "hwc"}, ValueError, "layout"),
        ({"f_t": torch.randn(3, 4)}, ValueError, "layout='points'"),
        ({"f_r": [[1.0, 2.0, 3.0]]}, TypeError, "f_r"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"f_t": torch.randn(1, 3, 2, 2), "f_r": torch.randn(5, 3), "values": torch.rand(5, 2)}
    args.update(kwargs)
    f_t, f_r, vals = args.pop("f_t"), args.pop("f_r"), args.pop("values")
    with pytest.raises(exc, match=match):
        assemble(f_t, f_r, vals, **args)


def test_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        max_affinity(torch.randn(1, 3, 2, 2), torch.randn(5, 3), kind="l2")


@pytest.mark.parametrize(
    "which", [(True, False, False), (False, True, False), (False, False, True)]
)
@pytest.mark.parametrize("layout", ["image", "points"])
def test_gradient_of_each_input_alone(which, layout):
    g = torch.Generator().manual_seed(7)
    shape = (2, 3, 3, 4) if layout == "image" else (2, 12, 3)
    f_t = torch.randn(*shape, generator=g, dtype=torch.float64)
    f_r = torch.randn(2, 3, 2, 3, generator=g, dtype=torch.float64)  # reference images, N=12
    vals = torch.rand(2, 2, 2, 3, generator=g, dtype=torch.float64)
    for x, flag in zip((f_t, f_r, vals), which, strict=True):
        x.requires_grad_(flag)
    inputs = [x for x in (f_t, f_r, vals) if x.requires_grad]

    def fn(*xs):
        it = iter(xs)
        args = [next(it) if x.requires_grad else x for x in (f_t, f_r, vals)]
        return assemble(*args, temperature=2.0, chunk_size=5, layout=layout)

    assert torch.autograd.gradcheck(fn, inputs)


def test_no_double_backward():
    f_t = torch.randn(1, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    out = assemble(
        f_t, torch.randn(4, 2, dtype=torch.float64), torch.rand(4, 1, dtype=torch.float64)
    )
    (grad,) = torch.autograd.grad(out.sum(), f_t, create_graph=True)
    with pytest.raises(RuntimeError):
        grad.sum().backward()
