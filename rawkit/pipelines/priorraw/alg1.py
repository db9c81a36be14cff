r"""Alg. 1 of PriorRAW: contrastive training of the Pixel Searching Encoder.

The paper's box, line by line, and where each line is here::

    1: procedure CONTRASTIVETRAINING(data_t, Encoder)         train_encoder(data, ...)
    2:   for each (sRGB_t, sRGB_r, RAW_t, RAW_r) in data_t      a batch of random crops:
                                                                the first ``targets`` are
                                                                targets, every crop of
                                                                another scene a reference
    3:     f_t <- Encoder(sRGB_t)                               features = model(srgb)
    4:     f_r <- Encoder(sRGB_r)                               (the same pass)
    5:     A <- f_t x f_r                                       alg1_loss: Eq. 2
    6:     A_s <- Softmax(A)                                    Eq. 3, temperature tau
    7:     FRAW_t <- A_s x RAW_r                                rawkit.search.assemble
    8:     loss <- Loss(FRAW_t, RAW_t)                          MSE (L2)
    9:     Encoder.update_weights(loss)                         rawkit.engine.train (Adam)

**References** (the paper: "separate batches from the reference set").  With
``targets`` set, only the first ``targets`` crops of a batch are targets and the whole
batch serves as their reference set, so the references outnumber the targets (e.g. 4
targets against 24 reference crops) and change every step.  A target never takes
references from its own scene (group): its RAW is assembled from other scenes only, as
at inference.  The encoder starts as a soft nearest-neighbour search on the 2x2
blocks' sRGB (:class:`rawkit.nets.PixelSearchEncoder`'s block initialisation, which
sees brightness) with a sharp learnable temperature (``tau = 1e-3``), so Alg. 1
refines a working search instead of starting blind.

Only the embeddings and the temperature learn; the reference RAW is fixed.  rawkit
works on the packed grid ``(4, H/2, W/2)`` (the encoder's output resolution), where the
paper's NUS experiments use demosaiced RAW-RGB; the method is the same.

Example:
    >>> import torch
    >>> f = torch.nn.functional.normalize(torch.randn(3, 4, 2, 2), dim=1)
    >>> loss = alg1_loss(f, torch.rand(3, 4, 2, 2), torch.tensor([0, 1, 1]), 0.1)
    >>> loss.ndim, bool(loss >= 0)
    (0, True)
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rawkit._checks import check_int
from rawkit.data.pairs import PairSet
from rawkit.nets import PixelSearchEncoder
from rawkit.pipelines._common import RandomCrops, TrainResult, crops_length, train_on_crops
from rawkit.pipelines.priorraw.config import DEFAULTS
from rawkit.search import assemble

__all__ = ["alg1_loss", "build_encoder", "train_encoder"]


def _device_of(device: torch.device | str | None, module: nn.Module | None) -> torch.device:
    """``device`` if given, else where ``module``'s parameters are, else the CPU."""
    if device is not None:
        return torch.device(device)
    if module is not None:
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


def _check_encoder(encoder: Any) -> PixelSearchEncoder:
    """``encoder`` if it is a :class:`rawkit.nets.PixelSearchEncoder`; TypeError otherwise."""
    if not isinstance(encoder, PixelSearchEncoder):
        raise TypeError(
            f"encoder: expected a rawkit.nets.PixelSearchEncoder, got {type(encoder).__name__}"
        )
    return encoder


def _frozen(encoder: PixelSearchEncoder, device: torch.device) -> PixelSearchEncoder:
    """The encoder on ``device``, in eval mode, parameters _frozen (so a bank stays valid)."""
    return encoder.to(device).eval().requires_grad_(False)


def build_encoder(
    *,
    dim: int = DEFAULTS.encoder_dim,
    width: int = DEFAULTS.encoder_width,
    blocks: int = DEFAULTS.encoder_blocks,
    seed: int = 0,
) -> PixelSearchEncoder:
    """An untrained Pixel Searching Encoder with the config's architecture."""
    return PixelSearchEncoder(dim=dim, width=width, blocks=blocks, seed=seed)


def alg1_loss(
    features: torch.Tensor,
    raw: torch.Tensor,
    groups: torch.Tensor,
    temperature: Any,
    *,
    targets: int | None = None,
) -> torch.Tensor:
    r"""Lines 5-8 of Alg. 1 for a batch: targets assembled from the others' RAW, L2 to their own.

    The targets are the first ``targets`` crops (every crop if None).  For target ``i``,
    the references are the pixels of every crop of another group (scene) in the batch
    (all other crops if the batch holds one group only):
    ``FRAW_i = Softmax(f_i f_r^T / tau) RAW_r`` (Eq. 2-3, chunked
    :func:`rawkit.search.assemble`), and the loss is the mean over targets of
    ``MSE(FRAW_i, RAW_i)``.  Differentiable w.r.t. the features and a tensor
    ``temperature``.

    Args:
        features: ``(B, C, h, w)`` encoder output for the batch, ``B >= 2``.
        raw: ``(B, R, h, w)`` the batch's packed RAW.
        groups: ``(B,)`` int group (scene) of each crop.
        temperature: ``tau`` (float or 0-d tensor, e.g. ``encoder.temperature``).
        targets: how many of the first crops are targets (1 to ``B``); None: all.

    Returns:
        The scalar loss.
    """
    b, c = features.shape[:2]
    if b < 2:
        raise ValueError(f"features: Alg. 1 needs at least 2 crops per batch, got {b}")
    if raw.shape[0] != b or raw.shape[-2:] != features.shape[-2:]:
        raise ValueError(
            f"raw: expected ({b}, R, {features.shape[-2]}, {features.shape[-1]}), got {tuple(raw.shape)}"
        )
    n_t = b if targets is None else check_int(targets, "targets", minimum=1)
    if n_t > b:
        raise ValueError(f"targets: expected at most the batch size {b}, got {n_t}")
    f_pts = features.movedim(1, -1)  # (B, h, w, C)
    r_pts = raw.movedim(1, -1)
    ids = torch.arange(b, device=features.device)
    losses = []
    for i in range(n_t):
        ref = groups != groups[i]
        if not bool(ref.any()):
            ref = ids != i
        f_r = f_pts[ref].reshape(-1, c)
        v_r = r_pts[ref].reshape(-1, raw.shape[1])
        out = assemble(features[i] / temperature, f_r, v_r)  # Eq. 2-3 (lines 5-7)
        losses.append(F.mse_loss(out, raw[i]))  # line 8
    return torch.stack(losses).mean()


def _alg1_step(targets: int | None) -> Any:
    def step(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        enc = getattr(model, "module", model)  # the DDP wrapper holds the encoder as .module
        f = model(batch["srgb"])  # lines 3-4: targets and references in one pass
        return alg1_loss(f, batch["packed"], batch["group"], enc.temperature, targets=targets)

    return step


def train_encoder(
    data: Any,
    *,
    encoder: PixelSearchEncoder | None = None,
    steps: int = DEFAULTS.encoder_steps,
    batch_size: int = DEFAULTS.encoder_batch_size,
    crop: int = DEFAULTS.encoder_crop,
    lr: float = DEFAULTS.encoder_lr,
    schedule: str = DEFAULTS.schedule,
    seed: int = 0,
    targets: int | None = None,
    device: torch.device | str | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Alg. 1: train the Pixel Searching Encoder by softmax assembly (module notes).

    Args:
        data: the training images (a :class:`rawkit.data.PairSet`, or anything
            :meth:`~rawkit.data.PairSet.from_any` takes); crops of different groups
            (scenes) serve as each other's references.
        encoder: the network to train (in place); ``None`` builds :func:`build_encoder`.
        steps, batch_size, lr, seed, device, checkpoint_dir, progress: as
            :func:`rawkit.engine.train` (Adam); defaults from :class:`PriorRAWConfig`.
        schedule: ``"cosine"`` (decay to 0 over ``steps``) or ``"constant"``.
        crop: side of the random sRGB crops (even).
        targets: target crops per batch (the first ones); the whole batch is their
            reference set (other scenes only).  None: every crop is a target.

    Returns:
        :class:`~rawkit.pipelines.TrainResult` with the trained encoder (its learned
        temperature is ``encoder.temperature``).

    Raises:
        TypeError, ValueError: bad data or settings (``batch_size < 2``, crops larger
            than the images), before any training.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> data = [(torch.rand(3, 16, 16, generator=g), torch.rand(4, 8, 8, generator=g), str(i))
        ...         for i in range(2)]
        >>> enc = build_encoder(dim=4, width=4, blocks=1)
        >>> res = train_encoder(data, encoder=enc, steps=2, batch_size=2, crop=8, progress=False)
        >>> len(res.history.train_loss), res.model is enc
        (2, True)
    """
    pairs = PairSet.from_any(data)
    check_int(batch_size, "batch_size", minimum=2)
    if targets is not None:
        check_int(targets, "targets", minimum=1)
        if targets >= batch_size:
            raise ValueError(
                f"targets: expected fewer than batch_size={batch_size} (the rest are references), got {targets}"
            )
    encoder = build_encoder(seed=seed) if encoder is None else _check_encoder(encoder)
    crops = RandomCrops(pairs, crop=crop, length=crops_length(steps, batch_size), seed=seed)
    encoder.requires_grad_(True)
    return train_on_crops(
        encoder, _alg1_step(targets), crops, steps=steps, batch_size=batch_size, lr=lr,
        schedule=schedule, seed=seed, device=device, checkpoint_dir=checkpoint_dir,
        progress=progress, desc="Alg. 1 encoder",
    )  # fmt: skip
