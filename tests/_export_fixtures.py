"""A small but real `exported/<name>/` folder, built by hand for the backend/verify tests.

Built with the real exporters (torch.jit, `export_onnx`, OpenVINO `convert_model`) and
`artifacts.write_manifest`, so the runners and `verify` are tested on real files without
depending on the export pipeline. Building takes a few seconds, so it happens once per
test process; tests that tamper with the folder take a copy (`fresh_copy`).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

ARCH = "se_resnet10_cifar_tiny"
NUM_CLASSES = 10
INPUT_SHAPE = (3, 32, 32)
N_REFERENCE = 8


def _model(seed: int = 0):
    """The tiny demo SE-ResNet with random weights and non-trivial BatchNorm statistics."""
    import torch

    from seedge.models import create_model

    torch.manual_seed(seed)
    model = create_model(ARCH, num_classes=NUM_CLASSES)
    for m in model.modules():
        # Fresh BN layers are the identity; give them real statistics so BN folding
        # and precision differences show up the way they do in a trained model.
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def build_export(folder: Path, openvino_precision: str | None = "f32") -> Path:
    """Write baseline, reference.npz, model.ts, model.onnx, openvino/model.xml and the manifest.

    `openvino_precision`: the inference precision recorded in the OpenVINO artifact's build
    facts (None: record nothing, so the runner falls back to the CPU plugin's default).
    """
    import openvino as ov
    import torch

    from seedge import artifacts
    from seedge.checkpoint import save_checkpoint
    from seedge.onnx.convert import export_onnx
    from seedge.preprocess import PreprocessSpec

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = _model()
    pre = PreprocessSpec.from_model_cfg(model.seedge_cfg)
    class_names = [str(i) for i in range(NUM_CLASSES)]
    save_checkpoint(model, folder / "model", class_names, pre)

    x = np.random.default_rng(0).standard_normal((N_REFERENCE, *INPUT_SHAPE)).astype(np.float32)
    with torch.inference_mode():
        logits = model(torch.from_numpy(x)).numpy()
    np.savez(folder / artifacts.REFERENCE, input=x, logits=logits)

    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.9+ calls TorchScript deprecated
        traced = torch.jit.trace(model, torch.from_numpy(x[:1]))
    traced.save(str(folder / "model.ts"))
    export_onnx(model, folder / "model.onnx", INPUT_SHAPE)
    (folder / "openvino").mkdir(exist_ok=True)
    ov.save_model(ov.convert_model(str(folder / "model.onnx")), str(folder / "openvino" / "model.xml"),
                  compress_to_fp16=False)

    manifest = artifacts.new_manifest(
        name=folder.name,
        model={"arch": ARCH, "num_classes": NUM_CLASSES, "class_names": class_names},
        input_spec={"name": "input", "shape": ["batch", *INPUT_SHAPE], "dtype": "float32", "layout": "NCHW"},
        output_spec={"name": "logits", "shape": ["batch", NUM_CLASSES]},
        preprocessing=pre.to_dict(),
        baseline={"file": "model.safetensors", "sidecar": "model.json",
                  "sha256": artifacts.sha256_file(folder / "model.safetensors")},
        tools={"torch": torch.__version__, "openvino": ov.__version__},
    )
    ov_build = {"inference_precision": openvino_precision} if openvino_precision else {}
    manifest["artifacts"] = [
        artifacts.artifact_entry("torchscript-fp32", "torchscript", "fp32", "model.ts", folder, "torchscript"),
        artifacts.artifact_entry("onnx-fp32", "onnx", "fp32", "model.onnx", folder, "onnxruntime"),
        artifacts.artifact_entry("openvino-fp32", "openvino", "fp32", "openvino/model.xml", folder, "openvino",
                                 ov_build),
    ]
    artifacts.write_manifest(folder, manifest)
    return folder


def add_artifact(folder: Path, art_id: str, fmt: str, precision: str, file: str, backend: str,
                 build: dict | None = None) -> dict:
    """Append (or replace) one artifact entry, hashing the file as it is now."""
    from seedge import artifacts

    manifest = artifacts.read_manifest(folder)
    entry = artifacts.artifact_entry(art_id, fmt, precision, file, Path(folder), backend, build)
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["id"] != art_id] + [entry]
    artifacts.write_manifest(folder, manifest)
    return manifest


def perturb_onnx(src: Path, dst: Path, scale: float = 0.5, seed: int = 0) -> Path:
    """Copy an ONNX model with noise added to its classifier weights (a wrong artifact)."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(src))
    # The classifier is the last 2-D initializer (fc.weight, shape [classes, features]).
    init = [t for t in proto.graph.initializer if len(t.dims) == 2][-1]
    w = numpy_helper.to_array(init)
    noise = np.random.default_rng(seed).standard_normal(w.shape).astype(w.dtype) * scale * float(np.abs(w).max())
    init.CopyFrom(numpy_helper.from_array(w + noise, init.name))
    onnx.save(proto, str(dst))
    return dst


@functools.lru_cache(maxsize=None)
def export_folder() -> Path:
    """The shared, read-only export folder (built once per process)."""
    root = Path(tempfile.mkdtemp(prefix="seedge-test-export-"))
    atexit.register(shutil.rmtree, root, True)
    return build_export(root / "tiny")


def fresh_copy(dst_root: Path, name: str = "tiny") -> Path:
    """A private copy of the shared folder, for tests that change it."""
    dst = Path(dst_root) / name
    shutil.copytree(export_folder(), dst)
    return dst
