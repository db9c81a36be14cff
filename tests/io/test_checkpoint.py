"""Checkpoints: round trip, config and version, wrong architecture, refusing pickled objects."""

import collections

import pytest
import torch
from torch import nn

import rawkit
from rawkit.io import (
    Checkpoint,
    CheckpointMismatchError,
    FileFormatError,
    load_checkpoint,
    load_weights,
    save_checkpoint,
)


class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)
        self.bn = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, 2)


def _net(width=4, seed=0):
    torch.manual_seed(seed)
    net = Net(width)
    net.bn.running_mean.uniform_()  # a buffer that must travel too
    return net


def test_round_trip_weights_buffers_config_version(tmp_path):
    net = _net()
    cfg = {
        "width": 4,
        "name": "net",
        "scales": (1, 2),
        "opts": {"relu": True, "eps": 1e-5},
        "none": None,
    }
    p = save_checkpoint(tmp_path / "n.pt", net, config=cfg)
    ck = load_checkpoint(p)
    assert isinstance(ck, Checkpoint) and ck.path == p
    assert ck.config == cfg
    assert ck.rawkit_version == rawkit.__version__
    assert ck.torch_version == torch.__version__.split("+")[0]
    assert ck.model_class == "Net"
    other = _net(seed=1)
    load_weights(other, ck)
    for k, v in net.state_dict().items():
        assert torch.equal(other.state_dict()[k], v), k


def test_bare_state_dict_and_path_source(tmp_path):
    sd = collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3))
    p = save_checkpoint(tmp_path / "s.pt", sd)
    ck = load_checkpoint(p)
    assert ck.model_class is None and ck.config == {}
    lin = nn.Linear(3, 2, bias=False)
    with pytest.raises(CheckpointMismatchError, match="missing keys.*weight.*unexpected keys.*w"):
        load_weights(lin, p)


def test_views_are_saved_without_their_big_storage(tmp_path):
    big = torch.zeros(1_000_000)
    p = save_checkpoint(tmp_path / "v.pt", {"w": big[:10]})
    assert p.stat().st_size < 20_000
    assert load_checkpoint(p).state_dict["w"].shape == (10,)


def test_wrong_architecture_names_the_problem_and_changes_nothing(tmp_path):
    p = save_checkpoint(tmp_path / "n.pt", _net(width=4))
    wide = _net(width=8, seed=3)
    before = {k: v.clone() for k, v in wide.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as e:
        load_weights(wide, p)
    msg = str(e.value)
    assert "n.pt" in msg and "saved from Net" in msg and "does not fit Net" in msg
    assert "conv.weight: checkpoint (4, 3, 3, 3) vs model (8, 3, 3, 3)" in msg
    assert "head.weight: checkpoint (2, 4) vs model (2, 8)" in msg
    assert isinstance(e.value, ValueError)
    for k, v in wide.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_missing_and_unexpected_keys(tmp_path):
    p = save_checkpoint(tmp_path / "n.pt", _net())
    other = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(CheckpointMismatchError) as e:
        load_weights(other, p)
    msg = str(e.value)
    assert "missing keys (in the model, not in the checkpoint): 0.weight, 0.bias" in msg
    assert "unexpected keys (in the checkpoint, not in the model): conv.weight" in msg


def test_non_strict_skips_keys_but_not_shapes(tmp_path):
    p = save_checkpoint(
        tmp_path / "h.pt", {"head.weight": torch.ones(2, 4), "extra": torch.ones(1)}
    )
    net = _net()
    load_weights(net, p, strict=False)
    assert torch.equal(net.head.weight, torch.ones(2, 4))
    with pytest.raises(CheckpointMismatchError, match="shape mismatches"):
        load_weights(_net(width=8), p, strict=False)


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_refuses_arbitrary_pickled_objects(tmp_path, capsys):
    p = tmp_path / "evil.pt"
    torch.save({"format": "rawkit.checkpoint", "payload": Evil()}, p)
    with pytest.raises(FileFormatError, match="refused.*weights_only") as e:
        load_checkpoint(p)
    assert isinstance(e.value, OSError)
    assert "pwned" not in capsys.readouterr().out


def test_bad_files(tmp_path):
    # missing and empty files: test_missing_and_empty_files_are_refused_by_name (test_fuzz_readers.py)
    (tmp_path / "t.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(FileFormatError, match="not a PyTorch checkpoint"):
        load_checkpoint(tmp_path / "t.pt")
    good = save_checkpoint(tmp_path / "g.pt", _net())
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="truncated or corrupt"):
        load_checkpoint(cut)
    plain = tmp_path / "plain.pt"
    torch.save(_net().state_dict(), plain)
    with pytest.raises(FileFormatError, match="not a rawkit checkpoint"):
        load_checkpoint(plain)
    newer = tmp_path / "newer.pt"
    payload = torch.load(good, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, newer)
    with pytest.raises(FileFormatError, match="format 99"):
        load_checkpoint(newer)


def test_save_refuses_bad_input_and_overwrite(tmp_path):
    with pytest.raises(TypeError, match=r"config\['f'\].*function"):
        save_checkpoint(tmp_path / "a.pt", _net(), config={"f": print})
    with pytest.raises(TypeError, match="str keys"):
        save_checkpoint(tmp_path / "a.pt", _net(), config={"x": {1: 2}})
    with pytest.raises(TypeError, match="model"):
        save_checkpoint(tmp_path / "a.pt", [1, 2])
    with pytest.raises(TypeError, match="Tensor"):
        save_checkpoint(tmp_path / "a.pt", {"w": [1.0]})
    assert list(tmp_path.iterdir()) == []
    p = save_checkpoint(tmp_path / "a.pt", _net())
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_checkpoint(p, _net(width=8))
    assert load_checkpoint(p).state_dict["conv.weight"].shape[0] == 4
    save_checkpoint(p, _net(width=8), overwrite=True)
    assert load_checkpoint(p).state_dict["conv.weight"].shape[0] == 8


def test_load_weights_bad_model(tmp_path):
    p = save_checkpoint(tmp_path / "a.pt", _net())
    with pytest.raises(TypeError, match="nn.Module"):
        load_weights({"a": 1}, p)
