r"""``rawkit bench quality``: PriorRAW against the baselines on the synthetic benchmark.

What it does (one call of :func:`run_quality`):

1. **Data** (:func:`demo_data`): one camera model (``nikon_d5100``) and one ISP
   configuration; pairs made by :func:`rawkit.data.synthesize` from the bundled photos,
   split by scene (:data:`rawkit.data.SPLITS`: 5 train, 3 test photos), several pairs per
   photo, each with its own illuminant, white balance error, exposure, lens shading and
   noise (DESIGN.md, "Data").
2. **Training** (:func:`train_methods`) on the train split, at **equal budget**: the
   sRGB-only U-Net and every PriorRAW reconstructor row get the same number of
   optimiser steps (``steps``) with the same batch, crop, learning rate and loss
   (Eq. 9); PriorRAW additionally trains its encoder (Alg. 1, ``encoder_steps``) and
   builds its bank (Alg. 2) once, shared by its rows.  Wall times are reported.
3. **Evaluation** (:func:`evaluate`) on the test split: PSNR and SSIM on packed RAW
   (``data_range=1``; :func:`rawkit.metrics.psnr`, :func:`rawkit.metrics.ssim`), averaged
   over images, for

   * the blind analytic inverse (:func:`rawkit.pipelines.blind_unprocess`),
   * uniform-sampling metadata at 1 sample per 256 pixels + RBF interpolation
     (:func:`rawkit.pipelines.rbf_reconstruct`; with its metadata size in bytes), on
     the linear sRGB colour and on the blind inverse's camera RGB (the stronger one,
     which the goal compares with),
   * the sRGB-only U-Net (AIM22 baseline; also Table 1's "sRGB+UNet" row: the same
     network, rawkit's :class:`~rawkit.nets.UNet`, so it is trained once),
   * Table 1: the RAW assembled by Eq. 4 alone from the full reference set ("Pixel
     Searching") and from the bank ("Clustering and Grouping"), then the
     reconstructor rows "+ Prior RAW", "+ Reliable Attention", "+ Non Local" (full
     PriorRAW, zero per-image metadata),
   * full PriorRAW whose Eq. 4 searches the full reference set instead of the bank
     (Eq. 8 still attends over the bank it was trained with), the comparison behind
     "5,000 entries are enough".

Presets (:data:`PRESETS`): ``"quick"`` (tiny images and networks, tens of optimiser
steps: a smoke test in well under a minute), ``"demo"`` (what ``rawkit demo`` trains:
about 5 minutes on 2 cores) and ``"default"`` (about 10-20 minutes on 2 cores, one
intra-op thread; see :class:`QualityConfig` for every setting).  The bank is scaled
down with the data: ``n_clusters`` entries out of the train split's pixels.

The ``"default"`` preset: 20 train pairs (5 photos x 4 renders) and 6 test pairs (3 x 2)
at 256 pixels on the long side; the training budget is **1,000 Adam steps of 8 random
64 x 64 crops** (learning rate 1e-3, cosine decay) for the U-Net and for each
reconstructor row, plus 300 Alg. 1 steps (6 crops of 64 x 64) for the encoder; the
bank has the paper's 5,000 entries, here from 273,920 reference pixels (1.8 %; the
paper: 0.02 % of 26 million), each the mean of the 10 nearest (the paper: 1,000).

:func:`format_quality_table` prints the records and the goals of issue 8 (PriorRAW at
least 3 dB above the sRGB-only U-Net; at least the RBF metadata baseline; the bank
within 0.5 dB of the full reference set), and :func:`write_quality_json` saves them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rawkit.data import SPLITS, SyntheticPair, resolve_camera, synthesize
from rawkit.isp import CameraModel
from rawkit.metrics import psnr, ssim
from rawkit.nets import PixelSearchEncoder, count_parameters
from rawkit.pipelines import PriorRAWPipeline, priorraw
from rawkit.pipelines.baselines import (
    blind_unprocess,
    rbf_reconstruct,
    typical_params,
    uniform_sampling_metadata,
)
from rawkit.pipelines.unet_baseline import train_unet
from rawkit.prior import PriorBank

__all__ = [
    "PRESETS",
    "METHODS",
    "QualityConfig",
    "QualityData",
    "QualityRecord",
    "TrainedMethods",
    "demo_data",
    "evaluate",
    "format_quality_table",
    "quality_goals",
    "reconstruct_all",
    "reconstruction_peak_memory",
    "run_quality",
    "train_methods",
    "write_quality_json",
]


@dataclasses.dataclass(frozen=True)
class QualityConfig:
    """Every setting of a quality run (see :data:`PRESETS`).

    Attributes:
        name: the preset's name.
        camera: built-in camera of the benchmark.
        renders: ISPs that render the sRGB (``"rawkit"``, ``"libraw"``); models train
            on all of them together and are evaluated per render.
        train_photos, test_photos: photo names (splits by scene).
        train_pairs_per_photo, test_pairs_per_photo: renders per photo (each with its
            own illuminant, exposure, noise...).
        train_max_side, test_max_side: photos are shrunk to this longer side.
        steps: optimiser steps of the U-Net and of every reconstructor (equal budget).
        batch_size, crop, lr: of those trainings (sRGB crop side in pixels); Adam with
            the learning rate decayed to 0 on a cosine over ``steps``.
        width, depth: U-Net / reconstructor width and depth (depth 4: 1/16).
        heads: attention heads of Eq. 8.
        encoder_steps, encoder_batch_size, encoder_crop: Alg. 1.
        encoder_dim, encoder_width, encoder_blocks: the Pixel Searching Encoder.
        n_clusters, group_size, niter: Alg. 2 (the paper: 5,000, 1,000, -).
        full_reference: also evaluate with the full reference set instead of the bank.
        rbf_spacing: pixels between metadata samples (16: 1 per 256 pixels).  The RBF
            settings (``spatial_weight=0.3``, ``smoothing=0.1``) are
            :func:`rawkit.pipelines.rbf_reconstruct`'s defaults, chosen on the validation
            photos.
        rows: PriorRAW reconstructor rows trained (Table 1, beyond "sRGB+UNet").
        tile, overlap: tiled inference.
        threads: torch intra-op threads during the run (None: leave as is).
    """

    name: str
    camera: str = "nikon_d5100"
    renders: tuple[str, ...] = ("rawkit",)
    train_photos: tuple[str, ...] = SPLITS["train"]
    test_photos: tuple[str, ...] = SPLITS["test"]
    train_pairs_per_photo: int = 4
    test_pairs_per_photo: int = 2
    train_max_side: int = 256
    test_max_side: int = 256
    steps: int = 1000
    batch_size: int = 8
    crop: int = 64
    lr: float = 1e-3
    width: int = 16
    depth: int = 4
    heads: int = 1
    encoder_steps: int = 300
    encoder_batch_size: int = 6
    encoder_crop: int = 64
    encoder_dim: int = 32
    encoder_width: int = 32
    encoder_blocks: int = 2
    n_clusters: int = 5000
    group_size: int = 10
    niter: int = 10
    full_reference: bool = True
    rbf_spacing: int = 16
    rows: tuple[str, ...] = ("prior_raw", "reliable_attention", "non_local")
    tile: int = 512
    overlap: int = 32
    threads: int | None = 1


#: The presets of ``rawkit bench quality`` (``--preset``).
PRESETS: dict[str, QualityConfig] = {
    "quick": QualityConfig(
        name="quick", train_pairs_per_photo=1, test_pairs_per_photo=1, train_max_side=64,
        test_max_side=64, steps=12, batch_size=4, crop=32, width=8, depth=2,
        encoder_steps=8, encoder_batch_size=4, encoder_crop=32, encoder_dim=8, encoder_width=8,
        encoder_blocks=1, n_clusters=64, group_size=4, niter=4, tile=64, overlap=16,
    ),
    "demo": QualityConfig(
        name="demo", renders=("rawkit", "libraw"), train_pairs_per_photo=2,
        test_pairs_per_photo=1, train_max_side=256, test_max_side=256, steps=600,
        encoder_steps=120, n_clusters=2000, group_size=10, full_reference=False,
        rows=("non_local",),
    ),
    "default": QualityConfig(name="default"),
}  # fmt: skip

#: Method keys in table order, with their labels (Table 1 rows marked "T1").
METHODS: dict[str, str] = {
    "blind_unprocess": "blind unprocess (typical render)",
    "rbf_srgb": "RBF metadata 1/256, sRGB colour",
    "rbf": "RBF metadata 1/256, camera RGB",
    "srgb_unet": "sRGB-only U-Net (AIM22) = T1 sRGB+UNet",
    "assembled_full": "T1 Pixel Searching: Eq. 4, full set",
    "assembled_bank": "T1 Clustering+Grouping: Eq. 4, bank",
    "prior_raw": "T1 + Prior RAW",
    "reliable_attention": "T1 + Reliable Attention",
    "non_local": "T1 + Non Local = PriorRAW (bank)",
    "non_local_full": "PriorRAW, Eq. 4 over full reference set",
}


def _config(preset: str | QualityConfig) -> QualityConfig:
    if isinstance(preset, QualityConfig):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    return PRESETS[preset]


# --------------------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True, eq=False)
class QualityData:
    """Train and test pairs of a quality run.

    Attributes:
        camera: the camera model.
        train: training pairs (all renders together).
        test: test pairs by render.
    """

    camera: CameraModel
    train: list[SyntheticPair]
    test: dict[str, list[SyntheticPair]]


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def demo_data(preset: str | QualityConfig = "default", *, seed: int = 0) -> QualityData:
    """Make the train/test pairs of a preset (or config) from the bundled photos.

    Every pair gets its own seed (from ``seed``, the split, the render, the photo and
    the pair's number), so it has its own illuminant, exposure, lens shading and noise;
    the same ``seed`` gives the same pairs.

    Example:
        >>> d = demo_data("quick", seed=0)
        >>> len(d.train), {r: len(v) for r, v in d.test.items()}, d.train[0].srgb.shape[0]
        (5, {'rawkit': 3}, 3)
    """
    cfg = _config(preset)
    camera = resolve_camera(cfg.camera)

    def make(
        split: int, photos: Sequence[str], per: int, side: int, r: int, render: str
    ) -> list[SyntheticPair]:
        return [
            synthesize(
                photo, camera=camera, seed=_seed(seed, split, r, i, k), render=render,  # type: ignore[arg-type]
                max_side=side,
            )
            for i, photo in enumerate(photos)
            for k in range(per)
        ]  # fmt: skip

    train: list[SyntheticPair] = []
    test: dict[str, list[SyntheticPair]] = {}
    for r, render in enumerate(cfg.renders):
        train += make(0, cfg.train_photos, cfg.train_pairs_per_photo, cfg.train_max_side, r, render)
        test[render] = make(
            1, cfg.test_photos, cfg.test_pairs_per_photo, cfg.test_max_side, r, render
        )
    return QualityData(camera, train, test)


# --------------------------------------------------------------------------- training


@dataclasses.dataclass(eq=False)
class TrainedMethods:
    """The models of a quality run and how long they took.

    Attributes:
        config: the settings.
        camera: the benchmark's camera.
        unet: the sRGB-only U-Net as a pipeline.
        rows: PriorRAW pipelines by Table 1 row (sharing encoder and bank).
        encoder: the Alg. 1 encoder; bank: the Alg. 2 bank.
        reference: the full reference set as a bank (None if not asked for).
        seconds: wall time per stage (``"encoder"``, ``"bank"``, ``"srgb_unet"``, rows).
        parameters: trainable parameters per network.
    """

    config: QualityConfig
    camera: CameraModel
    unet: PriorRAWPipeline
    rows: dict[str, PriorRAWPipeline]
    encoder: PixelSearchEncoder | None
    bank: PriorBank | None
    reference: PriorBank | None
    seconds: dict[str, float]
    parameters: dict[str, int]


def train_methods(
    data: QualityData,
    preset: str | QualityConfig = "default",
    *,
    seed: int = 0,
    progress: bool = True,
) -> TrainedMethods:
    """Train the U-Net and PriorRAW (Alg. 1-3) on ``data.train`` at equal budget.

    The U-Net and every reconstructor row: ``steps`` Adam steps of ``batch_size``
    random ``crop`` crops, learning rate ``lr``, loss Eq. 9 (``alpha = beta = 1``).
    PriorRAW's encoder (``encoder_steps``) and bank are trained/built once and shared
    by its rows.  The bank's reference set is the train split.
    """
    cfg = _config(preset)
    pairs = data.train
    common = dict(steps=cfg.steps, batch_size=cfg.batch_size, crop=cfg.crop, lr=cfg.lr,
                  seed=seed, progress=progress)  # fmt: skip
    seconds: dict[str, float] = {}
    params: dict[str, int] = {}
    res = train_unet(pairs, width=cfg.width, depth=cfg.depth, **common)  # type: ignore[arg-type]
    seconds["srgb_unet"] = res.seconds
    params["srgb_unet"] = count_parameters(res.model)
    unet = PriorRAWPipeline(res.model, info={"steps": cfg.steps})
    rows: dict[str, PriorRAWPipeline] = {}
    encoder = bank = reference = None
    if cfg.rows:
        enc0 = PixelSearchEncoder(
            dim=cfg.encoder_dim, width=cfg.encoder_width, blocks=cfg.encoder_blocks, seed=seed
        )
        er = priorraw.train_encoder(
            pairs, encoder=enc0, steps=cfg.encoder_steps, batch_size=cfg.encoder_batch_size,
            crop=cfg.encoder_crop, lr=1e-3, seed=seed, progress=progress,
        )  # fmt: skip
        encoder = er.model
        seconds["encoder"] = er.seconds
        params["encoder"] = count_parameters(encoder)
        t0 = time.perf_counter()
        bank = priorraw.build_bank(
            encoder, pairs, n_clusters=cfg.n_clusters, group_size=cfg.group_size,  # type: ignore[arg-type]
            niter=cfg.niter, seed=seed, n_threads=cfg.threads, progress=progress,
        )  # fmt: skip
        seconds["bank"] = time.perf_counter() - t0
        if cfg.full_reference:
            reference = priorraw.reference_set(encoder, pairs)  # type: ignore[arg-type]
        for row in cfg.rows:
            rr = priorraw.train_reconstructor(
                pairs, encoder=encoder, bank=bank, ablation=row, width=cfg.width,  # type: ignore[arg-type]
                depth=cfg.depth, heads=cfg.heads, **common,  # type: ignore[arg-type]
            )  # fmt: skip
            seconds[row] = rr.seconds
            params[row] = count_parameters(rr.model)
            rows[row] = PriorRAWPipeline(rr.model, encoder, bank, info={"steps": cfg.steps})  # type: ignore[arg-type]
    return TrainedMethods(cfg, data.camera, unet, rows, encoder, bank, reference, seconds, params)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- evaluation


def _methods(tm: TrainedMethods, render: str) -> dict[str, Callable[[SyntheticPair], Any]]:
    """Method key -> ``pair -> packed RAW (4, h, w)`` NumPy."""
    cfg = tm.config
    tiles = dict(tile=cfg.tile, overlap=cfg.overlap)
    typical = typical_params(tm.camera, render=render)  # type: ignore[arg-type]

    def metadata(p: SyntheticPair) -> Any:
        return uniform_sampling_metadata(
            p.packed, spacing=cfg.rbf_spacing, bit_depth=tm.camera.bit_depth
        )

    out: dict[str, Callable[[SyntheticPair], Any]] = {
        "blind_unprocess": lambda p: blind_unprocess(p.srgb, camera=tm.camera, params=typical),
        "rbf_srgb": lambda p: rbf_reconstruct(p.srgb, metadata(p)),
        "rbf": lambda p: rbf_reconstruct(p.srgb, metadata(p), camera=tm.camera, params=typical),
        "srgb_unet": lambda p: tm.unet.reconstruct(p.srgb, **tiles),  # type: ignore[arg-type]
    }
    if tm.encoder is not None and tm.bank is not None:
        enc, bank, ref = tm.encoder, tm.bank, tm.reference
        full_maps: dict[int, np.ndarray] = {}

        def searched_full(p: SyntheticPair) -> np.ndarray:
            """Eq. 4 over the full reference set (sRGB and RAW), once per pair."""
            if id(p) not in full_maps:  # kept for all pairs: the test images are small
                full_maps[id(p)] = np.asarray(
                    priorraw.assemble_raw(p.srgb, encoder=enc, bank=ref, which="both", **tiles)  # type: ignore[arg-type]
                )
            return full_maps[id(p)]

        if ref is not None:
            out["assembled_full"] = lambda p: searched_full(p)[3:]
        out["assembled_bank"] = lambda p: priorraw.assemble_raw(
            p.srgb, encoder=enc, bank=bank, **tiles
        )  # type: ignore[arg-type]
        for row, pipe in tm.rows.items():
            out[row] = lambda p, pipe=pipe: pipe.reconstruct(p.srgb, **tiles)  # type: ignore[misc]
        if ref is not None and "non_local" in tm.rows:
            nl = tm.rows["non_local"].model

            def non_local_full(p: SyntheticPair) -> np.ndarray:
                m = searched_full(p)
                return priorraw.reconstruct(  # type: ignore[return-value]
                    p.srgb,
                    model=nl,
                    bank=bank,
                    assembled=(m[:3], m[3:]),
                    **tiles,  # type: ignore[arg-type]
                )

            out["non_local_full"] = non_local_full
    return {k: out[k] for k in METHODS if k in out}


def reconstruct_all(tm: TrainedMethods, pair: SyntheticPair) -> dict[str, np.ndarray]:
    """Every method's packed RAW ``(4, h, w)`` for one pair (e.g. for a figure).

    Example:
        >>> import numpy as np
        >>> d = demo_data("quick")
        >>> tm = train_methods(d, "quick", progress=False)
        >>> out = reconstruct_all(tm, d.test["rawkit"][0])
        >>> sorted(out)[:3], out["non_local"].shape == d.test["rawkit"][0].packed.shape
        (['assembled_bank', 'assembled_full', 'blind_unprocess'], True)
    """
    return {k: np.asarray(fn(pair)) for k, fn in _methods(tm, pair.render).items()}


@dataclasses.dataclass(frozen=True)
class QualityRecord:
    """One method on one render's test split.

    Attributes:
        method: key of :data:`METHODS`; label: its description.
        render: ``"rawkit"`` or ``"libraw"``.
        psnr, ssim: means over the test images (packed RAW, ``data_range=1``).
        n_images: test images.
        metadata_bytes: mean per-image metadata the method needs (0: none).
        metadata_bpp: the same in bits per pixel.
        train_steps: optimiser steps of its network (0: no training).
        train_seconds: wall time of its training (incl. Alg. 1 and 2 for PriorRAW rows:
            see ``note``).
        eval_seconds: wall time of reconstructing the test images.
        per_image: ``[photo, seed, psnr, ssim]`` per test image.
        note: free text.
    """

    method: str
    label: str
    render: str
    psnr: float
    ssim: float
    n_images: int
    metadata_bytes: float
    metadata_bpp: float
    train_steps: int
    train_seconds: float
    eval_seconds: float
    per_image: list[list[Any]]
    note: str = ""


def evaluate(tm: TrainedMethods, data: QualityData) -> list[QualityRecord]:
    """PSNR/SSIM of every method on every render's test pairs (see the module notes)."""
    cfg = tm.config
    records = []
    prior_s = tm.seconds.get("encoder", 0.0) + tm.seconds.get("bank", 0.0)
    for render, pairs in data.test.items():
        for key, fn in _methods(tm, render).items():
            t0 = time.perf_counter()
            per, meta = [], []
            for p in pairs:
                est = np.asarray(fn(p), dtype=np.float64)
                ref = p.packed.astype(np.float64)
                per.append([p.photo, p.seed, float(psnr(est, ref, data_range=1.0)),
                            float(ssim(est, ref, data_range=1.0))])  # fmt: skip
                if key.startswith("rbf"):
                    m = uniform_sampling_metadata(
                        p.packed, spacing=cfg.rbf_spacing, bit_depth=tm.camera.bit_depth
                    )
                    meta.append((m.nbytes, m.bits_per_pixel))
            elapsed = time.perf_counter() - t0
            trained = key in ("srgb_unet", *tm.rows)
            note = ""
            if key.startswith("rbf"):
                note = (
                    f"1 sample (4 values x {tm.camera.bit_depth} bit) per {cfg.rbf_spacing**2} px"
                )
            elif key in tm.rows or key == "non_local_full":
                note = f"+ encoder {cfg.encoder_steps} steps and bank ({prior_s:.0f} s, shared)"
            elif key.startswith("assembled"):
                note = f"no reconstructor; K={len(tm.reference if key == 'assembled_full' else tm.bank)}"  # type: ignore[arg-type]
            train_key = "non_local" if key == "non_local_full" else key
            records.append(
                QualityRecord(
                    method=key,
                    label=METHODS[key],
                    render=render,
                    psnr=float(np.mean([r[2] for r in per])),
                    ssim=float(np.mean([r[3] for r in per])),
                    n_images=len(per),
                    metadata_bytes=float(np.mean([m[0] for m in meta])) if meta else 0.0,
                    metadata_bpp=float(np.mean([m[1] for m in meta])) if meta else 0.0,
                    train_steps=cfg.steps if trained or key == "non_local_full" else 0,
                    train_seconds=tm.seconds.get(train_key, 0.0),
                    eval_seconds=elapsed,
                    per_image=per,
                    note=note,
                )
            )
    return records


# --------------------------------------------------------------------------- report


def quality_goals(records: Sequence[QualityRecord]) -> list[dict[str, Any]]:
    """Issue 8's quality goals checked on ``records``, one dict per goal and render.

    Keys: ``goal``, ``render``, ``value`` (dB, the measured margin), ``target`` (dB),
    ``met`` (bool).  Goals whose methods were not run are left out.
    """
    out = []
    for render in dict.fromkeys(r.render for r in records):
        by = {r.method: r.psnr for r in records if r.render == render}
        checks = [
            ("PriorRAW - sRGB-only U-Net >= 3 dB", "non_local", "srgb_unet", 3.0),
            ("PriorRAW (no metadata) - RBF metadata 1/256 >= 0 dB", "non_local", "rbf", 0.0),
            ("PriorRAW bank - full reference set >= -0.5 dB", "non_local", "non_local_full", -0.5),
            (
                "Eq. 4 bank - full reference set >= -0.5 dB",
                "assembled_bank",
                "assembled_full",
                -0.5,
            ),
        ]
        for goal, a, b, target in checks:
            if a in by and b in by:
                v = by[a] - by[b]
                out.append({"goal": goal, "render": render, "value": v, "target": target,
                            "met": bool(v >= target)})  # fmt: skip
    return out


def format_quality_table(records: Sequence[QualityRecord]) -> str:
    """The records as a plain-text table, followed by the goals (:func:`quality_goals`).

    Example:
        >>> r = QualityRecord("rbf", METHODS["rbf"], "rawkit", 40.0, 0.99, 3, 812.0, 0.05,
        ...                   0, 0.0, 1.0, [])
        >>> line = format_quality_table([r]).splitlines()[2]
        >>> line.startswith("RBF metadata 1/256, camera RGB"), line.split()[5:8]
        (True, ['rawkit', '40.00', '0.9900'])
    """
    head = (
        f"{'method':40s} {'render':7s} {'PSNR':>7s} {'SSIM':>7s} {'meta B':>7s} "
        f"{'steps':>6s} {'train s':>8s} {'eval s':>7s}  note"
    )
    lines = [head, "-" * len(head)]
    for r in records:
        lines.append(
            f"{r.label:40s} {r.render:7s} {r.psnr:7.2f} {r.ssim:7.4f} {r.metadata_bytes:7.0f} "
            f"{r.train_steps:6d} {r.train_seconds:8.1f} {r.eval_seconds:7.1f}  {r.note}"
        )
    goals = quality_goals(records)
    if goals:
        lines.append("")
        lines.append("goals (issue 8):")
        for g in goals:
            mark = "met" if g["met"] else "MISSED"
            lines.append(f"  [{mark:6s}] {g['goal']:52s} {g['render']:7s} {g['value']:+7.2f} dB")
    return "\n".join(lines)


def write_quality_json(
    records: Sequence[QualityRecord],
    path: str | os.PathLike[str],
    *,
    config: QualityConfig | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``{"config": ..., "records": [...], "goals": [...]}`` as JSON, atomically.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(f"path: {p} exists; pass overwrite=True (CLI: --overwrite)")
    p.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "config": dataclasses.asdict(config) if config is not None else None,
        "records": [dataclasses.asdict(r) for r in records],
        "goals": quality_goals(records),
    }
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2, default=_json_default)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} as JSON")


def run_quality(
    preset: str | QualityConfig = "default",
    *,
    seed: int = 0,
    progress: bool = True,
    json_path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> list[QualityRecord]:
    """Build the data, train, evaluate (module notes); optionally write JSON.

    Sets ``torch.set_num_threads(config.threads)`` for the run (restored afterwards):
    on a shared 2-core machine one intra-op thread ran the small networks up to 40x
    faster than two.

    Args:
        preset: ``"quick"``, ``"demo"``, ``"default"`` or a :class:`QualityConfig`.
        seed: seeds the data, the initialisations and the training.
        progress: tqdm bars.
        json_path: also write :func:`write_quality_json` there.
        overwrite: replace an existing JSON file.

    Returns:
        The :class:`QualityRecord` list (print it with :func:`format_quality_table`).
    """
    cfg = _config(preset)
    if json_path is not None and Path(json_path).exists() and not overwrite:
        raise FileExistsError(f"json_path: {json_path} exists; pass overwrite=True")
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        data = demo_data(cfg, seed=seed)
        tm = train_methods(data, cfg, seed=seed, progress=progress)
        records = evaluate(tm, data)
    finally:
        torch.set_num_threads(threads)
    if json_path is not None:
        write_quality_json(records, json_path, config=cfg, overwrite=overwrite)
    return records


_MEMORY_SCRIPT = """
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads({threads})
from rawkit.nets import PixelSearchEncoder, PriorRAWNet
from rawkit.pipelines import priorraw
from rawkit.prior import PriorBank

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

g = torch.Generator().manual_seed(0)
enc = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0).eval().requires_grad_(False)
bank = PriorBank(torch.nn.functional.normalize(torch.randn({k}, 8, generator=g), dim=1).numpy(),
                 torch.rand({k}, 3, generator=g).numpy(), torch.rand({k}, 4, generator=g).numpy())
net = PriorRAWNet(feature_dim=8, width=8, depth=4, heads=1, seed=0,
                  temperature=float(enc.temperature.detach())).eval()
base = peak_mb()
srgb = np.random.default_rng(0).random((3, {h}, {w}), dtype=np.float32)
with_input = peak_mb()
t0 = time.perf_counter()
raw = priorraw.reconstruct(srgb, model=net, encoder=enc, bank=bank, tile={tile}, overlap={overlap})
seconds = time.perf_counter() - t0
print(json.dumps({{"height": {h}, "width": {w}, "tile": {tile}, "overlap": {overlap}, "bank": {k},
                  "input_mb": srgb.nbytes / 2**20, "output_mb": raw.nbytes / 2**20,
                  "peak_before_input_mb": base, "peak_with_input_mb": with_input,
                  "peak_mb": peak_mb(), "seconds": seconds}}))
"""


def reconstruction_peak_memory(
    height: int = 4000,
    width: int = 6000,
    *,
    tile: int = 512,
    overlap: int = 32,
    bank_size: int = 5000,
    threads: int = 1,
) -> dict[str, Any]:
    """Peak memory of a tiled PriorRAW reconstruction, measured in a fresh subprocess.

    A tiny full PriorRAW (encoder ``dim=8, width=8``, reconstructor ``width=8, depth=4``,
    random weights, a ``bank_size``-entry bank) reconstructs a random float32 sRGB of
    ``height x width`` (default 24 MP) with :func:`rawkit.pipelines.priorraw.reconstruct`.
    The peak is the process's resident-set high-water mark,
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read after imports and model set-up,
    after allocating the input, and at the end.

    Returns:
        ``height, width, tile, overlap, bank, input_mb, output_mb, peak_before_input_mb,
        peak_with_input_mb, peak_mb, seconds`` (MiB and seconds).

    Raises:
        RuntimeError: the subprocess failed (its stderr is in the message).
    """
    import subprocess
    import sys

    for name, v in (("height", height), ("width", width), ("tile", tile), ("overlap", overlap)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v % 2:
            raise ValueError(f"{name}: expected an even int >= 0, got {v!r}")
    code = _MEMORY_SCRIPT.format(
        h=height, w=width, tile=tile, overlap=overlap, k=bank_size, threads=threads
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"memory measurement failed:\n{run.stderr[-2000:]}")
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))
