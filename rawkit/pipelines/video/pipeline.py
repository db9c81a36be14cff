r"""The ``"video"`` pipeline: configuration, training and chained reconstruction.

See the package notes (:mod:`rawkit.pipelines.video`) for what each formulation
computes; :class:`VideoConfig` holds every setting, :class:`VideoPipeline` is the
registered pipeline.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, cast

import numpy as np
import torch

from rawkit._tensor import Array
from rawkit.cfa import PATTERNS
from rawkit.data.pairs import PairSet
from rawkit.flow import FlowFn, estimate_flow
from rawkit.losses import multiscale_loss
from rawkit.nets import FAGDN
from rawkit.pipelines.base import Pipeline, PipelineConfig, register, setting
from rawkit.pipelines.video.calibrate import calibrate_inverse
from rawkit.pipelines.video.chain import derender_frames
from rawkit.pipelines.video.frames import _frame_pairs, _val_videos, synthetic_videos, video_pairs
from rawkit.pipelines.video.keyframes import decode_keyframes, encode_keyframes

__all__ = ["VideoConfig", "VideoPipeline"]

BASES = ("keyframe", "warped")


@dataclasses.dataclass(frozen=True)
class VideoConfig(PipelineConfig):
    """Settings of :class:`VideoPipeline` (base, network, ablations, flow, keyframes, training).

    ``base="keyframe"`` (default) and ``network`` are additions to the paper (package
    notes); ``base="warped"`` is the paper's formulation.
    """

    V2_DEFAULTS: ClassVar[dict[str, Any]] = {"base": "warped"}  # folders saved before "keyframe"

    base: str = setting(
        "keyframe",
        "starting point of each frame: the inverse ISP calibrated on the last stored RAW "
        "(keyframe, added to the paper: no drift) or the warped previous RAW (warped: the paper)",
        choices=BASES,
    )
    network: bool = setting(
        True, "add FAGDN's learned correction (False: the calibrated base alone)"
    )
    width: int = setting(12, "FAGDN channels of the first level (doubling per level)")
    depth: int = setting(4, "FAGDN encoder levels (depth - 1 auxiliary outputs)")
    patch: int = setting(8, "GLA patch side at the first level (halved per level)")
    confidence_width: int = setting(16, "channels of the confidence head (Eq. 6)")
    pattern: str = setting("RGGB", "Bayer pattern of the camera's RAW", choices=PATTERNS)
    warping: bool = setting(True, "ablation: warp the previous RAW (Eq. 5)")
    confidence: bool = setting(True, "ablation: confidence map M (Eq. 6)")
    gla: bool = setting(True, "ablation: reference encoder with GLA (Eq. 7, Fig. 6)")
    aux_loss: bool = setting(True, "ablation: auxiliary multi-scale loss (Eq. 8)")
    lam: float = setting(0.5, "weight of the auxiliary terms of Eq. 8")
    flow_method: str = setting("dis", "optical flow estimator", choices=("dis", "farneback"))
    dis_preset: str = setting("medium", "DIS preset", choices=("ultrafast", "fast", "medium"))
    keyframe_interval: int = setting(0, "store the RAW of every K-th frame too (0: first only)")
    steps: int = setting(600, "optimiser steps")
    batch_size: int = setting(4, "frame pairs per step")
    crop: int = setting(176, "training crop side in sRGB pixels (even; SSIM needs 176 at depth 4)")
    lr: float = setting(1e-3, "Adam learning rate (cosine decay)")
    reference_noise: float = setting(
        0.0, "std of Gaussian noise added to the reference RAW in training (chain robustness)"
    )
    val_every: int = setting(
        250, "steps between validations on whole chains (when fit is given val_data)"
    )
    rollout: int = setting(
        0,
        "training (added to the paper): up to this many earlier frames are first predicted "
        "by the network itself, without gradient, and its last prediction is the reference "
        "of the trained step, as in the chain (0: the true previous RAW, the paper; "
        "rollout 3 measured no gain at 12,000 steps)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.base not in BASES:
            raise ValueError(f"base: expected one of {list(BASES)}, got {self.base!r}")
        if not isinstance(self.network, bool):
            raise TypeError(f"network: expected a bool, got {self.network!r}")
        if self.base == "warped" and not self.network:
            raise ValueError("network: the paper's formulation (base='warped') needs the network")
        for name in (
            "width",
            "depth",
            "patch",
            "confidence_width",
            "steps",
            "batch_size",
            "val_every",
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
        for name in ("warping", "confidence", "gla", "aux_loss"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected a bool, got {getattr(self, name)!r}")
        for name in ("keyframe_interval", "rollout"):
            k = getattr(self, name)
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise ValueError(f"{name}: expected an int >= 0, got {k!r}")
        if (
            isinstance(self.crop, bool)
            or not isinstance(self.crop, int)
            or self.crop < 4
            or self.crop % 2
        ):
            raise ValueError(f"crop: expected an even int >= 4, got {self.crop!r}")
        for name in ("lam", "lr", "reference_noise"):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < 0
            ):
                raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
        levels = self.depth - 1 if self.aux_loss and self.lam > 0 else 0
        if (self.crop // 2) >> levels < 11:
            need = 2 * 11 * 2**levels
            raise ValueError(
                f"crop: the 11x11 SSIM window of Eq. 8 needs crop >= {need} at depth "
                f"{self.depth}, got {self.crop}"
            )


@register
class VideoPipeline(Pipeline):
    """Video de-rendering from stored RAW keyframes (package notes).

    ``encode_metadata(raw, srgb)``: ``(T, 4, h, w)`` / ``(T, 3, H, W)`` frames of one
    video -> the keyframes' bytes (:func:`encode_keyframes`); ``reconstruct(srgb,
    metadata=...)``: the chain over the ``T`` frames of one video (not tileable: the flow
    and the calibration need whole frames); :meth:`derender`: the streaming form.

    Attributes:
        net: the :class:`rawkit.nets.FAGDN` (``base_input`` when ``config.base`` is
            ``"keyframe"``; unused when ``config.network`` is False).
        flow_fn: the flow estimator used by :meth:`reconstruct` (default from the config:
            :func:`rawkit.flow.estimate_flow` with ``flow_method``/``dis_preset``); set it
            to any callable of that signature, e.g. a learned flow network.

    Example:
        >>> from rawkit.pipelines.video import synthetic_videos
        >>> v = synthetic_videos("test", n_frames=4, size=(32, 48))[2]
        >>> fast = VideoPipeline(VideoConfig(network=False))  # calibrated base: nothing to train
        >>> raw = fast.reconstruct(v.srgb, metadata=fast.encode_metadata(v.packed, v.srgb))
        >>> raw.shape, bool(abs(raw - v.packed).mean() < 0.01)
        ((4, 4, 16, 24), True)
    """

    name = "video"
    Config = VideoConfig
    learned = True
    stores_metadata = True
    tileable = False
    validates = True
    description = "video de-rendering from one stored RAW frame (calibrated base + FAGDN chain)"
    variants: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "base_only": {"network": False},
        "keyframe_base": {},
        "paper": {"base": "warped"},
        "paper_no_warping": {"base": "warped", "warping": False},
        "paper_no_confidence": {"base": "warped", "confidence": False},
        "paper_no_gla": {"base": "warped", "gla": False},
        "paper_no_aux_loss": {"base": "warped", "aux_loss": False},
    }

    def __init__(self, config: VideoConfig | None = None) -> None:
        super().__init__(config)
        c = cast(VideoConfig, self.config)
        self.net = FAGDN(
            width=c.width,
            depth=c.depth,
            patch=c.patch,
            confidence_width=c.confidence_width,
            pattern=c.pattern,  # type: ignore[arg-type]
            warping=c.warping,
            confidence=c.confidence,
            gla=c.gla,
            base_input=c.base == "keyframe",
            seed=0,
        )
        self.flow_fn: FlowFn = self._default_flow
        if not c.network:
            self.fitted = True  # the calibrated base alone: nothing to learn

    def _default_flow(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        c = cast(VideoConfig, self.config)
        return cast(torch.Tensor, estimate_flow(a, b, method=c.flow_method, preset=c.dis_preset))  # type: ignore[arg-type]

    @classmethod
    def synthetic_training_data(cls, *, camera: str = "nikon_d5100", seed: int = 0) -> PairSet:
        """The default training set: one 8-frame video of every train-split photo.

        :func:`video_pairs` of :func:`synthetic_videos` (``"train"``, 192x256 frames, so
        that the default 176-pixel crops fit, motions cycling); used by ``rawkit train
        video``, whose single-image pairs have no consecutive frames.
        """
        return video_pairs(synthetic_videos("train", size=(192, 256), camera=camera, seed=seed))

    @classmethod
    def shipped(cls) -> VideoPipeline:
        """The shipped FAGDN weights (``rawkit.pipelines.pretrained("video")``:
        the paper's formulation, ``base="warped"``, trained by
        ``python -m rawkit.weights.video_recipe``; its card has the numbers).

        On rawkit's benchmark videos it loses to :meth:`base_only` (tutorial "video"),
        which is what ``rawkit derender-video`` runs by default.

        Raises:
            FileNotFoundError: this rawkit ships no ``video`` weights.

        Example:
            >>> VideoPipeline.shipped().config.base
            'warped'
        """
        from rawkit.pipelines import pretrained

        return cast(VideoPipeline, pretrained(cls.name))

    @classmethod
    def base_only(cls) -> VideoPipeline:
        """The inverse ISP calibrated on each stored keyframe, alone (no flow, no
        network; ``VideoConfig(network=False)``): nothing to train, and the best of the
        formulations on rawkit's benchmark videos (tutorial "video").

        Example:
            >>> VideoPipeline.base_only().fitted, VideoPipeline.base_only().config.network
            (True, False)
        """
        return cls(VideoConfig(network=False))

    def derender(
        self,
        frames: Iterable[Array],
        first_raw: Array,
        *,
        keyframes: Mapping[int, Array] | None = None,
        pattern: str | None = None,
    ) -> Iterator[torch.Tensor]:
        """:func:`derender_frames` with this pipeline's network, flow and formulation.

        Args:
            frames: sRGB frames ``(3, H, W)`` in ``[0, 1]``, in order (an iterator is fine).
            first_raw: ``(4, H/2, W/2)`` packed RAW of frame 0 in ``[0, 1]``.
            keyframes: more stored RAW frames ``{t: (4, H/2, W/2)}``.
            pattern: the Bayer pattern of the RAW (default ``config.pattern``).

        Yields:
            ``(4, H/2, W/2)`` float32 RAW of frames ``0, 1, ...``.
        """
        self._check_fitted()
        c = cast(VideoConfig, self.config)
        if pattern is not None and pattern != self.net.pattern:
            if pattern not in PATTERNS:
                raise ValueError(f"pattern: expected one of {list(PATTERNS)}, got {pattern!r}")
            self.net.pattern = pattern  # warp this camera's Bayer planes at their own sites
        return derender_frames(
            self.net if c.network else None, frames, first_raw, flow_fn=self.flow_fn,
            keyframes=keyframes, pattern=pattern or self.net.pattern,  # type: ignore[arg-type]
        )  # fmt: skip

    # ------------------------------------------------------------ contract hooks

    def check_training_data(self, data: PairSet | None) -> None:
        c = cast(VideoConfig, self.config)
        if data is None:
            return
        pairs = _frame_pairs(data)
        if not pairs:
            raise ValueError(
                "train_data: expected consecutive frames of videos (items of one group in "
                "order; see rawkit.pipelines.video.video_pairs), got no two frames of one group"
            )
        small = min(min(data[i].srgb.shape[-2:]) for i, _ in pairs)
        if small < c.crop:
            raise ValueError(
                f"crop: expected at most the smallest frame side {small}, got {c.crop}"
            )

    def _fit(self, data: PairSet, *, seed: int, progress: bool, val: PairSet | None = None) -> None:
        from tqdm import tqdm  # text bars: tqdm.auto warns in Jupyter without ipywidgets

        c = cast(VideoConfig, self.config)
        videos = None if val is None else _val_videos(val)
        if not c.network:
            self.info.update(steps=0, frame_pairs=0)
            return  # the calibrated base alone: nothing to learn
        pairs = _frame_pairs(data)
        bases = self._training_bases(data, pairs) if self.net.base_input else None
        flows = [
            cast(torch.Tensor, self.flow_fn(data[i].srgb[None], data[j].srgb[None]))[0]
            for i, j in tqdm(pairs, desc="flow", disable=not progress)
        ]
        g = torch.Generator().manual_seed(seed)
        net = self.net = FAGDN(**self.net.config, seed=seed)
        opt = torch.optim.Adam(net.parameters(), lr=c.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, c.steps)
        lam = c.lam if c.aux_loss else 0.0
        chains = None if videos is None else self._val_chains(videos)
        curve: list[tuple[int, float]] = []
        best: tuple[float, int, dict[str, torch.Tensor]] | None = None

        def validate(step: int) -> None:
            nonlocal best
            assert chains is not None
            score = self._chain_psnr(net, chains)
            curve.append((step, score))
            if best is None or score > best[0]:
                best = (score, step, {k: v.detach().clone() for k, v in net.state_dict().items()})
            net.train()

        net.train()
        if chains is not None:
            validate(0)
        bar = tqdm(range(c.steps), desc="fagdn", disable=not progress)
        losses = []
        back = [0] * len(pairs)  # consecutive pairs of the same video before each pair
        for k in range(1, len(pairs)):
            if pairs[k - 1][1] == pairs[k][0]:
                back[k] = back[k - 1] + 1
        most = min(c.rollout, max(back))
        # the pairs a run of m earlier pairs can end at, once for every m
        ends = [[k for k in range(len(pairs)) if back[k] >= m] for m in range(most + 1)]
        for step in bar:
            m = 0  # no draw without a rollout: the paper's training is reproduced as it was
            if most:
                m = int(torch.randint(most + 1, (), generator=g))
            batch = [
                self._crop(data, pairs, flows, bases, g, ends[m], m) for _ in range(c.batch_size)
            ]
            x0, y0, x1, y1, fl, b1 = (torch.stack(v) for v in zip(*batch, strict=True))
            ref = y0[:, 0]  # (B, 4, h, w): the true RAW of the first frame of each run
            if c.reference_noise > 0:  # the chain feeds back its own, imperfect RAW
                ref = ref + c.reference_noise * torch.randn(ref.shape, generator=g)
            with torch.no_grad():  # the rollout: the network's own earlier predictions
                for r in range(m):
                    kw = {"base": b1[:, r]} if bases is not None else {}
                    ref = net(x0[:, r], ref, x1[:, r], fl[:, r], **kw).raw.clamp(0.0, 1.0)
            x0, x1, y1, fl, b1 = x0[:, m], x1[:, m], y1[:, m], fl[:, m], b1[:, m]
            out = net(x0, ref, x1, fl, base=b1 if bases is not None else None)
            aux = list(out.aux) if lam > 0 else []
            loss = multiscale_loss(out.raw, aux, y1, data_range=1.0, lam=lam)
            opt.zero_grad(set_to_none=True)
            cast(torch.Tensor, loss).backward()
            opt.step()
            sched.step()
            losses.append(float(cast(torch.Tensor, loss).detach()))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if chains is not None and ((step + 1) % c.val_every == 0 or step + 1 == c.steps):
                validate(step + 1)
        if best is not None:
            net.load_state_dict(best[2])  # the weights of the best validation, not the last
            self.info.update(curve=curve, best_step=best[1], best_val_psnr=best[0])
        net.eval()
        self.info.update(
            steps=c.steps,
            frame_pairs=len(pairs),
            final_loss=float(np.mean(losses[-20:])) if losses else None,
        )

    def _val_chains(
        self, videos: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> list[tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]]:
        """Each validation video with its flows, computed once (they do not change)."""
        return [
            (x, y, [torch.as_tensor(self.flow_fn(x[t - 1][None], x[t][None]))
                    for t in range(1, len(x))])
            for x, y in videos
        ]  # fmt: skip

    def _chain_psnr(
        self, net: FAGDN, chains: list[tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]]
    ) -> float:
        """Mean over videos of the mean PSNR (dB, packed RAW, range 1) of frames 1..T-1
        of the chain from frame 0, as :meth:`derender` runs it."""
        from rawkit.metrics import psnr

        scores = []
        for x, y, flows in chains:
            replay = iter(flows)

            def flow_fn(
                a: torch.Tensor, b: torch.Tensor, it: Iterator[torch.Tensor] = replay
            ) -> torch.Tensor:
                return next(it)

            out = derender_frames(net, x, y[0], flow_fn=flow_fn, pattern=cast(Any, net.pattern))
            frames = [float(psnr(r, y[t], data_range=1.0)) for t, r in enumerate(out) if t]
            scores.append(float(np.mean(frames)))
        return float(np.mean(scores))

    def _training_bases(
        self, data: PairSet, pairs: list[tuple[int, int]]
    ) -> dict[int, torch.Tensor]:
        """Calibrated base of every second frame of ``pairs``: each video's first frame is
        its keyframe (the chain's situation without further keyframes)."""
        c = cast(VideoConfig, self.config)
        first: dict[str, int] = {}
        for i in range(len(data)):
            first.setdefault(data[i].group, i)
        inverses: dict[str, Any] = {}
        out = {}
        for _, j in pairs:
            grp = data[j].group
            if grp not in inverses:
                k = first[grp]
                inverses[grp] = calibrate_inverse(
                    data[k].srgb,
                    data[k].packed,
                    pattern=c.pattern,  # type: ignore[arg-type]
                )
            out[j] = cast(torch.Tensor, inverses[grp](data[j].srgb)).to(torch.float32)
        return out

    def _crop(
        self,
        data: PairSet,
        pairs: list[tuple[int, int]],
        flows: list[torch.Tensor],
        bases: dict[int, torch.Tensor] | None,
        g: torch.Generator,
        eligible: list[int],
        m: int,
    ) -> tuple[torch.Tensor, ...]:
        """One random crop of the run of pairs ``k - m .. k`` (``k`` from ``eligible``):
        each of its six tensors has a leading dim of ``m + 1`` steps."""
        c = cast(VideoConfig, self.config)
        k = eligible[int(torch.randint(len(eligible), (), generator=g))]
        h, w = data[pairs[k][0]].srgb.shape[-2:]
        top = 2 * int(torch.randint((h - c.crop) // 2 + 1, (), generator=g))
        left = 2 * int(torch.randint((w - c.crop) // 2 + 1, (), generator=g))
        s = (slice(top, top + c.crop), slice(left, left + c.crop))
        r = (slice(top // 2, (top + c.crop) // 2), slice(left // 2, (left + c.crop) // 2))
        steps = []
        for q in range(k - m, k + 1):
            i, j = pairs[q]
            steps.append((
                torch.as_tensor(data[i].srgb)[:, s[0], s[1]],
                torch.as_tensor(data[i].packed)[:, r[0], r[1]],
                torch.as_tensor(data[j].srgb)[:, s[0], s[1]],
                torch.as_tensor(data[j].packed)[:, r[0], r[1]],
                flows[q][:, s[0], s[1]],
                bases[j][:, r[0], r[1]] if bases is not None else torch.zeros(0),
            ))  # fmt: skip
        return tuple(torch.stack(v) for v in zip(*steps, strict=True))

    def _encode_metadata(self, raw: torch.Tensor, srgb: torch.Tensor) -> bytes:
        return encode_keyframes(raw, interval=cast(VideoConfig, self.config).keyframe_interval)

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        t, _, h, w = srgb.shape
        idx, frames = decode_keyframes(cast(bytes, metadata), n_frames=t, size=(h // 2, w // 2))
        keys = {i: torch.from_numpy(f) for i, f in zip(idx, frames, strict=True)}
        out = torch.empty(t, 4, h // 2, w // 2)
        for k, y in enumerate(self.derender(srgb.cpu(), keys[0], keyframes=keys)):
            out[k] = y
        return out

    def state_tensors(self) -> dict[str, torch.Tensor]:
        if not cast(VideoConfig, self.config).network:
            return {}  # the calibrated base alone: no learned tensors
        return {f"net.{k}": v for k, v in self.net.state_dict().items()}

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        if not cast(VideoConfig, self.config).network:
            super().load_state_tensors(tensors)  # refuses any tensor
            return
        state = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        if len(state) != len(tensors):
            raise ValueError(
                f"tensors: expected names starting with 'net.', got {sorted(tensors)[:3]}"
            )
        self.net.load_state_dict(state)
        self.net.eval()
