"""Learning-rate schedules, recipes and progress lines (fast: no training but one tiny CLI run)."""

from __future__ import annotations

import io
import json

import pytest
import torch

from seedge.cli import main
from seedge.errors import SeedgeError
from seedge.train.recipes import LRSchedule, apply_recipe, resolve_scheduler


def _lrs(kind, epochs=10, metrics=None, **kw):
    """The learning rate each epoch runs at under `kind` (base 1.0)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = LRSchedule(opt, kind, epochs, **kw)
    out = []
    for e in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        loss = metrics[e] if metrics else 1.0
        sched.step(loss, 0.0)
    return out


def test_schedules_per_epoch():
    assert _lrs("none") == [1.0] * 10
    assert _lrs("step", step_size=3, gamma=0.1) == pytest.approx([1, 1, 1, .1, .1, .1, .01, .01, .01, .001])
    assert _lrs("step", step_size=0) == [1.0] * 10  # 0: no decay (it used to be refused)
    cos = _lrs("cosine", epochs=4)
    assert cos == pytest.approx([1.0, 0.853553, 0.5, 0.146447], rel=1e-5)
    assert _lrs("none", epochs=6, warmup_epochs=2) == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1])
    assert _lrs("step", epochs=6, warmup_epochs=1, step_size=2) == pytest.approx([.5, 1, 1, .1, .1, .01])
    # plateau: the loss stops improving after epoch 2; patience 1 -> x0.1 two epochs later, then again
    lrs = _lrs("plateau", epochs=7, metrics=[3, 2, 2, 2, 2, 2, 2], plateau_patience=1, gamma=0.1)
    assert lrs == pytest.approx([1, 1, 1, 1, .1, .1, .01])
    assert _lrs("plateau", epochs=4, metrics=[3, 2, 1, 0], warmup_epochs=1) == pytest.approx([.5, 1, 1, 1])


def test_auto_scheduler_suits_the_optimizer_and_bad_values_are_refused():
    assert resolve_scheduler("auto", "sgd") == "step" and resolve_scheduler("auto", "adam") == "none"
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    for kw, msg in (({"step_size": -1}, "--step-size"), ({"gamma": 0}, "--gamma"),
                    ({"warmup_epochs": 5}, "--warmup-epochs")):
        with pytest.raises(SeedgeError, match=msg):
            LRSchedule(opt, "step", 5, **kw)


def test_recipe_values_yield_to_given_options():
    v = apply_recipe("seed002", {"epochs": 3})
    assert v["optimizer"] == "sgd" and v["scheduler"] == "step" and v["step_size"] == 7 and v["epochs"] == 3
    assert v["split_fractions"] == (0.64, 0.16, 0.2) and v["recipe"] == "seed002"
    with pytest.raises(SeedgeError, match="unknown recipe"):
        apply_recipe("seed999", {})


def test_progress_lines_in_a_log_name_the_batch_and_time_left():
    from rich.console import Console

    from seedge.train.progress_log import TrainLog

    buf = io.StringIO()
    log = TrainLog(Console(file=buf, width=200))  # not a terminal: lines, not a bar
    log.every_s = 0.0
    with log.bar("epoch 1/2", 4) as advance:
        for _ in range(4):
            advance(loss=0.5)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].strip().startswith("epoch 1/2: 1/4, loss 0.5000")
    assert "left" in lines[0]


def test_cli_recipe_and_schedule_are_recorded(tmp_path, capsys):
    with pytest.raises(SystemExit) as ex:
        main(["train", "--model", "se_resnet10_cifar_tiny", "--data", "shapes:16x16,n=30,classes=2",
              "--epochs", "2", "--recipe", "seed002", "--batch-size", "8", "--out", str(tmp_path / "r"),
              "--tensorboard", str(tmp_path / "tb"), "--json"])
    out, err = capsys.readouterr()
    assert ex.value.code == 0, err
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    r = history["recipe"]
    assert (r["recipe"], r["optimizer"], r["scheduler"], r["step_size"], r["epochs"]) == ("seed002", "sgd", "step",
                                                                                          7, 2)
    assert r["data_options"] == {"fractions": [0.64, 0.16, 0.2]}
    assert err.splitlines()[0].startswith("data: shapes:16x16,n=30,classes=2: split 64/16/20")
    assert "StepLR(7, 0.1)" in err
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        assert "tensorboard: not installed" in err
    else:
        assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())
