"""canonical_se finds SE blocks by what they compute, in user-written networks of every style.

The networks (tests/_user_models.py) write their SE with AdaptiveAvgPool2d / F.adaptive_avg_pool2d
/ x.mean((2, 3)) with and without keepdim, Linear with and without bias or 1x1 convs, ReLU / SiLU
modules and functions, nn.Sigmoid / torch.sigmoid / h_sigmoid modules / F.hardsigmoid /
relu6(x + 3) / 6, and view / expand_as / [:, :, None, None] around the gate; SE classes of
their own, SE inline in residual blocks, MobileNet-style blocks. Each must come out as seedge's
SqueezeExcite at a predictable module path with the same logits; look-alikes and forwards
torch.fx cannot trace are left alone and reported with the reason.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _user_models import CANONICAL_SE, INPUT_SIZES, SELayer, user_model
from seedge.models.layers import SqueezeExcite
from seedge.passes import apply_passes


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _example(name: str) -> torch.Tensor:
    return torch.randn(2, *INPUT_SIZES[name], generator=torch.Generator().manual_seed(1))


def _se_report(reports: list[dict]) -> dict:
    return next(r for r in reports if r["name"] == "canonical_se")["details"]


def _rel(a, b) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("name", sorted(CANONICAL_SE))
def test_every_style_becomes_canonical(name):
    model, x = user_model(name), _example(name)
    with torch.no_grad():
        ref = model(x)
    passed, reports = apply_passes(model, example=x)
    details = _se_report(reports)
    assert [r["module"] for r in details["rewritten"]] == CANONICAL_SE[name]
    assert details["left_alone"] == []
    for path in CANONICAL_SE[name]:
        se = passed.get_submodule(path)
        assert type(se) is SqueezeExcite, (path, type(se))
        assert isinstance(se.fc1, nn.Conv2d) and isinstance(se.fc2, nn.Conv2d)
    # Nothing SE-like is left outside the canonical modules: every sigmoid/hard-sigmoid module sits in one.
    gates = [n for n, m in passed.named_modules() if isinstance(m, (nn.Sigmoid, nn.Hardsigmoid))]
    assert all(any(g.startswith(p + ".") for p in CANONICAL_SE[name]) for g in gates), gates
    with torch.no_grad():
        assert _rel(passed(x), ref) <= 1e-5
    # The report says what each rewrite replaced, in the user's own module names.
    for entry in details["rewritten"]:
        assert entry["from"] and all(isinstance(n, str) for n in entry["from"])
        assert entry["form"].endswith("multiply")


def test_report_names_the_users_layers_and_forms():
    passed, reports = apply_passes(user_model("SeedStyleNet"), ["canonical_se"], example=_example("SeedStyleNet"))
    first = _se_report(reports)["rewritten"][0]
    assert first == {"module": "layer1.se", "from": ["layer1.fc1", "layer1.fc2"],
                     "form": "adaptive_avg_pool2d(1) -> Linear -> ReLU -> Linear -> sigmoid -> multiply"}
    # The block keeps its other layers under their names; the Linear SE became 1x1 convs.
    assert isinstance(passed.layer1.conv1, nn.Conv2d) and passed.layer1.se.fc1.weight.shape == (1, 4, 1, 1)


def test_hard_sigmoid_gates_export_as_hardsigmoid():
    passed, reports = apply_passes(user_model("MobileV3StyleNet"), ["canonical_se"],
                                   example=_example("MobileV3StyleNet"))
    forms = [r["form"] for r in _se_report(reports)["rewritten"]]
    assert [f.split(" -> ")[-2] for f in forms] == ["h_sigmoid (hardsigmoid)", "hardsigmoid", "relu6(x+3)/6"]
    # The user's h_sigmoid module and the written-out relu6(y + 3) / 6 both became nn.Hardsigmoid.
    assert all(type(passed.get_submodule(p).gate) is nn.Hardsigmoid for p in CANONICAL_SE["MobileV3StyleNet"])


def test_untraceable_forward_module_level_and_left_alone():
    model, x = user_model("UntraceableNet"), _example("UntraceableNet")
    with torch.no_grad():
        ref = model(x)
    passed, reports = apply_passes(model, ["canonical_se"], example=x)
    details = _se_report(reports)
    # `a` cannot be traced, but its SE child is a module of its own and is traced on its own.
    assert [r["module"] for r in details["rewritten"]] == ["a.se"]
    assert type(passed.a.se) is SqueezeExcite
    # `b` computes its SE inline in a forward fx cannot trace: left alone, and the report says why.
    assert [r["module"] for r in details["left_alone"]] == ["b"]
    assert "torch.fx cannot trace" in details["left_alone"][0]["reason"]
    with torch.no_grad():
        assert _rel(passed(x), ref) <= 1e-5


class GuardedSE(SELayer):
    """An SE class whose own forward fx cannot trace: judged as a whole (module-level fallback)."""

    def forward(self, x):
        if x.abs().max() > 1e6:  # data-dependent: symbolic tracing fails here
            x = x.clamp(-1e6, 1e6)
        return super().forward(x)


def test_module_level_fallback_where_tracing_fails():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), GuardedSE(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 3)).eval()
    x = torch.randn(2, 3, 16, 16)
    passed, reports = apply_passes(model, ["canonical_se"], example=x)
    (entry,) = _se_report(reports)["rewritten"]
    assert entry["module"] == "1" and entry["form"].startswith("module-level")
    assert type(passed[1]) is SqueezeExcite


def test_channel_attention_look_alike_is_left_alone():
    model, x = user_model("CBAMNet"), _example("CBAMNet")
    passed, reports = apply_passes(model, ["canonical_se"], example=x)
    details = _se_report(reports)
    assert details["rewritten"] == []
    assert [r["module"] for r in details["left_alone"]] == ["ca"]
    assert "not a Linear or 1x1 conv" in details["left_alone"][0]["reason"]
    assert not any(isinstance(m, SqueezeExcite) for m in passed.modules())


class LeakySE(nn.Module):
    """The pooled vector also feeds a second output: removing the chain would change it."""

    def __init__(self, c=8):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, 2), nn.Linear(2, c)
        self.head = nn.Linear(c, 3)

    def forward(self, x):
        s = x.mean((2, 3))
        g = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return self.head((x * g[:, :, None, None]).mean((2, 3)) + s)


def test_chain_used_elsewhere_is_not_rewritten():
    model, x = LeakySE().eval(), torch.randn(2, 8, 6, 6)
    passed, reports = apply_passes(model, ["canonical_se"], example=x)
    details = _se_report(reports)
    assert details["rewritten"] == []
    assert "also used outside the SE chain" in details["left_alone"][0]["reason"]


def test_exported_program_gets_the_same_canonical_blocks():
    """A torch.export program (what a .pt2 file holds) has aten ops and no modules; its SE chains
    are found all the same, and the canonical modules get the original module paths."""
    model, x = user_model("MobileV3StyleNet"), _example("MobileV3StyleNet")
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=64)},))
    module = program.module()
    del module.train, module.eval  # export pins eval-mode ops; the flags are all that train()/eval() would set
    with torch.no_grad():
        ref = module(x)
    passed, reports = apply_passes(module, ["canonical_se"], example=x)
    assert [r["module"] for r in _se_report(reports)["rewritten"]] == CANONICAL_SE["MobileV3StyleNet"]
    assert all(type(passed.get_submodule(p)) is SqueezeExcite for p in CANONICAL_SE["MobileV3StyleNet"])
    with torch.no_grad():
        assert _rel(passed(x), ref) <= 1e-5
