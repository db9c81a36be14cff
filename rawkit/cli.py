"""The ``rawkit`` command line.

Every method command iterates the pipeline registry (:func:`rawkit.pipelines.available`),
so a newly registered pipeline appears here without an edit, with its options built
from its config dataclass.

``rawkit demo``
    The main job (:func:`rawkit.bench.demo.demo`): synthetic RAW/sRGB pairs from the
    bundled photos, every method of the quality bench with its shipped weights (``--train``:
    trained on the CPU in minutes), a PSNR/SSIM table, a figure and a DNG.
    ``rawkit demo --cfa`` tours the CFA layer instead (mosaic, demosaic, bit-packing).
``rawkit train METHOD -o DIR``
    Train a registered pipeline on synthetic pairs made from the bundled photos, or on
    an AIM22 track folder; saves a pipeline folder.  ``rawkit train METHOD --help``
    lists the method's settings.
``rawkit build-prior --pipeline DIR``
    (Re)build the prior bank of a trained PriorRAW pipeline from reference images (Alg. 2).
``rawkit reconstruct IN -o OUT [--method METHOD | --pipeline DIR] [--dng bayer|linear]``
    A photo (.jpg/.png/.tif) in, RAW out: ``.dng`` (colour tags fitted so that it renders
    back to the photo), ``.npy`` (AIM22 layout) or ``.png`` (16-bit mosaic).
``rawkit render IN.dng -o OUT.png``
    rawkit's forward ISP (LibRaw convention) on a DNG or camera RAW file.
``rawkit bench speed`` / ``rawkit bench quality [--methods A,B]``
    Speed ratios against peers timed in the same run; reconstruction quality table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rawkit._cli_parser import build_parser

__all__ = ["main"]


class CLIError(ValueError):
    """A bad command-line value: reported in one line, exit status 2."""


def _methods_arg(text: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]``, each a registered pipeline (checked before any work)."""
    if text is None:
        return None
    from rawkit.pipelines import get

    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise CLIError("--methods: expected registered names separated by commas, got none")
    for n in names:
        try:
            get(n)
        except ValueError as e:
            raise CLIError(f"--methods: {e}") from None
    return names


def _config_from_args(cls: type[Any], args: argparse.Namespace) -> Any:
    values: dict[str, Any] = dict(cls.variants.get(getattr(args, "variant", None) or "", {}))
    for name in cls.Config.field_names():
        v = getattr(args, f"cfg_{name}", None)
        if v is not None:
            values[name] = v
    return cls.Config.from_dict(values)


# --------------------------------------------------------------------------- train, reconstruct


def _training_pairs(source: str, *, camera: str, max_side: int, per_photo: int, seed: int) -> Any:
    """A PairSet: synthetic pairs from the bundled train photos, or an AIM22 track folder."""
    from rawkit.data import SPLITS, AIM22Pairs, PairSet

    if source != "synthetic":
        if not Path(source).is_dir():
            raise FileNotFoundError(
                f"--data: {source} is not a folder (expected an AIM22 track folder)"
            )
        return PairSet.from_any(AIM22Pairs(source))
    from rawkit.data import synthetic_pairs

    pairs = synthetic_pairs(SPLITS["train"], camera=camera, per_photo=per_photo,
                            max_side=max_side, seed=seed)  # fmt: skip
    return PairSet.from_any(pairs)


def _train(args: argparse.Namespace) -> int:
    from rawkit.io import check_writable
    from rawkit.isp import BUILTIN_CAMERAS
    from rawkit.pipelines import get
    from rawkit.pipelines.base import CONFIG_FILE, WEIGHTS_FILE

    cls = get(args.method)
    if getattr(args, "preset", None) == "full":
        chosen = [
            n for n in cls.Config.field_names() if getattr(args, f"cfg_{n}", None) is not None
        ]
        return _train_full(
            args,
            parser_defaults=not chosen and not getattr(args, "variant", None) and args.seed == 0,
        )
    config = _config_from_args(cls, args)  # bad settings fail here, before any data is made
    out = Path(args.out)
    if out.is_dir():
        for f in (CONFIG_FILE, WEIGHTS_FILE):
            check_writable(out / f, overwrite=args.overwrite)
    elif out.exists():
        raise CLIError(f"-o/--out: {out} exists and is not a folder")
    camera = str(getattr(config, "camera", None) or args.camera)
    if camera not in BUILTIN_CAMERAS:
        raise CLIError(f"--camera: expected one of {list(BUILTIN_CAMERAS)}, got {camera!r}")
    data = None
    videos = getattr(cls, "synthetic_training_data", None)  # video pipelines learn from clips
    if cls.learned and videos is not None and args.data == "synthetic":
        data = videos(camera=camera, seed=args.seed)
    elif cls.learned:
        data = _training_pairs(args.data, camera=camera, max_side=args.max_side,
                               per_photo=args.pairs_per_photo, seed=args.seed)  # fmt: skip
    pipe = cls.fit(data, config, seed=args.seed)
    pipe.info.update(camera=camera, data=args.data)
    pipe.save(out, overwrite=args.overwrite)
    print(f"saved the {cls.name} pipeline to {out}")
    return 0


def _train_full(args: argparse.Namespace, *, parser_defaults: bool) -> int:
    """``rawkit train METHOD --preset full``: the recipe of the shipped weights."""
    from rawkit.io import check_writable
    from rawkit.pipelines.base import CONFIG_FILE
    from rawkit.weights.recipes import FULL_RECIPES, run_full

    if args.method not in FULL_RECIPES:
        raise CLIError(
            f"--preset full: {args.method} has no recipe of shipped weights; methods with "
            f"one: {', '.join(sorted(FULL_RECIPES))}"
        )
    if not parser_defaults or args.data != "synthetic":
        raise CLIError(
            "--preset full: the recipe fixes the data and every setting; drop the other "
            "options (or leave out --preset to choose them)"
        )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"-o/--out: {out} exists and is not a folder")
    check_writable(out / CONFIG_FILE, overwrite=args.overwrite)
    module, recipe = FULL_RECIPES[args.method]
    print(f"training {args.method} by its shipped recipe: python -m {module} {' '.join(recipe)}")
    run_full(args.method, out, overwrite=args.overwrite)
    print(f"saved the {args.method} pipeline to {out}")
    return 0


def _build_prior(args: argparse.Namespace) -> int:
    from rawkit.pipelines import Pipeline, PriorRAW
    from rawkit.pipelines.priorraw import build_bank

    pipe = Pipeline.load(args.pipeline)
    if not isinstance(pipe, PriorRAW) or pipe.encoder is None:
        raise CLIError(f"--pipeline: {args.pipeline} is not a PriorRAW pipeline with an encoder")
    camera = str(pipe.info.get("camera", "nikon_d5100"))
    data = _training_pairs(args.reference, camera=camera, max_side=args.max_side,
                           per_photo=args.pairs_per_photo, seed=args.seed)  # fmt: skip
    c = pipe.config.replace(
        n_clusters=args.clusters or pipe.config.n_clusters,
        group_size=args.group_size or pipe.config.group_size,
    )
    bank = build_bank(pipe.encoder, data, n_clusters=c.n_clusters, group_size=c.group_size,
                      niter=c.niter, seed=args.seed)  # fmt: skip
    new = PriorRAW(c)
    new.load_state_tensors(pipe.state_tensors())
    new.bank = bank
    new.info, new.fitted = pipe.info, True
    new.save(args.pipeline, overwrite=True)
    pipe = new
    print(f"bank of {len(pipe.bank)} entries written to {args.pipeline}")
    return 0


def _reconstruct(args: argparse.Namespace) -> int:
    from rawkit.pipelines import Pipeline, pretrained
    from rawkit.pipelines.photo import (
        DEFAULT_PHOTO_METHOD,
        default_photo_pipeline,
        plan_photo_jobs,
        reconstruct_photo,
    )

    # every input and output is checked before any model is loaded or any work starts
    jobs = plan_photo_jobs(args.inputs, args.out, format=f".{args.format}",
                           overwrite=args.overwrite)  # fmt: skip
    if args.pipeline:
        pipe = Pipeline.load(args.pipeline)
    elif args.method in (None, DEFAULT_PHOTO_METHOD):
        pipe = default_photo_pipeline()
    else:
        pipe = pretrained(args.method)
    if pipe.stores_metadata:
        raise CLIError(
            f"--method: {pipe.name} needs per-image metadata besides the sRGB; rawkit "
            "reconstruct takes sRGB images only"
        )
    for job in jobs:
        res = reconstruct_photo(job, pipe, dng=args.dng, overwrite=args.overwrite, progress=True)
        for note in res.notes:
            print(f"note: {job.src.name}: {note}")
        print(f"{job.src} -> {res.dest}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from rawkit.pipelines.photo import render_raw_file

    out = render_raw_file(args.input, args.out, overwrite=args.overwrite)
    print(f"{args.input} -> {out}")
    return 0


def _bench_quality(args: argparse.Namespace) -> int:
    from rawkit.bench.quality import (
        OVEREXPOSED_LEGEND,
        TABLE_LEGEND,
        format_quality_table,
        method_configs,
        run_quality,
    )

    records = run_quality(args.preset, seed=args.seed, json_path=args.json,
                          overwrite=args.overwrite, methods=_methods_arg(args.methods),
                          shipped=not args.train)  # fmt: skip
    print(TABLE_LEGEND)
    if args.preset == "overexposed":
        print(OVEREXPOSED_LEGEND)
    print()
    print(format_quality_table(records))
    if not args.train:
        shown = {r.method for r in records}
        left = [
            k for k in method_configs(args.preset, _methods_arg(args.methods)) if k not in shown
        ]
        if left:
            print(f"\nrows without shipped weights, left out: {', '.join(left)} "
                  "(--train trains every row at the preset's equal budget)")  # fmt: skip
    if args.json:
        print(f"wrote {args.json}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.kind == "quality":
        return _bench_quality(args)
    from rawkit.bench.harness import format_table, run_speed, speed_suites, write_json

    suites = speed_suites()
    chosen = args.suite or sorted(suites)
    unknown = [s for s in chosen if s not in suites]
    if unknown:
        print(f"--suite: unknown {unknown}; expected some of {sorted(suites)}", file=sys.stderr)
        return 2
    if args.json and Path(args.json).exists() and not args.overwrite:
        print(f"--json: {args.json} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    if args.threads is not None and args.threads < 1:
        print(f"--threads: expected an int >= 1, got {args.threads}", file=sys.stderr)
        return 2
    records = run_speed(
        chosen, megapixels=args.megapixels, repeats=args.repeats, threads=args.threads
    )
    print(format_table(records))
    print(
        "ratio = rawkit time / peer time, medians, interleaved in one run (below 1: rawkit faster)"
    )
    if args.json:
        print(f"wrote {write_json(records, args.json, overwrite=args.overwrite)}")
    return 0


def _derender_video(args: argparse.Namespace) -> int:
    """``rawkit derender-video``: RAW frames from an sRGB video and its first RAW frame."""
    from tqdm.auto import tqdm

    import rawkit.io as rio
    from rawkit.cfa import pack, unpack
    from rawkit.isp import denormalize_levels
    from rawkit.pipelines import Pipeline
    from rawkit.pipelines.video import VideoPipeline, read_video_frames

    video, first, out = Path(args.video), Path(args.first), Path(args.out_dir)
    if not video.exists():
        raise FileNotFoundError(f"{video}: no such video file or folder of frames")
    if not first.is_file():
        raise FileNotFoundError(f"{first}: no such RAW file (--first)")
    if out.exists() and not out.is_dir():
        raise CLIError(f"-o/--out-dir: {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise CLIError(f"-o/--out-dir: {out} is not empty; pass --overwrite to write into it")
    raw0 = rio.read_raw(first)
    if args.format == "dng" and (raw0.as_shot_neutral is None or raw0.color_matrix is None):
        raise CLIError(
            f"--first: {first} has no neutral or colour matrix for the DNGs; use --format npy"
        )
    if args.pipeline:
        pipe = Pipeline.load(args.pipeline)
    else:  # the calibrated base: the best measured on rawkit's videos (tutorial "video")
        pipe = VideoPipeline.shipped() if args.fagdn else VideoPipeline.base_only()
    if not isinstance(pipe, VideoPipeline):
        raise CLIError(f"--pipeline: expected a saved 'video' pipeline, got {pipe.name!r}")
    frames = read_video_frames(video)
    out.mkdir(parents=True, exist_ok=True)
    chain = pipe.derender(frames, pack(raw0.mosaic, pattern=raw0.pattern), pattern=raw0.pattern)
    n = 0
    for t, y in enumerate(tqdm(chain, desc="frames", unit="frame")):
        dest = out / f"{t:06d}.{args.format}"
        if args.format == "npy":
            with rio.atomic_write(dest, overwrite=args.overwrite) as f:
                np.save(f, y.numpy())
        else:
            sensor = raw0.raw if t == 0 else unpack(  # frame 0: the stored RAW as is
                denormalize_levels(y.numpy(), black_level=list(raw0.black_level),
                                   white_level=raw0.white_level), pattern=raw0.pattern)  # fmt: skip
            rio.write_dng(dest, sensor, pattern=raw0.pattern, black_level=[int(b) for b in raw0.black_level],
                          white_level=int(raw0.white_level), as_shot_neutral=list(raw0.as_shot_neutral),
                          color_matrix=raw0.color_matrix, camera_name=raw0.camera_name or "rawkit",
                          overwrite=args.overwrite)  # fmt: skip
        n += 1
    print(f"{n} RAW frames written to {out}")
    return 0


def _metadata(args: argparse.Namespace) -> int:
    from rawkit.pipelines import Pipeline
    from rawkit.pipelines.learned_metadata import decode_files, encode_files

    pipe = Pipeline.load(args.pipeline) if args.pipeline else None
    if args.action == "encode":
        out = encode_files(args.raw, args.srgb, args.out, rate=args.rate, pipeline=pipe,  # type: ignore[arg-type]
                           overwrite=args.overwrite)  # fmt: skip
        print(f"{out}: {out.stat().st_size} bytes")
    else:
        out = decode_files(args.srgb, args.meta, args.out, pipeline=pipe, overwrite=args.overwrite)  # type: ignore[arg-type]
        print(out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rawkit`` command: errors are one line on stderr, exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command
    try:
        if command == "demo":
            if args.cfa:
                if args.size < 64 or args.size % 2:
                    raise CLIError(f"--size: expected an even number >= 64, got {args.size}")
                from rawkit.bench.demo import cfa_demo

                cfa_demo(Path(args.out), overwrite=args.overwrite, size=args.size)
            else:
                from rawkit.bench.demo import demo

                demo(Path(args.out), overwrite=args.overwrite, preset=args.preset, seed=args.seed,
                     methods=_methods_arg(args.methods), train=args.train)  # fmt: skip
            return 0
        if command == "bench":
            return _bench(args)
        handlers = {"train": _train, "build-prior": _build_prior, "reconstruct": _reconstruct,
                    "render": _render, "derender-video": _derender_video,
                    "metadata": _metadata}  # fmt: skip
        return handlers[command](args)
    except FileExistsError as e:
        name = e.filename or str(e)
        print(f"rawkit {command}: {name} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    except (OSError, ValueError, TypeError) as e:
        print(f"rawkit {command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
