"""Any batch, proven (issue 23, items 2 and 3).

ECA attention (a Conv1d over the pooled channel vector) failed to export: the batch-1 example made
torch specialize the batch to 1. A forward with `if x.shape[0] == 1:` gave a graph with one path
baked in, called dynamic, and verify then died with an internal error. Now the export traces at
batch 2, proves the saved graph at batch 1 and 3 against the eager model, and refuses a model whose
forward depends on the batch in one line naming that line of its code; verify runs every artifact
at two batch sizes and makes a failed row (never an exception) of one that cannot.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
import onnxruntime as ort
import pytest
import torch

import _user_models
import seedge
from _user_models import INPUT_SIZES, user_model
from seedge.artifacts import artifact_sha256, read_manifest, write_manifest
from seedge.cli import main
from seedge.errors import SeedgeError
from seedge.onnx.convert import export_onnx
from seedge.verify import verify_artifacts

HALF = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}  # stated: a user model's normalization is never assumed


@pytest.fixture(autouse=True, scope="module")
def _two_threads():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)


def _export(name: str, out: Path, **kw) -> Path:
    kw.setdefault("formats", ("onnx", "openvino"))
    return seedge.export(user_model(name), input_size=INPUT_SIZES[name], preprocessing=dict(HALF), out=out,
                         count_nodes=False, **kw)


@pytest.fixture(scope="module")
def eca_folder(tmp_path_factory) -> Path:
    return _export("ECANet", tmp_path_factory.mktemp("eca"))


def _line_of(cls, text: str) -> int:
    source, first = inspect.getsourcelines(cls)
    return first + next(i for i, line in enumerate(source) if text in line)


def test_eca_exports_with_a_symbolic_batch_that_runs_at_1_and_16(eca_folder):
    m = read_manifest(eca_folder)
    assert {a["id"] for a in m["artifacts"]} == {"onnx-fp32", "openvino-fp32"}
    assert all(a["parity"]["passed"] and a["parity"]["batch_sizes"] == [16, 1] for a in m["artifacts"]), m["artifacts"]
    graph = onnx.load(str(eca_folder / "model.onnx")).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a name, not a number
    session = ort.InferenceSession(str(eca_folder / "model.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(16, *INPUT_SIZES["ECANet"], generator=torch.Generator().manual_seed(5))
    model = user_model("ECANet")
    for n in (1, 16):
        with torch.no_grad():
            want = model(x[:n]).numpy()
        got = session.run(None, {"input": x[:n].numpy()})[0]
        assert got.shape == want.shape and np.abs(got - want).max() < 1e-4


def test_verify_runs_each_artifact_at_two_batch_sizes(eca_folder):
    report = verify_artifacts(eca_folder, read_manifest(eca_folder))
    assert report["passed"]
    assert [r["batch_sizes"] for r in report["artifacts"]] == [[16, 1], [16, 1]]


def test_a_forward_that_branches_on_the_batch_is_refused_naming_the_line(tmp_path):
    """torch.export decides `x.shape[0] == 1` as False without a guard (sizes start at 2 for it), so
    the graph claims any batch with only the batch >= 2 path in it: refused, with the line."""
    line = _line_of(_user_models.BatchBranchNet, "if x.shape[0] == 1:")
    # seedge.export stops at the user model's baseline capture; the ONNX builder (any model) refuses too.
    for route in ("seedge.export", "onnx"):
        with pytest.raises(SeedgeError) as exc:
            if route == "onnx":
                export_onnx(user_model("BatchBranchNet"), tmp_path / "m.onnx", INPUT_SIZES["BatchBranchNet"])
            else:
                _export("BatchBranchNet", tmp_path, formats=("onnx",))
        msg = str(exc.value)
        assert f"_user_models.py:{line}: if x.shape[0] == 1:" in msg, msg
        assert "at batch 1" in msg and "\n" not in msg and "\x1b" not in msg
    assert not (tmp_path / "BatchBranchNet").exists()


def test_torch_export_failure_is_one_clean_line_naming_the_users_line(tmp_path):
    """A forward that hard-codes batch 1 (`view(1, -1)`): torch's message (ANSI colours, 'This is step
    1/3 ... Next steps:') becomes one line saying what failed and which line of the model does it."""

    class ViewOne(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            y = self.conv(x).mean((2, 3))
            return self.fc(y.view(1, 4))

    line = _line_of(ViewOne, "y.view(1, 4)")
    for route in ("onnx", "seedge.export"):  # the ONNX builder, and the user-model baseline capture before it
        with pytest.raises(SeedgeError) as exc:
            if route == "onnx":
                export_onnx(ViewOne().eval(), tmp_path / "m.onnx", (3, 8, 8))
            else:
                seedge.export(ViewOne(), input_size=(3, 8, 8), preprocessing=dict(HALF), formats="onnx",
                              out=tmp_path, count_nodes=False)
        msg = str(exc.value)
        assert "\x1b" not in msg and "\n" not in msg and "step 1/3" not in msg and not msg.endswith(":"), msg
        assert f"{Path(__file__).name}:{line}: return self.fc(y.view(1, 4))" in msg, msg


def test_an_artifact_fixed_at_batch_1_but_called_dynamic_fails_verify(tmp_path, capsys):
    """A graph for batch 1 only where the manifest says any batch: a failed parity row saying so
    (ONNX Runtime's 'Got: 16 Expected: 1' was an internal error), exit 1."""
    name = "ConvSENet"  # an SE net that always exported: the verify side alone is under test
    folder = _export(name, tmp_path, formats=("onnx",))
    m = read_manifest(folder)
    x = torch.randn(1, *INPUT_SIZES[name])
    program = torch.onnx.export(user_model(name), (x,), dynamo=True, input_names=["input"],
                                output_names=["logits"], opset_version=18, verbose=False)
    program.save(str(folder / "model.onnx"))
    assert onnx.load(str(folder / "model.onnx")).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    entry = next(a for a in m["artifacts"] if a["id"] == "onnx-fp32")
    entry["sha256"] = artifact_sha256(folder / entry["file"])
    write_manifest(folder, m)
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", str(folder), "--artifact", "onnx-fp32", "--json"])
    out, err = capsys.readouterr()
    assert "internal error" not in err and exit_info.value.code == 1, err
    row = json.loads(out)["artifacts"][0]
    assert not row["passed"] and "takes batch 1 only" in row["reason"] and "any batch" in row["reason"]


def _shift_at_batch_one(path: Path) -> None:
    """Rewrite an ONNX graph so that it adds 1 to every logit when run on one image: a dynamic batch
    that holds another path at batch 1 (what `if x.shape[0] == 1:` would be if torch kept it)."""
    proto = onnx.load(str(path))
    graph = proto.graph
    out = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{out}_raw" if o == out else o for o in node.output]
    graph.initializer.extend([helper.make_tensor("zero_i", TensorProto.INT64, [], [0]),
                                 helper.make_tensor("one_i", TensorProto.INT64, [], [1])])
    graph.node.extend([
        helper.make_node("Shape", [graph.input[0].name], ["shape_x"]),
        helper.make_node("Gather", ["shape_x", "zero_i"], ["batch_n"]),
        helper.make_node("Equal", ["batch_n", "one_i"], ["is_one"]),
        helper.make_node("Cast", ["is_one"], ["shift"], to=TensorProto.FLOAT),
        helper.make_node("Add", [f"{out}_raw", "shift"], [out]),
    ])
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def test_an_artifact_that_differs_at_batch_1_fails_verify(tmp_path):
    """A graph whose batch is symbolic and right at batch 16, wrong at batch 1: verify's run at batch 1
    fails the row, saying at which batch."""
    folder = _export("ConvSENet", tmp_path, formats=("onnx",))
    m = read_manifest(folder)
    entry = m["artifacts"][0]
    _shift_at_batch_one(folder / entry["file"])
    entry["sha256"] = artifact_sha256(folder / entry["file"])
    write_manifest(folder, m)
    row = verify_artifacts(folder, read_manifest(folder))["artifacts"][0]
    assert row["max_abs_diff"] < 1e-4  # at batch 16 it is the model
    assert not row["passed"] and row["reason"].startswith("at batch 1: ") and row["batch_sizes"] == [16, 1], row
