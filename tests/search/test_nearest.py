"""Raw-value nearest-neighbour search: against a brute-force torch.cdist reference."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.data import Pair
from rawkit.search import BlockIndex, block_keys, build_block_index, nearest_raw


def test_block_keys_layout_against_loops():
    x = torch.rand(2, 3, 6, 8, generator=torch.Generator().manual_seed(0))
    k = block_keys(x)
    assert k.shape == (2, 12, 3, 4)
    for c in range(3):
        for dy in range(2):
            for dx in range(2):
                torch.testing.assert_close(k[:, 4 * c + 2 * dy + dx], x[:, c, dy::2, dx::2])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 6))
def test_nearest_raw_is_the_mean_of_the_k_nearest(seed, k):
    g = torch.Generator().manual_seed(seed)
    refs = [Pair(torch.rand(3, 8, 10, generator=g), torch.rand(4, 4, 5, generator=g), "a")]
    idx = build_block_index(refs, max_references=None)
    target = torch.rand(3, 4, 6, generator=g)
    out = nearest_raw(target, index=idx, k=k)
    # independent brute force
    q = torch.nn.functional.pixel_unshuffle(target[None], 2)[0].reshape(12, -1).T
    keys = torch.nn.functional.pixel_unshuffle(refs[0].srgb[None], 2)[0].reshape(12, -1).T
    vals = refs[0].packed.reshape(4, -1).T
    nn = torch.cdist(q.double(), keys.double()).topk(k, largest=False).indices
    want = vals[nn].mean(1).T.reshape(4, 2, 3)
    torch.testing.assert_close(out, want, atol=1e-5, rtol=0)


def test_subsample_numpy_and_errors():
    g = torch.Generator().manual_seed(0)
    refs = [
        Pair(torch.rand(3, 8, 8, generator=g), torch.rand(4, 4, 4, generator=g), str(i))
        for i in range(3)
    ]
    idx = build_block_index(refs, max_references=20, seed=1)
    assert len(idx) == 20
    again = build_block_index(refs, max_references=20, seed=1)
    assert torch.equal(idx.keys, again.keys)
    out = nearest_raw(np.random.default_rng(0).random((3, 4, 4), dtype=np.float32), index=idx, k=3)
    assert isinstance(out, np.ndarray) and out.shape == (4, 2, 2)
    with pytest.raises(ValueError, match="k"):
        nearest_raw(refs[0].srgb, index=idx, k=21)
    with pytest.raises(ValueError, match="srgb"):
        nearest_raw(torch.rand(3, 5, 4), index=idx)
    with pytest.raises(TypeError, match="index"):
        nearest_raw(refs[0].srgb, index="idx")
    with pytest.raises(ValueError, match="pairs"):
        build_block_index([])
    with pytest.raises(ValueError, match="keys"):
        BlockIndex(torch.zeros(3, 11), torch.zeros(3, 4))
