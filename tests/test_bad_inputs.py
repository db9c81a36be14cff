"""Every public function refuses hostile input at its boundary, naming the argument.

``test_every_public_callable_is_listed`` walks every public module of rawkit and the
names in its ``__all__``: each callable must have a :data:`CASES` entry (a valid call
whose array inputs are then corrupted one at a time) or an entry, with a reason, in
:data:`NO_TENSOR_INPUT` or :data:`PENDING`.  A new public function that is in none of
them fails the suite.

For each case:

- ``test_bad_array``: every array input in turn is replaced by each kind of
  :func:`rawkit.testing.bad_arrays` (NaN, Inf, bool, complex, flattened, a list, a
  string, None); the call must raise ValueError/TypeError/OSError naming the argument.
- ``test_bad_scalar``: every keyword-only option annotated ``bool``, ``int`` or
  ``float`` gets a value of the wrong kind (the string ``"False"``, ``2.5``, NaN); the
  call must refuse it, naming the option.
- ``test_valid_call``: the unmodified call works (so refusals above come from the bad
  value, not from a broken call).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import tempfile
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

import rawkit
from rawkit.testing import ARRAY_KINDS, assert_refuses, bad_arrays

RNG = np.random.default_rng(0)
TMP = Path(tempfile.mkdtemp(prefix="rawkit-bad-inputs-"))


@pytest.fixture(autouse=True)
def _tmp_folder():
    """The writers' scratch folder exists for every test (an outside clean-up of /tmp
    during a long run must not turn into false failures)."""
    TMP.mkdir(parents=True, exist_ok=True)


def _f32(*shape: int, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


MOSAIC = _f32(1, 8, 8)
MOSAIC16 = _f32(1, 16, 16)
PACKED = _f32(4, 4, 4)
RGB = _f32(3, 8, 8)
RGB16 = _f32(3, 16, 16)
RGB32 = _f32(3, 32, 32)
BIG = _f32(1, 176, 176)
FLOW = _f32(2, 8, 8, lo=-1, hi=1)
U16 = RNG.integers(64, 1023, size=(1, 8, 8)).astype(np.uint16)
U16_24 = RNG.integers(64, 1023, size=(1, 24, 24)).astype(np.uint16)
XY = np.array([0.3127, 0.329])
FEAT = _f32(4, 4, 4, lo=-1, hi=1)  # (C, h, w) target features
FEAT_R = _f32(4, 4, 4, lo=-1, hi=1)  # reference features
VALUES = _f32(3, 4, 4)  # reference values to assemble
NEUTRAL = np.array([0.5, 1.0, 0.7])
EYE = np.eye(3)

#: Layout conversions move values without computing with them: NaN/Inf pass through
#: unchanged (and are refused by the first op that computes), so only the structural
#: kinds apply to them.
STRUCTURAL = ("bool", "complex", "flat", "list", "str", "none")
#: 1-D inputs (vectors, chromaticities) and matrices that also accept a list of numbers.
VECTOR = ("nan", "inf", "bool", "complex", "str", "none")
#: Element-wise ops accept any shape, so a flattened array is valid for them.
ELEMENTWISE = ("nan", "inf", "bool", "complex", "list", "str", "none")
#: Pure layout conversions of images: any dtype moves through unchanged.
LAYOUT = ("flat", "list", "str", "none")


@dataclasses.dataclass
class Case:
    """A valid call ``fn(*args, **kwargs)`` and which of its inputs are arrays."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    arrays: tuple[int | str | tuple[int | str, tuple[str, ...]], ...] = (0,)
    kinds: tuple[str, ...] = ARRAY_KINDS  # for slots given without their own kinds
    names: dict[int | str, str] = dataclasses.field(default_factory=dict)
    signature_of: Callable[..., Any] | None = None  # whose options to probe

    def slots(self) -> list[tuple[int | str, tuple[str, ...]]]:
        return [a if isinstance(a, tuple) else (a, self.kinds) for a in self.arrays]

    def call(self, slot: int | str | None = None, value: Any = None, **over: Any) -> Any:
        args, kwargs = list(self.args), {**self.kwargs, **over}
        if isinstance(slot, int):
            args[slot] = value
        elif isinstance(slot, str):
            kwargs[slot] = value
        return self.fn(*args, **kwargs)

    def name_of(self, slot: int | str) -> str:
        if slot in self.names:
            return self.names[slot]
        if isinstance(slot, str):
            return slot
        params = list(inspect.signature(self.fn).parameters)
        return params[slot]


def _cases() -> dict[str, Case]:
    from rawkit import cfa, flow, io, isp, losses, masks, metrics, nets, prior, search
    from rawkit.io.raw import apply_flip
    from rawkit.isp.color import check_color_matrix as _check_color_matrix
    from rawkit.pipelines.video.calibrate import calibrate_inverse

    cam = isp.builtin_camera("nikon_d5100")
    params = isp.default_params(cam)
    look = isp.camera_look(seed=0) if hasattr(isp, "camera_look") else None
    gen = torch.Generator().manual_seed(0)
    unet = nets.UNet(width=4, depth=1, seed=0)
    enc = nets.PixelSearchEncoder(dim=4, width=4, blocks=1, seed=0)
    l2ssim = losses.L2SSIMLoss(data_range=1.0)

    def forward(module: torch.nn.Module, name: str) -> Callable[..., Any]:
        def f(x: Any) -> Any:
            return module(x)

        f.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY)]
        )
        return f

    t = torch.from_numpy
    c: dict[str, Case] = {
        # ---- cfa
        "rawkit.cfa.packing.pack": Case(cfa.pack, (MOSAIC,), {"pattern": "RGGB"}, kinds=STRUCTURAL),
        "rawkit.cfa.packing.unpack": Case(cfa.unpack, (PACKED,), {"pattern": "RGGB"}, kinds=STRUCTURAL),
        "rawkit.cfa.packing.mosaic": Case(cfa.mosaic, (RGB,), {"pattern": "RGGB"}, kinds=STRUCTURAL),
        "rawkit.cfa.demosaic.demosaic": Case(cfa.demosaic, (MOSAIC,), {"pattern": "RGGB", "method": "bilinear"}),
        "rawkit.cfa.demosaic.demosaic_bilinear": Case(cfa.demosaic_bilinear, (MOSAIC,), {"pattern": "GRBG"}),
        "rawkit.cfa.demosaic.demosaic_malvar": Case(cfa.demosaic_malvar, (MOSAIC,), {"pattern": "GRBG"}),
        "rawkit.cfa.menon.demosaic_menon": Case(cfa.demosaic_menon, (MOSAIC16,), {"pattern": "BGGR"}),
        "rawkit.cfa.bitpack.pack_bits": Case(cfa.pack_bits, (U16,), {"bit_depth": 10}, kinds=("bool", "complex", "list", "str", "none")),
        "rawkit.cfa.bitpack.unpack_bits": Case(
            cfa.unpack_bits, (cfa.pack_bits(U16, bit_depth=10),), {"bit_depth": 10, "width": 8},
            kinds=("bool", "complex", "list", "str", "none")),  # fmt: skip
        "rawkit.cfa.pattern.colour_at": Case(cfa.colour_at, ("RGGB",), {"row": 1, "col": 2}, arrays=()),
        "rawkit.cfa.pattern.pattern_after_crop": Case(cfa.pattern_after_crop, ("RGGB",), {"top": 1, "left": 0}, arrays=()),
        "rawkit.cfa.pattern.pattern_after_flip": Case(cfa.pattern_after_flip, ("RGGB",), {"horizontal": True}, arrays=()),
        "rawkit.cfa.pattern.pattern_after_rot180": Case(cfa.pattern_after_rot180, ("RGGB",), {"height": 4, "width": 6}, arrays=()),
        # ---- isp
        "rawkit.isp.levels.normalize_levels": Case(isp.normalize_levels, (U16,), {"black_level": 64, "white_level": 1023}),
        "rawkit.isp.levels.denormalize_levels": Case(isp.denormalize_levels, (MOSAIC,), {"black_level": 64, "white_level": 1023}),
        "rawkit.isp.color.apply_color_matrix": Case(isp.apply_color_matrix, (RGB,), {"matrix": EYE}, arrays=(0, ("matrix", VECTOR))),
        "rawkit.isp.color.solve_color_matrix": Case(isp.solve_color_matrix, (RGB,), {"matrix": EYE}, arrays=(0, ("matrix", VECTOR))),
        "rawkit.isp.color.camera_to_srgb": Case(isp.camera_to_srgb, (RGB,), {"xyz_to_cam": cam.color_matrix()}, arrays=(0, ("xyz_to_cam", VECTOR))),
        "rawkit.isp.color.srgb_to_camera": Case(isp.srgb_to_camera, (RGB,), {"xyz_to_cam": cam.color_matrix()}, arrays=(0, ("xyz_to_cam", VECTOR))),
        "rawkit.isp.color.srgb_to_camera_matrix": Case(isp.srgb_to_camera_matrix, (cam.color_matrix().numpy(),), kinds=VECTOR),
        "rawkit.isp.color.bradford_matrix": Case(isp.bradford_matrix, (np.array([0.95, 1.0, 1.09]), np.array([0.96, 1.0, 0.82])), arrays=(0, 1), kinds=VECTOR),
        "rawkit.isp.exposure.apply_exposure": Case(isp.apply_exposure, (RGB,), {"gain": 1.5}, kinds=ELEMENTWISE),
        "rawkit.isp.exposure.invert_exposure": Case(isp.invert_exposure, (RGB,), {"gain": 1.5}, kinds=ELEMENTWISE),
        "rawkit.isp.exposure.clip_highlights": Case(isp.clip_highlights, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.exposure.invert_clip_highlights": Case(isp.invert_clip_highlights, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.lens.lens_shading": Case(isp.lens_shading, (RGB,), {"strength": 0.3, "layout": "rgb"}),
        "rawkit.isp.lens.invert_lens_shading": Case(isp.invert_lens_shading, (RGB,), {"strength": 0.3, "layout": "rgb"}),
        "rawkit.isp.lens.lens_shading_gain": Case(isp.lens_shading_gain, (8, 8), {"strength": 0.3}, arrays=()),
        "rawkit.isp.noise.add_noise": Case(isp.add_noise, (MOSAIC,), {"shot_noise": 0.01, "read_noise": 0.001, "generator": gen}, kinds=ELEMENTWISE),
        "rawkit.isp.noise.noise_variance": Case(isp.noise_variance, (MOSAIC,), {"shot_noise": 0.01, "read_noise": 0.001}, kinds=ELEMENTWISE),
        "rawkit.isp.pipeline.process": Case(isp.process, (MOSAIC,), {"camera": cam, "params": params}),
        "rawkit.isp.pipeline.preview": Case(isp.preview, (MOSAIC,), {"camera": cam, "params": params}),
        "rawkit.isp.pipeline.unprocess": Case(isp.unprocess, (RGB,), {"camera": cam, "params": params}),
        "rawkit.isp.pipeline.roundtrip_mask": Case(isp.roundtrip_mask, (RGB,), {"camera": cam, "params": params}),
        "rawkit.isp.tone.smoothstep": Case(isp.smoothstep, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.tone.inverse_smoothstep": Case(isp.inverse_smoothstep, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.transfer.gamma_encode": Case(isp.gamma_encode, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.transfer.gamma_decode": Case(isp.gamma_decode, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.transfer.srgb_oetf": Case(isp.srgb_oetf, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.transfer.srgb_eotf": Case(isp.srgb_eotf, (RGB,), kinds=ELEMENTWISE),
        "rawkit.isp.white_balance.white_balance": Case(isp.white_balance, (RGB,), {"gains": NEUTRAL, "layout": "rgb"}, arrays=(0, ("gains", VECTOR))),
        "rawkit.isp.white_balance.invert_white_balance": Case(isp.invert_white_balance, (RGB,), {"gains": NEUTRAL, "layout": "rgb"}, arrays=(0, ("gains", VECTOR))),
        "rawkit.isp.white_balance.safe_invert_white_balance": Case(isp.safe_invert_white_balance, (RGB,), {"gains": 1 / NEUTRAL}),
        "rawkit.isp.white_balance.safe_gains_exact_mask": Case(isp.safe_gains_exact_mask, (RGB,), {"gains": 1 / NEUTRAL}),
        "rawkit.isp.white_balance.gains_from_neutral": Case(isp.gains_from_neutral, (NEUTRAL,), kinds=VECTOR),
        "rawkit.isp.camera.xy_to_xyz": Case(isp.xy_to_xyz, (XY,), kinds=VECTOR),
        "rawkit.isp.camera.daylight_xy": Case(isp.daylight_xy, (6504,), arrays=()),
        # ---- io
        "rawkit.io.images.to_hwc": Case(io.to_hwc, (RGB,), kinds=LAYOUT),
        "rawkit.io.images.from_hwc": Case(io.from_hwc, (np.moveaxis(RGB, 0, -1).copy(),), kinds=LAYOUT),
        "rawkit.io.images.write_image": Case(io.write_image, (TMP / "w.png", RGB), {"overwrite": True}, arrays=(1,)),
        "rawkit.io.aim22.write_aim22_raw": Case(io.write_aim22_raw, (TMP / "w.npy", (PACKED * 1000).astype(np.uint16)), {"overwrite": True}, arrays=(1,), kinds=STRUCTURAL),
        "rawkit.io.aim22.write_aim22_rgb": Case(io.write_aim22_rgb, (TMP / "w.jpg", RGB), {"overwrite": True}, arrays=(1,)),
        "rawkit.io.dng.write_dng": Case(
            io.write_dng, (TMP / "w.dng", U16_24),
            {"pattern": "RGGB", "black_level": 64, "white_level": 1023, "as_shot_neutral": NEUTRAL,
             "color_matrix": EYE, "overwrite": True},
            arrays=(1,), kinds=STRUCTURAL),  # fmt: skip
        "rawkit.io.raw.apply_flip": Case(apply_flip, (MOSAIC, 6), kinds=("flat", "list", "str", "none")),
        "rawkit.io.checkpoint.save_checkpoint": Case(
            io.save_checkpoint, (TMP / "c.pt", {"w": torch.zeros(2)}), {"overwrite": True},
            arrays=(1,), kinds=("str", "none"), names={1: "model"}),
        "rawkit.testing.bad_inputs.bad_arrays": Case(bad_arrays, (MOSAIC,), kinds=("list", "str", "none")),
        # ---- metrics and losses
        "rawkit.metrics.psnr": Case(metrics.psnr, (RGB, RGB * 0.9), {"data_range": 1.0, "mask": np.ones((1, 8, 8))}, arrays=(0, 1, ("mask", ("nan", "inf", "complex", "flat", "list", "str")))),
        "rawkit.metrics.ssim": Case(metrics.ssim, (RGB16, RGB16 * 0.9), {"data_range": 1.0}, arrays=(0, 1)),
        "rawkit.metrics.ssim_map": Case(metrics.ssim_map, (RGB16, RGB16 * 0.9), {"data_range": 1.0}, arrays=(0, 1)),
        "rawkit.metrics.ms_ssim": Case(metrics.ms_ssim, (BIG, BIG * 0.9), {"data_range": 1.0}, arrays=(0, 1)),
        "rawkit.metrics.gamma_preview": Case(metrics.gamma_preview, (RGB,), {"data_range": 1.0}, kinds=("nan", "inf", "bool", "complex", "list", "str", "none")),
        "rawkit.metrics.error_map": Case(metrics.error_map, (RGB, RGB * 0.9), arrays=(0, 1)),
        "rawkit.losses.l2_ssim_loss": Case(losses.l2_ssim_loss, (RGB16, RGB16 * 0.9), {"data_range": 1.0}, arrays=(0, 1)),
        "rawkit.losses.multiscale_loss": Case(
            losses.multiscale_loss, (RGB32, [RGB16], RGB32 * 0.9), {"data_range": 1.0}, arrays=(0, 2)),  # fmt: skip
        "rawkit.losses.L2SSIMLoss": Case(
            lambda pred: l2ssim(t(pred), t(RGB16)) if isinstance(pred, np.ndarray) else l2ssim(pred, t(RGB16)),
            (RGB16,), names={0: "pred"}, signature_of=losses.L2SSIMLoss),  # fmt: skip
        # ---- nets
        "rawkit.nets.unet.UNet": Case(forward(unet, "srgb"), (t(RGB),), names={0: "srgb"}, signature_of=nets.UNet),
        "rawkit.nets.encoder.PixelSearchEncoder": Case(forward(enc, "srgb"), (t(RGB),), names={0: "srgb"}, signature_of=nets.PixelSearchEncoder),
        # ---- losses (more)
        "rawkit.losses.bits_per_pixel": Case(losses.bits_per_pixel, (_f32(1, 2, 4, 4),), {"num_pixels": 64}, kinds=ELEMENTWISE),
        "rawkit.losses.rate_distortion_loss": Case(
            losses.rate_distortion_loss, (np.float32(0.1) * np.ones((2,), np.float32),),
            {"lam": 0.01, "num_pixels": 64, "likelihoods": _f32(2, 2, 4, 4)}, arrays=(0, ("likelihoods", ELEMENTWISE)),
            kinds=VECTOR),
        "rawkit.losses.MultiScaleLoss": Case(losses.MultiScaleLoss, (), {"data_range": 1.0}, arrays=()),
        "rawkit.losses.RateDistortionLoss": Case(losses.RateDistortionLoss, (), {"lam": 0.01}, arrays=()),
        # ---- masks and flow
        "rawkit.masks.overexposure": Case(masks.overexposure, (RGB,)),
        "rawkit.masks.warp_error": Case(masks.warp_error, (RGB, RGB * 0.9), arrays=(0, 1)),
        "rawkit.masks.warp_error_confidence": Case(masks.warp_error_confidence, (RGB, RGB * 0.9), arrays=(0, 1)),
        "rawkit.masks.occlusion": Case(masks.occlusion, (FLOW, -FLOW), arrays=(0, 1)),
        "rawkit.flow.warp.warp": Case(flow.warp, (RGB, FLOW), arrays=(0, 1)),
        "rawkit.flow.warp.warp_packed": Case(flow.warp_packed, (PACKED, FLOW), {"pattern": "RGGB"}, arrays=(0, 1)),
        "rawkit.flow.warp.endpoint_error": Case(flow.endpoint_error, (FLOW, FLOW * 0.9), arrays=(0, 1)),
        "rawkit.flow.warp.forward_backward_error": Case(flow.forward_backward_error, (FLOW, -FLOW), arrays=(0, 1)),
        "rawkit.flow.warp.out_of_frame": Case(flow.out_of_frame, (FLOW,)),
        "rawkit.flow.estimate.estimate_flow": Case(flow.estimate_flow, (RGB32, RGB32 * 0.9), arrays=(0, 1)),
        "rawkit.pipelines.video.calibrate.calibrate_inverse": Case(
            calibrate_inverse, (RGB, PACKED), {"pattern": "RGGB"}, arrays=(0, 1)),
        # ---- search and prior
        "rawkit.search.affinity.affinity": Case(search.affinity, (FEAT, FEAT_R), arrays=(0, 1)),
        "rawkit.search.affinity.assemble": Case(search.assemble, (FEAT, FEAT_R, VALUES), arrays=(0, 1, 2)),
        "rawkit.search.affinity.max_affinity": Case(search.max_affinity, (FEAT, FEAT_R), arrays=(0, 1)),
        "rawkit.search.topk.topk": Case(search.topk, (FEAT, FEAT_R), {"k": 2}, arrays=(0, 1)),
        "rawkit.search.topk.topk_assemble": Case(search.topk_assemble, (FEAT, FEAT_R, VALUES), {"k": 2}, arrays=(0, 1, 2)),
        "rawkit.search.topk.build_index": Case(search.build_index, (FEAT_R,)),
        "rawkit.prior.bank.PriorBank": Case(
            prior.PriorBank, (), {"features": _f32(4, 4), "srgb": _f32(4, 3), "raw": _f32(4, 4)},
            arrays=("features", "srgb", "raw")),
        "rawkit.isp.params.ISPParams": Case(
            isp.ISPParams, (), {"wb_gains": torch.tensor([2.0, 1.0, 1.5]), "xyz_to_cam": cam.color_matrix()},
            arrays=(("wb_gains", VECTOR), ("xyz_to_cam", VECTOR))),
        # ---- nets (functions)
        # An internal step of PriorRAWNet (Eq. 5): finite values are checked at the network's input.
        "rawkit.nets.assembly.distance_map": Case(nets.distance_map, (t(RGB)[None], t(RGB)[None] * 0.9), arrays=(0, 1), kinds=STRUCTURAL),
        # ---- isp checkers
        "rawkit.isp.color.check_color_matrix": Case(_check_color_matrix, (torch.eye(3, dtype=torch.float64), "m"), names={0: "m"}, kinds=("nan", "inf", "flat")),
    }  # fmt: skip
    if look is not None:
        c.update({
            "rawkit.isp.look.apply_look": Case(isp.apply_look, (RGB,), {"look": look}),
            "rawkit.isp.look.invert_look": Case(isp.invert_look, (RGB,), {"look": look}),
            "rawkit.isp.look.tone_curve": Case(isp.tone_curve, (RGB,), {"look": look}, kinds=ELEMENTWISE),
            "rawkit.isp.look.inverse_tone_curve": Case(isp.inverse_tone_curve, (RGB,), {"look": look}, kinds=ELEMENTWISE),
        })  # fmt: skip
    return c


CASES = _cases()

# BEGIN GENERATED LISTS (python tests/_regenerate_bad_input_lists.py keeps these in step;
# then review every reason by hand)
#: Public callables that take no array input: nothing for the array kinds to corrupt
#: (their scalar options are tested in their own modules).  One reason each.
NO_TENSOR_INPUT: dict[str, str] = {
    # rawkit.bench.harness
    "rawkit.bench.harness.SpeedRecord": "settings/result record: no array fields",
    "rawkit.bench.harness.compare": "no array input (names, settings, models, records)",
    "rawkit.bench.harness.default_threads": "no arguments",
    "rawkit.bench.harness.format_table": "no array input (names, settings, models, records)",
    "rawkit.bench.harness.register_speed": "no array input (names, settings, models, records)",
    "rawkit.bench.harness.run_speed": "no array input (names, settings, models, records)",
    "rawkit.bench.harness.speed_suites": "no arguments",
    "rawkit.bench.harness.thread_count": "no array input (names, settings, models, records)",
    "rawkit.bench.harness.write_json": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.bench.overexposure
    "rawkit.bench.overexposure.main": "no array input (names, settings, models, records)",
    "rawkit.bench.overexposure.overexposure_data": "no array input (names, settings, models, records)",
    "rawkit.bench.overexposure.run_overexposure_bench": "no array input (names, settings, models, records)",
    # rawkit.bench.quality
    "rawkit.bench.demo.cfa_demo": "no array input (an output folder and a size)",
    "rawkit.bench.demo.demo": "no array input (an output folder, a preset and method names)",
    "rawkit.bench.render_back.render_back": "no array input (a method name and a DNG kind)",
    "rawkit.bench.quality.QualityConfig": "settings/result record: no array fields",
    "rawkit.bench.quality.QualityData": "settings/result record: no array fields",
    "rawkit.bench.quality.QualityRecord": "settings/result record: no array fields",
    "rawkit.bench.quality.TrainedMethods": "settings/result record: no array fields",
    "rawkit.bench.quality.demo_data": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.evaluate": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.format_quality_table": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.method_configs": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.quality_goals": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.reconstruct_all": "no array input (names, settings, models, records)",
    "rawkit.bench.memory.reconstruction_peak_memory": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.run_quality": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.data.benchmark.synthetic_pairs": "no array input (names, settings, models, records)",
    "rawkit.data.benchmark.benchmark_pairs": "no array input (names, settings, models, records)",
    "rawkit.data.benchmark.pair_seed": "no array input (names, settings, models, records)",
    "rawkit.nets.base.GenericInverseBase": "no array input (a camera name); forward checked by unprocess",
    "rawkit.nets.base.make_base": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.train_methods": "no array input (names, settings, models, records)",
    "rawkit.bench.quality.write_quality_json": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.bench.speed_cfa
    "rawkit.bench.speed_cfa.cfa_suite": "no array input (names, settings, models, records)",
    # rawkit.bench.speed_isp
    "rawkit.bench.speed_isp.isp_suite": "no array input (names, settings, models, records)",
    # rawkit.bench.speed_search
    "rawkit.bench.speed_search.bank_size": "no array input (names, settings, models, records)",
    "rawkit.bench.speed_search.measure_in_subprocess": "no array input (names, settings, models, records)",
    "rawkit.bench.speed_search.search_suite": "no array input (names, settings, models, records)",
    # rawkit.bench.speed_video
    "rawkit.bench.speed_video.video_suite": "no array input (names, settings, models, records)",
    # rawkit.bench.video
    "rawkit.bench.video.VideoQuality": "settings/result record: no array input from users",
    "rawkit.bench.video.format_video_table": "no array input (names, settings, models, records)",
    "rawkit.bench.video.run_video_quality": "no array input (names, settings, models, records)",
    # rawkit.cfa.pattern
    "rawkit.cfa.pattern.channel_sites": "no array input (names, settings, models, records)",
    "rawkit.cfa.pattern.check_pattern": "no array input (names, settings, models, records)",
    # rawkit.cli
    "rawkit.cli.main": "no array input (names, settings, models, records)",
    # rawkit.data.datasets
    "rawkit.data.datasets.AIM22Pairs": "settings/result record: no array fields",
    "rawkit.data.datasets.PairedFolder": "settings/result record: no array fields",
    "rawkit.data.datasets.RawVideoFolder": "settings/result record: no array fields",
    "rawkit.data.datasets.SyntheticPairs": "settings/result record: no array fields",
    "rawkit.data.datasets.crop_sample": "no array input (names, settings, models, records)",
    "rawkit.data.datasets.flip_sample": "no array input (names, settings, models, records)",
    "rawkit.data.datasets.random_crop_flip": "no array input (names, settings, models, records)",
    # rawkit.data.pairs
    "rawkit.data.pairs.PairSet": "settings/result record: no array fields",
    # rawkit.data.photos
    "rawkit.data.photos.PhotoInfo": "settings/result record: no array fields",
    "rawkit.data.photos.load_photo": "no array input (names, settings, models, records)",
    "rawkit.data.photos.load_stereo_pair": "no arguments",
    "rawkit.data.photos.photo_info": "no array input (names, settings, models, records)",
    "rawkit.data.photos.photo_names": "no array input (names, settings, models, records)",
    "rawkit.data.photos.photo_path": "no array input (names, settings, models, records)",
    "rawkit.data.photos.split_of": "no array input (names, settings, models, records)",
    # rawkit.data.presets
    "rawkit.data.presets.Capture": "settings/result record: no array fields",
    "rawkit.data.presets.benchmark_look": "no array input (names, settings, models, records)",
    "rawkit.data.presets.draw_capture": "no array input (names, settings, models, records)",
    "rawkit.data.presets.look_seed": "no array input (names, settings, models, records)",
    # rawkit.data.references
    "rawkit.data.references.generic_inverse": "no array input (names, settings, models, records)",
    "rawkit.data.references.oracle_inverse": "no array input (names, settings, models, records)",
    # rawkit.data.synth
    "rawkit.data.synth.check_seed": "no array input (names, settings, models, records)",
    "rawkit.data.synth.libraw_params": "no array input (names, settings, models, records)",
    "rawkit.data.synth.libraw_render": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.data.synth.load_input_photo": "no array input (names, settings, models, records)",
    "rawkit.data.synth.resolve_camera": "no array input (names, settings, models, records)",
    # rawkit.engine.distributed
    "rawkit.engine.distributed.DistInfo": "settings/result record: no array fields",
    "rawkit.engine.distributed.cleanup_distributed": "no arguments",
    "rawkit.engine.distributed.distributed_context": "no arguments",
    "rawkit.engine.distributed.init_distributed": "no array input (names, settings, models, records)",
    # rawkit.engine.loop
    "rawkit.engine.loop.train": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.engine.state
    "rawkit.engine.state.TrainHistory": "settings/result record: no array fields",
    "rawkit.engine.state.latest_checkpoint": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.engine.state.load_training_state": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.io._atomic
    "rawkit.io._atomic.atomic_write": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.io._atomic.check_writable": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.io.aim22
    "rawkit.io.aim22.aim22_pairs": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.io.aim22.aim22_val_rgb": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.io.aim22.read_aim22_raw": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.io.aim22.read_aim22_rgb": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.io.bitstream
    "rawkit.io.bitstream.MetadataHeader": "settings/result record: no array fields",
    "rawkit.io.bitstream.pack_metadata": "no array input (names, settings, models, records)",
    "rawkit.io.bitstream.unpack_metadata": "no array input (names, settings, models, records)",
    # rawkit.io.checkpoint
    "rawkit.io.checkpoint.Checkpoint": "result record returned by load_checkpoint, not an entry point for user arrays",
    "rawkit.io.checkpoint.load_checkpoint": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.io.checkpoint.load_weights": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.io.dng
    "rawkit.io.dng.illuminant_code": "no array input (names, settings, models, records)",
    "rawkit.io.dng.illuminant_name": "no array input (names, settings, models, records)",
    # rawkit.io.dng_colour
    "rawkit.io.dng_colour.DngColour": "result record returned by fit_dng_colour, not an entry point for user arrays",
    # rawkit.io.images
    "rawkit.io.images.LoadedImage": "result record returned by read_image, not an entry point for user arrays",
    "rawkit.io.images.Photo": "result record returned by read_photo, not an entry point for user arrays",
    "rawkit.io.images.read_image": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.io.images.read_photo": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.io.raw
    "rawkit.io.raw.RawImage": "result record returned by read_raw, not an entry point for user arrays",
    "rawkit.io.raw.read_camera": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.io.raw.read_raw": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.isp.camera
    "rawkit.isp.camera.CameraFit": "settings/result record: no array fields",
    "rawkit.isp.camera.CameraModel": "settings/result record: no array fields",
    "rawkit.isp.camera.builtin_camera": "no array input (names, settings, models, records)",
    "rawkit.isp.camera.builtin_camera_fit": "no array input (names, settings, models, records)",
    "rawkit.isp.camera.illuminant_xy": "no array input (names, settings, models, records)",
    # rawkit.isp.levels
    "rawkit.isp.levels.check_levels": "no array input (names, settings, models, records)",
    # rawkit.isp.look
    "rawkit.isp.look.CameraLook": "settings/result record: no array fields",
    "rawkit.isp.look.camera_look": "no array input (names, settings, models, records)",
    "rawkit.isp.look.look_matrix": "no array input (names, settings, models, records)",
    # rawkit.isp.noise
    "rawkit.isp.noise.sample_noise_levels": "no array input (names, settings, models, records)",
    # rawkit.isp.pipeline
    "rawkit.isp.params.default_params": "no array input (names, settings, models, records)",
    "rawkit.isp.params.random_params": "no array input (names, settings, models, records)",
    # rawkit.metrics
    "rawkit.metrics.AIM22Score": "settings/result record: no array fields",
    "rawkit.metrics.ImageScore": "settings/result record: no array fields",
    "rawkit.metrics.aim22_score": "no array input (names, settings, models, records)",
    # rawkit.nets.encoder
    "rawkit.nets.encoder.ResidualBlock": "module constructor: settings only (forward is tested through its pipeline)",
    # rawkit.nets.fagdn
    "rawkit.nets.fagdn.ConfidenceHead": "module constructor: settings only (forward is tested through its pipeline)",
    "rawkit.nets.fagdn.FAGDN": "module constructor: settings only (forward is tested through its pipeline)",
    "rawkit.nets.fagdn.FAGDNOutput": "result record returned by FAGDN.forward, not an entry point for user arrays",
    "rawkit.nets.fagdn.GLA": "module constructor: settings only (forward is tested through its pipeline)",
    # rawkit.nets.metadata_codec
    "rawkit.nets.metadata_codec.CodecOutput": "result record returned by MetadataCodecNet.forward, not an entry point for user arrays",
    "rawkit.nets.metadata_codec.Compressed": "result record returned by MetadataCodecNet.compress, not an entry point for user arrays",
    "rawkit.nets.metadata_codec.Decompressed": "result record returned by MetadataCodecNet.decompress, not an entry point for user arrays",
    "rawkit.nets.metadata_codec.MetadataCodecNet": "module constructor: settings only (forward is tested through its pipeline)",
    "rawkit.nets.metadata_codec.checkerboard": "no array input (names, settings, models, records)",
    # rawkit.nets.overexposure
    "rawkit.nets.overexposure.FusionOutput": "result record returned by OverexposureFusionNet.forward, not an entry point for user arrays",
    "rawkit.nets.overexposure.OverexposureFusionNet": "module constructor: settings only (forward is tested through its pipeline)",
    # rawkit.nets.priorraw
    "rawkit.nets.priorraw.BankAttention": "module constructor: settings only (forward is tested through its pipeline)",
    "rawkit.nets.priorraw.PriorRAWNet": "module constructor: settings only (forward is tested through its pipeline)",
    "rawkit.nets.priorraw.PriorRAWOutput": "result record returned by PriorRAWNet.forward, not an entry point for user arrays",
    # rawkit.nets.unet
    "rawkit.nets.unet.count_parameters": "no array input (names, settings, models, records)",
    # rawkit.pipelines._common
    "rawkit.pipelines._common.TrainResult": "settings/result record: no array fields",
    "rawkit.pipelines._common.module_id": "no array input (names, settings, models, records)",
    # rawkit.pipelines
    "rawkit.pipelines.available": "no arguments",
    # rawkit.pipelines.base
    "rawkit.pipelines.base.Pipeline": "settings/result record: no array fields",
    "rawkit.pipelines.base.check_srgb": "no array input (names, settings, models, records)",
    "rawkit.pipelines.registration.discover": "no arguments",
    "rawkit.pipelines.registration.register": "no array input (names, settings, models, records)",
    "rawkit.pipelines.registration.registry": "no arguments",
    "rawkit.pipelines.registration.unregister": "no array input (names, settings, models, records)",
    # rawkit.pipelines.baselines
    "rawkit.pipelines.baselines.typical_params": "no array input (names, settings, models, records)",
    # rawkit.pipelines.blind
    "rawkit.pipelines.blind.BlindUnprocess": "settings/result record: no array fields",
    "rawkit.pipelines.blind.BlindUnprocessConfig": "settings/result record: no array fields",
    # rawkit.pipelines.configs
    "rawkit.pipelines.configs.PipelineConfig": "settings/result record: no array fields",
    "rawkit.pipelines.configs.field_type": "no array input (names, settings, models, records)",
    "rawkit.pipelines.configs.setting": "no array input (names, settings, models, records)",
    # rawkit.pipelines
    "rawkit.pipelines.get": "no array input (names, settings, models, records)",
    # rawkit.pipelines.learned_metadata
    "rawkit.pipelines.learned_metadata.LearnedMetadataConfig": "settings/result record: no array fields",
    "rawkit.pipelines.learned_metadata.LearnedMetadataPipeline": "settings/result record: no array fields",
    "rawkit.pipelines.learned_metadata.decode_files": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.pipelines.learned_metadata.encode_files": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.pipelines.metadata_rd
    "rawkit.pipelines.metadata_rd.interpolate_psnr": "no array input (names, settings, models, records)",
    "rawkit.pipelines.metadata_rd.rate_distortion": "no array input (names, settings, models, records)",
    "rawkit.pipelines.metadata_rd.rbf_curve": "no array input (names, settings, models, records)",
    # rawkit.pipelines.nn_search
    "rawkit.pipelines.nn_search.NNSearch": "settings/result record: no array fields",
    "rawkit.pipelines.nn_search.NNSearchConfig": "settings/result record: no array fields",
    # rawkit.pipelines.overexposure
    "rawkit.pipelines.overexposure.BranchTruth": "result record returned by branch_ground_truth, not an entry point for user arrays",
    "rawkit.pipelines.overexposure.OverexposureConfig": "settings/result record: no array fields",
    "rawkit.pipelines.overexposure.OverexposurePipeline": "settings/result record: no array fields",
    "rawkit.pipelines.overexposure.overexpose": "no array input (names, settings, models, records)",
    # rawkit.pipelines.photo
    "rawkit.pipelines.photo.PhotoJob": "settings/result record: no array fields",
    "rawkit.pipelines.photo.PhotoResult": "settings/result record: no array fields",
    "rawkit.pipelines.photo.default_photo_pipeline": "no arguments",
    "rawkit.pipelines.photo.plan_photo_jobs": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.pipelines.photo.reconstruct_photo": "no array input (names, settings, models, records)",
    "rawkit.pipelines.photo.render_raw_file": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.pipelines
    "rawkit.pipelines.pretrained": "no array input (names, settings, models, records)",
    # rawkit.pipelines.priorraw.alg1
    "rawkit.pipelines.priorraw.alg1.build_encoder": "no array input (names, settings, models, records)",
    "rawkit.pipelines.priorraw.alg1.train_encoder": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.pipelines.priorraw.alg2
    "rawkit.pipelines.priorraw.alg2.build_bank": "no array input (names, settings, models, records)",
    "rawkit.pipelines.priorraw.alg2.reference_set": "no array input (names, settings, models, records)",
    # rawkit.pipelines.priorraw.alg3
    "rawkit.pipelines.priorraw.alg3.train_reconstructor": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.pipelines.priorraw.config
    "rawkit.pipelines.priorraw.config.PriorRAWConfig": "settings/result record: no array fields",
    # rawkit.pipelines.priorraw.pipeline
    "rawkit.pipelines.priorraw.pipeline.PriorRAW": "settings/result record: no array fields",
    # rawkit.pipelines.rbf
    "rawkit.pipelines.rbf.RBFMetadata": "settings/result record: no array fields",
    "rawkit.pipelines.rbf.RBFMetadataConfig": "settings/result record: no array fields",
    "rawkit.pipelines.rbf.decode_samples": "no array input (names, settings, models, records)",
    "rawkit.pipelines.rbf.encode_samples": "no array input (names, settings, models, records)",
    # rawkit.pipelines.saving
    "rawkit.pipelines.saving.read_description": "no array input (names, settings, models, records)",
    # rawkit.pipelines.tiling
    "rawkit.pipelines.tiling.blend_weights": "no array input (names, settings, models, records)",
    "rawkit.pipelines.tiling.tile_starts": "no array input (names, settings, models, records)",
    # rawkit.pipelines.unet_baseline
    "rawkit.pipelines.unet_baseline.SRGBUNet": "settings/result record: no array fields",
    "rawkit.pipelines.unet_baseline.SRGBUNetConfig": "settings/result record: no array fields",
    "rawkit.pipelines.unet_baseline.train_unet": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.pipelines.unet_baseline.write_submission": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    # rawkit.pipelines.video
    "rawkit.pipelines.video.calibrate.KeyframeInverse": "record returned by calibrate_inverse; its call checks srgb (tests/pipelines/test_video_calibrate.py)",
    "rawkit.pipelines.video.pipeline.VideoConfig": "settings/result record: no array fields",
    "rawkit.pipelines.video.pipeline.VideoPipeline": "settings/result record: no array fields",
    "rawkit.pipelines.video.keyframes.decode_keyframes": "no array input (names, settings, models, records)",
    "rawkit.pipelines.video.keyframes.keyframe_indices": "no array input (names, settings, models, records)",
    "rawkit.pipelines.video.frames.read_video_frames": "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)",
    "rawkit.pipelines.video.frames.synthetic_videos": "no array input (names, settings, models, records)",
    "rawkit.pipelines.video.frames.video_pairs": "no array input (names, settings, models, records)",
    # rawkit.prior.bank
    "rawkit.prior.bank.Assembled": "result record returned by PriorBank.assemble, not an entry point for user arrays",
    # rawkit.search.affinity
    "rawkit.search.affinity.default_chunk_size": "no array input (names, settings, models, records)",
    # rawkit.search.nearest
    "rawkit.search.nearest.build_block_index": "no array input (names, settings, models, records)",
    # rawkit.search.topk
    "rawkit.search.topk.faiss_threads": "no array input (names, settings, models, records)",
    # rawkit.testing.assertions
    "rawkit.testing.assertions.assert_close": "no array input (names, settings, models, records)",
    "rawkit.testing.assertions.assert_invertible": "no array input (names, settings, models, records)",
    "rawkit.testing.assertions.assert_numpy_torch_agree": "assertion helper: reports bad input as AssertionError",
    "rawkit.testing.assertions.tolerance": "takes a dtype, not an array",
    # rawkit.testing.bad_inputs
    "rawkit.testing.bad_inputs.BadInput": "settings/result record: no array fields",
    "rawkit.testing.bad_inputs.assert_refuses": "no array input (names, settings, models, records)",
    "rawkit.testing.bad_inputs.bad_scalars": "no array input (names, settings, models, records)",
    # rawkit.testing.isp.accept.<locals>
    "rawkit.testing.isp.accept.<locals>.camera_models": "no array input (names, settings, models, records)",
    "rawkit.testing.isp.accept.<locals>.isp_params": "no array input (names, settings, models, records)",
    "rawkit.testing.isp.accept.<locals>.srgb_images": "no array input (names, settings, models, records)",
    # rawkit.testing.isp
    "rawkit.testing.isp.isp_tolerance": "takes a dtype, not an array",
    # rawkit.testing.strategies
    "rawkit.testing.strategies.batch_shapes": "no array input (names, settings, models, records)",
    "rawkit.testing.strategies.bit_depths": "no array input (names, settings, models, records)",
    "rawkit.testing.strategies.mosaics": "no array input (names, settings, models, records)",
    "rawkit.testing.strategies.packed_raws": "no array input (names, settings, models, records)",
    "rawkit.testing.strategies.patterns": "no arguments",
    "rawkit.testing.strategies.rgb_images": "no array input (names, settings, models, records)",
    # rawkit.weights.recipes
    "rawkit.weights.recipes.bank_vs_full": "no array input (names, settings, models, records)",
    "rawkit.weights.recipes.complete_card": "no array input (names, settings, models, records)",
    "rawkit.weights.recipes.run_full": "no array input (names, settings, models, records)",
    "rawkit.weights.recipes.split_tensors": "no array input (names, settings, models, records)",
    # rawkit.weights.video_recipe
    "rawkit.weights.video_recipe.chain_psnr": "no array input (a pipeline and video records)",
    "rawkit.weights.video_recipe.main": "no array input (command-line words)",
    "rawkit.weights.video_recipe.train_video": "no array input (names, settings, models, records)",
    "rawkit.weights.recipes.crops": "no array input (names, settings, models, records)",
    "rawkit.weights.recipes.evaluate_shipped": "no array input (names, settings, models, records)",
    "rawkit.weights.recipes.train_srgb_unet": "no array input (names, settings, models, records)",
    "rawkit.weights.recipes.write_card": "no array input (names, settings, models, records)",
}
#: Public callables WITH array inputs that have no case yet: the gap is listed here,
#: visibly, until their owner adds a Case.  Do not add new functions here.
PENDING: dict[str, str] = {
    # rawkit.data.crosscheck
    "rawkit.data.crosscheck.libraw_crosscheck": "array input: no case yet",
    # rawkit.data.pairs
    "rawkit.data.pairs.Pair": "record of arrays: its constructor does not validate yet",
    # rawkit.data.photos
    "rawkit.data.photos.StereoPair": "record of arrays: its constructor does not validate yet",
    # rawkit.data.synth
    "rawkit.data.synth.SyntheticPair": "record of arrays: its constructor does not validate yet",
    "rawkit.data.synth.capture_raw": "array input: no case yet",
    "rawkit.data.synth.linearize_raw": "array input: no case yet",
    "rawkit.data.synth.quantise_srgb": "array input: no case yet",
    "rawkit.data.synth.synthesize": "array input: no case yet",
    "rawkit.data.synth.write_pair_dng": "array input: no case yet",
    # rawkit.data.video
    "rawkit.data.video.SyntheticVideo": "record of arrays: its constructor does not validate yet",
    "rawkit.data.video.synthesize_video": "array input: no case yet",
    # rawkit.engine.state
    "rawkit.engine.state.TrainingState": "record of arrays: its constructor does not validate yet",
    # rawkit.io.dng
    "rawkit.io.dng.write_linear_dng": "array input: no case yet",
    # rawkit.io.dng_colour
    "rawkit.io.dng_colour.fit_dng_colour": "array input: no case yet",
    "rawkit.io.dng_colour.write_reconstruction_dng": "array input: no case yet",
    # rawkit.nets.overexposure
    "rawkit.nets.overexposure.fuse": "array input: no case yet",
    "rawkit.nets.overexposure.laplacian_pyramid": "array input: no case yet",
    "rawkit.nets.overexposure.laplacian_pyramid_loss": "array input: no case yet",
    "rawkit.nets.overexposure.remosaic_pack": "array input: no case yet",
    # rawkit.nets.priorraw
    "rawkit.nets.assembly.BankTensors": "record of arrays: its constructor does not validate yet",
    "rawkit.nets.assembly.assemble_prior": "array input: no case yet",
    # rawkit.pipelines._common
    "rawkit.pipelines._common.RandomCrops": "record of arrays: its constructor does not validate yet",
    # rawkit.pipelines.baselines
    "rawkit.pipelines.baselines.SampledMetadata": "record of arrays: its constructor does not validate yet",
    "rawkit.pipelines.baselines.blind_unprocess": "array input: no case yet",
    "rawkit.pipelines.baselines.rbf_reconstruct": "array input: no case yet",
    "rawkit.pipelines.baselines.uniform_sampling_metadata": "array input: no case yet",
    # rawkit.pipelines.metadata_rd
    "rawkit.pipelines.metadata_rd.webp_residual_decode": "array input: no case yet",
    "rawkit.pipelines.metadata_rd.webp_residual_encode": "array input: no case yet",
    # rawkit.pipelines.overexposure
    "rawkit.pipelines.overexposure.branch_ground_truth": "array input: no case yet",
    "rawkit.pipelines.overexposure.clipped_fraction": "array input: no case yet",
    "rawkit.pipelines.overexposure.fusion_loss": "array input: no case yet",
    "rawkit.pipelines.overexposure.mask_scores": "array input: no case yet",
    # rawkit.pipelines.priorraw.alg1
    "rawkit.pipelines.priorraw.alg1.alg1_loss": "array input: no case yet",
    # rawkit.pipelines.priorraw.alg2
    "rawkit.pipelines.priorraw.alg2.encode": "array input: no case yet",
    # rawkit.pipelines.priorraw.alg3
    "rawkit.pipelines.priorraw.alg3.assemble_raw": "array input: no case yet",
    "rawkit.pipelines.priorraw.alg3.reconstruct": "array input: no case yet",
    "rawkit.pipelines.priorraw.alg3.reconstruct_tile": "array input: no case yet",
    # rawkit.pipelines.tiling
    "rawkit.pipelines.tiling.tiled_apply": "array input: no case yet",
    # rawkit.pipelines.unet_baseline
    "rawkit.pipelines.unet_baseline.predict": "array input: no case yet",
    # rawkit.pipelines.video
    "rawkit.pipelines.video.chain.derender_frames": "array input: no case yet",
    "rawkit.pipelines.video.keyframes.encode_keyframes": "array input: no case yet",
    "rawkit.pipelines.video.frames.plot_quality_over_time": "array input: no case yet",
    "rawkit.pipelines.video.frames.quality_over_time": "array input: no case yet",
    # rawkit.prior.bank
    "rawkit.prior.bank.build_prior_bank": "array input: no case yet",
    # rawkit.search.nearest
    "rawkit.search.nearest.BlockIndex": "record of arrays: its constructor does not validate yet",
    "rawkit.search.nearest.block_keys": "array input: no case yet",
    "rawkit.search.nearest.nearest_raw": "array input: no case yet",
    # rawkit.weights.recipes
    "rawkit.weights.recipes.evaluate": "array input: no case yet",
}
# END GENERATED LISTS


# ------------------------------------------------------------------- enumeration


def _public_callables() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for info in pkgutil.walk_packages(rawkit.__path__, "rawkit."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()) or ():
            obj = getattr(module, name)
            if not callable(obj):
                continue
            # Not functions: exception classes, typing aliases (Literal[...], unions).
            if isinstance(obj, type) and issubclass(obj, BaseException):
                continue
            if typing.get_origin(obj) is not None or getattr(obj, "__module__", "") == "typing":
                continue
            key = f"{getattr(obj, '__module__', info.name)}.{getattr(obj, '__qualname__', name)}"
            found.setdefault(key, obj)
    return found


def test_every_public_callable_is_listed():
    public = _public_callables()
    listed = set(CASES) | set(NO_TENSOR_INPUT) | set(PENDING)
    missing = sorted(set(public) - listed)
    assert not missing, (
        f"{len(missing)} public callables have no bad-input case: add a Case to CASES in "
        f"tests/test_bad_inputs.py (or a commented NO_TENSOR_INPUT entry): {missing}"
    )
    stale = sorted(listed - set(public))
    assert not stale, f"listed but no longer public (remove them): {stale}"


# ------------------------------------------------------------------------ refusals


#: Refusals that are still missing, in modules this test does not own: (case, slot,
#: kind) -> reason.  Listed so the gap is visible; the test passes once it is fixed.
KNOWN_GAPS: dict[tuple[str, int | str, str], str] = {}


def _array_param(key: str, slot: int | str, kind: str) -> Any:
    gap = KNOWN_GAPS.get((key, slot, kind))
    marks = [pytest.mark.xfail(reason=gap, strict=False)] if gap else []
    return pytest.param(
        key, slot, kind, id=f"{key.removeprefix('rawkit.')}-{slot}-{kind}", marks=marks
    )


ARRAY_PARAMS = [
    _array_param(key, slot, kind)
    for key, case in CASES.items()
    for slot, kinds in case.slots()
    for kind in kinds
]


@pytest.mark.parametrize("key", sorted(CASES))
def test_valid_call(key):
    CASES[key].call()


@pytest.mark.parametrize(("key", "slot", "kind"), ARRAY_PARAMS)
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=__import__("hypothesis").strategies.data())
def test_bad_array(key, slot, kind, data):
    case = CASES[key]
    good = case.args[slot] if isinstance(slot, int) else case.kwargs[slot]
    like = good if isinstance(good, (np.ndarray, torch.Tensor)) else np.asarray(good)
    bad = data.draw(bad_arrays(like, kinds=[kind]))
    assert_refuses(lambda v: case.call(slot, v), bad.value, name=case.name_of(slot))


_PROBES = {"bool": "False", "int": 2.5, "float": float("nan")}


def _scalar_params() -> list[Any]:
    out = []
    for key, case in CASES.items():
        target = case.signature_of or case.fn
        try:
            sig = inspect.signature(target)
        except (TypeError, ValueError):
            continue
        for p in sig.parameters.values():
            ann = (
                p.annotation
                if isinstance(p.annotation, str)
                else getattr(p.annotation, "__name__", "")
            )
            if p.kind is inspect.Parameter.KEYWORD_ONLY and ann in _PROBES:
                out.append(
                    pytest.param(key, p.name, ann, id=f"{key.removeprefix('rawkit.')}-{p.name}")
                )
    return out


@pytest.mark.parametrize(("key", "option", "kind"), _scalar_params())
def test_bad_scalar(key, option, kind):
    case = CASES[key]
    if case.signature_of is not None:
        # A module: the option belongs to its constructor.
        call = lambda v: case.signature_of(**{**_ctor_defaults(case.signature_of), option: v})  # noqa: E731
    else:
        call = lambda v: case.call(None, None, **{option: v})  # noqa: E731
    assert_refuses(call, _PROBES[kind], name=option)


def _ctor_defaults(cls: Any) -> dict[str, Any]:
    """Required keyword-only constructor arguments of the modules in CASES."""
    return {"data_range": 1.0} if "data_range" in inspect.signature(cls).parameters else {}


# ------------------------------------------------ specific inputs an audit found accepted


def _audit_cases() -> list[Any]:
    from rawkit import cfa, io, isp, metrics, nets

    u16 = np.array([[[64, 1023]]], np.uint16)
    x = np.array([[[0.0, 0.999]]])
    cam = isp.builtin_camera("nikon_d5100")
    net = nets.UNet(width=4, depth=1, seed=0)
    cases = [
        ("white_level above uint16", lambda: isp.denormalize_levels(x, black_level=0, white_level=70000), ValueError, "dtype"),
        ("white_level 0", lambda: isp.normalize_levels(u16, black_level=0, white_level=0), ValueError, "white_level"),
        ("white_level 1e30", lambda: isp.normalize_levels(u16, black_level=0, white_level=1e30), ValueError, "white_level"),
        ("negative sensor counts", lambda: isp.normalize_levels(np.array([[[-5, 10]]], np.int32), black_level=0, white_level=1023), ValueError, "raw"),
        ("negative float counts", lambda: isp.normalize_levels(np.array([[[-5.0, 10.0]]]), black_level=0, white_level=1023), ValueError, "raw"),
        ("all-zero MS-SSIM weights", lambda: metrics.ms_ssim(BIG, BIG, data_range=1.0, weights=(0, 0, 0, 0, 0)), ValueError, "weights"),
        ("psnr of empty images", lambda: metrics.psnr(np.zeros((3, 0, 4)), np.zeros((3, 0, 4)), data_range=1.0), ValueError, "x"),
        ("negative height in pattern_after_flip", lambda: cfa.pattern_after_flip("RGGB", vertical=True, height=-3), ValueError, "height"),
        ("negative width in pattern_after_rot180", lambda: cfa.pattern_after_rot180("RGGB", width=-2), ValueError, "width"),
        ("string for a bool flag", lambda: cfa.pattern_after_flip("RGGB", horizontal="no"), TypeError, "horizontal"),
        ("float row in colour_at", lambda: cfa.colour_at("RGGB", row=1.0, col=0), TypeError, "row"),
        ("lens strength 1e9", lambda: isp.lens_shading(RGB, strength=1e9, layout="rgb"), ValueError, "strength"),
        ("3-tuple chromaticity", lambda: isp.xy_to_xyz((0.31, 0.33, 0.36)), ValueError, "xy"),
        ("3-tuple chromaticity for a camera", lambda: cam.neutral((0.31, 0.33, 0.36)), ValueError, "xy"),
        ("float64 into a float32 UNet", lambda: net(torch.rand(3, 8, 8, dtype=torch.float64)), TypeError, "srgb"),
        ("NaN into a UNet", lambda: net(torch.full((3, 8, 8), float("nan"))), ValueError, "srgb"),
        ("zero-channel UNet", lambda: nets.UNet(in_channels=0, width=4, depth=1), ValueError, "in_channels"),
        ("negative-width UNet", lambda: nets.UNet(width=-4, depth=1), ValueError, "width"),
        ("map_location that is no device", lambda: io.load_checkpoint(TMP / "none.pt", map_location="gpu9"), ValueError, "map_location"),
        ("rgb named rgb, not image", lambda: io.write_aim22_rgb(TMP / "x.jpg", np.full((3, 4, 4), np.nan), overwrite=True), ValueError, "rgb"),
        ("write_dng to a .png name", lambda: io.write_dng(TMP / "x.png", np.zeros((1, 24, 24), np.uint16), pattern="RGGB", black_level=0, white_level=1023, as_shot_neutral=[1, 1, 1], color_matrix=np.eye(3), overwrite=True), ValueError, "path"),
        ("zero-channel attention", lambda: nets.BankAttention(0, 4, 4), ValueError, "channels"),
        ("negative key channels", lambda: nets.BankAttention(4, -4, 4), ValueError, "key_channels"),
        ("camera= named camera", lambda: __import__("rawkit.data", fromlist=["x"]).synthesize(RGB, camera="foo", seed=0), ValueError, "camera"),
        ("sample without mosaic", lambda: __import__("rawkit.data", fromlist=["x"]).crop_sample({"srgb": RGB}, top=0, left=0, height=4, width=4), ValueError, "sample"),
        ("generator=None for random crops", lambda: __import__("rawkit.data", fromlist=["x"]).random_crop_flip({"mosaic": MOSAIC, "pattern": "RGGB"}, crop=4, generator=None), TypeError, "generator"),
        ("negative clip level", lambda: isp.clip_highlights(RGB, white_level=-1.0), ValueError, "white_level"),
        ("float height for a gain map", lambda: isp.lens_shading_gain(8.0, 8, strength=0.1), TypeError, "height"),
        ("read_raw orientation", lambda: io.read_raw(TMP / "none.dng", orientation="up"), ValueError, "orientation"),
    ]  # fmt: skip
    return [pytest.param(fn, exc, name, id=label) for label, fn, exc, name in cases]


@pytest.mark.parametrize(("fn", "exc", "name"), _audit_cases())
def test_audit_case_is_refused(fn, exc, name):
    e = assert_refuses(lambda _: fn(), None, name=name)
    assert isinstance(e, exc)
