import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rawkit.isp import denormalize_levels, normalize_levels
from rawkit.testing import assert_numpy_torch_agree, packed_raws

FAST = settings(max_examples=25, deadline=None)


@FAST
@given(bits=st.integers(8, 16), data=st.data())
def test_integer_round_trip_is_exact(bits, data):
    white = 2**bits - 1
    black = data.draw(st.lists(st.integers(0, white // 8), min_size=4, max_size=4))
    v = data.draw(packed_raws(dtype="uint16", bit_depth=bits, max_side=8))
    v = np.maximum(v, 0)
    x = normalize_levels(v, black_level=black, white_level=white, dtype=torch.float64)
    back = denormalize_levels(x, black_level=black, white_level=white, clip=True)
    assert back.dtype == np.uint16
    # below black the sensor value is still representable: exact everywhere
    np.testing.assert_array_equal(back, v)


def test_values_hand_checked():
    v = torch.tensor([[[64, 544, 1023]]], dtype=torch.int32)
    x = normalize_levels(v, black_level=64, white_level=1023)
    assert x.dtype == torch.float32
    assert x.tolist() == [[[0.0, 480 / 959, 1.0]]] or torch.allclose(
        x, torch.tensor([[[0.0, 480 / 959, 1.0]]])
    )


def test_not_clipped_below_black():
    x = normalize_levels(np.array([[[10.0]]]), black_level=20, white_level=120)
    assert x.item() == pytest.approx(-0.1)


def test_numpy_torch_agree():
    v = np.random.default_rng(0).integers(0, 1024, (2, 4, 3, 3)).astype(np.uint16)
    assert_numpy_torch_agree(normalize_levels, v, black_level=[1, 2, 3, 4], white_level=1023)


def test_gradient_flows_for_float():
    x = torch.rand(1, 2, 2, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda t: normalize_levels(t, black_level=0.1, white_level=0.9), (x,))


@pytest.mark.parametrize(
    ("kwargs", "err"),
    [
        ({"black_level": 1023, "white_level": 1023}, ValueError),
        ({"black_level": 2000, "white_level": 1023}, ValueError),
        ({"black_level": -1, "white_level": 1023}, ValueError),
        ({"black_level": [1, 2], "white_level": 1023}, ValueError),
        ({"black_level": 0, "white_level": float("nan")}, ValueError),
    ],
)
def test_bad_levels_raise(kwargs, err):
    with pytest.raises(err, match="level"):
        normalize_levels(np.zeros((4, 2, 2), np.uint16), **kwargs)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="white_level"):
        normalize_levels(np.full((1, 2, 2), 2000, np.uint16), black_level=0, white_level=1023)
    with pytest.raises(ValueError, match="finite"):
        normalize_levels(np.full((1, 2, 2), np.nan), black_level=0, white_level=1)
    with pytest.raises(TypeError):
        normalize_levels([1, 2], black_level=0, white_level=1)
    with pytest.raises(ValueError, match="clip=True"):
        denormalize_levels(np.full((1, 1, 1), 1.5), black_level=0, white_level=1023)
    with pytest.raises(TypeError, match="dtype"):
        denormalize_levels(
            np.zeros((1, 1, 1)), black_level=0, white_level=1023, dtype=torch.float32
        )
