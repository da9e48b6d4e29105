"""The SE-aware INT8 policy, `--exclude` and `seedge quantize-report` on user-written SE networks
(tests/_user_models.py) name exactly the user's SE modules, by the user's own module names.

One style per case: Linear SE written inline (seed 000), 1x1-conv SE in a Sequential, the
senet.pytorch SELayer, and MobileNetV3 blocks whose hard-sigmoid gates sit among Hardswish
activations -- ONNX Runtime's pre-processing writes each HardSwish out as x * HardSigmoid(x) in
unnamed nodes, which were once taken for SE gates (reported as 'features') and hid
'features.0.se'.
"""

from __future__ import annotations

import json

import onnx
import pytest
import torch
from _user_models import CANONICAL_SE, user_model

import seedge
from seedge.artifacts import read_manifest
from seedge.cli import main
from seedge.quantize import policy as pol
from seedge.quantize.int8 import prepare

# name -> the input size each is exported at here (seed 000's net at the smallest size its six
# pooling stages allow, to keep the test small)
_SIZES = {"SeedStyleNet": (3, 128, 128), "ConvSENet": (3, 16, 16), "SENetStyleNet": (3, 32, 32),
          "MobileV3StyleNet": (3, 32, 32)}
_CASES = [pytest.param("MobileV3StyleNet"),
          pytest.param("SeedStyleNet", marks=pytest.mark.slow),
          pytest.param("ConvSENet", marks=pytest.mark.slow),
          pytest.param("SENetStyleNet", marks=pytest.mark.slow)]


@pytest.fixture(autouse=True)
def calib_cache(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path_factory.getbasetemp() / "seedge-cache"))


@pytest.mark.parametrize("name", _CASES)
def test_policy_exclude_and_report_name_the_users_se_modules(name, tmp_path, capsys):
    se = CANONICAL_SE[name]
    torch.set_num_threads(2)
    # Ten outputs, so digits' labels "0".."9" are the model's classes by name.
    folder = seedge.export(user_model(name, num_classes=10), input_size=_SIZES[name], out=tmp_path,
                           formats="onnx", precisions="fp32,int8", calib="digits", calib_samples=16,
                           exclude=[se[0]], count_nodes=False, verify_samples=16, preprocessing={"preset": "imagenet"},
                           # random weights: INT8 parity is not what this test is about
                           thresholds={"int8": {"min_agreement": None, "max_accuracy_drop": None}})
    int8 = next(a for a in read_manifest(folder)["artifacts"] if a["id"] == "onnx-int8")
    assert int8["build"]["se_gates"] == se                       # the policy, on the built INT8 model
    assert int8["build"]["excluded_modules"] == [se[0]]          # --exclude, by the user's name

    # The graph the policy sees: every node named (quantize_static selects by name), one gate per
    # SE block, and the excluded block's nodes are exactly those of that module.
    prep = prepare(folder / "model.onnx", tmp_path)
    assert all(n.name for n in prep.proto.graph.node)
    assert [g.module for g in prep.info.gates] == se
    first = pol.module_nodes(prep.proto, [se[0]], prep.info)[se[0]]
    assert set(prep.info.gates[0].path + prep.info.gates[0].muls) <= set(first)
    q = onnx.load(str(folder / int8["file"]))
    dequantized = {o for n in q.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    convs = {n.name: n.input[1] in dequantized for n in q.graph.node if n.op_type == "Conv"}
    gate_convs = [[c for c in g.path if c in convs] for g in prep.info.gates]
    assert gate_convs[0] and not any(convs[c] for c in gate_convs[0])   # the excluded SE block stays float
    assert all(convs[c] for g in gate_convs[1:] for c in g)              # the others are INT8

    with pytest.raises(SystemExit) as exc:
        main(["quantize-report", str(folder), "--data", "digits", "--limit", "24", "--calib-samples", "16",
              "--json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    modules = [r["module"] for r in json.loads(out)["blocks"]]
    assert set(se) <= set(modules)                               # each SE block ranked under its own name
    gate_units = {pol.unit_of(prep.info.scopes[g.path[-1]], set(se)) for g in prep.info.gates}
    assert gate_units == set(se)
