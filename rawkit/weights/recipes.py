"""The recipes that trained the shipped weights, and their cards.

``python -m rawkit.weights.recipes srgb_unet --preset default --steps 3000 --out DIR``
retrains the sRGB-only U-Net exactly as shipped (same data, seeds, crops and schedule)
and writes the pipeline folder with its ``card.json``; ``encoder`` trains the PriorRAW
Pixel Searching Encoder by Alg. 1 (references from other scenes only, a large
reference set, a learned temperature).

Data (:func:`rawkit.data.benchmark_pairs`, the pairs of ``rawkit bench quality --preset
default``): the benchmark camera (``nikon_d5100``) on the bundled photos' fixed splits
(:data:`rawkit.data.SPLITS`): 4 pairs per train photo (80 pairs), 2 per validation and
test photo, every photo shrunk to 256 pixels on its long side, each pair with its own
seed (:func:`rawkit.data.pair_seed`).

Training: Adam, learning rate decayed to 0 on a cosine, random even-offset crops drawn
from one seeded ``torch.Generator``, one intra-op thread; the validation PSNR (packed
RAW, ``data_range=1``, mean over the validation pairs, whole images) is logged every
``val_every`` steps into the card's ``curve``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rawkit.data import BENCHMARK_CAMERA, benchmark_pairs
from rawkit.losses import l2_ssim_loss
from rawkit.metrics import psnr

__all__ = [
    "DATA_NOTE",
    "FULL_RECIPES",
    "bank_vs_full",
    "complete_card",
    "crops",
    "evaluate",
    "evaluate_shipped",
    "run_full",
    "split_tensors",
    "train_srgb_unet",
    "write_card",
]

CAMERA = BENCHMARK_CAMERA

Triple = tuple[torch.Tensor, torch.Tensor, str]


def split_tensors(
    split: str, *, preset: str = "default", per_photo: int | None = None, max_side: int = 256
) -> list[Triple]:
    """``(srgb, packed, photo)`` tensors of a split of :func:`rawkit.data.benchmark_pairs`.

    Example:
        >>> p = split_tensors("test", per_photo=1, max_side=32)
        >>> len(p), tuple(p[0][0].shape), p[0][2]
        (5, (3, 20, 32), 'kodim05')
    """
    return [
        (torch.from_numpy(p.srgb), torch.from_numpy(p.packed), p.photo)
        for p in benchmark_pairs(split, preset=preset, per_photo=per_photo, max_side=max_side)
    ]


def crops(
    pairs: Sequence[Triple], n: int, crop: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """``n`` random ``crop x crop`` sRGB crops (even offsets) with their packed RAW and photo."""
    s, r, names = [], [], []
    for _ in range(n):
        i = int(torch.randint(len(pairs), (1,), generator=generator))
        srgb, packed, name = pairs[i]
        h, w = srgb.shape[-2:]
        y = 2 * int(torch.randint((h - crop) // 2 + 1, (1,), generator=generator))
        x = 2 * int(torch.randint((w - crop) // 2 + 1, (1,), generator=generator))
        torch.rand(
            (), generator=generator
        )  # one draw per crop reserved (no flips): keeps the shipped runs' sequence
        s.append(srgb[:, y : y + crop, x : x + crop])
        r.append(packed[:, y // 2 : (y + crop) // 2, x // 2 : (x + crop) // 2])
        names.append(name)
    return torch.stack(s), torch.stack(r), names


def evaluate(fn: Callable[[torch.Tensor], Any], pairs: Sequence[Triple]) -> float:
    """Mean PSNR (dB, packed RAW, ``data_range=1``) of ``fn(srgb (1,3,H,W))`` over ``pairs``."""
    vals = []
    with torch.no_grad():
        for srgb, packed, _ in pairs:
            out = torch.as_tensor(fn(srgb[None]))[0].clamp(0, 1)
            vals.append(float(psnr(out, packed, data_range=1.0)))
    return float(np.mean(vals))


def _cpu() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def train_srgb_unet(
    *, preset: str = "default", steps: int = 3000, seed: int = 0, val_every: int = 250,
    width: int = 16, depth: int = 4, batch_size: int = 8, crop: int = 96, lr: float = 1e-3,
    init: str | Path | None = None, crop_seed: int | None = None, beta: float = 1.0,
    l2: str = "mse", log: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Any, list[dict[str, Any]]]:  # fmt: skip
    """Train the ``srgb_unet`` pipeline's network as shipped; returns ``(pipeline, curve)``.

    ``init``: a saved ``srgb_unet`` folder to continue from (a second cosine cycle);
    ``crop_seed``: seed of the crops (default ``seed``); ``beta``: the weight of
    ``1 - SSIM`` in Eq. 9; ``l2``: its L2 term (``"psnr"``: minus each crop's PSNR, what the
    benchmark averages; :func:`rawkit.losses.l2_ssim_loss`).  The pipeline returned holds the
    weights of the best validation PSNR of the curve (its step in ``info["best_step"]``).
    """
    from rawkit.pipelines import get

    torch.set_num_threads(1)
    train, val = split_tensors("train", preset=preset), split_tensors("val", preset=preset)
    cls: Any = get("srgb_unet")
    pipe = cls(
        cls.Config(
            width=width,
            depth=depth,
            steps=steps,
            batch_size=batch_size,
            crop=crop,
            lr=lr,
            beta=beta,
            l2=l2,
        )
    )
    from rawkit.nets import UNet

    net = UNet(width=width, depth=depth, seed=seed, head=None, **pipe.config.net_base())
    if init is not None:
        from rawkit.pipelines import Pipeline

        net.load_state_dict(Pipeline.load(init).state_tensors())
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    g = torch.Generator().manual_seed(seed if crop_seed is None else crop_seed)
    curve: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    t0, c0 = time.time(), _cpu()
    for step in range(1, steps + 1):
        net.train()
        s, r, _ = crops(train, batch_size, crop, g)
        loss = l2_ssim_loss(net(s), r, data_range=1.0, beta=beta, l2=l2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % val_every == 0 or step == steps:
            net.eval()
            curve.append({"step": step, "val_psnr": evaluate(net, val), "loss": float(loss.detach()),
                          "wall_s": time.time() - t0, "cpu_s": _cpu() - c0})  # fmt: skip
            if best is None or curve[-1]["val_psnr"] > best[0]:
                best = (curve[-1]["val_psnr"], step, copy.deepcopy(net.state_dict()))
            if log is not None:
                log(curve[-1])
    assert best is not None
    pipe.load_state_tensors(best[2])  # the weights of the best validation PSNR
    pipe.info["best_step"] = best[1]
    pipe.fitted = True
    return pipe, curve


def write_card(folder: str | Path, card: dict[str, Any]) -> Path:
    """Write ``card.json`` (sorted keys, 2-space indent) into a saved pipeline folder."""
    from rawkit.io import atomic_write

    path = Path(folder) / "card.json"
    with atomic_write(path, overwrite=True) as f:
        f.write((json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return path


def train_priorraw(
    *, preset: str = "default", encoder_steps: int = 100, steps: int = 1500, seed: int = 0,
    progress: bool = True, init: str | Path | None = None, lr: float = 5e-4,
    beta: float = 1.0, l2: str = "mse",
) -> Any:  # fmt: skip
    """Fit the ``priorraw`` pipeline as shipped (Alg. 1-3 through ``PriorRAW.fit``).

    ``lr``, ``beta``, ``l2``: Alg. 3's learning rate and loss (Eq. 9); Alg. 3 is validated
    on the validation split every 250 steps and keeps its best weights (``info["curve"]``).  With ``init`` (a saved ``priorraw`` folder), only
    Alg. 3 continues for ``steps`` more steps from its reconstructor (crop seed
    ``seed``), with its encoder and bank unchanged (a second cosine cycle).
    """
    from rawkit.data import PairSet
    from rawkit.pipelines import Pipeline, get
    from rawkit.pipelines.priorraw import train_reconstructor

    torch.set_num_threads(1)
    pairs = PairSet.from_any(split_tensors("train", preset=preset))
    if init is not None:
        p: Any = Pipeline.load(init)
        c = p.config
        res = train_reconstructor(pairs, encoder=p.encoder, bank=p.bank, ablation=c.ablation,
                                  model=p.net, steps=steps, batch_size=c.batch_size, crop=c.crop,
                                  lr=lr, schedule="cosine", alpha=c.alpha, beta=c.beta, l2=c.l2, seed=seed,
                                  progress=progress)  # fmt: skip
        p.net = res.model.eval()
        p.config = c.replace(steps=c.steps + steps)
        return p
    cls: Any = get("priorraw")
    cfg = cls.Config(
        encoder_steps=encoder_steps,
        steps=steps,
        batch_size=8,
        crop=96,
        width=16,
        depth=4,
        lr=lr,
        beta=beta,
        l2=l2,
    )
    val = PairSet.from_any(split_tensors("val", preset=preset))
    return cls.fit(pairs, cfg, seed=seed, progress=progress, val_data=val)


def evaluate_shipped(*, preset: str = "default", split: str = "test") -> dict[str, float]:
    """Mean PSNR (dB) on a split of the references, the NN-search baseline (fitted on the
    train split), the shipped ``srgb_unet`` and ``priorraw`` and PriorRAW's Eq. 4 alone
    (bank, no network)."""
    from rawkit.data import generic_inverse, oracle_inverse
    from rawkit.pipelines import get, pretrained
    from rawkit.pipelines.priorraw import assemble_raw

    torch.set_num_threads(1)
    syn = benchmark_pairs(split, preset=preset)
    pairs = [(torch.from_numpy(p.srgb), torch.from_numpy(p.packed), p.photo) for p in syn]
    out: dict[str, float] = {}
    out["oracle"] = float(
        np.mean([float(psnr(oracle_inverse(p), p.packed, data_range=1.0)) for p in syn])
    )
    out["generic_inverse"] = evaluate(
        lambda x: generic_inverse(x.double(), camera=CAMERA).float(), pairs
    )
    rbf = get("rbf_metadata")()
    out["rbf_metadata_1_256"] = float(np.mean([float(psnr(
        rbf.reconstruct(p.srgb, metadata=rbf.encode_metadata(p.packed, p.srgb)), p.packed,
        data_range=1.0)) for p in syn]))  # fmt: skip
    nn = get("nn_search").fit(split_tensors("train", preset=preset), progress=False)
    out["nn_search"] = evaluate(lambda x: nn.reconstruct(x), pairs)
    unet: Any = pretrained("srgb_unet")
    prior: Any = pretrained("priorraw")
    out["srgb_unet"] = evaluate(lambda x: unet.reconstruct(x), pairs)
    out["priorraw"] = evaluate(lambda x: prior.reconstruct(x), pairs)
    out["priorraw_eq4_bank"] = evaluate(
        lambda x: assemble_raw(x, encoder=prior.encoder, bank=prior.bank), pairs
    )
    return out


def bank_vs_full(
    *,
    preset: str = "default",
    split: str = "test",
    crop: int = 64,
    folder: str | Path | None = None,
) -> dict[str, float]:
    """Eq. 4 over the Alg. 2 bank vs over every reference pixel (Table 1's "Pixel
    Searching"), for the shipped PriorRAW (or the one in ``folder``).

    Searching the full reference set (every packed pixel of the 80 training pairs,
    904,704 on the default preset) costs ``N`` dot products per target pixel, so both are measured
    on the central ``crop x crop`` sRGB window of each pair of ``split``: mean PSNR (dB)
    of the assembled RAW alone (``eq4_bank``, ``eq4_full``) and of the full reconstructor
    searching either (``priorraw_bank``, ``priorraw_full``; same windows).
    """
    from rawkit.pipelines import Pipeline, pretrained
    from rawkit.pipelines.priorraw import assemble_raw, reference_set
    from rawkit.pipelines.priorraw import reconstruct as reconstruct_priorraw

    torch.set_num_threads(1)
    pipe: Any = pretrained("priorraw") if folder is None else Pipeline.load(folder)
    full = reference_set(pipe.encoder, split_tensors("train", preset=preset))
    wins = []
    for srgb, packed, name in split_tensors(split, preset=preset):
        h, w = srgb.shape[-2:]
        y, x = (h - crop) // 4 * 2, (w - crop) // 4 * 2
        wins.append((srgb[:, y : y + crop, x : x + crop],
                     packed[:, y // 2 : (y + crop) // 2, x // 2 : (x + crop) // 2], name))  # fmt: skip
    out = {"reference_pixels": float(len(full.raw)), "bank_entries": float(len(pipe.bank.raw))}
    for key, search in (("bank", pipe.bank), ("full", full)):

        def eq4(t: torch.Tensor, b: Any = search) -> Any:
            return assemble_raw(t, encoder=pipe.encoder, bank=b, tile=crop)

        def whole(t: torch.Tensor, b: Any = search) -> Any:
            return reconstruct_priorraw(
                t, model=pipe.net, encoder=pipe.encoder, bank=pipe.bank, search=b, tile=crop
            )

        out[f"eq4_{key}"] = evaluate(eq4, wins)
        out[f"priorraw_{key}"] = evaluate(whole, wins)
    return out


#: What every shipped card says of its data.
DATA_NOTE = (
    "benchmark camera nikon_d5100 (rawkit.data.benchmark_pairs, preset {preset!r}): train "
    "split of rawkit.data.SPLITS (16 Kodak + 4 natural photos), 4 pairs per photo (80 pairs), "
    "256 px long side; validation split 6 photos x 2 pairs, test split 5 photos x 2 pairs "
    "(the test pairs of `rawkit bench quality --preset {preset}`)"
)


def complete_card(folder: str | Path, *, preset: str = "default") -> dict[str, Any]:
    """Add to a saved folder's ``card.json`` what every card carries, measured on the
    weights as saved (float16): ``val_psnr``/``test_psnr`` (mean dB, packed RAW), the
    references on the same pairs (blind generic inverse, oracle), ``data`` and ``dtype``
    (and ``float16_cost_db`` where the card has the float32 test PSNR).  Returns the card.
    """
    from rawkit.data import generic_inverse, oracle_inverse
    from rawkit.pipelines import Pipeline

    path = Path(folder) / "card.json"
    card = json.loads(path.read_text()) if path.is_file() else {}
    pipe = Pipeline.load(folder)
    refs: dict[str, float] = {}
    for split in ("val", "test"):
        pairs = benchmark_pairs(split, preset=preset)
        tensors = [(torch.from_numpy(p.srgb), torch.from_numpy(p.packed), p.photo) for p in pairs]
        if not pipe.stores_metadata:
            card[f"{split}_psnr"] = evaluate(lambda x: pipe.reconstruct(x), tensors)
        refs[f"generic_inverse_{split}"] = evaluate(
            lambda x: generic_inverse(x.double(), camera=CAMERA).float(), tensors
        )
        refs[f"oracle_{split}"] = float(np.mean(
            [float(psnr(oracle_inverse(p), p.packed, data_range=1.0)) for p in pairs]
        ))  # fmt: skip
    card.update(references_same_split=refs, data=DATA_NOTE.format(preset=preset),
                dtype="float16", preset=preset)  # fmt: skip
    if "test_psnr_float32" in card and "test_psnr" in card:
        card["float16_cost_db"] = card["test_psnr_float32"] - card["test_psnr"]
    write_card(folder, card)
    return card


#: The recipe of each shipped method (``rawkit train METHOD --preset full``): the module
#: whose command line trains it and its arguments (the output folder is added).  Each
#: card's ``command`` is this recipe.
FULL_RECIPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "srgb_unet": ("rawkit.weights.recipes", ("srgb_unet", "--preset", "default", "--steps",
                  "3000", "--lr", "5e-4", "--beta", "0", "--l2", "psnr", "--seed", "0")),
    "priorraw": ("rawkit.weights.recipes", ("priorraw", "--preset", "default",
                 "--encoder-steps", "350", "--steps", "3000", "--lr", "5e-4", "--beta", "0",
                 "--l2", "psnr", "--seed", "0")),
    "learned_metadata": ("rawkit.weights.recipes", ("learned_metadata", "--preset", "default",
                         "--steps", "4000", "--seed", "0")),
    "overexposure": ("rawkit.bench.overexposure", ("--steps", "3000", "--fusion-width", "12")),
    "video": ("rawkit.weights.video_recipe", ("--steps", "12000", "--reference-noise", "0")),
}  # fmt: skip
#: The option that names the output folder, per recipe module.
_OUT_OPTION = {"rawkit.weights.recipes": "--out", "rawkit.bench.overexposure": "--save",
               "rawkit.weights.video_recipe": "--out"}  # fmt: skip


def run_full(name: str, out: str | Path, *, overwrite: bool = False) -> Path:
    """Train ``name`` by its shipped recipe (:data:`FULL_RECIPES`) into ``out``.

    Raises:
        ValueError: no recipe for ``name``.
        FileExistsError: ``out`` holds a saved pipeline and ``overwrite`` is false.
    """
    import importlib

    if name not in FULL_RECIPES:
        raise ValueError(f"name: expected one of {sorted(FULL_RECIPES)}, got {name!r}")
    module, args = FULL_RECIPES[name]
    argv = [*args, _OUT_OPTION[module], str(out)] + (["--overwrite"] if overwrite else [])
    importlib.import_module(module).main(argv)
    return Path(out)


def _train_learned_metadata(*, preset: str, steps: int, seed: int) -> Any:
    from rawkit.data import PairSet
    from rawkit.pipelines import get

    torch.set_num_threads(1)
    cls: Any = get("learned_metadata")
    pairs = PairSet.from_any(split_tensors("train", preset=preset))
    return cls.fit(pairs, cls.Config(steps=steps), seed=seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m rawkit.weights.recipes srgb_unet --preset default ...``."""
    ap = argparse.ArgumentParser(prog="python -m rawkit.weights.recipes", description=__doc__)
    ap.add_argument("method", choices=["srgb_unet", "priorraw", "learned_metadata", "evaluate",
                                       "bank-vs-full", "complete-card"])  # fmt: skip
    ap.add_argument("--preset", default="default", choices=["default", "hard"])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--init", help="a saved folder of the same method to continue from")
    ap.add_argument("--crop-seed", type=int)
    ap.add_argument("--encoder-steps", type=int, default=100)
    ap.add_argument("--beta", type=float, default=1.0, help="weight of 1 - SSIM in Eq. 9")
    ap.add_argument(
        "--l2",
        default="mse",
        choices=["mse", "psnr"],
        help="the L2 term of Eq. 9: MSE, or minus each crop's PSNR",
    )
    ap.add_argument("--overwrite", action="store_true", help="replace a saved pipeline in --out")
    a = ap.parse_args(argv)
    if a.method == "evaluate":
        print(json.dumps(evaluate_shipped(preset=a.preset), indent=2))
        return 0
    if a.method == "complete-card":
        if a.out is None:
            ap.error("--out (the saved folder) is required")
        print(json.dumps(complete_card(a.out, preset=a.preset), indent=2))
        return 0
    if a.method == "bank-vs-full":
        print(json.dumps(bank_vs_full(preset=a.preset, folder=a.init), indent=2))
        return 0
    if a.out is None:
        ap.error("--out is required for training")
    command = "python -m rawkit.weights.recipes " + " ".join(
        str(x) for x in (argv if argv is not None else sys.argv[1:])
    )
    if a.method == "learned_metadata":
        pipe = _train_learned_metadata(preset=a.preset, steps=a.steps, seed=a.seed)
        pipe.save(a.out, dtype="float16", overwrite=a.overwrite)
        write_card(a.out, {"name": a.method, "preset": a.preset, "steps": a.steps,
                           "seed": a.seed, "command": command, "cpu_seconds": _cpu()})  # fmt: skip
        complete_card(a.out, preset=a.preset)
        return 0
    if a.method == "priorraw":
        pipe = train_priorraw(
            preset=a.preset, encoder_steps=a.encoder_steps, steps=a.steps, seed=a.seed,
            init=a.init, lr=a.lr, beta=a.beta, l2=a.l2,
        )  # fmt: skip
        pipe.save(a.out, dtype="float16", overwrite=a.overwrite)
        val = evaluate(lambda x: pipe.reconstruct(x), split_tensors("val", preset=a.preset))
        test = evaluate(lambda x: pipe.reconstruct(x), split_tensors("test", preset=a.preset))
        eq4 = pipe.assembled_only()
        write_card(a.out, {"name": a.method, "preset": a.preset, "steps": a.steps,
                           "encoder_steps": a.encoder_steps, "lr": a.lr, "seed": a.seed,
                           "beta": a.beta, "l2": a.l2, "curve": pipe.info.get("curve"),
                           "best_step": pipe.info.get("best_step"),
                           "val_psnr_float32": val, "test_psnr_float32": test,
                           "eq4_bank_val_psnr": evaluate(lambda x: eq4.reconstruct(x),
                                                         split_tensors("val", preset=a.preset)),
                           "encoder_temperature": float(pipe.encoder.temperature.detach()),
                           "stage_seconds": pipe.info.get("seconds"), "command": command,
                           "cpu_seconds": _cpu()})  # fmt: skip
        complete_card(a.out, preset=a.preset)
        return 0
    pipe, curve = train_srgb_unet(
        preset=a.preset, steps=a.steps, seed=a.seed, lr=a.lr, init=a.init, crop_seed=a.crop_seed,
        beta=a.beta, l2=a.l2, log=lambda r: print(json.dumps(r), flush=True),
    )  # fmt: skip
    pipe.info["curve"] = curve
    pipe.save(a.out, dtype="float16", overwrite=a.overwrite)
    test = evaluate(lambda x: pipe.reconstruct(x), split_tensors("test", preset=a.preset))
    write_card(a.out, {"name": a.method, "preset": a.preset, "steps": a.steps, "seed": a.seed,
                       "lr": a.lr, "beta": a.beta, "l2": a.l2, "best_step": pipe.info["best_step"],
                       "val_psnr_float32": max(c["val_psnr"] for c in curve),
                       "test_psnr_float32": test,
                       "curve": curve, "command": command, "cpu_seconds": _cpu()})  # fmt: skip
    complete_card(a.out, preset=a.preset)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
