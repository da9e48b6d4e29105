"""Every option vocabulary of the CLI is the library's own, and the library takes every value.

Each `click.Choice` (and each comma-list option) of a `seedge` command must list exactly the
tuple its owning module defines, and running the command with each value on tiny real inputs
must work: exit 0, or 1 for a failed parity check, never 2 for a value the library does not
know (the drift this catches: `export --int8-policy se-float` offered by --help, refused by
the pipeline). A value this machine cannot run (cuda without a GPU, a backend that is not
installed) must be refused in one line that names it, with exit 2.

The runs are few: run i of a command takes value i (mod length) of every option, so each
value is used at least once (the export runs build only onnx-int8).
"""

from __future__ import annotations

import ast
import functools
import json
import re
import shlex
from pathlib import Path

import click
import pytest

from seedge.backends.cpu_features import INT8_CPU_CHOICES, resolve_int8_cpu
from seedge.backends.table import ARTIFACT_BACKENDS, BACKENDS, DEVICES, backend, installed
from seedge.cli import cli, main
from seedge.data.splits import SPLIT_ALIASES, SPLITS
from seedge.data.transforms import AUGMENTS, resolve_augment
from seedge.errors import SeedgeError
from seedge.export.builders import BUILDERS, FORMATS, PRECISIONS
from seedge.export.options import ExportOptions
from seedge.export.pipeline import plan_builders
from seedge.hostcpu import has_vnni
from seedge.preprocess import PreprocessSpec
from seedge.preprocess.pixels import COLOR_ORDERS
from seedge.quantize.calibration import METHODS
from seedge.quantize.policy import POLICIES, resolve_policy
from seedge.runtime import RUNTIME_BACKENDS
from seedge.preprocess.stated import PRESETS
from seedge.train.recipes import MONITORS, OPTIMIZERS, RECIPES, SCHEDULERS, resolve_scheduler

CLI_DIR = Path(__file__).resolve().parents[2] / "seedge" / "cli"

# (command, click parameter name) -> the owning module's vocabulary.
OWNERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("bench", "backends"): tuple(BACKENDS),
    ("bench", "device"): DEVICES,
    ("evaluate", "split"): SPLITS,
    ("export", "calib_method"): METHODS,
    ("export", "device"): DEVICES,
    ("export", "embed_preprocess"): tuple(o.lower() for o in COLOR_ORDERS),
    ("export", "int8_cpu"): INT8_CPU_CHOICES,
    ("export", "int8_policy"): POLICIES,
    ("quantize-report", "calib_method"): METHODS,
    ("quantize-report", "int8_cpu"): INT8_CPU_CHOICES,
    ("quantize-report", "policy"): POLICIES,
    ("quantize-report", "split"): SPLITS,
    ("train", "augment"): AUGMENTS,
    ("train", "monitor"): MONITORS,
    ("train", "optimizer"): OPTIMIZERS,
    ("train", "recipe"): tuple(RECIPES),
    **{(cmd, "preprocessing_preset"): tuple(PRESETS) for cmd in ("export", "train", "evaluate", "inspect")},
    ("train", "scheduler"): SCHEDULERS,
    ("verify", "device"): DEVICES,
    ("verify", "backends"): ARTIFACT_BACKENDS,
    ("verify", "split"): SPLITS,
    ("predict", "backend"): RUNTIME_BACKENDS,
    ("predict", "device"): DEVICES,
}
# Comma-list options: not a click.Choice, but their help names the vocabulary.
COMMA_LISTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("export", "formats"): FORMATS,
    ("export", "precisions"): PRECISIONS,
}


def _cycle(**lists) -> list[dict[str, str]]:
    """Runs that together use every value of every list: run i takes value i (mod length) of each."""
    n = max(len(v) for v in lists.values())
    return [{k: v[i % len(v)] for k, v in lists.items()} for i in range(n)]


def _format_available(fmt: str) -> bool:
    try:
        BUILDERS[(fmt, "fp32")].preflight()
    except SeedgeError:
        return False
    return True


# What each command is run with, beyond its cheap base arguments (see _argv).
RUNS: dict[str, list[dict[str, str]]] = {
    "export": _cycle(int8_policy=POLICIES, calib_method=METHODS, int8_cpu=INT8_CPU_CHOICES, formats=("onnx",),
                     precisions=("int8",),
                     embed_preprocess=tuple(o.lower() for o in COLOR_ORDERS), preprocessing_preset=tuple(PRESETS))
    + [{"formats": ",".join(f for f in FORMATS if _format_available(f)),
        "precisions": ",".join(p for p in PRECISIONS if p != "int8"), "device": "cpu"}]  # int8: the runs above
    + [{"formats": f, "precisions": "fp32"} for f in FORMATS if not _format_available(f)]
    + [{"formats": "torchscript", "precisions": "fp32", "device": "cuda"}],
    "quantize-report": _cycle(policy=POLICIES, calib_method=METHODS, split=SPLITS, int8_cpu=INT8_CPU_CHOICES),
    "train": _cycle(augment=AUGMENTS, optimizer=OPTIMIZERS, monitor=MONITORS, scheduler=SCHEDULERS,
                    recipe=tuple(RECIPES), preprocessing_preset=tuple(PRESETS)),
    "evaluate": _cycle(split=SPLITS, preprocessing_preset=tuple(PRESETS)),
    "inspect": _cycle(preprocessing_preset=tuple(PRESETS)),
    "verify": _cycle(split=SPLITS, device=DEVICES, backends=ARTIFACT_BACKENDS),
    # A backend is timed on its home device; every device is also tried with all backends.
    "bench": [{"backends": b, "device": backend(b).devices[0]} for b in BACKENDS]
    + [{"device": d} for d in DEVICES],
    "predict": [{"backend": b, "device": backend(b).devices[0]} for b in RUNTIME_BACKENDS]
    + [{"device": d} for d in DEVICES],
}
# The one run kept in the fast default: the policy --help offered and export refused, through
# the real quantizer, and the re-export command that names it (an export itself takes ~20 s).
FAST_RUN = ("quantize-report", 1)


def _choice_params():
    for name, command in sorted(cli.commands.items()):
        for p in command.params:
            if isinstance(p.type, click.Choice):
                yield name, p


def test_every_choice_lists_its_owners_vocabulary():
    found = {(name, p.name): tuple(p.type.choices) for name, p in _choice_params()}
    assert found == OWNERS
    for (name, param), vocabulary in COMMA_LISTS.items():
        (p,) = [p for p in cli.commands[name].params if p.name == param]
        listed = re.fullmatch(r"Comma list of (.*)\.", p.help).group(1).split(", ")
        assert tuple(listed) == vocabulary, f"{name} --{param} help"


def test_no_literal_choice_list_in_the_cli():
    for path in sorted(CLI_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "Choice":
                assert node.args and not isinstance(node.args[0], (ast.List, ast.Tuple, ast.Set)), \
                    f"{path.name}:{node.lineno}: import the choices from the module that owns them"


def test_export_takes_every_policy_and_method_the_quantizers_define():
    for policy in POLICIES:
        for method in METHODS:
            builders, _ = plan_builders(ExportOptions(formats=("onnx",), precisions=("int8",), int8_policy=policy,
                                                      calib_method=method))
            assert [b.id for b in builders] == ["onnx-int8"]


def test_the_runs_use_every_value():
    for (name, param), vocabulary in {**OWNERS, **COMMA_LISTS}.items():
        used = {v for run in RUNS[name] for v in run.get(param, "").split(",") if v}
        assert used == set(vocabulary), f"{name} --{param}"


def _option(command: str, param: str) -> str:
    (p,) = [p for p in cli.commands[command].params if p.name == param]
    return p.opts[0]


class _Inputs:
    """Built on first use, once per module: what a run needs and no more."""

    def __init__(self, root: Path):
        self.root = root

    @functools.cached_property
    def checkpoint(self) -> Path:
        """The tiny SE-ResNet with random weights and non-trivial BatchNorm statistics."""
        from _export_fixtures import _model

        from seedge.checkpoint import save_checkpoint

        return save_checkpoint(_model(), self.root / "ckpt" / "tiny")

    @functools.cached_property
    def image(self) -> Path:
        """One image file for `seedge predict`."""
        import numpy as np
        from PIL import Image

        path = self.root / "digit.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)
        return path

    @functools.cached_property
    def folder(self) -> Path:
        """A small real export folder (torchscript, onnx, openvino fp32), shared read-only."""
        from _export_fixtures import export_folder

        return export_folder()

    @functools.cached_property
    def inductor_folder(self) -> Path:
        """`folder` plus an AOTInductor package: `bench --backend inductor` needs one to time."""
        from _export_fixtures import INPUT_SHAPE, _model, add_artifact, fresh_copy

        from seedge.export.inductor_export import INDUCTOR_FILE, export_inductor

        folder = fresh_copy(self.root / "with-inductor")
        build = export_inductor(_model(), folder / INDUCTOR_FILE, INPUT_SHAPE)
        add_artifact(folder, "inductor-fp32", "inductor", "fp32", INDUCTOR_FILE, "inductor", build)
        return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> _Inputs:
    return _Inputs(tmp_path_factory.mktemp("choices"))


def _argv(command: str, inputs: _Inputs, out: Path) -> list:
    """The cheap base arguments of each command (a few images, one epoch, a few timed calls)."""
    if command == "export":
        return ["export", inputs.checkpoint, "--calib", "digits", "--calib-samples", 8, "--no-count-nodes",
                "--no-pt2", "--out", out, "--name", "x", "--json"]
    if command == "quantize-report":
        # --max-drop 100 is met at once; it makes the report print its re-export command.
        return ["quantize-report", inputs.folder, "--data", "digits", "--limit", 16, "--calib-samples", 8,
                "--max-drop", 100, "--json"]
    if command == "train":
        return ["train", "--model", "se_resnet10_cifar_tiny", "--data", "digits", "--epochs", 1, "--limit", 16,
                "--batch-size", 16, "--out", out / "run", "--json"]
    if command == "evaluate":
        return ["evaluate", inputs.checkpoint, "--data", "digits", "--limit", 16, "--out", out / "eval", "--json"]
    if command == "inspect":
        return ["inspect", inputs.checkpoint, "--json"]
    if command == "verify":
        return ["verify", inputs.folder, "--data", "digits", "--limit", 16, "--json"]
    if command == "bench":
        return ["bench", inputs.folder, "--warmup", 0, "--iters", 2, "--rounds", 1, "--json"]
    if command == "predict":
        return ["predict", inputs.folder, inputs.image, "--json"]
    raise AssertionError(f"no inputs for `seedge {command}`: add them here")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _unavailable_here(run: dict[str, str]) -> set[str]:
    """Values of `run` this machine cannot run: the command must refuse them (exit 2, one line)."""
    out = set()
    for param, value in run.items():
        for v in value.split(","):
            if (param == "device" and v == "cuda" and not _cuda()) or \
                    (param in ("backends", "backend") and not installed(v)) or \
                    (param == "formats" and not _format_available(v)) or \
                    (param == "int8_cpu" and v == "vnni" and not has_vnni()):
                out.add(v)
    return out


def _check_effect(command: str, run: dict[str, str], stdout: str, out: Path) -> None:
    """The value reached the code it names (not just past the parser)."""
    if command == "export":
        manifest = json.loads((out / "x" / "manifest.json").read_text())
        arts = manifest["artifacts"]
        assert {a["format"] for a in arts} == set(run["formats"].split(","))
        assert {a["precision"] for a in arts} == set(run["precisions"].split(","))
        assert manifest["verification"]["device"] == run.get("device", "cpu")
        if "preprocessing_preset" in run:
            assert manifest["preprocessing"]["source"] == f"preset {run['preprocessing_preset']}"
        if "int8_policy" in run:
            (build,) = [a["build"] for a in arts if a["id"] == "onnx-int8"]
            resolved = resolve_policy(run["int8_policy"])
            assert (build["policy"], build["policy_resolved"], build["method"]) == \
                (run["int8_policy"], resolved, run["calib_method"])
            assert build["int8_cpu"] == resolve_int8_cpu(run["int8_cpu"])
            assert build["se_gates"]
            # se-float keeps the gate paths float, se-range pins their range, all does neither;
            # all but `all` keep the first conv (the one reading the image) in float.
            assert (build["input_conv_float"] is not None) == (resolved != "all")
            excluded = len(build["excluded_nodes"])
            assert {"all": excluded == 0, "se-range": excluded == 1, "se-float": excluded > 1}[resolved], excluded
            assert len(build["gate_range_overrides"]) == (len(build["se_gates"]) if resolved == "se-range" else 0)
    elif command == "quantize-report":
        doc = json.loads(stdout)
        assert (doc["method"], doc["int8"]["policy"]) == (run["calib_method"], resolve_policy(run["policy"]))
        assert doc["data"]["split"] == run["split"]
        assert doc["int8_cpu"] == resolve_int8_cpu(run["int8_cpu"])
        # The export command it prints must be one `seedge export` accepts (it used to pass
        # --int8-policy se-float, which export refused).
        argv = shlex.split(doc["fallback"]["command"])
        assert argv[:2] == ["seedge", "export"]
        ctx = cli.commands["export"].make_context("export", argv[2:])
        assert (ctx.params["int8_policy"], ctx.params["calib_method"]) == (run["policy"], run["calib_method"])
        plan_builders(ExportOptions(formats=tuple(ctx.params["formats"].split(",")),
                                    precisions=tuple(ctx.params["precisions"].split(",")),
                                    calib_method=ctx.params["calib_method"], int8_policy=ctx.params["int8_policy"]))
    elif command == "train":
        meta = json.loads((out / "run" / "model.json").read_text())
        recipe = meta["training"]["recipe"]
        # The recipe records the preset "auto" resolved to for this input size.
        spec = PreprocessSpec.from_dict(meta["preprocess"])
        assert recipe["augment"] == resolve_augment(run["augment"], spec)
        assert {k: recipe[k] for k in ("optimizer", "monitor")} == {k: run[k] for k in ("optimizer", "monitor")}
        assert recipe["scheduler"] == resolve_scheduler(run["scheduler"], run["optimizer"])
        assert recipe["recipe"] == run["recipe"]
        assert meta["preprocess"]["source"] == f"preset {run['preprocessing_preset']}"
    elif command == "inspect":
        assert json.loads(stdout)["preprocess"]["source"] == f"preset {run['preprocessing_preset']}"
    elif command == "evaluate":
        assert SPLIT_ALIASES[json.loads(stdout)["split"]] == SPLIT_ALIASES[run["split"]]
    elif command == "verify":
        assert json.loads(stdout)["baseline"]["device"] == run["device"]
        if "backends" in run:
            assert {r["backend"] for r in json.loads(stdout)["artifacts"]} == {run["backends"]}
    elif command == "predict":
        doc = json.loads(stdout)
        assert doc["device"] == run["device"] and (run.get("backend") in (None, doc["backend"])), doc
    elif command == "bench":
        doc = json.loads(stdout)
        assert doc["environment"]["device"] == run["device"]
        if "backends" in run:
            assert run["backends"] in {r["backend"] for r in doc["results"]}


def _cases():
    for command, runs in RUNS.items():
        for i, run in enumerate(runs):
            marks = () if (command, i) == FAST_RUN else (pytest.mark.slow,)
            label = "-".join(f"{k}={v}" for k, v in run.items())
            yield pytest.param(command, run, id=f"{command}-{label}", marks=marks)


@pytest.mark.parametrize("command,run", list(_cases()))
def test_the_library_accepts_every_choice(command, run, inputs, tmp_path, capsys):
    argv = _argv(command, inputs, tmp_path)
    if command in ("bench", "verify") and run.get("backends") == "inductor":
        argv[1] = inputs.inductor_folder  # the shared folder has no AOTInductor package
    for param, value in run.items():
        argv += [_option(command, param), value]
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    stdout, stderr = capsys.readouterr()
    code = exc.value.code
    missing = _unavailable_here(run)
    if missing:
        # Refused because this machine lacks it, in one line that says which.
        assert code == 2, stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and any(v in lines[0] for v in missing), stderr
        assert not re.search(r"choose from|unknown|invalid", lines[0], re.I), stderr
        return
    assert code in (0, 1), stderr  # 2 would be a value the library does not know
    if code == 1:
        assert "check failed" in stderr, stderr
        return
    _check_effect(command, run, stdout, tmp_path)
