"""The generic-inverse base of the reconstructors (rawkit.nets.base)."""

import json

import numpy as np
import pytest
import torch

from rawkit.isp import builtin_camera, default_params, unprocess
from rawkit.nets import GenericInverseBase, PriorRAWNet, UNet
from rawkit.pipelines import Pipeline, SRGBUNet
from rawkit.pipelines.saving import CONFIG_FILE


def _expected(srgb: torch.Tensor) -> torch.Tensor:
    # written independently of rawkit.data.generic_inverse: unprocess with LibRaw's generic settings
    cam = builtin_camera("nikon_d5100")
    raw, _ = unprocess(srgb.double(), camera=cam, params=default_params(cam), layout="packed")
    return raw.float()


def test_untrained_networks_are_the_generic_inverse():
    x = torch.rand(2, 3, 20, 28, generator=torch.Generator().manual_seed(0))
    ref = _expected(x)
    unet = UNet(width=8, depth=2, head=None, base="generic_inverse", camera="nikon_d5100", seed=0)
    torch.testing.assert_close(unet(x), ref, atol=1e-5, rtol=0)
    net = PriorRAWNet.from_ablation(
        "srgb", width=8, depth=2, base="generic_inverse", camera="nikon_d5100", seed=0
    )
    torch.testing.assert_close(net(x), ref, atol=1e-5, rtol=0)


def test_base_gets_no_gradient_and_the_head_learns():
    unet = UNet(width=4, depth=1, head=None, base="generic_inverse", camera="nikon_d5100", seed=0)
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    unet(x).sum().backward()
    assert unet.head.weight.grad is not None and unet.head.weight.grad.abs().sum() > 0
    assert x.grad is not None  # through the network, not through the base
    assert not list(GenericInverseBase(camera="nikon_d5100").parameters())


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"base": "generic_inverse", "camera": "nikon_d5100"}, "head=None"),  # sigmoid head
        ({"base": "generic_inverse", "head": None}, "camera"),
        ({"base": "none", "camera": "nikon_d5100"}, "camera"),
        ({"base": "unprocessing", "head": None}, "base"),
        ({"base": "generic_inverse", "camera": "no_such_camera", "head": None}, "camera"),
    ],
)
def test_bad_base_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        UNet(width=4, depth=1, **kw)


def test_version_2_folder_loads_with_the_sigmoid_head(tmp_path):
    cfg = SRGBUNet.Config(width=4, depth=1, steps=1, batch_size=1, crop=24, base="none")
    g = torch.Generator().manual_seed(0)
    data = [(torch.rand(3, 32, 32, generator=g), torch.rand(4, 16, 16, generator=g))]
    pipe = SRGBUNet.fit(data, cfg, progress=False)
    pipe.save(tmp_path)
    doc = json.loads((tmp_path / CONFIG_FILE).read_text())
    del doc["config"]["base"]
    doc["format_version"] = 2
    (tmp_path / CONFIG_FILE).write_text(json.dumps(doc))
    back = Pipeline.load(tmp_path)
    assert back.config.base == "none" and back.net.head_kind == "sigmoid"
    x = np.random.default_rng(0).random((3, 16, 16), dtype=np.float32)
    np.testing.assert_array_equal(back.reconstruct(x), pipe.reconstruct(x))


def test_every_pipelines_version_2_defaults_are_valid_settings():
    from rawkit.pipelines import available, get

    for name in available():
        cfg = get(name).Config
        assert set(cfg.V2_DEFAULTS) <= set(cfg.field_names()), name
        built = cfg.from_dict(dict(cfg.V2_DEFAULTS))  # valid values (choices checked)
        for k, v in cfg.V2_DEFAULTS.items():
            assert getattr(built, k) == v
    assert get("video").Config.V2_DEFAULTS == {"base": "warped"}
    assert get("srgb_unet").Config.V2_DEFAULTS == {"base": "none"}
