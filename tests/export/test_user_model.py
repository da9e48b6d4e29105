"""Bring your own model: SE networks written the ways people write them (tests/_user_models.py)
export through `seedge.export(module)` and `seedge export --model-file`, with parity, every SE
block canonical in the ONNX graph, and a folder that verify and the runtime use without the
user's code. Also: torch.export programs (.pt2) as SOURCE, and a senet.pytorch SE-ResNet-18
state dict into the zoo's se_resnet18.

One fast case per SE style (API or CLI); the other route per style, every format x precision,
and INT8 of a briefly trained model are marked slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import seedge
from _user_models import CANONICAL_SE, INPUT_SIZES, user_model
from seedge.artifacts import read_manifest
from seedge.cli import main
from seedge.errors import SeedgeError

USER_MODELS = Path(__file__).resolve().parents[1] / "_user_models.py"
# Ops that must not sit on an SE gate's path: what the canonical form removes.
_NOT_AROUND_GATES = {"Gemm", "MatMul", "Reshape", "Expand", "Flatten", "Unsqueeze", "Squeeze"}
_POOLS = {"GlobalAveragePool", "ReduceMean"}


@pytest.fixture(autouse=True, scope="module")
def _two_threads():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def se_gates(onnx_path: Path) -> tuple[int, list[str]]:
    """(SE gates in the graph, what is not canonical about them).

    A gate is a Sigmoid/HardSigmoid reached from a global pool (not the sigmoid of a SiLU,
    whose Mul multiplies its own input). Canonical: fed by a 1x1 Conv, the path back to the
    pool free of Gemm/MatMul/Reshape/Expand/Flatten/(Un)squeeze, its output going straight
    into a Mul.
    """
    graph = onnx.load(str(onnx_path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    weights = {t.name: tuple(t.dims) for t in graph.initializer}
    count, problems = 0, []
    for gate in (n for n in graph.node if n.op_type in ("Sigmoid", "HardSigmoid")):
        users = consumers.get(gate.output[0], [])
        if any(u.op_type == "Mul" and gate.input[0] in u.input for u in users):
            continue  # SiLU: x * sigmoid(x)
        path, node = [], producer.get(gate.input[0])
        while node is not None and node.op_type not in _POOLS and len(path) < 12:
            path.append(node)
            node = producer.get(node.input[0])
        if node is None or node.op_type not in _POOLS:
            continue  # not fed from a global pool: no SE gate
        count += 1
        fed = path[0] if path else None
        if fed is None or fed.op_type != "Conv" or weights.get(fed.input[1], (0, 0, 0, 0))[2:] != (1, 1):
            problems.append(f"{gate.name} is fed by {fed.op_type if fed else 'the pool'}, not a 1x1 Conv")
        bad = sorted({n.op_type for n in path} & _NOT_AROUND_GATES)
        if bad:
            problems.append(f"{gate.name}: {', '.join(bad)} between the pool and the gate")
        if not users or any(u.op_type != "Mul" for u in users):
            problems.append(f"{gate.name} feeds {[u.op_type for u in users]}, not a Mul")
    return count, problems


def check_export(folder: Path, name: str) -> dict:
    """The promises of a user-model export, read from the folder."""
    m = read_manifest(folder)
    assert m["model"]["arch"] == f"user:_user_models.{name}"
    assert m["model"]["code"]["class"] == name and m["model"]["code"]["module"] == "_user_models"
    assert m["baseline"]["format"] == "pt2" and m["baseline"]["class"] == name
    assert (folder / m["baseline"]["file"]).is_file() and not (folder / "model.safetensors").exists()
    se = next(p for p in m["passes"] if p["name"] == "canonical_se")
    assert [r["module"] for r in se["details"]["rewritten"]] == CANONICAL_SE[name]
    assert se["details"]["left_alone"] == []
    assert m["artifacts"] and all(a["parity"]["passed"] for a in m["artifacts"]), m["artifacts"]
    gates, problems = se_gates(folder / "model.onnx")
    assert gates == len(CANONICAL_SE[name]) and problems == []
    return m


def api_export(name: str, out: Path, **kw) -> Path:
    kw.setdefault("formats", ("onnx", "openvino"))
    kw.setdefault("count_nodes", False)
    kw.setdefault("preprocessing", {"preset": "imagenet"})  # a user model's normalization is stated
    return seedge.export(user_model(name), input_size=INPUT_SIZES[name], out=out, **kw)


def cli_export(name: str, tmp_path: Path, capsys, *extra) -> Path:
    weights = tmp_path / f"{name}.pth"
    torch.save(user_model(name).state_dict(), weights)
    c, h, w = INPUT_SIZES[name]
    code, _, err = run(["export", weights, "--model-file", f"{USER_MODELS}:{name}", "--img-size", f"{h}x{w}",
                        "--preprocessing", "imagenet",
                        "--formats", "torchscript,onnx,openvino", "--no-count-nodes", "--out", tmp_path / "out",
                        *extra], capsys)
    assert code == 0, err
    assert {a["id"] for a in read_manifest(tmp_path / "out" / name)["artifacts"]} == {
        "torchscript-fp32", "onnx-fp32", "openvino-fp32"}
    return tmp_path / "out" / name


# --- one fast case per SE style ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["SENetStyleNet", "MeanSiLUNet", "ConvSENet"])
def test_api_export_of_a_live_module(name, tmp_path):
    with torch.no_grad():
        n = user_model(name)(torch.zeros(1, *INPUT_SIZES[name])).shape[1]
    folder = api_export(name, tmp_path, class_names=[f"c{i}" for i in range(n)])
    assert folder == tmp_path / name
    m = check_export(folder, name)
    assert m["model"]["class_names"] == [f"c{i}" for i in range(n)]


@pytest.mark.parametrize("name,extra", [("SeedStyleNet", ["--class-names", "benign,malignant"]),
                                        ("MobileV3StyleNet", ["--model-args", '{"width": 8}'])])
@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
def test_cli_export_with_model_file(name, extra, tmp_path, capsys):
    folder = cli_export(name, tmp_path, capsys, *extra)
    m = check_export(folder, name)
    assert m["model"]["code"]["file"].endswith("_user_models.py")
    if name == "SeedStyleNet":  # seed 000's native input and the class names given
        assert m["input"]["shape"] == ["batch", 3, 245, 457]
        assert m["model"]["class_names"] == ["benign", "malignant"]
    else:
        assert m["model"]["code"]["args"] == {"width": 8}


# --- the other route per style, and every CPU format x precision ----------------------------------------



@pytest.mark.slow
@pytest.mark.parametrize("name", ["SENetStyleNet", "MeanSiLUNet", "ConvSENet"])
def test_cli_export_slow_styles(name, tmp_path, capsys):
    check_export(cli_export(name, tmp_path, capsys), name)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CANONICAL_SE))  # every style, seed 000's at 245x457
def test_every_style_to_every_cpu_format_and_precision(name, tmp_path):
    """seedge.export(module) of each style to TorchScript, ONNX and OpenVINO in FP32, FP16 and INT8
    (the CLI route of each style is test_cli_export_with_model_file / test_cli_export_slow_styles)."""
    folder = api_export(name, tmp_path, formats=("torchscript", "onnx", "openvino"),
                        precisions=("fp32", "fp16", "int8"), calib="digits", calib_samples=32, verify_samples=64,
                        # random weights: logits too close for top-1 to mean much; judge by cosine
                        thresholds={"fp16": {"min_agreement": None, "min_cosine": 0.999},
                                    "int8": {"min_agreement": None, "max_accuracy_drop": None, "min_cosine": 0.9}})
    m = check_export(folder, name)
    assert {a["id"] for a in m["artifacts"]} >= {"torchscript-fp32", "onnx-fp32", "openvino-fp32", "onnx-fp16",
                                                  "openvino-fp16", "onnx-int8", "openvino-int8"}
    int8 = next(a for a in m["artifacts"] if a["id"] == "onnx-int8")
    assert int8["build"]["se_gates"] == CANONICAL_SE[name]


@pytest.mark.slow  # ~10 min on the shared 2-core box, most of it the 15 epochs
def test_briefly_trained_user_model_keeps_int8_thresholds(tmp_path, capsys):
    """train --model-file on digits, evaluate it, export INT8 under the default parity rules; then
    --exclude takes a user SE block by its module name. Measured: 15 epochs give 96.9% test
    accuracy and 99.6% INT8 top-1 agreement (8 epochs: 92% and 98.2%, too close to the 98% rule)."""
    spec = f"{USER_MODELS}:MobileV3StyleNet"
    run_dir = tmp_path / "run"
    width = ["--model-args", '{"width": 24}']
    code, _, err = run(["train", "--model-file", spec, *width, "--data", "digits", "--img-size", "32",
                        "--epochs", "15", "--lr", "0.005", "--out", run_dir, "--seed", "0"], capsys)
    assert code == 0, err
    code, out, err = run(["evaluate", run_dir, "--model-file", spec, *width, "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["accuracy"] > 0.9
    code, _, err = run(["export", run_dir, "--model-file", spec, *width, "--formats", "onnx,openvino",
                        "--precisions", "fp32,int8", "--no-count-nodes", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    m = check_export(tmp_path / "out" / "MobileV3StyleNet", "MobileV3StyleNet")
    assert m["model"]["trained_on"] == "digits"
    int8 = [a for a in m["artifacts"] if a["precision"] == "int8"]
    assert len(int8) == 2 and all(a["parity"]["passed"] for a in int8)
    folder = seedge.export(run_dir, model_file=spec, model_args={"width": 24}, formats="onnx", precisions="int8",
                           exclude=["features.1.se"], count_nodes=False, out=tmp_path / "out2",
                           thresholds={"int8": {"min_agreement": None, "max_accuracy_drop": None}})
    build = read_manifest(folder)["artifacts"][0]["build"]
    assert build["excluded_modules"] == ["features.1.se"] and "features.1.se" in build["se_gates"]


# --- the folder needs nothing of the user's ------------------------------------------------------------

@pytest.fixture(scope="module")
def senet_folder(tmp_path_factory) -> Path:
    return api_export("SENetStyleNet", tmp_path_factory.mktemp("byom"))


@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
def test_verify_and_runtime_run_the_folder_without_the_users_code(senet_folder, tmp_path):
    # A fresh process where tests/ is not importable: `_user_models` cannot be found.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import json, sys\n"
            "from seedge.verify import verify_artifacts\n"
            "from seedge.artifacts import read_manifest\n"
            "from seedge.runtime import Model\n"
            f"folder = {str(senet_folder)!r}\n"
            "r = verify_artifacts(folder, read_manifest(folder))\n"
            "assert '_user_models' not in sys.modules\n"
            "with Model.open(folder) as m:\n"
            "    t = m.self_test()\n"
            "print(json.dumps({'passed': r['passed'], 'ref': r['baseline']['reference_max_abs_diff'],\n"
            "                  'self_test': bool(t['passed'])}))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout.strip().splitlines()[-1])
    assert doc == {"passed": True, "ref": doc["ref"], "self_test": True} and doc["ref"] <= 1e-5


def test_seedge_export_is_callable_and_import_stays_torch_free():
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ImportError('torch is blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import seedge\n"
            "assert callable(seedge.export) and 'torch' not in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    import seedge.export.pipeline  # noqa: F401 - once the package's modules are loaded it is still the API
    assert callable(seedge.export)


# --- torch.export programs as SOURCE ----------------------------------------------------------------------

def test_pt2_program_exports_without_python_code(tmp_path, capsys):
    model, x = user_model("MeanSiLUNet"), torch.randn(2, *INPUT_SIZES["MeanSiLUNet"])
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=64)},))
    path = tmp_path / "meansilu.pt2"
    torch.export.save(program, str(path))
    code, _, err = run(["export", path, "--formats", "onnx", "--no-count-nodes", "--out", tmp_path / "out",
                        "--class-names", "a,b,c,d", "--preprocessing", "imagenet"], capsys)
    assert code == 0, err
    folder = tmp_path / "out" / "meansilu"
    m = read_manifest(folder)
    assert m["model"]["arch"] == "pt2:meansilu" and m["model"]["class_names"] == ["a", "b", "c", "d"]
    assert m["input"]["shape"] == ["batch", *INPUT_SIZES["MeanSiLUNet"]]
    assert m["baseline"]["format"] == "pt2" and m["baseline"]["sha256"] == m["model"]["source_sha256"]
    se = next(p for p in m["passes"] if p["name"] == "canonical_se")["details"]
    assert [r["module"] for r in se["rewritten"]] == CANONICAL_SE["MeanSiLUNet"]
    assert se_gates(folder / "model.onnx") == (2, [])
    assert all(a["parity"]["passed"] for a in m["artifacts"])
    with np.load(folder / "reference.npz") as ref, torch.no_grad():
        np.testing.assert_allclose(ref["logits"], model(torch.from_numpy(ref["input"])).numpy(), atol=1e-5)


# --- a senet.pytorch SE-ResNet-18 into the zoo's se_resnet18 -----------------------------------------------

@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
def test_senet_pytorch_bias_less_se_resnet18_state_dict(tmp_path, capsys):
    original = user_model("SENetPyTorchResNet18", num_classes=7)
    path = tmp_path / "senet18.pth"
    torch.save(original.state_dict(), path)
    code, _, err = run(["export", path, "--model", "se_resnet18", "--img-size", "64", "--formats", "onnx",
                        "--no-count-nodes", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    notes = [line for line in err.splitlines() if "no biases" in line]
    assert len(notes) == 1 and "8 SE blocks" in notes[0] and "zero" in notes[0]
    folder = tmp_path / "out" / "se_resnet18"
    m = read_manifest(folder)
    assert m["model"]["num_classes"] == 7 and m["baseline"]["format"] == "safetensors"
    assert all(a["parity"]["passed"] for a in m["artifacts"])
    with np.load(folder / "reference.npz") as ref, torch.no_grad():  # the original model's logits
        np.testing.assert_allclose(ref["logits"], original(torch.from_numpy(ref["input"])).numpy(), atol=1e-4)


# --- bad input: one line, exit 2 ----------------------------------------------------------------------------

def test_live_module_needs_an_input_size(tmp_path):
    with pytest.raises(SeedgeError, match="input_size"):
        seedge.export(user_model("ConvSENet"), out=tmp_path)
    with pytest.raises(SeedgeError, match="takes a torch.nn.Module or a checkpoint path, not a object"):
        seedge.export(object(), input_size=(3, 8, 8), out=tmp_path)


def test_example_input_gives_the_input_size(tmp_path):
    class TwoOutputs(torch.nn.Module):
        def forward(self, x):
            return x.mean((2, 3)), x
    with pytest.raises(SeedgeError, match=r"returns a tuple.*\(N, classes\)"):
        seedge.export(TwoOutputs(), example_input=torch.zeros(1, 3, 8, 8), out=tmp_path)


@pytest.mark.parametrize("argv,message", [
    (["--model-file", "nowhere.py:Net"], "nowhere.py: model file not found"),
    (["--model-file", f"{USER_MODELS}:NoSuchNet"], "defines no class or function 'NoSuchNet' (it defines "),
    (["--model-file", f"{USER_MODELS}"], "give FILE.py:NAME"),
    (["--model-file", f"{USER_MODELS}:SeedStyleNet", "--model-args", "{width: 4}"], "--model-args"),
    (["--model-file", f"{USER_MODELS}:SeedStyleNet", "--model-args", '{"depth": 4}'], "unexpected keyword"),
    (["--model-args", '{"width": 4}'], "--model-args goes with --model-file"),
    (["--model", "se_resnet18", "--model-file", f"{USER_MODELS}:SeedStyleNet"], "not both"),
])
def test_bad_model_file_options_are_one_line(argv, message, tmp_path, capsys):
    weights = tmp_path / "w.pth"
    torch.save(user_model("SeedStyleNet").state_dict(), weights)
    code, out, err = run(["inspect", weights, *argv], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_exclude_names_the_modules_after_the_se_rewrite(tmp_path, capsys):
    weights = tmp_path / "w.pth"
    torch.save(user_model("SeedStyleNet").state_dict(), weights)
    code, out, err = run(["export", weights, "--model-file", f"{USER_MODELS}:SeedStyleNet", "--img-size", "128x192",
                          "--preprocessing", "unit", "--formats", "onnx", "--precisions", "int8", "--calib", "digits", "--calib-samples", "16",
                          "--exclude", "layer3.fc1", "--out", tmp_path / "out"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--exclude layer3.fc1: the canonical-SE pass made it part of SE block 'layer3.se'" in err
    assert not (tmp_path / "out" / "SeedStyleNet").exists()


def test_inspect_lists_se_blocks_rewritten_and_left_alone(tmp_path, capsys):
    weights = tmp_path / "w.pth"
    torch.save(user_model("UntraceableNet").state_dict(), weights)
    code, out, err = run(["inspect", weights, "--model-file", f"{USER_MODELS}:UntraceableNet", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["arch"] == "user:_user_models.UntraceableNet" and doc["se_blocks"] == 1
    assert [r["module"] for r in doc["se"]["rewritten"]] == ["a.se"]
    assert doc["se"]["left_alone"][0]["module"] == "b"
    code, out, _ = run(["inspect", weights, "--model-file", f"{USER_MODELS}:UntraceableNet"], capsys)
    assert code == 0 and "a.se  <- a.se.avg_pool" in out and "left alone: b: torch.fx cannot trace" in out


def test_verify_matches_data_labels_to_class_names_given(senet_folder, tmp_path, capsys):
    """An export of a bare module records classes "0".."4"; --class-names names them, and the
    labels of --data are matched by those names (a label the model does not have is an error)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "owl"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "data" / label / f"{i}.png")
    data = ["--data", tmp_path / "data", "--split", "train", "--json"]
    code, _, err = run(["verify", senet_folder, *data], capsys)
    assert code == 2 and "cat" in err  # "cat" is no class of a model whose classes are 0..4
    code, out, err = run(["verify", senet_folder, *data, "--class-names", "ant,cat,dog,eel,owl"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["samples"]["data"] >= 2 and doc["passed"]  # the train split of 6 images
    assert all(r["accuracy"] is not None for r in doc["artifacts"])
    code, _, err = run(["verify", senet_folder, *data, "--class-names", "cat,owl"], capsys)
    assert code == 2 and "gives 2 names but the export folder has 5 outputs" in err


def test_a_live_module_is_copied_to_fp32_on_the_cpu_and_left_untouched():
    from seedge.models.user import adopt

    original = user_model("ConvSENet").double()
    work = adopt(original, (3, 16, 16))
    assert work is not original and next(original.parameters()).dtype == torch.float64
    assert next(work.parameters()).dtype == torch.float32 and not work.training
    assert work.seedge_arch == "user:_user_models.ConvSENet"
    assert work.seedge_cfg.num_classes == 3 and work.seedge_cfg.classifier == "fc"
    assert not hasattr(original, "seedge_cfg")


# --- a pickled whole module, a TorchScript archive -------------------------------------------------------

def test_pickled_whole_module_is_the_model_and_torchscript_is_refused(tmp_path, capsys):
    """torch.save(model) with --unsafe-pickle: the architecture comes from the pickle (recorded like a
    live module's), not read as a state dict. A TorchScript archive cannot be exported honestly (fx
    cannot find its SE blocks, torch.export cannot keep its baseline): one line says so; its weights
    still load into the user's class."""
    # The classes as `_user_models` now stands in sys.modules: a --model-file test earlier in the
    # session re-imports that file, and pickle saves and finds a class through sys.modules.
    model = sys.modules["_user_models"].user_model("ConvSENet")
    whole, ts = tmp_path / "whole.pt", tmp_path / "scripted.pt"
    torch.save(model, whole)
    torch.jit.save(torch.jit.script(model), str(ts))
    common = ["--formats", "onnx", "--no-count-nodes", "--out", tmp_path / "out"]
    code, _, err = run(["export", whole, *common], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--unsafe-pickle" in err, err
    code, _, err = run(["export", whole, "--unsafe-pickle", "--img-size", "16", "--preprocessing", "imagenet",
                        *common], capsys)
    assert code == 0, err
    m = check_export(tmp_path / "out" / "ConvSENet", "ConvSENet")
    assert m["model"]["code"]["pickle"] == str(whole) and m["input"]["shape"] == ["batch", 3, 16, 16]
    with np.load(tmp_path / "out" / "ConvSENet" / "reference.npz") as ref, torch.no_grad():
        np.testing.assert_allclose(ref["logits"], model(torch.from_numpy(ref["input"])).numpy(), atol=1e-5)
    for flags in ([], ["--unsafe-pickle"]):
        code, out, err = run(["export", ts, *flags, *common], capsys)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert "is a TorchScript archive" in err and "torch.fx" in err and "--model/--model-file" in err
    code, out, err = run(["inspect", ts, "--unsafe-pickle", "--model-file", f"{USER_MODELS}:ConvSENet", "--json"],
                         capsys)
    assert code == 0, err
    assert [r["module"] for r in json.loads(out)["se"]["rewritten"]] == CANONICAL_SE["ConvSENet"]


def test_inspect_img_size_means_what_export_img_size_means(tmp_path, capsys):
    weights = tmp_path / "w.pth"
    torch.save(user_model("SeedStyleNet").state_dict(), weights)
    spec = ["--model-file", f"{USER_MODELS}:SeedStyleNet"]
    code, out, err = run(["inspect", weights, *spec, "--img-size", "245x457", "--class-names", "benign,malignant",
                          "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["preprocess"]["input_size"] == [3, 245, 457] and len(doc["se"]["rewritten"]) == 3
    assert doc["class_names"] == ["benign", "malignant"]
    code, out, err = run(["inspect", weights, *spec, "--img-size", "32"], capsys)  # six 2x poolings: too small
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--img-size 32x32 is too small" in err and "127x127" in err, err
    code, _, err = run(["inspect", weights, *spec, "--img-size", "big"], capsys)
    assert code == 2 and "--img-size 'big'" in err
    code, out, err = run(["inspect", "se_resnet10_cifar_tiny", "--img-size", "64", "--json"], capsys)
    assert code == 0, err
    at64 = json.loads(out)
    code, out, _ = run(["inspect", "se_resnet10_cifar_tiny", "--json"], capsys)
    at32 = json.loads(out)
    assert at64["input_size"] == [3, 64, 64] and at32["input_size"] == [3, 32, 32]
    assert at64["gflops"] == pytest.approx(4 * at32["gflops"], rel=0.05)
