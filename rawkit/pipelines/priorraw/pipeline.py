r"""PriorRAW as a registered pipeline (``"priorraw"``): Alg. 1, 2 and 3 composed.

:meth:`PriorRAW.fit` runs the three algorithms in order on one
:class:`rawkit.data.PairSet` (the training images are also the reference set of the
bank, as in the paper's set-up where both come from the same camera):

1. :func:`~rawkit.pipelines.priorraw.alg1.train_encoder` - the Pixel Searching Encoder;
2. :func:`~rawkit.pipelines.priorraw.alg2.build_bank` - the prior bank (and, for
   ``search="full"``, :func:`~rawkit.pipelines.priorraw.alg2.reference_set`);
3. :func:`~rawkit.pipelines.priorraw.alg3.train_reconstructor` - the Table 1 row of
   ``config.ablation`` with the loss of Eq. 9 (nothing for ``"assembled"``).

Reconstruction is Alg. 3 per tile (:func:`~rawkit.pipelines.priorraw.alg3.reconstruct_tile`)
through the shared tiled inference of :class:`~rawkit.pipelines.base.Pipeline`.
Saving stores the encoder, the reconstructor and the bank as tensors in the shared
format; the bank's ``encoder_id`` is recomputed from the loaded encoder.

**Shared stages.**  Each stage's result is a deterministic function of the data, the
settings it reads and the seed, so fits of several Table 1 rows on the *same*
``PairSet`` object share the stages they have in common (the encoder and the bank for
every row; the reconstructor of ``non_local`` for ``non_local_full``, which differs
only in what Eq. 4 searches at inference).  The shared results live as long as the
``PairSet``; ``info["shared"]`` names the stages a fit took over.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> data = [(torch.rand(3, 32, 32, generator=g), torch.rand(4, 16, 16, generator=g), str(i))
    ...         for i in range(2)]
    >>> cfg = PriorRAWConfig(encoder_dim=4, encoder_width=4, encoder_blocks=1, encoder_steps=2,
    ...                      encoder_batch_size=2, encoder_crop=16, n_clusters=8, group_size=2,
    ...                      niter=2, width=4, depth=1, steps=2, batch_size=2, crop=24)
    >>> pipe = PriorRAW.fit(data, cfg, progress=False)
    >>> pipe.reconstruct(torch.rand(3, 20, 28, generator=g)).shape
    torch.Size([4, 10, 14])
"""

from __future__ import annotations

import copy
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch

from rawkit._tensor import to_tensor
from rawkit.data.pairs import PairSet
from rawkit.nets import BankTensors, PixelSearchEncoder, PriorRAWNet
from rawkit.pipelines._common import module_id
from rawkit.pipelines.base import Pipeline, register
from rawkit.pipelines.priorraw.alg1 import _frozen, build_encoder, train_encoder
from rawkit.pipelines.priorraw.alg2 import build_bank, reference_set
from rawkit.pipelines.priorraw.alg3 import reconstruct_tile, train_reconstructor
from rawkit.pipelines.priorraw.config import TABLE1, PriorRAWConfig
from rawkit.prior import PriorBank

__all__ = ["PriorRAW"]

_ALG1 = ("encoder_dim", "encoder_width", "encoder_blocks", "encoder_steps",
         "encoder_batch_size", "encoder_targets", "encoder_crop", "encoder_lr",
         "schedule")  # fmt: skip
_ALG2 = ("n_clusters", "group_size", "niter")
_ALG3 = ("ablation", "width", "depth", "heads", "steps", "batch_size", "crop", "lr",
         "schedule", "alpha", "beta", "l2", "base", "camera", "holdout_folds")  # fmt: skip

#: PairSet -> {stage key: result}; entries vanish with the PairSet.
_SHARED: weakref.WeakKeyDictionary[PairSet, dict[tuple[Any, ...], Any]] = (
    weakref.WeakKeyDictionary()
)


def _bank_tensors(bank: PriorBank, prefix: str) -> dict[str, torch.Tensor]:
    out = {f"{prefix}.{k}": to_tensor(getattr(bank, k)) for k in ("features", "srgb", "raw")}
    out[f"{prefix}.n_reference"] = torch.tensor(
        -1 if bank.n_reference is None else bank.n_reference
    )
    return out


def _bank_from(tensors: Mapping[str, torch.Tensor], prefix: str, encoder_id: str) -> PriorBank:
    f, s, r = (tensors[f"{prefix}.{k}"].numpy() for k in ("features", "srgb", "raw"))
    n = int(tensors[f"{prefix}.n_reference"])
    return PriorBank(f, s, r, encoder_id=encoder_id, n_reference=None if n < 0 else n)


@register
class PriorRAW(Pipeline):
    """PriorRAW: prior-metadata RAW reconstruction without per-image metadata (module notes).

    Attributes (after :meth:`fit` or :meth:`load`): ``encoder``
    (:class:`rawkit.nets.PixelSearchEncoder`, None for ``"srgb"``), ``bank``
    (:class:`rawkit.prior.PriorBank`), ``reference`` (the full reference set for
    ``search="full"``), ``net`` (:class:`rawkit.nets.PriorRAWNet`, None for
    ``"assembled"``).
    """

    name = "priorraw"
    Config = PriorRAWConfig
    learned = True
    validates = True
    description = "PriorRAW: RAW from sRGB with a prior bank, no per-image metadata (Alg. 1-3)"
    variants: ClassVar[Mapping[str, Mapping[str, Any]]] = TABLE1
    config: PriorRAWConfig

    def __init__(self, config: PriorRAWConfig | None = None) -> None:
        super().__init__(config)
        self.encoder: PixelSearchEncoder | None = None
        self.net: PriorRAWNet | None = None
        self.bank: PriorBank | None = None
        self.reference: PriorBank | None = None
        self._on_device: dict[torch.device, tuple[BankTensors | None, BankTensors | None]] = {}

    # ------------------------------------------------------------------ training

    def check_training_data(self, data: PairSet | None) -> None:
        """Crops that fit the images and a bank no larger than the reference pixels."""
        if data is None:  # fit() refuses None for learned pipelines already
            return
        c = self.config
        side = data.min_side
        crops = [("crop", c.crop)] if c.ablation != "assembled" else []
        if c.uses_prior:
            crops.append(("encoder_crop", c.encoder_crop))
        for name, v in crops:
            if v > side:
                raise ValueError(
                    f"{name}: {v} is larger than the smallest training image side ({side}); "
                    "use a smaller crop or larger images"
                )
        pixels = sum(p.packed.shape[-1] * p.packed.shape[-2] for p in data)
        folds = c.holdout_folds if c.ablation not in ("assembled", "srgb") else 0
        if folds and len(data.groups) < folds:
            raise ValueError(
                f"holdout_folds: {folds} folds need at least {folds} scenes (pair groups) in "
                f"the training data, got {len(data.groups)}; pass holdout_folds=0 to assemble "
                "the training images' Eq. 4 maps from the bank of all of them"
            )
        if c.uses_prior and max(c.n_clusters, c.group_size) > pixels:
            raise ValueError(
                f"n_clusters, group_size: {c.n_clusters} and {c.group_size} must not exceed "
                f"the {pixels} reference pixels of the training data"
            )

    def _stage(self, data: PairSet, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        shared = _SHARED.setdefault(data, {})
        if key in shared:
            self.info.setdefault("shared", []).append(key[0])
            return copy.deepcopy(shared[key])
        t0 = time.perf_counter()
        out = make()
        self.info.setdefault("seconds", {})[key[0]] = time.perf_counter() - t0
        shared[key] = copy.deepcopy(out)
        return out

    def _fit(self, data: PairSet, *, seed: int, progress: bool, val: PairSet | None = None) -> None:
        """Alg. 1-3 in turn; with ``val``, Alg. 3 is validated every 250 steps
        (``info["curve"]``: step, ``val_psnr``) and keeps its best weights
        (``info["best_step"]``)."""
        c = self.config
        k1 = ("encoder", seed, *(getattr(c, n) for n in _ALG1))
        k2 = ("bank", *k1[1:], *(getattr(c, n) for n in _ALG2))
        k3 = ("reconstructor", *(k2[1:] if c.uses_prior else (seed,)),
              *(getattr(c, n) for n in _ALG3))  # fmt: skip
        enc = bank = None
        if c.uses_prior:
            enc = self._stage(data, k1, lambda: train_encoder(
                data, encoder=build_encoder(dim=c.encoder_dim, width=c.encoder_width,
                                            blocks=c.encoder_blocks, seed=seed),
                steps=c.encoder_steps, batch_size=c.encoder_batch_size, crop=c.encoder_crop,
                targets=min(c.encoder_targets, c.encoder_batch_size - 1),
                lr=c.encoder_lr, schedule=c.schedule, seed=seed, progress=progress,
            ).model)  # fmt: skip
            bank = self._stage(data, k2, lambda: build_bank(
                enc, data, n_clusters=c.n_clusters, group_size=c.group_size, niter=c.niter,
                seed=seed, progress=progress,
            ))  # fmt: skip
            if c.search == "full":
                self.reference = self._stage(
                    data, ("reference", *k1[1:]), lambda: reference_set(enc, data)
                )
        folds = None
        if c.ablation not in ("assembled", "srgb") and c.holdout_folds >= 2:
            folds = self._stage(data, ("fold_banks", *k2[1:], c.holdout_folds),
                                lambda: self._fold_banks(enc, data, seed=seed, progress=progress))  # fmt: skip
        if c.ablation != "assembled":

            def alg3() -> Any:
                res = train_reconstructor(
                    data, encoder=enc, bank=bank, image_banks=folds, ablation=c.ablation,
                    width=c.width, depth=c.depth, heads=c.heads, steps=c.steps,
                    batch_size=c.batch_size, crop=c.crop, lr=c.lr, schedule=c.schedule,
                    alpha=c.alpha, beta=c.beta, l2=c.l2, seed=seed, progress=progress, val_data=val,
                    **c.net_base(),
                )  # fmt: skip
                if val is not None:
                    curve = [
                        {"step": int(v["step"]), "val_psnr": v["psnr"]} for v in res.history.val
                    ]
                    self.info["curve"] = curve
                    self.info["best_step"] = max(curve, key=lambda v: v["val_psnr"])["step"]
                return res.model

            # a validated run keeps its best weights: not shared with unvalidated fits
            self.net = alg3() if val is not None else self._stage(data, k3, alg3)
            self.net.eval()  # type: ignore[union-attr]
        self.encoder, self.bank = enc, bank
        self._on_device.clear()

    def _fold_banks(
        self, enc: PixelSearchEncoder, data: PairSet, *, seed: int, progress: bool
    ) -> list[PriorBank]:
        """One Alg. 2 bank per training pair, built from the scenes outside its fold.

        Scenes (the pairs' groups, sorted) go to fold ``rank % holdout_folds``; the bank
        of fold ``k`` has the settings of the main bank (at most as many entries as its
        reference pixels).
        """
        c = self.config
        fold_of = {g: i % c.holdout_folds for i, g in enumerate(data.groups)}
        banks = []
        for k in range(c.holdout_folds):
            rest = PairSet([p for p in data if fold_of[p.group] != k])
            pixels = sum(p.packed.shape[-1] * p.packed.shape[-2] for p in rest)
            banks.append(build_bank(
                enc, rest, n_clusters=min(c.n_clusters, pixels), group_size=c.group_size,
                niter=c.niter, seed=seed, progress=progress,
            ))  # fmt: skip
        return [banks[fold_of[p.group]] for p in data]

    def assembled_only(self) -> PriorRAW:
        """Table 1's "Clustering and Grouping" row of this trained pipeline: Eq. 4 alone
        over its bank (the same encoder and bank, no reconstructor).

        Example:
            >>> import torch
            >>> g = torch.Generator().manual_seed(0)
            >>> data = [(torch.rand(3, 32, 32, generator=g), torch.rand(4, 16, 16, generator=g), s)
            ...         for s in ("a", "b")]
            >>> cfg = PriorRAWConfig(encoder_dim=8, encoder_width=8, encoder_blocks=1,
            ...     encoder_steps=2, encoder_batch_size=2, encoder_crop=16, n_clusters=8,
            ...     group_size=2, niter=2, width=8, depth=1, steps=2, batch_size=1, crop=24)
            >>> eq4 = PriorRAW.fit(data, cfg, progress=False).assembled_only()
            >>> eq4.config.ablation, eq4.net is None, eq4.reconstruct(torch.rand(3, 16, 16)).shape
            ('assembled', True, torch.Size([4, 8, 8]))
        """
        self._check_fitted()
        if self.encoder is None or self.bank is None:
            raise ValueError(f"self: the {self.config.ablation!r} row has no encoder or bank")
        out = PriorRAW(self.config.replace(ablation="assembled", search="bank"))
        out.encoder, out.bank = self.encoder, self.bank
        out.info = {**self.info, "derived_from": self.config.ablation}
        out.fitted = True
        return out

    # ------------------------------------------------------------------ inference

    def _searched(self, dev: torch.device) -> tuple[BankTensors | None, BankTensors | None]:
        if dev not in self._on_device:
            bank = None if self.bank is None else BankTensors.from_bank(self.bank, device=dev)
            ref = self.reference if self.config.search == "full" else None
            search = bank if ref is None else BankTensors.from_bank(ref, device=dev)
            self._on_device[dev] = (bank, search)
        return self._on_device[dev]

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        bank, search = self._searched(srgb.device)
        enc = None if self.encoder is None else _frozen(self.encoder, srgb.device)
        net = None if self.net is None else self.net.to(srgb.device).eval()
        return reconstruct_tile(net, srgb, encoder=enc, bank=bank, search=search)

    # ------------------------------------------------------------------ weights

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if self.encoder is not None:
            out.update({f"encoder.{k}": v for k, v in self.encoder.state_dict().items()})
        if self.net is not None:
            out.update({f"net.{k}": v for k, v in self.net.state_dict().items()})
            out["net_temperature"] = torch.tensor(self.net.temperature, dtype=torch.float64)
        if self.bank is not None:
            out.update(_bank_tensors(self.bank, "bank"))
        if self.reference is not None:
            out.update(_bank_tensors(self.reference, "reference"))
        return out

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        c = self.config

        def part(prefix: str) -> dict[str, torch.Tensor]:
            return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

        if c.uses_prior:
            self.encoder = build_encoder(
                dim=c.encoder_dim, width=c.encoder_width, blocks=c.encoder_blocks
            )
            self.encoder.load_state_dict(part("encoder."))
            self.encoder.eval().requires_grad_(False)
            eid = module_id(self.encoder)
            self.bank = _bank_from(tensors, "bank", eid)
            if c.search == "full":
                self.reference = _bank_from(tensors, "reference", eid)
        if c.ablation != "assembled":
            self.net = PriorRAWNet.from_ablation(
                c.ablation, feature_dim=c.encoder_dim, width=c.width, depth=c.depth,  # type: ignore[arg-type]
                heads=c.heads, temperature=float(tensors["net_temperature"]), **c.net_base(),
            )  # fmt: skip
            self.net.load_state_dict(part("net."))
            self.net.eval()
        self._on_device.clear()
