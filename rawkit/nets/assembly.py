r"""PriorRAW's Eq. 4 and 5 on tensors: assemble a prior from a bank, and its distance map.

:func:`assemble_prior` (Eq. 4) softly retrieves, for every target pixel's encoder
feature, the sRGB and RAW of the bank entries it matches (a softmax over the bank,
:func:`rawkit.search.assemble`); :func:`distance_map` (Eq. 5) is how far the retrieved
sRGB is from the target's.  :class:`BankTensors` holds a prior bank as tensors on the
network's device.  :class:`rawkit.nets.PriorRAWNet` (Alg. 3) builds on them; PriorRAW's
pipeline uses them once per image before training (Alg. 3, lines 2-4).

Example:
    >>> import torch
    >>> bank = BankTensors(torch.eye(2), torch.zeros(2, 3), torch.tensor([[0.2] * 4, [0.8] * 4]))
    >>> s, r = assemble_prior(torch.tensor([0.0, 1.0]).reshape(1, 2, 1, 1), bank, temperature=0.01)
    >>> round(float(r[0, 0, 0, 0]), 3)
    0.8
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

import numpy as np
import torch

from rawkit.search import assemble

__all__ = ["BankTensors", "assemble_prior", "distance_map"]


# --------------------------------------------------------------------------- bank


class BankTensors(NamedTuple):
    """A prior bank as tensors: ``features (K, C)``, ``srgb (K, 3)``, ``raw (K, R)``.

    :class:`rawkit.prior.PriorBank` holds NumPy arrays; converting once with
    :meth:`from_bank` (onto the network's device) avoids a copy per forward call.
    """

    features: torch.Tensor
    srgb: torch.Tensor
    raw: torch.Tensor

    @classmethod
    def from_bank(
        cls,
        bank: Any,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> BankTensors:
        """Tensors of any object with ``features``, ``srgb`` and ``raw`` arrays (a PriorBank).

        Example:
            >>> import numpy as np
            >>> b = BankTensors.from_bank(BankTensors(np.eye(2), np.zeros((2, 3)), np.ones((2, 4))))
            >>> b.features.dtype, tuple(b.raw.shape)
            (torch.float32, (2, 4))
        """
        out = []
        for name in cls._fields:
            if not hasattr(bank, name):
                raise TypeError(
                    f"bank: expected an object with features, srgb and raw arrays (a PriorBank "
                    f"or BankTensors), got {type(bank).__name__} without {name!r}"
                )
            a = getattr(bank, name)
            if isinstance(a, np.ndarray):
                a = torch.tensor(a)  # a copy: PriorBank arrays are read-only
            if not isinstance(a, torch.Tensor):
                raise TypeError(
                    f"bank.{name}: expected a tensor or ndarray, got {type(a).__name__}"
                )
            out.append(a.to(device=device, dtype=dtype))
        return cls(*out)


def _bank_like(bank: Any, like: torch.Tensor, feature_dim: int, raw_channels: int) -> BankTensors:
    """The bank on ``like``'s device and dtype, with its shapes checked."""
    b = BankTensors.from_bank(bank, device=like.device, dtype=like.dtype)
    k = b.features.shape[0] if b.features.ndim == 2 else -1
    want = {"features": feature_dim, "srgb": 3, "raw": raw_channels}
    for name, ch in want.items():
        t = getattr(b, name)
        if t.ndim != 2 or t.shape[0] != k or t.shape[1] != ch or k < 1:
            raise ValueError(
                f"bank.{name}: expected shape (K, {ch}) with K >= 1 entries shared by "
                f"features, srgb and raw, got {tuple(t.shape)} (features "
                f"{tuple(b.features.shape)})"
            )
    return b


# --------------------------------------------------------------------------- functions


def assemble_prior(
    features: torch.Tensor,
    bank: Any,
    *,
    temperature: float | torch.Tensor = 1.0,
    chunk_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Eq. 4 of PriorRAW: assemble the prior sRGB and RAW of every target pixel.

    :math:`\mathcal{F}sRGB_t, \mathcal{F}RAW_t = \mathrm{Softmax}(f_t \otimes f_r / \tau)
    \otimes [sRGB_r, RAW_r]`, one call of :func:`rawkit.search.assemble` (chunked: peak
    memory ``O(chunk_size x K)``).  Differentiable w.r.t. the features, the bank and a
    tensor ``temperature``.

    Args:
        features: target features ``(*, C, h, w)`` (the encoder's output).
        bank: features ``(K, C)``, srgb ``(K, 3)``, raw ``(K, R)`` (a
            :class:`BankTensors` or :class:`rawkit.prior.PriorBank`); cast to the
            features' device and dtype.
        temperature: softmax temperature ``tau > 0`` (float or 0-d tensor).
        chunk_size: target pixels per chunk (``None``: automatic).

    Returns:
        ``(FsRGB, FRAW)``: ``(*, 3, h, w)`` and ``(*, R, h, w)``.

    Example:
        >>> import torch
        >>> bank = BankTensors(torch.eye(2), torch.tensor([[0.0] * 3, [1.0] * 3]),
        ...                    torch.tensor([[0.1] * 4, [0.9] * 4]))
        >>> f = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1)
        >>> s, r = assemble_prior(f, bank, temperature=0.01)
        >>> round(float(s[0, 0, 0, 0]), 3), round(float(r[0, 0, 0, 0]), 3)
        (0.0, 0.1)
    """
    if not isinstance(features, torch.Tensor):
        raise TypeError(f"features: expected a torch.Tensor, got {type(features).__name__}")
    if features.ndim < 3:
        raise ValueError(f"features: expected shape (*, C, h, w), got {tuple(features.shape)}")
    raw = getattr(bank, "raw", None)
    raw_channels = raw.shape[-1] if isinstance(raw, (torch.Tensor, np.ndarray)) else 0
    b = _bank_like(bank, features, features.shape[-3], raw_channels)
    values = torch.cat([b.srgb, b.raw], dim=1)
    if isinstance(temperature, torch.Tensor):
        out = assemble(features / temperature, b.features, values, chunk_size=chunk_size)
    else:
        out = assemble(features, b.features, values, temperature=temperature, chunk_size=chunk_size)
    out = cast(torch.Tensor, out)  # tensors in, tensor out
    return out[..., :3, :, :], out[..., 3:, :, :]


def distance_map(assembled_srgb: torch.Tensor, srgb: torch.Tensor) -> torch.Tensor:
    r"""Eq. 5 of PriorRAW: :math:`\mathcal{D} = |\mathcal{F}sRGB_t - sRGB_t|`.

    Args:
        assembled_srgb: ``(*, 3, h, w)`` from :func:`assemble_prior`.
        srgb: the target sRGB on the same grid ``(*, 3, h, w)``: the full-resolution
            image averaged over 2x2 blocks (as :func:`rawkit.prior.build_prior_bank`
            pools the bank's sRGB).

    Returns:
        ``(*, 3, h, w)``, ``>= 0``.

    Example:
        >>> import torch
        >>> distance_map(torch.tensor([0.2, 0.5]), torch.tensor([0.5, 0.5]))
        tensor([0.3000, 0.0000])
    """
    for name, t in (("assembled_srgb", assembled_srgb), ("srgb", srgb)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            what = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(f"{name}: expected a floating torch.Tensor, got {what}")
    if assembled_srgb.shape != srgb.shape:
        raise ValueError(
            f"srgb: expected the shape of assembled_srgb {tuple(assembled_srgb.shape)}, "
            f"got {tuple(srgb.shape)}"
        )
    return (assembled_srgb - srgb).abs()
