"""Tests for rawkit.search.topk: faiss search against torch brute force, softmax over k."""

import faiss
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rawkit.search import assemble, build_index, topk, topk_assemble


def _pts(x):
    return x.movedim(-3, -1).reshape(-1, x.shape[-3])


@st.composite
def search_problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(1, 60))
    c = draw(st.integers(1, 8))
    k = draw(st.integers(1, n))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, c, h, w, generator=g), torch.randn(n, c, generator=g), k


@given(search_problems())
def test_topk_equals_brute_force_up_to_ties(p):
    f_t, f_r, k = p
    scores, ids = topk(f_t, f_r, k=k)
    assert scores.shape == ids.shape == (2, k, *f_t.shape[-2:])
    assert ids.dtype == torch.int64
    s, i = _pts(scores), _pts(ids)
    a = _pts(f_t).double() @ f_r.double().T  # brute force, float64
    want_s, want_i = torch.topk(a, k, dim=1)
    torch.testing.assert_close(s.double(), want_s, atol=1e-5, rtol=1e-5)
    # The scores of the ids faiss returned are the true affinities of those entries.
    torch.testing.assert_close(torch.gather(a, 1, i), want_s, atol=1e-5, rtol=1e-5)
    # Ids agree wherever the k-th score is not tied (within float32 rounding) with a
    # score left out, i.e. the selected set is unambiguous.
    kth = want_s[:, -1]
    nxt = torch.topk(a, min(k + 1, a.shape[1]), dim=1).values[:, -1] if k < a.shape[1] else kth - 1
    clear = (kth - nxt) > 1e-4
    got_sets = [set(r.tolist()) for r in i[clear]]
    want_sets = [set(r.tolist()) for r in want_i[clear]]
    assert got_sets == want_sets


def test_points_layout_and_numpy():
    rng = np.random.default_rng(0)
    f_t = rng.standard_normal((3, 10, 4)).astype(np.float32)
    f_r = rng.standard_normal((30, 4)).astype(np.float32)
    scores, ids = topk(f_t, f_r, k=5, layout="points")
    assert isinstance(ids, np.ndarray) and ids.shape == (3, 10, 5)
    want = np.argsort(-(f_t @ f_r.T), axis=-1)[..., :5]
    np.testing.assert_array_equal(ids, want)
    np.testing.assert_allclose(
        scores, np.take_along_axis(f_t @ f_r.T, want, -1), rtol=1e-5, atol=1e-5
    )


def test_prebuilt_flat_index_is_exact_and_reusable():
    g = torch.Generator().manual_seed(1)
    f_t, f_r = torch.randn(40, 6, generator=g), torch.randn(100, 6, generator=g)
    index = build_index(f_r)
    assert isinstance(index, faiss.IndexFlatIP)
    a = topk(f_t, index, k=3, layout="points")
    b = topk(f_t, f_r, k=3, layout="points")
    torch.testing.assert_close(a[0], b[0])
    assert torch.equal(a[1], b[1])


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_indices_find_most_neighbours(kind):
    g = torch.Generator().manual_seed(2)
    f_r = torch.nn.functional.normalize(torch.randn(2000, 8, generator=g), dim=1)
    f_t = f_r[:200] + 0.01 * torch.randn(200, 8, generator=g)
    index = build_index(f_r, kind=kind, seed=0, n_threads=1)
    _, ids = topk(f_t, index, k=1, layout="points")
    recall = (ids[:, 0] == torch.arange(200)).float().mean()
    assert recall > 0.9


def test_ivf_is_reproducible_with_seed_and_threads():
    g = torch.Generator().manual_seed(3)
    f_r = torch.randn(3000, 8, generator=g)
    f_t = torch.randn(50, 8, generator=g)
    a = topk(f_t, build_index(f_r, kind="ivf", seed=5, n_threads=1), k=4, layout="points")
    b = topk(f_t, build_index(f_r, kind="ivf", seed=5, n_threads=1), k=4, layout="points")
    assert torch.equal(a[1], b[1]) and torch.equal(a[0], b[0])


def test_topk_assemble_with_k_equal_n_is_full_assembly():
    g = torch.Generator().manual_seed(4)
    f_t = torch.randn(1, 5, 3, 4, generator=g, dtype=torch.float64)
    f_r = torch.randn(20, 5, generator=g, dtype=torch.float64)
    vals = torch.rand(20, 3, generator=g, dtype=torch.float64)
    full = assemble(f_t, f_r, vals, temperature=0.8)
    got = topk_assemble(f_t, f_r, vals, k=20, temperature=0.8, chunk_size=5)
    torch.testing.assert_close(got, full, atol=1e-12, rtol=1e-10)


def test_topk_assemble_against_manual_softmax_over_k():
    g = torch.Generator().manual_seed(5)
    f_t = torch.randn(30, 4, generator=g, dtype=torch.float64)
    f_r = torch.randn(50, 4, generator=g, dtype=torch.float64)
    vals = torch.rand(50, 2, generator=g, dtype=torch.float64)
    a = f_t @ f_r.T
    s, i = torch.topk(a, 6, dim=1)
    want = (torch.softmax(s / 0.5, 1).unsqueeze(-1) * vals[i]).sum(1)
    got = topk_assemble(f_t, f_r, vals, k=6, temperature=0.5, layout="points")
    torch.testing.assert_close(got, want, atol=1e-9, rtol=1e-7)


def test_topk_assemble_k1_copies_best_match():
    f_r = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    vals = torch.tensor([[0.25, 0.5], [0.75, 1.0]])
    out = topk_assemble(torch.tensor([[[[2.0]], [[1.0]]]]), f_r, vals, k=1)
    torch.testing.assert_close(out, torch.tensor([[[[0.25]], [[0.5]]]]))


def test_topk_assemble_gradients_through_weights():
    g = torch.Generator().manual_seed(6)
    f_t = torch.randn(1, 3, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    f_r = torch.randn(9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    vals = torch.rand(9, 2, generator=g, dtype=torch.float64, requires_grad=True)
    # The selection is fixed under the small perturbations gradcheck makes.
    assert torch.autograd.gradcheck(
        lambda a, b, c: topk_assemble(a, b, c, k=3, chunk_size=2), (f_t, f_r, vals)
    )


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: topk(torch.randn(1, 3, 2, 2), torch.randn(5, 3), k=6),
            ValueError,
            "k: expected <=",
        ),
        (lambda: topk(torch.randn(1, 3, 2, 2), torch.randn(5, 3), k=0), ValueError, "k"),
        (lambda: topk(torch.randn(1, 3, 2, 2), torch.randn(5, 3), k=1.5), TypeError, "k"),
        (lambda: topk(torch.randn(1, 3, 2, 2), torch.randn(5, 4), k=1), ValueError, "dimension"),
        (lambda: topk(torch.randn(1, 3, 2, 2), torch.zeros(0, 3), k=1), ValueError, "empty"),
        (
            lambda: topk(torch.full((1, 3, 2, 2), float("nan")), torch.randn(5, 3), k=1),
            ValueError,
            "NaN",
        ),
        (lambda: build_index(torch.randn(5, 3), kind="lsh"), ValueError, "kind"),
        (lambda: build_index(torch.tensor([[float("nan")]])), ValueError, "NaN"),
        (
            lambda: topk_assemble(
                torch.randn(4, 3),
                torch.randn(5, 3),
                torch.rand(5, 1),
                k=2,
                index=build_index(torch.randn(6, 3)),
                layout="points",
            ),
            ValueError,
            "index over f_r",
        ),
        (
            lambda: topk_assemble(
                torch.randn(4, 3), torch.randn(5, 3), torch.rand(5, 1), k=9, layout="points"
            ),
            ValueError,
            "k: expected <=",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
