r"""``rawkit bench quality``: every registered method on the synthetic benchmark.

What it does (one call of :func:`run_quality`):

1. **Data** (:func:`demo_data`): one camera model and one ISP configuration; pairs
   made by :func:`rawkit.data.synthesize` from the bundled photos, split by scene
   (:data:`rawkit.data.SPLITS`), several pairs per photo, each with its own
   illuminant, white balance error, exposure, lens shading and noise (DESIGN.md,
   "Data").
2. **Training** (:func:`train_methods`) on the train split, or the **shipped weights**
   (``shipped=True``, what ``rawkit bench quality`` runs unless ``--train``): a learned
   row then uses the weights in ``rawkit/weights/`` (the default preset's pairs are those
   the weights' cards report), and rows that no shipped weights give are left out.
   When training, every method of
   ``config.methods`` is a registry name (:func:`rawkit.pipelines.available`); each
   of its ``variants`` (e.g. PriorRAW's Table 1 rows, the RBF colour features) is a
   row of its own, or the default config for a method without variants.  The
   configs come from the pipeline's :class:`~rawkit.pipelines.PipelineConfig`
   defaults; a preset only says what differs: ``budget`` (applied to every config
   that has the field, so networks train at **equal budget**: the same steps,
   batch, crop, width...) and per-method ``overrides``.  The training pairs become
   one :class:`rawkit.data.PairSet`, handed unchanged to every ``fit`` (PriorRAW's
   rows share their encoder and bank through it).
3. **Evaluation** (:func:`evaluate`) on the test split, per render: PSNR and SSIM on
   packed RAW (``data_range=1``; :func:`rawkit.metrics.psnr`,
   :func:`rawkit.metrics.ssim`) averaged over images, and for methods that store
   metadata the mean length of :meth:`~rawkit.pipelines.Pipeline.encode_metadata`.

Every table starts with two references: the inverse with each pair's true parameters
(``oracle``, the ceiling) and the blind generic inverse (``generic_inverse``: the
generic ISP, not the camera's look; :func:`rawkit.data.generic_inverse`).  The data
come from the benchmark camera (``data_preset="default"``: one fixed rendering plus the
camera's look, see :mod:`rawkit.data.presets`); the ``"hard"`` preset draws every
render at random instead.

Presets (:data:`PRESETS`): ``"quick"`` (tiny images and networks, tens of optimiser
steps: a smoke test in well under a minute), ``"demo"`` (what ``rawkit demo`` trains:
about 5 minutes on 2 cores), ``"default"`` (the benchmark split of
:func:`rawkit.data.benchmark_pairs`: 80 train pairs at 256 pixels, 10 test pairs; with
``--train`` about 10-20 minutes on 2 cores, one intra-op thread: 1,000 Adam steps of 8
random 64 x 64 crops for every network, PriorRAW's 300 Alg. 1 steps and 5,000-entry
bank), ``"hard"`` (the same photos, every render drawn at random) and
``"overexposed"`` (the default preset's pairs scored twice: as rendered, and rendered
again with more exposure so that 5-30 % of the sRGB pixels clip, the RAW unchanged
(:func:`rawkit.pipelines.overexposure.overexpose`, each pair's own seed); every row
also gets its PSNR/SSIM inside and outside the overexposure mask (an sRGB channel at
0.95 or more; :func:`rawkit.pipelines.overexposure.mask_scores`), and the rows are the
sRGB-only U-Net, the overexposure fusion and the blind unprocess; with ``--train`` both
networks train on the pairs and their overexposed twins).

:func:`format_quality_table` prints the records and the goals (PriorRAW at least 3 dB
above the sRGB-only U-Net; at least the RBF metadata baseline; the bank within 0.5 dB
of the full reference set; on the overexposed split the fusion at least 1 dB above the
sRGB-only U-Net inside the mask and not below it outside), and
:func:`write_quality_json` saves them.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from rawkit._checks import check_bool, check_seed
from rawkit.bench._quality_report import (
    OVEREXPOSED_LEGEND,
    TABLE_LEGEND,
    QualityRecord,
    _means,
    _score,
    format_quality_table,
    quality_goals,
    write_quality_json,
)
from rawkit.data import (
    SPLITS,
    PairSet,
    SyntheticPair,
    generic_inverse,
    oracle_inverse,
    resolve_camera,
    synthetic_pairs,
)
from rawkit.io import check_writable
from rawkit.isp import CameraModel
from rawkit.pipelines import WEIGHTS_DIR, Pipeline, get, pretrained
from rawkit.pipelines.overexposure import overexpose

# Public here (documented, listed and tested as this module's): their home is private.
for _o in (QualityRecord, format_quality_table, quality_goals, write_quality_json):
    _o.__module__ = __name__

__all__ = [
    "METHODS",
    "PRESETS",
    "OVEREXPOSED_LEGEND",
    "TABLE_LEGEND",
    "QualityConfig",
    "QualityData",
    "QualityRecord",
    "TrainedMethods",
    "demo_data",
    "evaluate",
    "format_quality_table",
    "method_configs",
    "quality_goals",
    "reconstruct_all",
    "run_quality",
    "train_methods",
    "write_quality_json",
]


@dataclasses.dataclass(frozen=True)
class QualityConfig:
    """Every setting of a quality run (see :data:`PRESETS`).

    Attributes:
        name: the preset's name.
        camera: built-in camera of the benchmark (also set on every method config
            with a ``camera`` field, and its bit depth on a ``bit_depth`` field).
        renders: ISPs that render the sRGB (``"rawkit"``, ``"libraw"``); models train
            on all of them together and are evaluated per render.
        train_photos, test_photos: photo names (splits by scene).
        train_pairs_per_photo, test_pairs_per_photo: renders per photo.
        train_max_side, test_max_side: photos are shrunk to this longer side.
        methods: registry names to run, in table order.
        variants: method -> the variants to run (default: all of the method's).
        budget: settings given to every method config that has the field.
        overrides: method -> settings of that method only.
        tile, overlap: tiled inference of tileable methods.
        threads: torch intra-op threads during the run (None: leave as is).
        data_preset: the benchmark camera of :func:`rawkit.data.synthesize`
            (``"default"``: one fixed rendering plus the camera's look; ``"hard"``:
            every render drawn at random).
        exposures: the test splits scored, ``"normal"`` and/or ``"overexposed"`` (every
            pair rendered again by :func:`rawkit.pipelines.overexposure.overexpose`
            with its own seed: the same RAW, 5-30 % of the sRGB pixels clipped).  With
            ``"overexposed"`` the training set also holds each training pair's
            overexposed twin, and every record has the scores inside and outside the
            overexposure mask (:func:`rawkit.pipelines.overexposure.mask_scores`).
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
    methods: tuple[str, ...] = (
        "blind_unprocess", "nn_search", "rbf_metadata", "srgb_unet", "priorraw",
    )  # fmt: skip
    variants: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    budget: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    tile: int = 512
    overlap: int = 32
    threads: int | None = 1
    data_preset: str = "default"
    exposures: tuple[str, ...] = ("normal",)

    def __post_init__(self) -> None:
        if not self.exposures or any(e not in EXPOSURES for e in self.exposures):
            raise ValueError(
                f"exposures: expected some of {list(EXPOSURES)}, got {self.exposures!r}"
            )


#: The test splits a quality run can score (:attr:`QualityConfig.exposures`).
EXPOSURES: tuple[str, ...] = ("normal", "overexposed")

#: The presets of ``rawkit bench quality`` (``--preset``).
PRESETS: dict[str, QualityConfig] = {
    "quick": QualityConfig(
        name="quick", train_pairs_per_photo=1, test_pairs_per_photo=1, train_max_side=64,
        test_max_side=64, tile=64, overlap=16,
        budget={"steps": 12, "batch_size": 4, "crop": 32, "width": 8, "depth": 2},
        overrides={"priorraw": {
            "encoder_steps": 8, "encoder_batch_size": 4, "encoder_crop": 32, "encoder_dim": 8,
            "encoder_width": 8, "encoder_blocks": 1, "n_clusters": 64, "group_size": 4,
            "niter": 4}},
    ),
    "demo": QualityConfig(
        name="demo", renders=("rawkit", "libraw"), train_pairs_per_photo=2,
        test_pairs_per_photo=1, budget={"steps": 600, "crop": 64},
        overrides={"priorraw": {"encoder_steps": 120, "n_clusters": 2000}},
        variants={"priorraw": ("non_local",), "rbf_metadata": ("rbf",)},
    ),
    "default": QualityConfig(name="default", budget={"steps": 1000, "crop": 64}),
    "hard": QualityConfig(name="hard", data_preset="hard", budget={"steps": 1000, "crop": 64}),
    "overexposed": QualityConfig(
        name="overexposed", exposures=("normal", "overexposed"),
        methods=("blind_unprocess", "srgb_unet", "overexposure"),
        budget={"steps": 1000, "crop": 64},
    ),
}  # fmt: skip

#: Labels of the rows rawkit's own methods produce (other rows show their description).
METHODS: dict[str, str] = {
    "oracle": "reference: true parameters (ceiling)",
    "generic_inverse": "reference: blind generic inverse",
    "blind_unprocess": "blind unprocess (typical render)",
    "nn_search": "raw-value NN search (2x2 sRGB, k=16)",
    "rbf_srgb": "RBF metadata 1/256, sRGB colour",
    "rbf": "RBF metadata 1/256, camera RGB",
    "srgb_unet": "sRGB-only U-Net (AIM 2022 baseline)",
    "pixel_search": "PriorRAW Table 1: Eq. 4 map, full set",
    "cluster_group": "PriorRAW Table 1: Eq. 4 map, bank",
    "prior_raw": "PriorRAW Table 1: U-Net + prior RAW",
    "reliable_attention": "PriorRAW Table 1: + reliable attention",
    "non_local": "PriorRAW (bank, non-local attention)",
    "non_local_full": "PriorRAW, Eq. 4 over full reference set",
    "overexposure": "overexposure mask fusion (two U-Nets)",
}


def _config(preset: str | QualityConfig) -> QualityConfig:
    if isinstance(preset, QualityConfig):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    return PRESETS[preset]


def method_configs(
    preset: str | QualityConfig, methods: Sequence[str] | None = None
) -> dict[str, tuple[str, Any]]:
    """Row key -> ``(registry name, config)`` of a run, built from the configs' defaults.

    Checks every name, variant and setting (an unknown one raises) before any work.

    Example:
        >>> rows = method_configs("quick", ["srgb_unet", "rbf_metadata"])
        >>> list(rows), rows["srgb_unet"][1].steps, rows["rbf_srgb"][1].colour
        (['srgb_unet', 'rbf_srgb', 'rbf'], 12, 'srgb')
    """
    cfg = _config(preset)
    camera = resolve_camera(cfg.camera)
    common = {"camera": cfg.camera, "bit_depth": camera.bit_depth, **cfg.budget}
    out: dict[str, tuple[str, Any]] = {}
    for name in cfg.methods if methods is None else methods:
        cls = get(name)
        fields = cls.Config.field_names()
        base = {k: v for k, v in common.items() if k in fields}
        base.update(cfg.overrides.get(name, {}))
        rows = cfg.variants.get(name, tuple(cls.variants) or (name,))
        for row in rows:
            if cls.variants and row not in cls.variants:
                raise ValueError(
                    f"variants: {name} has no variant {row!r}; expected some of {list(cls.variants)}"
                )
            out[row] = (name, cls.Config.from_dict({**base, **cls.variants.get(row, {})}))
    return out


# --------------------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True, eq=False)
class QualityData:
    """Train and test pairs of a quality run.

    Attributes:
        camera: the camera model.
        train: training pairs (all renders together; with the overexposed split, each
            pair's overexposed twin too).
        test: test pairs by render (the normal split; empty when the run scores only
            the overexposed split).
        test_overexposed: the overexposed twins of the test pairs, by render (empty
            without the overexposed split).
    """

    camera: CameraModel
    train: list[SyntheticPair]
    test: dict[str, list[SyntheticPair]]
    test_overexposed: dict[str, list[SyntheticPair]] = dataclasses.field(default_factory=dict)


def demo_data(preset: str | QualityConfig = "default", *, seed: int = 0) -> QualityData:
    """Make the train/test pairs of a preset (or config) from the bundled photos.

    Every pair gets its own seed (from ``seed``, the split, the render, the photo and
    the pair's number), so it has its own illuminant, exposure, lens shading and noise;
    the same ``seed`` gives the same pairs.  With the overexposed split
    (:attr:`QualityConfig.exposures`) every pair also gets its overexposed twin
    (:func:`rawkit.pipelines.overexposure.overexpose` with the pair's seed).

    Example:
        >>> d = demo_data("quick", seed=0)
        >>> len(d.train) == len(SPLITS["train"]), len(d.test["rawkit"]) == len(SPLITS["test"])
        (True, True)
    """
    cfg = _config(preset)
    check_seed(seed)
    camera = resolve_camera(cfg.camera)
    train: list[SyntheticPair] = []
    test: dict[str, list[SyntheticPair]] = {}
    bright: dict[str, list[SyntheticPair]] = {}
    over = "overexposed" in cfg.exposures
    for r, render in enumerate(cfg.renders):
        kw = {"camera": camera, "render": render, "seed": seed, "stream": r,
              "preset": cfg.data_preset}  # fmt: skip
        train += synthetic_pairs(
            cfg.train_photos, per_photo=cfg.train_pairs_per_photo, max_side=cfg.train_max_side,
            split=0, **kw,
        )  # fmt: skip
        test[render] = synthetic_pairs(
            cfg.test_photos, per_photo=cfg.test_pairs_per_photo, max_side=cfg.test_max_side,
            split=1, **kw,
        )  # fmt: skip
        if over:
            bright[render] = [overexpose(p, seed=p.seed) for p in test[render]]
    if over:
        train += [overexpose(p, seed=p.seed) for p in train]
    if "normal" not in cfg.exposures:
        test = {}
    return QualityData(camera, train, test, bright)


# --------------------------------------------------------------------------- training


@dataclasses.dataclass(eq=False)
class TrainedMethods:
    """The fitted pipelines of a quality run.

    Attributes:
        config: the settings.
        camera: the benchmark's camera.
        pipelines: row key -> fitted pipeline, in table order.
        seconds: row key -> training wall time (stages shared with an earlier row: 0).
        skipped: learned rows left out because no shipped weights give them
            (``train_methods(shipped=True)``).
    """

    config: QualityConfig
    camera: CameraModel
    pipelines: dict[str, Pipeline]
    seconds: dict[str, float]
    skipped: list[str] = dataclasses.field(default_factory=list)


def train_methods(
    data: QualityData,
    preset: str | QualityConfig = "default",
    *,
    seed: int = 0,
    progress: bool = True,
    methods: Sequence[str] | None = None,
    shipped: bool = False,
) -> TrainedMethods:
    """Fit every row of :func:`method_configs` on ``data.train`` (module notes).

    With ``shipped=True`` the rows of a method that ships weights
    (:func:`rawkit.pipelines.pretrained`) use them instead of training (see
    ``_shipped_row``), and its rows that no shipped weights give are left out (named
    in ``TrainedMethods.skipped``): shipped and briefly trained networks are not compared
    in one table.  Methods that ship nothing (the references, NN search's index) are
    fitted as usual.
    """
    cfg = _config(preset)
    check_seed(seed)
    check_bool(progress, "progress")
    check_bool(shipped, "shipped")
    rows = method_configs(cfg, methods)  # every name and setting checked before training
    pairs = PairSet.from_any(data.train)  # converted once, shared by every fit
    pipes: dict[str, Pipeline] = {}
    seconds: dict[str, float] = {}
    skipped: list[str] = []
    for row, (name, config) in rows.items():
        t0 = time.perf_counter()
        if shipped and _ships_weights(name):
            ready = _shipped_row(name, row)
            if ready is None:
                skipped.append(row)
            else:
                pipes[row], seconds[row] = ready, 0.0
            continue
        pipes[row] = get(name).fit(pairs, config, seed=seed, progress=progress)
        shared = pipes[row].info.get("seconds")
        seconds[row] = (
            float(sum(shared.values())) if isinstance(shared, dict) else time.perf_counter() - t0
        )
    return TrainedMethods(cfg, data.camera, pipes, seconds, skipped)


def _ships_weights(name: str) -> bool:
    """Whether the learned method ``name`` ships weights (``rawkit/weights/<name>/``)."""
    return get(name).learned and (WEIGHTS_DIR / name / "pipeline.json").is_file()


def _shipped_row(name: str, row: str) -> Pipeline | None:
    """The shipped pipeline of ``name`` for table row ``row``, or None.

    The shipped pipeline itself if its configuration is the row's; PriorRAW's Eq. 4 row
    over the bank (``cluster_group``) from the shipped PriorRAW's encoder and bank
    (:meth:`rawkit.pipelines.PriorRAW.assembled_only`); None otherwise.
    """
    cls = get(name)
    if not cls.learned:
        return None
    try:
        pipe = pretrained(name)
    except FileNotFoundError:
        return None
    if cls.variants and row not in cls.variants:
        return None
    wanted = cls.variants.get(row, {}) if cls.variants else {}
    have = pipe.config.to_dict()
    if all(have.get(k) == v for k, v in wanted.items()):
        return pipe
    derive = getattr(pipe, "assembled_only", None)
    if derive is not None and dict(wanted) == {"ablation": "assembled"}:
        return derive()  # type: ignore[no-any-return]
    return None


# --------------------------------------------------------------------------- evaluation


def _for_render(pipe: Pipeline, render: str) -> Pipeline:
    """A method without training that inverts a render: rebuilt for the test render."""
    if pipe.learned or "render" not in pipe.Config.field_names():
        return pipe
    return type(pipe)(pipe.config.replace(render=render))


def _run(pipe: Pipeline, pair: SyntheticPair, cfg: QualityConfig) -> tuple[np.ndarray, int]:
    """``(packed RAW, metadata bytes)`` of one method on one pair."""
    meta = pipe.encode_metadata(pair.packed, pair.srgb) if pipe.stores_metadata else None
    tiles = {"tile": cfg.tile, "overlap": cfg.overlap} if pipe.tileable else {}
    out = pipe.reconstruct(np.ascontiguousarray(pair.srgb, np.float32), metadata=meta, **tiles)
    return np.asarray(out), 0 if meta is None else len(meta)


def reconstruct_all(tm: TrainedMethods, pair: SyntheticPair) -> dict[str, np.ndarray]:
    """Every row's packed RAW ``(4, h, w)`` for one pair (e.g. for a figure).

    Example:
        >>> d = demo_data("quick")
        >>> tm = train_methods(d, "quick", progress=False, methods=["blind_unprocess", "srgb_unet"])
        >>> out = reconstruct_all(tm, d.test["rawkit"][0])
        >>> sorted(out), out["srgb_unet"].shape == d.test["rawkit"][0].packed.shape
        (['blind_unprocess', 'srgb_unet'], True)
    """
    return {
        k: _run(_for_render(p, pair.render), pair, tm.config)[0] for k, p in tm.pipelines.items()
    }


def _label(key: str, pipe: Pipeline) -> str:
    return METHODS.get(key, f"{key}: {pipe.description}"[:40])


def _reference_records(
    render: str, pairs: Sequence[SyntheticPair], split: str = "normal", masked: bool = False
) -> list[QualityRecord]:
    """The two references of every table: each pair's true parameters (the ceiling) and
    the blind generic inverse (:func:`rawkit.data.oracle_inverse`,
    :func:`rawkit.data.generic_inverse`)."""
    out = []
    for key, fn in (
        ("oracle", oracle_inverse),
        ("generic_inverse", lambda p: generic_inverse(p.srgb.astype(np.float64), camera=p.camera)),
    ):
        t0 = time.perf_counter()
        per, masks = zip(*[_score(fn(p), p, masked) for p in pairs], strict=True)
        out.append(QualityRecord(
            method=key, label=METHODS[key], render=render, **_means(list(per), list(masks)),
            metadata_bytes=0.0, metadata_bpp=0.0, train_steps=0, train_seconds=0.0,
            eval_seconds=time.perf_counter() - t0, per_image=list(per), split=split,
            note="reference" + (": knows each pair's parameters" if key == "oracle" else ""),
        ))  # fmt: skip
    return out


def evaluate(tm: TrainedMethods, data: QualityData) -> list[QualityRecord]:
    """PSNR/SSIM of every row on every render's test pairs (see the module notes),
    after the two reference rows (oracle, blind generic inverse); the normal split first,
    then the overexposed one, both with the scores inside and outside the overexposure
    mask when the run has the overexposed split."""
    records = []
    masked = bool(data.test_overexposed)
    splits = [("normal", data.test), ("overexposed", data.test_overexposed)]
    for split, tests in splits:
        for render, pairs in tests.items():
            records += _reference_records(render, pairs, split, masked)
            for key, fitted in tm.pipelines.items():
                records.append(_evaluate_row(tm, key, fitted, render, pairs, split, masked))
    return records


def _evaluate_row(
    tm: TrainedMethods, key: str, fitted: Pipeline, render: str,
    pairs: Sequence[SyntheticPair], split: str, masked: bool,
) -> QualityRecord:  # fmt: skip
    pipe = _for_render(fitted, render)
    t0 = time.perf_counter()
    per, meta, masks = [], [], []
    for p in pairs:
        est, nbytes = _run(pipe, p, tm.config)
        row, m = _score(est, p, masked)
        per.append(row)
        masks.append(m)
        meta.append((nbytes, 8 * nbytes / (p.srgb.shape[-1] * p.srgb.shape[-2])))
    shared = fitted.info.get("shared", [])
    return QualityRecord(
        method=key,
        label=_label(key, pipe),
        render=render,
        **_means(per, masks),
        metadata_bytes=float(np.mean([m[0] for m in meta])),
        metadata_bpp=float(np.mean([m[1] for m in meta])),
        train_steps=int(getattr(pipe.config, "steps", 0)) if pipe.learned else 0,
        train_seconds=tm.seconds.get(key, 0.0),
        eval_seconds=time.perf_counter() - t0,
        per_image=per,
        note=f"shares {', '.join(shared)} with an earlier row" if shared else "",
        split=split,
    )


# --------------------------------------------------------------------------- run


def run_quality(
    preset: str | QualityConfig = "default",
    *,
    seed: int = 0,
    progress: bool = True,
    json_path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    methods: Sequence[str] | None = None,
    shipped: bool = False,
) -> list[QualityRecord]:
    """Build the data, train (or load the shipped weights), evaluate; optionally write JSON.

    Every argument (preset, methods and their settings, seed, the JSON path) is checked
    before any data is made.  Sets ``torch.set_num_threads(config.threads)`` for the
    run (restored afterwards): on a shared 2-core machine one intra-op thread ran the
    small networks up to 40x faster than two.

    Args:
        preset: ``"quick"``, ``"demo"``, ``"default"`` or a :class:`QualityConfig`.
        seed: seeds the data, the initialisations and the training.
        progress: tqdm bars.
        json_path: also write :func:`write_quality_json` there.
        overwrite: replace an existing JSON file.
        methods: registry names to run (default: the preset's ``methods``).
        shipped: score the shipped weights instead of training (``rawkit bench quality``
            without ``--train``; :func:`train_methods`): rows that no shipped weights
            give are left out.

    Returns:
        The :class:`QualityRecord` list (print it with :func:`format_quality_table`).
    """
    cfg = _config(preset)
    check_seed(seed)
    check_bool(progress, "progress")
    check_bool(shipped, "shipped")
    method_configs(cfg, methods)
    if json_path is not None:
        check_writable(json_path, overwrite=overwrite)
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        data = demo_data(cfg, seed=seed)
        tm = train_methods(
            data, cfg, seed=seed, progress=progress, methods=methods, shipped=shipped
        )
        records = evaluate(tm, data)
    finally:
        torch.set_num_threads(threads)
    if json_path is not None:
        write_quality_json(records, json_path, config=cfg, overwrite=overwrite)
    return records
