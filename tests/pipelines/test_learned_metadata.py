"""The learned-metadata pipeline: real bytes, exact decode, damaged streams refused,
save/load, and (with the shipped weights) rate monotone in the setting, bytes vs estimate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rawkit.io.bitstream import OVERHEAD_BYTES, BitstreamError
from rawkit.pipelines.base import Pipeline, PipelineConfigError
from rawkit.pipelines.learned_metadata import LearnedMetadataConfig, LearnedMetadataPipeline

TINY = LearnedMetadataConfig(
    steps=3, batch_size=2, crop=32, latent_channels=4, global_channels=2, width=8, guide_width=4,
    rates=5,
    lambdas=(1.0, 2.0, 3.0, 4.0, 5.0), rate=2,
)  # fmt: skip


def _pair(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    srgb = rng.random((3, 2 * h, 2 * w)).astype(np.float32)
    raw = (0.8 * rng.random((4, h, w))).astype(np.float32)
    return srgb, raw


@pytest.fixture(scope="module")
def tiny() -> LearnedMetadataPipeline:
    data = [_pair(24, 24, s) for s in range(2)]
    return LearnedMetadataPipeline.fit(data, TINY, seed=0, progress=False)


def test_encode_decode_round_trip(tiny):
    srgb, raw = _pair(20, 36, 5)
    meta = tiny.encode_metadata(raw, srgb)
    assert isinstance(meta, bytes) and meta[:4] == b"RKLM" and len(meta) > OVERHEAD_BYTES
    out = tiny.reconstruct(srgb, metadata=meta)
    assert out.shape == (4, 20, 36) and out.dtype == np.float32
    # Decoding is deterministic and reproduces the encoder's latent exactly.
    x, r = torch.from_numpy(srgb)[None], torch.from_numpy(raw)[None]
    code = tiny.net.compress(r, x, tiny.blind(x), rate=2)
    with torch.no_grad():
        ref = tiny.net.synthesize(code.y_hat, code.z_hat, x, tiny.blind(x)).clamp(0, 1)[0].numpy()
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(tiny.decode(srgb, meta), out)


def test_damaged_and_foreign_streams_are_refused(tiny):
    srgb, raw = _pair(16, 16, 1)
    meta = tiny.encode(raw, srgb, rate=4)
    for cut in (0, 3, 10, len(meta) - 1):
        with pytest.raises(BitstreamError, match="truncated|magic"):
            tiny.reconstruct(srgb, metadata=meta[:cut])
    bad = bytearray(meta)
    bad[len(bad) // 2] ^= 0x10
    with pytest.raises(BitstreamError, match="corrupt"):
        tiny.reconstruct(srgb, metadata=bytes(bad))
    other, _ = _pair(16, 18, 1)
    with pytest.raises(BitstreamError, match="32x32 pixels"):
        tiny.reconstruct(other, metadata=meta)
    retrained = LearnedMetadataPipeline.fit([_pair(24, 24, 9)], TINY, seed=1, progress=False)
    with pytest.raises(BitstreamError, match="other weights"):
        retrained.reconstruct(srgb, metadata=meta)
    with pytest.raises(TypeError, match="metadata"):
        tiny.reconstruct(srgb)


def test_bad_arguments_raise_before_work(tiny):
    srgb, raw = _pair(8, 8, 0)
    with pytest.raises(ValueError, match="rate"):
        tiny.encode(raw, srgb, rate=5)
    with pytest.raises(ValueError):
        tiny.encode(raw[:, :-1], srgb)
    with pytest.raises(ValueError, match="one image"):
        tiny.encode_metadata(np.stack([raw, raw]), np.stack([srgb, srgb]))
    with pytest.raises(ValueError, match="lambdas"):
        dataclasses.replace(TINY, lambdas=(1.0, 2.0))
    with pytest.raises(ValueError, match="rate"):
        dataclasses.replace(TINY, rate=5)
    with pytest.raises(ValueError, match="crop"):
        LearnedMetadataPipeline.fit([_pair(8, 8, 0)], TINY, progress=False)


def test_save_load_gives_the_same_bytes(tiny, tmp_path):
    tiny.save(tmp_path / "m")
    back = Pipeline.load(tmp_path / "m")
    assert isinstance(back, LearnedMetadataPipeline) and back.config == TINY
    srgb, raw = _pair(12, 20, 3)
    meta = tiny.encode(raw, srgb, rate=1)
    assert back.encode(raw, srgb, rate=1) == meta
    np.testing.assert_array_equal(
        back.reconstruct(srgb, metadata=meta), tiny.reconstruct(srgb, metadata=meta)
    )
    with pytest.raises(PipelineConfigError):
        LearnedMetadataConfig.from_dict({"ratez": 1})


# ---------------------------------------------------------------------- shipped weights


@pytest.fixture(scope="module")
def shipped():
    from rawkit.pipelines import pretrained

    try:
        return pretrained("learned_metadata")
    except FileNotFoundError:
        pytest.skip("no shipped learned_metadata weights")


@pytest.fixture(scope="module")
def benchmark_pair():
    from rawkit.data import synthesize

    return synthesize("kodim23", camera="nikon_d5100", seed=3, max_side=192)


def test_shipped_rate_is_monotone_and_matches_the_estimate(shipped, benchmark_pair):
    p = benchmark_pair
    sizes, errors = [], []
    for t in range(shipped.net.rates):
        meta = shipped.encode(p.packed, p.srgb, rate=t)
        sizes.append(len(meta))
        est = shipped.estimated_bits(p.packed, p.srgb, rate=t) / 8
        payload = len(meta) - OVERHEAD_BYTES
        if est > 200:  # the ANS coder's last 32-bit word is a fixed cost
            assert payload == pytest.approx(est, rel=0.03)
        out = shipped.reconstruct(p.srgb, metadata=meta)
        errors.append(float(np.mean((out - p.packed) ** 2)))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    # Every rate's bytes make the RAW better than the blind estimate they refine.
    blind = shipped.blind(torch.from_numpy(p.srgb)[None])[0].numpy()
    assert max(errors) < float(np.mean((blind - p.packed) ** 2))


def test_files_round_trip_through_dng_and_png(tiny, tmp_path):
    from rawkit.data import synthesize, write_pair_dng
    from rawkit.io import read_raw, write_image
    from rawkit.pipelines.learned_metadata import decode_files, encode_files

    pair = synthesize("kodim19", camera="nikon_d5100", seed=1, max_side=64)
    dng = write_pair_dng(tmp_path / "a.dng", pair.raw, pair.camera, pair.params)
    png = write_image(tmp_path / "a.png", pair.srgb, bit_depth=16)
    meta = encode_files(dng, png, tmp_path / "a.bin", rate=3, pipeline=tiny)
    data = meta.read_bytes()
    assert data[:4] == b"RKLM" and data[5] == 3
    with pytest.raises(FileExistsError):
        encode_files(dng, png, meta, pipeline=tiny)
    out = decode_files(png, meta, tmp_path / "out.dng", pipeline=tiny)
    back = read_raw(out)
    assert back.mosaic.shape == (1, *pair.srgb.shape[-2:])
    (tmp_path / "bad.bin").write_bytes(data[:-2])
    with pytest.raises(BitstreamError, match="truncated"):
        decode_files(png, tmp_path / "bad.bin", tmp_path / "bad.dng", pipeline=tiny)
    assert not (tmp_path / "bad.dng").exists()
    small = write_image(tmp_path / "small.png", pair.srgb[:, :32, :32], bit_depth=8)
    with pytest.raises(ValueError, match="same size"):
        encode_files(dng, small, tmp_path / "b.bin", pipeline=tiny)


def test_rate_distortion_table_and_webp_baseline(tiny):
    from rawkit.data import synthesize
    from rawkit.pipelines.metadata_rd import (
        rate_distortion,
        webp_residual_decode,
        webp_residual_encode,
    )

    pair = synthesize("kodim19", camera="nikon_d5100", seed=2, max_side=64)
    res = rate_distortion(tiny, [pair], spacings=(8, 16))
    assert [r["rate"] for r in res["rows"]] == list(range(5))
    for r in res["rows"]:
        assert r["webp_bytes"] <= max(r["bytes"], 200)  # the smallest WebP if none fits
        assert r["bytes"] == r["payload_bytes"] + OVERHEAD_BYTES
    assert [q["spacing"] for q in res["rbf"]] == [8, 16]
    # The WebP residual codec: within its byte budget, and exact for a constant residual.
    base = np.full((4, 20, 30), 0.25, np.float32)
    data = webp_residual_encode(base + 0.125, base, max_bytes=400)
    assert len(data) <= 400
    np.testing.assert_allclose(webp_residual_decode(data, base), base + 0.125, atol=2e-3)


def test_cli_metadata_encode_decode(tiny, tmp_path, capsys):
    from rawkit.cli import main
    from rawkit.data import synthesize, write_pair_dng
    from rawkit.io import write_image

    pair = synthesize("kodim19", camera="nikon_d5100", seed=1, max_side=64)
    dng = write_pair_dng(tmp_path / "a.dng", pair.raw, pair.camera, pair.params)
    jpg = write_image(tmp_path / "a.jpg", pair.srgb, quality=95)
    tiny.save(tmp_path / "model")
    model = ["--pipeline", str(tmp_path / "model")]
    meta, out = tmp_path / "a.bin", tmp_path / "out.dng"
    assert (
        main(["metadata", "encode", str(dng), str(jpg), "-o", str(meta), "--rate", "1", *model])
        == 0
    )
    assert main(["metadata", "decode", str(jpg), str(meta), "-o", str(out), *model]) == 0
    assert out.is_file() and meta.read_bytes()[5] == 1
    capsys.readouterr()
    meta.write_bytes(meta.read_bytes()[:-1])
    assert (
        main(["metadata", "decode", str(jpg), str(meta), "-o", str(tmp_path / "b.dng"), *model])
        == 2
    )
    err = capsys.readouterr().err
    assert "truncated" in err and err.count("\n") == 1 and "Traceback" not in err
