"""Tests for rawkit.engine (the training engine): seeding, validation, checkpoints, exact resume, DDP."""

import json
import os
import subprocess
import sys
from pathlib import Path

import _nets_train_problem as P
import pytest
import torch
from torch.utils.data import DataLoader

import rawkit.nets
from rawkit.engine import NonFiniteLossError, latest_checkpoint, load_training_state, train
from rawkit.io import load_weights
from rawkit.nets import UNet

HERE = Path(__file__).parent


def _weights(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_loss_decreases_and_history():
    m = P.TinyNet()
    h = train(m, P.loss_fn, P.data(), steps=20, batch_size=8, lr=0.05, progress=False)
    assert len(h.train_loss) == 20 == h.steps and h.start_step == 0
    assert h.train_loss[-1] < 0.3 * h.train_loss[0]
    assert h.val == [] and h.checkpoint is None


def test_epochs_give_the_step_count():
    h = train(P.TinyNet(), P.loss_fn, P.data(10), epochs=3, batch_size=4, progress=False)
    assert h.steps == 3 * 3  # ceil(10 / 4) = 3 steps per epoch


def test_same_seed_same_weights_and_callers_rng_untouched():
    state = torch.get_rng_state()
    runs = []
    for seed in (0, 0, 1):
        m = P.TinyNet(dropout=0.2)
        train(m, P.loss_fn, P.NoisyData(P.data()), steps=6, batch_size=4, seed=seed, progress=False)
        runs.append(_weights(m))
    assert _equal(runs[0], runs[1]) and not _equal(runs[0], runs[2])
    assert torch.equal(torch.get_rng_state(), state)


def test_validation_averages_per_image_values_over_all_images():
    val = P.data(5, seed=2)  # 5 items, batches of 2: per-image mean must not weigh batches
    m = P.TinyNet()
    h = train(
        m,
        P.loss_fn,
        P.data(),
        steps=6,
        batch_size=4,
        val_data=val,
        val_fn=P.val_fn,
        val_every=4,
        val_batch_size=2,
        progress=False,
    )
    assert [v["step"] for v in h.val] == [4, 6]
    with torch.no_grad():
        x, y = val.tensors
        want = (m(x) - y).square().mean().item()
    assert abs(h.val[-1]["mse"] - want) < 1e-6
    assert h.metric("mse")[-1] == (6, h.val[-1]["mse"])
    h2 = train(P.TinyNet(), P.loss_fn, P.data(), steps=2, val_data=val, progress=False)
    assert set(h2.val[0]) == {"step", "loss"}


def test_keep_best_ends_with_the_weights_of_the_best_validation():
    # the score rewards weights near a target the training passes by and leaves: the best
    # validation is not the last, and the model must end with that validation's weights
    seen = []

    def score(m, batch):
        w = _weights(m)
        seen.append(w)
        return {"score": -sum(float((t - 0.05).square().sum()) for t in w.values())}

    m = P.TinyNet()
    h = train(m, P.loss_fn, P.data(), steps=12, batch_size=4, lr=0.05, val_data=P.data(1),
              val_fn=score, val_every=2, val_batch_size=1, keep_best="score", progress=False)  # fmt: skip
    best = max(range(len(h.val)), key=lambda i: h.val[i]["score"])
    assert h.val[best]["step"] != 12
    assert _equal(_weights(m), seen[best]) and not _equal(_weights(m), seen[-1])
    with pytest.raises(ValueError, match="keep_best"):
        train(P.TinyNet(), P.loss_fn, P.data(), steps=1, keep_best="score", progress=False)
    with pytest.raises(ValueError, match="keep_best: 'psnr' is not a validation metric"):
        train(P.TinyNet(), P.loss_fn, P.data(), steps=1, val_data=P.data(1), val_fn=score,
              keep_best="psnr", progress=False)  # fmt: skip


def test_checkpoints_round_trip(tmp_path):
    m = P.TinyNet()
    h = train(
        m,
        P.loss_fn,
        P.data(),
        steps=7,
        batch_size=4,
        checkpoint_dir=tmp_path,
        checkpoint_every=2,
        keep_last=2,
        progress=False,
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["model.pt", "step-000000006.pt", "step-000000007.pt"]
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000000007.pt" == Path(h.checkpoint)
    st = load_training_state(latest_checkpoint(tmp_path))
    assert st.step == 7 and st.model_class == "TinyNet" and st.history.train_loss == h.train_loss
    assert _equal(st.model_state, m.state_dict())
    fresh = P.TinyNet(seed=5)
    load_weights(fresh, tmp_path / "model.pt")
    assert _equal(fresh.state_dict(), m.state_dict())
    with pytest.raises(ValueError, match="not a training state"):
        load_training_state(tmp_path / "model.pt")


def test_model_config_is_saved_with_the_weights(tmp_path):
    net = UNet(width=4, depth=1, seed=0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 8, 8, generator=g)
    data = torch.utils.data.TensorDataset(x, torch.rand(4, 4, 4, 4, generator=g))
    train(net, P.loss_fn, data, steps=1, batch_size=2, checkpoint_dir=tmp_path, progress=False)
    ck = load_weights(UNet(width=4, depth=1), tmp_path / "model.pt")
    assert ck.config == net.config and ck.model_class == "UNet"
    assert load_training_state(tmp_path / "step-000000001.pt").model_config == net.config


@pytest.mark.parametrize("stop", [5, 8])  # mid-epoch and at an epoch boundary (8 steps/epoch)
def test_resume_reproduces_an_uninterrupted_run(tmp_path, stop):
    """Dropout, noise drawn in __getitem__, Adam and a scheduler: all state must resume."""
    settings = dict(
        batch_size=4,
        lr=0.02,
        seed=11,
        progress=False,
        scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
        val_data=P.data(6, seed=3),
        val_every=4,
    )
    data = P.NoisyData(P.data())
    ref = P.TinyNet(dropout=0.3)
    h_ref = train(ref, P.loss_fn, data, steps=13, **settings)

    class Crash(RuntimeError):
        pass

    def crashing_loss(model, batch, calls=[0]):  # noqa: B006 (a counter)
        calls[0] += model.training  # validation (eval mode) also calls the loss
        if calls[0] > stop:
            raise Crash
        return P.loss_fn(model, batch)

    with pytest.raises(Crash):
        train(
            P.TinyNet(dropout=0.3),
            crashing_loss,
            data,
            steps=13,
            checkpoint_dir=tmp_path,
            checkpoint_every=stop,
            **settings,
        )
    assert latest_checkpoint(tmp_path).name == f"step-{stop:09d}.pt"
    resumed = P.TinyNet(seed=42, dropout=0.3)  # other initial weights: all must come back
    h = train(resumed, P.loss_fn, data, steps=13, checkpoint_dir=tmp_path, **settings)
    assert h.start_step == stop and h.steps == 13
    assert _equal(resumed.state_dict(), ref.state_dict())
    assert h.train_loss == h_ref.train_loss and h.val == h_ref.val


def test_resume_past_the_end_and_further(tmp_path):
    m = P.TinyNet()
    train(m, P.loss_fn, P.data(), steps=4, checkpoint_dir=tmp_path, progress=False)
    again = P.TinyNet(seed=9)
    h = train(again, P.loss_fn, P.data(), steps=4, checkpoint_dir=tmp_path, progress=False)
    assert h.steps == 4 and _equal(again.state_dict(), m.state_dict())
    h = train(again, P.loss_fn, P.data(), steps=6, checkpoint_dir=tmp_path, progress=False)
    assert h.start_step == 4 and len(h.train_loss) == 6


def test_resume_refusals(tmp_path):
    train(P.TinyNet(), P.loss_fn, P.data(), steps=1, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="resume=True"):
        train(P.TinyNet(), P.loss_fn, P.data(), steps=2, checkpoint_dir=tmp_path, resume=False)
    net = UNet(width=4, depth=1)
    with pytest.raises(ValueError, match="TinyNet"):
        train(net, P.loss_fn, P.data(), steps=2, checkpoint_dir=tmp_path, progress=False)
    with pytest.warns(UserWarning, match="other settings"):
        train(P.TinyNet(), P.loss_fn, P.data(), steps=2, batch_size=2, checkpoint_dir=tmp_path,
              progress=False)  # fmt: skip


def test_bad_arguments():
    m, d = P.TinyNet(), P.data()
    with pytest.raises(ValueError, match="exactly one"):
        train(m, P.loss_fn, d, steps=2, epochs=1)
    with pytest.raises(ValueError, match="exactly one"):
        train(m, P.loss_fn, d)
    with pytest.raises(TypeError, match="DataLoader"):
        train(m, P.loss_fn, DataLoader(d), steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        train(m, P.loss_fn, d, steps=1, batch_size=0)
    with pytest.raises(TypeError, match="scalar loss"):
        train(m, lambda mod, b: mod(b[0]), d, steps=1, progress=False)
    with pytest.raises(NonFiniteLossError, match="loss_fn: returned nan at step 1"):
        train(m, lambda mod, b: P.loss_fn(mod, b) * float("nan"), d, steps=1, progress=False)
    assert issubclass(NonFiniteLossError, ValueError)
    with pytest.raises(TypeError, match="seed"):
        train(m, P.loss_fn, d, steps=1, seed=1.0, progress=False)
    with pytest.raises(ValueError, match="lr"):
        train(m, P.loss_fn, d, steps=1, lr=float("nan"), progress=False)
    assert rawkit.nets.train is train  # the nets namespace re-exports the engine
    with pytest.raises(ValueError, match="trainable"):
        train(P.TinyNet().requires_grad_(False), P.loss_fn, d, steps=1, progress=False)
    with pytest.raises(ValueError, match="val_fn"):
        train(m, P.loss_fn, d, steps=1, val_fn=P.val_fn)


def test_progress_bar_runs(capsys):
    train(P.TinyNet(), P.loss_fn, P.data(8), steps=2, batch_size=4, desc="tiny", progress=True)
    assert "tiny" in capsys.readouterr().err


def test_ddp_two_processes_on_gloo(tmp_path):
    """torchrun, 2 CPU processes, gloo: both ranks end with identical weights, equal to
    one process with the doubled batch; a resume under DDP reproduces them exactly."""
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += [str(HERE / "_nets_ddp_worker.py"), str(tmp_path)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    a0, a1, b0, b1 = (torch.load(tmp_path / f"{n}.pt") for n in ("A0", "A1", "B0", "B1"))
    assert _equal(a0, a1) and _equal(b0, b1) and _equal(a0, b0)
    ja = json.loads((tmp_path / "A0.json").read_text())
    assert ja["loss"][-1] < 0.5 * ja["loss"][0]
    assert json.loads((tmp_path / "B1.json").read_text())["start"] == 4
    # one process, batch 2 x 4 over the same shuffled order: the same optimisation
    ref = P.TinyNet()
    h = train(ref, P.loss_fn, P.data(), steps=8, batch_size=8, lr=0.05, seed=3, progress=False,
              val_data=P.data(10, seed=5), val_fn=P.val_fn)  # fmt: skip
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(a0[k], v, atol=1e-5, rtol=1e-5)
    assert h.train_loss == pytest.approx(ja["loss"], rel=1e-5)
    assert h.val[-1]["mse"] == pytest.approx(ja["val"][-1]["mse"], rel=1e-5)
    assert sorted(p.name for p in (tmp_path / "ck").iterdir())[-1] == "step-000000008.pt"
