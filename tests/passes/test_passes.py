"""Graph passes: each rewrite fires on the zoo's models, keeps the logits, and is checked.

Models get BatchNorm statistics from a real forward in train mode (random init leaves
running mean 0 / var 1, which makes folding almost a no-op and hides mistakes).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seedge.errors import CheckFailed, SeedgeError
from seedge.models import create_model
from seedge.models.layers import SqueezeExcite
from seedge.passes import DEFAULT_PASSES, apply_passes, list_passes, register_pass, unregister_pass
from seedge.passes.canonical_se import canonical_se
from seedge.passes.fold_bn import fold_bn

_BN = nn.modules.batchnorm._BatchNorm
_DROP = (nn.Dropout, nn.Dropout2d, nn.AlphaDropout)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: on the shared 2-core CI box, 2 OpenMP threads wait on each other
    at every op barrier (measured: 11 s with 1 thread vs 60-80 s with 2 under load)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _with_bn_stats(model: nn.Module, shape, seed: int = 0) -> nn.Module:
    """Random BN affine params, running stats from one train-mode batch (variance >= 0.1); eval mode."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, _BN):
            m.momentum = None  # cumulative average: one batch sets the statistics
            m.reset_running_stats()
            if m.affine:
                with torch.no_grad():
                    m.weight.uniform_(0.5, 1.5, generator=gen)
                    m.bias.normal_(0.0, 0.2, generator=gen)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, *shape, generator=gen))  # batch 2 like the examples: oneDNN reuses its kernels
        for m in model.modules():
            if isinstance(m, _BN):
                # Two images leave some channels with ~0 variance; their 1/sqrt(var) gains blow the
                # logits up to ~1e3 and FP32 noise past 1e-5 (the float64 re-check has its own test).
                m.running_var.clamp_(min=0.1)
    return model.eval()


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


# arch, create_model kwargs, input (C, H, W), passes expected to rewrite something
ZOO = [
    ("se_resnet18", {"dropout": 0.2}, (3, 64, 64), {"drop_dropout", "fold_bn", "fuse_se_residual"}),
    ("se_resnext50_32x4d", {}, (3, 64, 64), {"fold_bn", "fuse_se_residual"}),
    ("res_se_net", {}, (3, 128, 128), {"drop_dropout", "fold_bn", "fuse_se_residual"}),  # 6 pools: >= 128
    ("mobilenet_v3_small", {}, (3, 64, 64), {"drop_dropout", "fold_bn", "canonical_se"}),
    ("efficientnet_b0", {}, (3, 64, 64), {"drop_dropout", "fold_bn", "canonical_se"}),
    ("regnet_y_400mf", {}, (3, 64, 64), {"fold_bn", "canonical_se"}),
]


def _check_zoo_model(arch, kwargs, shape, expected):
    torch.manual_seed(0)
    model = _with_bn_stats(create_model(arch, num_classes=10, **kwargs), shape)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        ref = model(x)
    passed, reports = apply_passes(model, example=x)

    assert [r["name"] for r in reports] == DEFAULT_PASSES
    fired = {r["name"] for r in reports if r["changed"] > 0}
    assert fired == expected, reports
    for r in reports:
        assert r["rel_diff"] <= 1e-5 or r["fp64"] is not None, r
        assert r["onnx_nodes_before"] is None and r["onnx_nodes_after"] is None
    with torch.no_grad():
        out = passed(x)
    assert _rel(out, ref) <= 5e-5  # independent of the per-pass check: the end result still matches
    # What the passes promise, looked at directly:
    assert not any(isinstance(m, _BN) for m in passed.modules()), "a BatchNorm was left unfolded"
    assert not any(isinstance(m, _DROP) for m in passed.modules())
    se = [m for m in passed.modules() if "SqueezeExcit" in type(m).__name__ or "SEModule" in type(m).__name__]
    assert se and all(type(m) is SqueezeExcite for m in se), {type(m).__name__ for m in se}
    assert all(m.fused_tail for m in passed.modules() if hasattr(m, "fused_tail"))
    # The caller's model is untouched.
    assert any(isinstance(m, _BN) for m in model.modules())
    assert passed.seedge_passes == DEFAULT_PASSES and not passed.training


@pytest.mark.parametrize("arch,kwargs,shape,expected", ZOO, ids=[z[0] for z in ZOO])
def test_default_passes_on_zoo(arch, kwargs, shape, expected):
    _check_zoo_model(arch, kwargs, shape, expected)


@pytest.mark.parametrize("arch", ["timm/seresnet18", "timm/legacy_seresnext26_32x4d"])
def test_default_passes_on_timm(arch):
    pytest.importorskip("timm")
    _check_zoo_model(arch, {}, (3, 64, 64), {"fold_bn", "canonical_se"})


# ---- hand-written models: a Linear-based SE layer (the common GitHub `SELayer`) and edge cases


class LinearSE(nn.Module):
    """avgpool -> view -> Linear -> ReLU -> Linear -> Sigmoid -> view -> expand -> mul."""

    def __init__(self, c: int, r: int = 4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(c, c // r, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(c // r, c, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class OnePlusGate(LinearSE):
    """Looks like an SE layer but computes x * (1 + gate): canonical_se must leave it alone."""

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)
        return x * (1 + y)


class TinyNet(nn.Module):
    def __init__(self, se: type[nn.Module] = LinearSE):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.se = se(16)
        self.drop = nn.Dropout2d(0.1)
        self.fc1 = nn.Linear(16, 8)
        self.bn1d = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 5)

    def forward(self, x):
        x = self.drop(self.se(self.stem(x)))
        return self.fc2(torch.relu(self.bn1d(self.fc1(x.mean((2, 3))))))


def _tiny(se=LinearSE):
    torch.manual_seed(0)
    return _with_bn_stats(TinyNet(se), (3, 16, 16)), torch.randn(2, 3, 16, 16)


def test_linear_se_and_linear_bn1d():
    model, x = _tiny()
    passed, reports = apply_passes(model, example=x)
    changed = {r["name"]: r["changed"] for r in reports}
    assert changed == {"drop_dropout": 1, "fold_bn": 2, "canonical_se": 1, "fuse_se_residual": 0}
    assert type(passed.se) is SqueezeExcite
    assert passed.se.fc1.weight.shape == (4, 16, 1, 1) and passed.se.fc1.bias is None
    assert isinstance(passed.bn1d, nn.Identity) and isinstance(passed.stem[1], nn.Identity)
    with torch.no_grad():
        assert _rel(passed(x), model(x)) <= 1e-5


def test_canonical_se_leaves_look_alikes():
    model, x = _tiny(OnePlusGate)
    result = canonical_se(model, x)
    assert result == 0
    assert type(model.se) is OnePlusGate
    # Reported as an SE-like block left alone, with the step where the pattern broke.
    assert [b["module"] for b in result.details["left_alone"]] == ["se"]
    assert "not a sigmoid or hard-sigmoid" in result.details["left_alone"][0]["reason"]


def test_fold_bn_skips_unsafe_pairs():
    class Tapped(nn.Module):
        """The conv output feeds the BN *and* a residual add: folding would change the add."""

        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)
            self.pre_bn, self.conv2 = nn.BatchNorm2d(3), nn.Conv2d(3, 3, 3, padding=1)  # BN before conv

        def forward(self, x):
            y = self.conv(x)
            return self.conv2(self.pre_bn(self.bn(y) + y))

    torch.manual_seed(0)
    model = _with_bn_stats(Tapped(), (3, 8, 8))
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        ref = model(x)
    assert fold_bn(model, x) == 0
    with torch.no_grad():
        assert torch.equal(model(x), ref)


def _gate_branches(path) -> list[set[str]]:
    """For every Mul fed by a sigmoid-like gate: the op types between the squeeze and the Mul."""
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    branches = []
    for mul in (n for n in graph.node if n.op_type == "Mul"):
        for name in mul.input:
            ops, frontier, found_gate = set(), [name], False
            for _ in range(12):  # the gate branch is short; the feature-map input is not followed far
                frontier = [producer[t] for t in frontier if t in producer]
                if not frontier:
                    break
                ops |= {n.op_type for n in frontier}
                found_gate |= any(n.op_type in ("Sigmoid", "HardSigmoid") for n in frontier)
                frontier = [i for n in frontier if n.op_type not in ("ReduceMean", "GlobalAveragePool")
                            for i in n.input]
            if found_gate and ops & {"ReduceMean", "GlobalAveragePool"}:
                branches.append(ops)
    return branches


@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
def test_onnx_gate_has_no_reshapes_and_node_counts_drop(tmp_path):
    from seedge.onnx.convert import export_onnx

    model, x = _tiny()
    passed, reports = apply_passes(model, names=["canonical_se"], example=x, count_nodes=True)
    before, after = reports[0]["onnx_nodes_before"], reports[0]["onnx_nodes_after"]
    assert after["total"] < before["total"]
    assert before.get("Gemm", 0) > after.get("Gemm", 0) and "Reshape" not in after

    export_onnx(model, tmp_path / "before.onnx", (3, 16, 16))
    export_onnx(passed, tmp_path / "after.onnx", (3, 16, 16))
    shape_ops = {"Flatten", "Reshape", "Gemm", "MatMul", "Unsqueeze", "Squeeze", "Expand"}
    [b] = _gate_branches(tmp_path / "before.onnx")
    assert b & shape_ops  # the check can fail: the Linear-based SE has them
    [a] = _gate_branches(tmp_path / "after.onnx")
    assert not a & shape_ops, a
    assert {"ReduceMean", "Conv", "Sigmoid"} <= a


# ---- the check itself


def test_a_pass_that_breaks_numerics_is_caught():
    @register_pass("test_nudge_conv")
    def nudge(model, example):  # scales one conv by 1.001: small, but not an identity
        conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
        with torch.no_grad():
            conv.weight.mul_(1.001)
        return 1

    try:
        model, x = _tiny()
        with pytest.raises(CheckFailed, match="test_nudge_conv"):
            apply_passes(model, names=["fold_bn", "test_nudge_conv"], example=x)
    finally:
        unregister_pass("test_nudge_conv")
    assert "test_nudge_conv" not in list_passes()


def test_exact_pass_beyond_fp32_noise_is_accepted_in_float64():
    """y = (x + 1e4) - 1e4 loses ~5e-4 in FP32; merging the two Linears is exact and more accurate."""

    @register_pass("test_merge_linears")
    def merge(model, example):
        a, b = model[0], model[1]
        merged = nn.Linear(a.in_features, b.out_features).to(a.weight.dtype)
        with torch.no_grad():
            merged.weight.copy_(b.weight @ a.weight)
            merged.bias.copy_(b.weight @ a.bias + b.bias)
        model[0], model[1] = merged, nn.Identity()
        return 1

    lin1, lin2 = nn.Linear(4, 4), nn.Linear(4, 4)
    with torch.no_grad():
        for lin, bias in ((lin1, 1e4), (lin2, -1e4)):
            lin.weight.copy_(torch.eye(4))
            lin.bias.fill_(bias)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    try:
        _, [report] = apply_passes(nn.Sequential(lin1, lin2), names=["test_merge_linears"], example=x)
    finally:
        unregister_pass("test_merge_linears")
    assert report["rel_diff"] > 1e-5  # beyond the FP32 bound ...
    fp64 = report["fp64"]  # ... but exact in float64 and closer to it than the original
    assert fp64["rel_diff_fp64"] <= 1e-9 and fp64["fp32_error_after"] < fp64["fp32_error_before"]


def test_unknown_pass_and_missing_example():
    model, _ = _tiny()
    with pytest.raises(SeedgeError, match="unknown pass 'nope'.*fold_bn"):
        apply_passes(model, names=["nope"])
    with pytest.raises(SeedgeError, match="example"):
        apply_passes(model)  # a hand-written model has no seedge_cfg to size an input from
    assert set(DEFAULT_PASSES) <= set(list_passes())
    with pytest.raises(ValueError):
        register_pass("fold_bn")(lambda m, x: 0)


def test_default_example_from_seedge_cfg():
    model = create_model("se_resnet10_cifar_tiny")
    n_bn = sum(isinstance(m, _BN) for m in model.modules())
    passed, reports = apply_passes(model)  # random (2, 3, 32, 32) from model.seedge_cfg
    assert {r["name"]: r["changed"] for r in reports}["fold_bn"] == n_bn
    assert passed.seedge_cfg == model.seedge_cfg
