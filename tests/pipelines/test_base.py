"""The pipeline contract: configs, registry, fit/reconstruct/metadata, the shared save format."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import rawkit.pipelines as rp
from rawkit.data import PairSet
from rawkit.pipelines.base import (
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    NotFittedError,
    Pipeline,
    PipelineConfig,
    PipelineConfigError,
    PipelineFormatError,
    register,
    setting,
    unregister,
)


@dataclasses.dataclass(frozen=True)
class LinConfig(PipelineConfig):
    steps: int = setting(5, "optimiser steps")
    lr: float = setting(0.1, "learning rate")
    mode: str = setting("a", "a mode", choices=("a", "b"))
    rows: tuple[str, ...] = setting(("x",), "rows")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps: expected an int >= 1, got {self.steps!r}")


class Lin(Pipeline):
    """A 1x1 convolution from the 2x2-block mean of sRGB to 4 channels, fitted by lstsq."""

    name = "test_lin"
    Config = LinConfig
    learned = True
    description = "a linear toy for the contract tests"
    tile = 16
    overlap = 4

    def __init__(self, config: LinConfig | None = None) -> None:
        super().__init__(config)
        self.net = torch.nn.Conv2d(3, 4, 1)
        self.calls: list[tuple[int, ...]] = []

    def _fit(self, data, *, seed, progress):
        x = torch.cat(
            [torch.nn.functional.avg_pool2d(p.srgb[None], 2).flatten(2)[0].T for p in data]
        )
        y = torch.cat([p.packed.flatten(1).T for p in data])
        a = torch.cat([x, torch.ones(len(x), 1)], 1)
        sol = torch.linalg.lstsq(a.double(), y.double()).solution.float()
        with torch.no_grad():
            self.net.weight.copy_(sol[:3].T[:, :, None, None])
            self.net.bias.copy_(sol[3])

    def _reconstruct(self, srgb, *, metadata):
        self.calls.append(tuple(srgb.shape))
        return self.net(torch.nn.functional.avg_pool2d(srgb, 2))

    def state_tensors(self):
        return {f"net.{k}": v for k, v in self.net.state_dict().items()}

    def load_state_tensors(self, tensors):
        self.net.load_state_dict({k[4:]: v for k, v in tensors.items()})


class Meta(Pipeline):
    """Stores the per-image mean RAW as float32 bytes; no weights."""

    name = "test_meta"
    Config = LinConfig
    learned = False
    stores_metadata = True
    tileable = False
    description = "a metadata toy"

    def _encode_metadata(self, raw, srgb):
        return raw.mean(dim=(0, 2, 3)).numpy().astype("<f4").tobytes()

    def _reconstruct(self, srgb, *, metadata):
        m = torch.from_numpy(np.frombuffer(metadata, "<f4").copy())
        b, _, h, w = srgb.shape
        return m[None, :, None, None].expand(b, 4, h // 2, w // 2).clone()


@pytest.fixture(autouse=True)
def _registered():
    register(Lin)
    register(Meta)
    yield
    unregister("test_lin")
    unregister("test_meta")


def _data(n=3, size=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(4, 3, generator=g)
    out = []
    for i in range(n):
        s = torch.rand(3, size, size, generator=g)
        raw = torch.einsum("ck,khw->chw", m, torch.nn.functional.avg_pool2d(s[None], 2)[0]) + 0.1
        out.append((s, raw, f"scene{i}"))
    return out, m


# --------------------------------------------------------------------------- config


@given(steps=st.integers(1, 10**6), lr=st.floats(1e-6, 10.0), mode=st.sampled_from(["a", "b"]),
       rows=st.lists(st.text(min_size=1, max_size=5), max_size=3))  # fmt: skip
def test_config_json_round_trip(steps, lr, mode, rows):
    c = LinConfig(steps=steps, lr=lr, mode=mode, rows=tuple(rows))
    assert LinConfig.from_json(c.to_json()) == c
    assert LinConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_config_rejects_unknown_and_bad_values():
    with pytest.raises(PipelineConfigError, match=r"unknown key\(s\) \['stepz'\].*'steps'"):
        LinConfig.from_dict({"stepz": 3})
    with pytest.raises(PipelineConfigError, match="steps"):
        LinConfig.from_dict({"steps": 0})
    with pytest.raises(PipelineConfigError, match="mode: expected one of"):
        LinConfig(mode="c")
    with pytest.raises(PipelineConfigError, match="immutable"):
        LinConfig(rows=["x"])  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        LinConfig().steps = 3  # type: ignore[misc]
    assert LinConfig().replace(steps=7).steps == 7
    with pytest.raises(PipelineConfigError, match="unknown"):
        LinConfig().replace(nope=1)
    with pytest.raises(TypeError, match="mapping"):
        LinConfig.from_dict([("steps", 1)])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- registry


def test_registry_lists_and_rejects():
    assert {"test_lin", "test_meta"} <= set(rp.available())
    assert rp.get("test_lin") is Lin
    with pytest.raises(ValueError, match=r"unknown pipeline 'nope'.*test_lin"):
        rp.get("nope")
    with pytest.raises(TypeError):
        rp.get(3)  # type: ignore[arg-type]

    class Other(Lin):
        pass

    with pytest.raises(ValueError, match="taken"):
        register(Other)
    register(Lin)  # the same class again is fine

    class Bad(Lin):
        name = "Bad Name"

    with pytest.raises(ValueError, match="lower-case identifier"):
        register(Bad)

    class NoDesc(Lin):
        name = "test_nodesc"
        description = ""

    with pytest.raises(ValueError, match="description"):
        register(NoDesc)

    class ClaimsMetadata(Lin):
        name = "test_claims_metadata"
        stores_metadata = True  # but inherits the base hook that stores nothing

    with pytest.raises(TypeError, match="must implement _encode_metadata"):
        register(ClaimsMetadata)

    class PlainConfig(Lin):
        name = "test_plainconfig"
        Config = dataclasses.dataclass(frozen=True)(type("C", (), {}))

    with pytest.raises(TypeError, match="frozen dataclass subclass of PipelineConfig"):
        register(PlainConfig)

    class ValidatesWhat(Lin):
        name = "test_validates_what"
        validates = "yes"  # type: ignore[assignment]

    with pytest.raises(TypeError, match="validates: expected a bool"):
        register(ValidatesWhat)
    with pytest.raises(TypeError):
        register(int)  # type: ignore[arg-type]


def test_pretrained_without_weights_says_how_to_train():
    with pytest.raises(FileNotFoundError, match=r"no shipped weights.*rawkit train test_lin"):
        rp.pretrained("test_lin")
    assert isinstance(rp.pretrained("test_meta"), Meta)  # nothing to learn: no weights needed


# --------------------------------------------------------------------------- fit / reconstruct


def test_fit_learns_and_reconstruct_is_numpy_in_numpy_out():
    data, m = _data()
    pipe = Lin.fit(data, LinConfig(), seed=0, progress=False)
    assert pipe.fitted and pipe.info["seed"] == 0
    s = data[0][0].numpy()
    out = pipe.reconstruct(s)
    assert isinstance(out, np.ndarray) and out.shape == (4, 6, 6) and out.dtype == np.float32
    want = (
        np.einsum(
            "ck,khw->chw", m.numpy(), torch.nn.functional.avg_pool2d(data[0][0][None], 2)[0].numpy()
        )
        + 0.1
    )
    np.testing.assert_allclose(out, want, atol=1e-4)
    batch = np.stack([np.stack([d[0].numpy() for d in data])] * 2)  # (2, 3, 3, 12, 12)
    assert pipe.reconstruct(batch).shape == (2, 3, 4, 6, 6)
    assert isinstance(pipe.reconstruct(data[0][0]), torch.Tensor)


def test_reconstruct_tiles_through_the_shared_tiler():
    data, _ = _data()
    pipe = Lin.fit(data, progress=False)
    x = torch.rand(1, 3, 40, 36)
    whole = pipe.reconstruct(x, tile=64)
    pipe.calls.clear()
    tiled = pipe.reconstruct(x)  # class default: 16-pixel tiles
    assert len(pipe.calls) > 1 and all(c[-1] <= 16 for c in pipe.calls)
    torch.testing.assert_close(tiled, whole)  # pointwise after pooling: tiling is exact


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"srgb": np.zeros((3, 5, 6), np.float32)}, ValueError, "even height"),
        ({"srgb": np.zeros((4, 6, 6), np.float32)}, ValueError, r"\(\*, 3, H, W\)"),
        ({"srgb": np.zeros((3, 6, 6), np.uint8)}, TypeError, "dtype"),
        ({"srgb": np.full((3, 6, 6), np.nan, np.float32)}, ValueError, "NaN"),
        ({"srgb": [[0.0]]}, TypeError, "srgb"),
        ({"tile": 7}, ValueError, "tile"),
        ({"tile": 8, "overlap": 8}, ValueError, "overlap"),
        ({"metadata": b"x"}, ValueError, "stores no metadata"),
    ],
)
def test_reconstruct_validates_before_work(kw, exc, match):
    data, _ = _data()
    pipe = Lin.fit(data, progress=False)
    pipe.calls.clear()
    args = {"srgb": np.zeros((3, 8, 8), np.float32), **kw}
    with pytest.raises(exc, match=match):
        pipe.reconstruct(args.pop("srgb"), **args)
    assert pipe.calls == []


def test_fit_validates_before_training():
    data, _ = _data()
    with pytest.raises(TypeError, match="seed"):
        Lin.fit(data, seed=1.5, progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        Lin.fit(data, seed=-1, progress=False)
    with pytest.raises(TypeError, match="config: expected a LinConfig"):
        Lin.fit(data, {"steps": 3}, progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="train_data"):
        Lin.fit(None, progress=False)
    with pytest.raises(ValueError, match=r"data\[1\].packed"):
        Lin.fit([data[0], (data[1][0], data[1][1][:, :2])], progress=False)
    with pytest.raises(NotFittedError, match="not trained"):
        Lin().reconstruct(np.zeros((3, 4, 4), np.float32))


def test_metadata_pipeline_round_trip():
    pipe = Meta.fit(None)
    raw = np.random.default_rng(0).random((4, 5, 6)).astype(np.float32)
    srgb = np.zeros((3, 10, 12), np.float32)
    meta = pipe.encode_metadata(raw, srgb)
    assert isinstance(meta, bytes) and len(meta) == 16
    out = pipe.reconstruct(srgb, metadata=meta)
    np.testing.assert_allclose(out[:, 0, 0], raw.mean(axis=(1, 2)), rtol=1e-6)
    with pytest.raises(TypeError, match="metadata"):
        pipe.reconstruct(srgb)
    with pytest.raises(ValueError, match="not tileable"):
        pipe.reconstruct(srgb, metadata=meta, tile=8)
    with pytest.raises(ValueError, match="raw: expected packed RAW of shape"):
        pipe.encode_metadata(raw[:, :4], srgb)
    with pytest.raises(ValueError, match="stores no metadata"):
        Lin.fit(_data()[0], progress=False).encode_metadata(raw, srgb)


# --------------------------------------------------------------------------- save / load


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_save_load_round_trip(tmp_path, dtype):
    data, _ = _data()
    pipe = Lin.fit(data, LinConfig(steps=3, rows=("p", "q")), progress=False)
    pipe.info["camera"] = "nikon_d5100"
    pipe.save(tmp_path / "p", dtype=dtype)
    doc = json.loads((tmp_path / "p" / CONFIG_FILE).read_text())
    blob = (tmp_path / "p" / WEIGHTS_FILE).read_bytes()
    assert doc["format_version"] == FORMAT_VERSION and doc["pipeline"] == "test_lin"
    assert doc["weights"]["sha256"] == hashlib.sha256(blob).hexdigest()
    assert b"pickle" not in blob and not blob.startswith(b"PK")  # not a torch.save zip
    again = Pipeline.load(tmp_path / "p")
    assert (
        type(again) is Lin and again.config == pipe.config and again.info["camera"] == "nikon_d5100"
    )
    x = data[1][0]
    tol = 1e-6 if dtype == "float32" else 2e-3
    torch.testing.assert_close(again.reconstruct(x), pipe.reconstruct(x), atol=tol, rtol=tol)
    assert all(v.dtype == torch.float32 for v in again.state_tensors().values())
    assert type(Lin.load(tmp_path / "p")) is Lin
    with pytest.raises(ValueError, match="not a 'test_meta' one"):
        Meta.load(tmp_path / "p")


def test_save_refuses_to_overwrite_and_checks_first(tmp_path):
    data, _ = _data()
    pipe = Lin.fit(data, progress=False)
    pipe.save(tmp_path)
    before = (tmp_path / WEIGHTS_FILE).read_bytes()
    with pytest.raises(FileExistsError):
        pipe.save(tmp_path)
    with pytest.raises(ValueError, match="dtype"):
        pipe.save(tmp_path / "x", dtype="int8")
    assert not (tmp_path / "x").exists()
    with pytest.raises(NotFittedError):
        Lin().save(tmp_path / "y")
    assert not (tmp_path / "y").exists()
    pipe.save(tmp_path, overwrite=True)
    assert (tmp_path / WEIGHTS_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]


def test_load_rejects_corrupt_old_and_new_formats(tmp_path):
    data, _ = _data()
    Lin.fit(data, progress=False).save(tmp_path)
    w = tmp_path / WEIGHTS_FILE
    blob = bytearray(w.read_bytes())
    blob[-1] ^= 1
    w.write_bytes(bytes(blob))
    with pytest.raises(PipelineFormatError, match="SHA-256"):
        Pipeline.load(tmp_path)
    assert issubclass(PipelineFormatError, OSError)
    doc = json.loads((tmp_path / CONFIG_FILE).read_text())
    (tmp_path / CONFIG_FILE).write_text(json.dumps({**doc, "format_version": 99}))
    with pytest.raises(PipelineFormatError, match="format version 99"):
        Pipeline.load(tmp_path)
    (tmp_path / CONFIG_FILE).write_text(json.dumps({**doc, "pipeline": "gone"}))
    with pytest.raises(ValueError, match="'gone' pipeline, which is not registered"):
        Pipeline.load(tmp_path)
    (tmp_path / CONFIG_FILE).write_text(json.dumps({**doc, "config": {"bogus": 1}}))
    with pytest.raises(PipelineConfigError, match="bogus"):
        Pipeline.load(tmp_path)
    # a folder saved by the previous PriorRAWPipeline.save
    old = {"format": "rawkit.PriorRAWPipeline", "version": 1, "model": "UNet", "name": "srgb_unet",
           "encoder": False, "bank": False, "info": {}}  # fmt: skip
    (tmp_path / CONFIG_FILE).write_text(json.dumps(old))
    with pytest.raises(PipelineFormatError, match=r"rawkit.PriorRAWPipeline.*format version 1"):
        Pipeline.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a saved rawkit pipeline"):
        Pipeline.load(tmp_path / "missing")


def test_pairset_is_converted_once():
    data, _ = _data()
    ps = PairSet.from_any(data)
    seen = []

    class Spy(Lin):
        name = "test_spy"

        def _fit(self, d, *, seed, progress):
            seen.append(d)

    assert Spy.fit(ps, progress=False) and seen[0] is ps
