"""The argument parser of the ``rawkit`` command (:mod:`rawkit.cli` runs the commands).

Kept apart from the command handlers so that each module stays short; every method
command is built from the pipeline registry and its config dataclass.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

__all__ = ["build_parser"]


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_config_options(parser: argparse.ArgumentParser, config: type[Any]) -> None:
    """One option per field of a pipeline config; the default shown is the config's."""
    hints = typing.get_type_hints(config)
    group = parser.add_argument_group(f"{config.__name__} settings (default: the config's)")
    for f in dataclasses.fields(config):
        kind, help_ = hints[f.name], str(f.metadata.get("help", ""))
        choices = f.metadata.get("choices")
        text = f"{help_} (default: {f.default!r})"
        if kind is bool:
            group.add_argument(_option(f.name), dest=f"cfg_{f.name}", default=None,
                               action=argparse.BooleanOptionalAction, help=text)  # fmt: skip
            continue
        origin = typing.get_origin(kind)
        if origin is tuple:
            (item, *_) = typing.get_args(kind)
            conv: Any = lambda s, t=item: tuple(t(v) for v in s.split(",") if v)  # noqa: E731
            text += "; comma-separated"
        else:
            conv = kind if kind in (int, float, str) else str
        group.add_argument(_option(f.name), dest=f"cfg_{f.name}", type=conv, default=None,
                           choices=choices, metavar=None if choices else f.name.upper(),
                           help=text)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``rawkit`` command (help texts are the documentation)."""
    from rawkit.bench.quality import QualityConfig
    from rawkit.pipelines import available, get
    from rawkit.weights.recipes import FULL_RECIPES

    data = QualityConfig(name="train")  # the synthetic-data defaults, written once there

    names = available()
    listing = "; ".join(f"{n}: {get(n).description}" for n in names)
    parser = argparse.ArgumentParser(
        prog="rawkit", description="Reverse image signal processing toolkit."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_demo = sub.add_parser("demo", help="run the main demonstration and write a figure")
    p_demo.add_argument(
        "-o", "--out", default="rawkit-demo", help="output folder (default: rawkit-demo)"
    )
    p_demo.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p_demo.add_argument(
        "--preset", default="demo", choices=["quick", "demo", "default"],
        help="data/training size (quick: seconds; demo: ~5 min on 2 cores)",
    )  # fmt: skip
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument(
        "--train", action="store_true",
        help="train every learned method from scratch at the preset's small scale (the "
        "teaching path) instead of using the shipped weights",
    )  # fmt: skip
    p_demo.add_argument(
        "--methods", help=f"comma-separated registered methods (default: the preset's): {listing}"
    )
    p_demo.add_argument(
        "--cfa", action="store_true",
        help="instead: the CFA layer tour (mosaic, demosaic, bit-packing) on one photo",
    )  # fmt: skip
    p_demo.add_argument(
        "--size", type=int, default=256, help="--cfa: side of the photo crop (even)"
    )

    p_train = sub.add_parser(
        "train", help=f"train a registered pipeline and save it ({', '.join(names)})"
    )
    methods = p_train.add_subparsers(dest="method", required=True, metavar="METHOD",
                                     help=f"one of: {listing}")  # fmt: skip
    for name in names:
        cls = get(name)
        p = methods.add_parser(name, help=cls.description, description=cls.description)
        p.add_argument("-o", "--out", required=True, help="pipeline folder to write")
        p.add_argument(
            "--data", default="synthetic",
            help="'synthetic' (pairs from the bundled train photos) or an AIM22 track folder",
        )  # fmt: skip
        if "camera" not in cls.Config.field_names():  # else the config's --camera serves both
            p.add_argument(
                "--camera", default=data.camera, help="built-in camera of the synthetic data"
            )
        p.add_argument("--max-side", type=int, default=data.train_max_side,
                       help="synthetic photo size")  # fmt: skip
        p.add_argument("--pairs-per-photo", type=int, default=data.train_pairs_per_photo,
                       help="synthetic renders per photo")  # fmt: skip
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--overwrite", action="store_true")
        if name in FULL_RECIPES:
            p.add_argument(
                "--preset", choices=["full"],
                help="full: train by the recipe of the shipped weights (data, settings, "
                "steps; writes a card.json; tens of minutes on 2 cores)",
            )  # fmt: skip
        if cls.variants:
            p.add_argument("--variant", choices=list(cls.variants),
                           help="a named configuration (e.g. a paper's ablation row)")  # fmt: skip
        _add_config_options(p, cls.Config)

    p_bp = sub.add_parser(
        "build-prior", help="(re)build a trained PriorRAW pipeline's bank (Alg. 2)"
    )
    p_bp.add_argument("--pipeline", required=True, help="pipeline folder written by 'rawkit train'")
    p_bp.add_argument(
        "--reference", default="synthetic",
        help="'synthetic' (bundled train photos) or an AIM22 track folder",
    )  # fmt: skip
    p_bp.add_argument("--clusters", type=int, help="bank entries (default: the pipeline's)")
    p_bp.add_argument("--group-size", type=int, help="pixels per entry (default: the pipeline's)")
    p_bp.add_argument("--max-side", type=int, default=data.train_max_side)
    p_bp.add_argument("--pairs-per-photo", type=int, default=data.train_pairs_per_photo)
    p_bp.add_argument("--seed", type=int, default=0)

    p_rec = sub.add_parser(
        "reconstruct",
        help="reconstruct camera RAW from photos (JPEG/PNG/TIFF) as DNG, .npy or .png",
        description=(
            "Reconstruct camera RAW from photos (.jpg/.png/.tif, 8 or 16 bit; grey and RGBA "
            "are converted, EXIF orientation applied). Without --method or --pipeline the "
            "method is the blind inverse of LibRaw's rendering (blind_unprocess), right for "
            "a photo from an unknown camera; --method NAME uses a registered method with its "
            "shipped weights, --pipeline FOLDER your own trained pipeline. The output kind "
            "follows the extension of -o: .dng (a Bayer DNG whose as-shot neutral, colour "
            "matrix and white level are fitted so that a raw editor renders it back to the "
            "photo), .npy (AIM22 layout: (H/2, W/2, 4) uint16, white level 1024) or .png (the "
            "Bayer mosaic as a 16-bit grey image). With several inputs -o is a folder and "
            "--format picks the kind. Odd sizes lose their last row/column. Everything is "
            "checked before any work starts."
        ),
    )
    p_rec.add_argument("inputs", nargs="+", help="photos (.jpg/.png/.tif)")
    p_rec.add_argument("-o", "--out", required=True, help="output file (.dng/.npy/.png) or folder")
    which = p_rec.add_mutually_exclusive_group()
    which.add_argument("--pipeline", help="pipeline folder written by 'rawkit train'")
    which.add_argument("--method", choices=names, metavar="METHOD",
                       help=f"a registered method (default blind_unprocess): {listing}")  # fmt: skip
    p_rec.add_argument(
        "--format", choices=["dng", "npy", "png"], default="dng", help="kind for a folder -o"
    )
    p_rec.add_argument(
        "--dng", choices=["bayer", "linear"], default="bayer",
        help="bayer: the reconstructed mosaic (what a camera stores; readers demosaic it); "
        "linear: full-resolution camera RGB (a linear DNG, renders back without demosaicing)",
    )  # fmt: skip
    p_rec.add_argument("--overwrite", action="store_true", help="replace existing outputs")

    p_ren = sub.add_parser(
        "render",
        help="render a DNG or camera RAW file to sRGB with rawkit's ISP",
        description=(
            "Render a DNG or camera RAW file to an sRGB image with rawkit's forward ISP in "
            "LibRaw's convention (as-shot white balance, the file's colour matrix, bilinear "
            "demosaic, sRGB curve): check a DNG without another program. .png is 16-bit, "
            ".jpg 8-bit."
        ),
    )
    p_ren.add_argument("input", help="a .dng or camera RAW file")
    p_ren.add_argument("-o", "--out", required=True, help="output .png or .jpg")
    p_ren.add_argument("--overwrite", action="store_true", help="replace an existing output")

    p_vid = sub.add_parser(
        "derender-video",
        help="RAW frames of an sRGB video from its first RAW frame (calibrated inverse or FAGDN)",
        description=(
            "Recover the RAW frames of an sRGB video (a file OpenCV decodes, or a folder of "
            "frames) from the RAW of its first frame: by default the inverse ISP calibrated "
            "on that frame, applied to every frame; with --fagdn the FAGDN chain. One DNG "
            "(or .npy packed RAW) per frame, a few frames in memory whatever the length."
        ),
    )
    p_vid.add_argument("video", help="sRGB video file (mp4, mov, ...) or folder of frames")
    p_vid.add_argument("--first", required=True, help="RAW (DNG) of the video's first frame")
    p_vid.add_argument("-o", "--out-dir", dest="out_dir", required=True, help="output folder")
    p_vid.add_argument("--format", choices=("dng", "npy"), default="dng", help="per-frame file")
    which = p_vid.add_mutually_exclusive_group()
    which.add_argument("--fagdn", action="store_true",
                       help="the shipped FAGDN chain (the paper's network) instead of the "
                            "default, the inverse ISP calibrated on the first frame")  # fmt: skip
    which.add_argument("--pipeline", help="a saved video pipeline folder")
    p_vid.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")

    p_meta = sub.add_parser(
        "metadata",
        help="learned compact metadata: RAW + sRGB -> bytes, and sRGB + bytes -> DNG",
    )
    msub = p_meta.add_subparsers(dest="action", required=True)
    p_menc = msub.add_parser("encode", help="a RAW file and its sRGB photo -> metadata bytes")
    p_menc.add_argument("raw", help="camera RAW or DNG")
    p_menc.add_argument("srgb", help="its sRGB photo (.jpg/.png, same size)")
    p_menc.add_argument("-o", "--out", required=True, help="metadata file to write")
    p_menc.add_argument("--rate", type=int, help="rate index, 0 = fewest bytes (default: 4)")
    p_mdec = msub.add_parser("decode", help="an sRGB photo and its metadata -> RAW as a DNG")
    p_mdec.add_argument("srgb", help="the sRGB photo (.jpg/.png)")
    p_mdec.add_argument("meta", help="metadata file from 'rawkit metadata encode'")
    p_mdec.add_argument("-o", "--out", required=True, help="DNG to write")
    for p in (p_menc, p_mdec):
        p.add_argument("--pipeline", help="a saved learned_metadata folder (default: shipped)")
        p.add_argument("--overwrite", action="store_true")

    p_bench = sub.add_parser("bench", help="benchmarks")
    bsub = p_bench.add_subparsers(dest="kind", required=True)
    p_speed = bsub.add_parser("speed", help="speed ratios against peers timed in the same run")
    p_speed.add_argument("--suite", action="append", help="suite to run (repeatable; default: all)")
    p_speed.add_argument("--megapixels", type=float, default=12.0, help="image size (default 12)")
    p_speed.add_argument(
        "--repeats", type=int, default=5, help="timed repeats per entry (default 5)"
    )
    p_speed.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for rawkit and its peers alike (default: both 1 and torch's default)",
    )
    p_speed.add_argument("--json", help="also write the records to this JSON file")
    p_speed.add_argument("--overwrite", action="store_true", help="replace an existing --json file")

    p_qual = bsub.add_parser(
        "quality", help="reconstruction quality of every method (PSNR/SSIM table)"
    )
    p_qual.add_argument(
        "--preset", default="default", choices=["quick", "demo", "default", "hard", "overexposed"],
        help="default: the benchmark camera's test split (the weights' cards); hard: every "
        "render drawn at random; overexposed: the default test split scored as rendered and "
        "rendered with more exposure (5-30 %% of the sRGB pixels clip), with PSNR inside and "
        "outside the overexposure mask; quick: tiny images; with --train: quick takes seconds, "
        "demo ~5 min, default and hard ~10-20 min on 2 cores",
    )  # fmt: skip
    p_qual.add_argument(
        "--methods", help=f"comma-separated registered methods (default: the preset's): {listing}"
    )
    p_qual.add_argument(
        "--train", action="store_true",
        help="train every row at the preset's equal budget instead of scoring the shipped "
        "weights (the default preset's test pairs are those of the weights' cards)",
    )  # fmt: skip
    p_qual.add_argument("--seed", type=int, default=0)
    p_qual.add_argument("--json", help="also write the records to this JSON file")
    p_qual.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    return parser
