"""The device runtime: open an `exported/<name>/` folder and classify images, without torch.

    from seedge.runtime import Model
    with Model.open("exported/demo") as m:          # best artifact this machine can run
        print(m.self_test())                        # reference.npz vs stored eager logits
        print(m.classify("cat.png", top_k=3))       # [(class_name, probability), ...]

Imports: numpy, seedge.artifacts / seedge.errors / seedge.preprocess.pipeline (all torch-free),
Pillow only for image files, and the chosen backend library on open. The ONNX Runtime and
OpenVINO adapters below are deliberately tiny and self-contained (the full runners in
seedge.backends serve verify/bench and may pull torch-side helpers); TensorRT reuses
seedge.backends.tensorrt.TensorRTRunner, which is torch-free by design.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import numpy as np

from seedge import artifacts
from seedge.errors import MissingBackend, SeedgeError
from seedge.preprocess.pipeline import is_image_like, preprocess_batch, preprocess_image, spec_dict

# Fastest first, among artifacts that passed parity at export. INT8/FP16 only get here after
# passing the per-precision parity thresholds, so preferring them is the device's choice.
PREFERENCE: dict[str, list[tuple[str, str]]] = {
    "cuda": [("tensorrt", "int8"), ("tensorrt", "fp16"), ("tensorrt", "fp32"),
             ("onnxruntime", "fp16"), ("onnxruntime", "fp32")],
    "cpu": [("openvino", "int8"), ("openvino", "fp32"), ("openvino", "fp16"),
            ("onnxruntime", "int8"), ("onnxruntime", "fp32"), ("onnxruntime", "fp16")],
}
# backend -> artifact formats it can read (OpenVINO reads ONNX files directly too)
READS: dict[str, set[str]] = {"onnxruntime": {"onnx"}, "openvino": {"openvino", "onnx"}, "tensorrt": {"tensorrt"}}

# DESIGN.md parity defaults, applied to the reference inputs on the device
THRESHOLDS: dict[str, dict] = {
    "fp32": {"min_top1_agreement": 1.0, "max_abs_diff": 1e-3},
    "fp16": {"min_top1_agreement": 0.995, "max_abs_diff": None},
    "int8": {"min_top1_agreement": 0.98, "max_abs_diff": None},
}


def _device_family(device: str) -> str:
    d = str(device).lower()
    if d == "cpu":
        return "cpu"
    if d == "cuda" or d.startswith("cuda:"):
        return "cuda"
    raise SeedgeError(f"device '{device}' is not 'cpu' or 'cuda[:N]'")


def candidates(manifest: dict, backend: str | None = None, artifact: str | None = None,
               device: str = "cpu") -> list[tuple[dict, str]]:
    """(artifact entry, backend) pairs to try, best first. An explicit `artifact` is the only
    candidate; an explicit `backend` keeps only artifacts it can read. Artifacts whose recorded
    parity failed are never chosen automatically."""
    family = _device_family(device)
    if backend is not None and backend not in READS:
        raise SeedgeError(f"runtime backend '{backend}' is not one of {', '.join(READS)}")
    if artifact is not None:
        entry = artifacts.find_artifact(manifest, artifact)
        use = backend or entry["backend"]
        if use not in READS or entry["format"] not in READS[use]:
            raise SeedgeError(f"artifact '{artifact}' ({entry['format']}) cannot run on the runtime's "
                              f"'{use}' backend; runtime backends: {', '.join(READS)}")
        return [(entry, use)]
    usable = [a for a in manifest.get("artifacts", []) if (a.get("parity") or {}).get("passed", True)]
    order = []
    for want_backend, precision in PREFERENCE[family]:
        if backend is not None and want_backend != backend:
            continue
        for a in usable:
            if a["precision"] == precision and a["backend"] == want_backend:
                order.append((a, want_backend))
        if backend is not None:  # e.g. openvino asked, only an ONNX file of this precision exists
            order += [(a, backend) for a in usable
                      if a["precision"] == precision and a["backend"] != backend and a["format"] in READS[backend]]
    if not order:
        have = ", ".join(f"{a['id']} ({a['backend']})" for a in manifest.get("artifacts", [])) or "none"
        want = f"backend '{backend}'" if backend else "the runtime's backends"
        raise SeedgeError(f"{manifest.get('name', 'folder')}: no artifact for {want} on {family} "
                          f"(artifacts: {have}); export one or pass artifact=")
    return order


class Model:
    """An opened artifact plus its preprocessing and class names. Use `Model.open`."""

    def __init__(self, folder: Path, manifest: dict, artifact: dict, backend: str, session, device: str):
        self.folder, self.manifest, self.artifact = folder, manifest, artifact
        self.backend, self.device, self._session = backend, device, session
        self.preprocessing = spec_dict(manifest["preprocessing"])
        self.input_size = tuple(int(v) for v in self.preprocessing["input_size"])
        model = manifest.get("model", {})
        n = model.get("num_classes")
        self.class_names = list(model.get("class_names") or [str(i) for i in range(n or 0)])

    @property
    def precision(self) -> str:
        return self.artifact["precision"]

    @classmethod
    def open(cls, folder, backend: str | None = None, artifact: str | None = None, device: str = "cpu",
             threads: int | None = None) -> "Model":
        """Open the best artifact of `folder` this machine can run (see PREFERENCE); an explicit
        `artifact` id or `backend` narrows the choice. Checks the artifact's sha256 first."""
        folder = Path(folder)
        manifest = artifacts.read_manifest(folder)
        tried = []
        for entry, use in candidates(manifest, backend, artifact, device):
            artifacts.check_integrity(folder, entry)
            try:
                session = _ADAPTERS[use](folder / entry["file"], device, threads, manifest, entry)
            except (MissingBackend, Unavailable) as e:
                if artifact is not None or backend is not None:
                    raise
                tried.append(f"{entry['id']}: {e}")
                continue
            return cls(folder, manifest, entry, use, session, device)
        raise SeedgeError(f"{folder}: no artifact could be opened on {device}: " + "; ".join(tried))

    # ------------------------------------------------------------------ inference

    def preprocess(self, image) -> np.ndarray:
        """One image (path, PIL image or uint8 array) -> float32 (C, H, W) network input."""
        return preprocess_image(image, self.preprocessing)

    def _as_batch(self, inputs) -> np.ndarray:
        if isinstance(inputs, np.ndarray) and not is_image_like(inputs):
            x = inputs.astype(np.float32, copy=False)
            if x.ndim == 3:
                x = x[None]
            if x.ndim != 4 or tuple(x.shape[1:]) != self.input_size:
                raise SeedgeError(f"input tensor of shape {list(inputs.shape)} is not (N, "
                                  f"{', '.join(map(str, self.input_size))}); pass images or preprocessed "
                                  f"NCHW float32")
            return x
        if is_image_like(inputs):
            inputs = [inputs]
        return preprocess_batch(inputs, self.preprocessing)

    def predict(self, inputs) -> np.ndarray:
        """Logits (N, num_classes) for a float32 NCHW batch (or one CHW), or for images."""
        x = self._as_batch(inputs)
        return np.asarray(self._session.run(x), dtype=np.float32)

    def classify(self, images, top_k: int = 1):
        """Top-k (class_name, probability) pairs: a list for one image, a list of lists for several."""
        single = is_image_like(images) or (isinstance(images, np.ndarray) and images.ndim == 3)
        logits = self.predict(images).astype(np.float64)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        k = max(1, min(int(top_k), probs.shape[1]))
        out = []
        for row in probs:
            idx = np.argsort(-row, kind="stable")[:k]
            out.append([(self._class_name(int(i)), float(row[i])) for i in idx])
        return out[0] if single else out

    def _class_name(self, i: int) -> str:
        return self.class_names[i] if i < len(self.class_names) else str(i)

    def self_test(self, atol: float | None = None) -> dict:
        """Run reference.npz's inputs and compare with the stored eager FP32 logits using the
        artifact precision's thresholds (atol, if given, adds a max-abs-diff bound)."""
        path = self.folder / artifacts.REFERENCE
        if not path.is_file():
            raise SeedgeError(f"{path}: missing; re-run `seedge export`")
        with np.load(path) as ref:
            x, expected = ref["input"], ref["logits"]
            labels = ref["labels"] if "labels" in ref.files else None
        t0 = time.perf_counter()
        got = self.predict(x)
        seconds = time.perf_counter() - t0
        m = logit_metrics(expected, got, labels)
        limits = dict(THRESHOLDS.get(self.precision, THRESHOLDS["fp32"]))
        if atol is not None:
            limits["max_abs_diff"] = float(atol)
        reasons = []
        if not m["finite"]:
            reasons.append("NaN or Inf in the outputs")
        if m["top1_agreement"] < limits["min_top1_agreement"]:
            reasons.append(f"top-1 agreement {m['top1_agreement']:.4f} < {limits['min_top1_agreement']}")
        if limits["max_abs_diff"] is not None and not m["max_abs_diff"] <= limits["max_abs_diff"]:
            reasons.append(f"max abs diff {m['max_abs_diff']:.3g} > {limits['max_abs_diff']:.3g}")
        return {"artifact": self.artifact["id"], "backend": self.backend, "precision": self.precision,
                "device": self.device, "samples": int(x.shape[0]), **m, "thresholds": limits,
                "passed": not reasons, "reason": "; ".join(reasons) or "ok", "seconds": round(seconds, 4)}

    # ------------------------------------------------------------------ lifecycle

    def describe(self) -> dict:
        return {"folder": str(self.folder), "artifact": self.artifact["id"], "file": self.artifact["file"],
                "backend": self.backend, "precision": self.precision, "device": self.device,
                "input_size": list(self.input_size), "classes": len(self.class_names), **self._session.facts()}

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def logit_metrics(ref: np.ndarray, got: np.ndarray, labels: np.ndarray | None = None) -> dict:
    """Top-1 agreement, max abs diff, mean cosine and (with labels) both accuracies."""
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if ref.shape != got.shape:
        raise SeedgeError(f"outputs of shape {list(got.shape)} do not match the reference {list(ref.shape)}")
    finite = bool(np.isfinite(got).all())
    agree = float(np.mean(ref.argmax(1) == got.argmax(1)))
    diff = float(np.abs(ref - got).max()) if finite else float("inf")
    num = (ref * got).sum(1)
    den = np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1)
    cosine = float(np.mean(num / np.maximum(den, 1e-30))) if finite else float("nan")
    m = {"top1_agreement": agree, "max_abs_diff": diff, "cosine": cosine, "finite": finite}
    if labels is not None:
        m["accuracy"] = float(np.mean(got.argmax(1) == labels))
        m["baseline_accuracy"] = float(np.mean(ref.argmax(1) == labels))
    return m


# ---------------------------------------------------------------------- backend adapters
# Each adapter: __init__(path, device, threads, manifest, entry) (Unavailable or MissingBackend when
# it cannot run here), run(x NCHW float32) -> logits, facts() -> dict, close().

class Unavailable(SeedgeError):
    """This backend cannot run here (library or device support missing); automatic choice moves on."""


def _import(module: str, pip_name: str):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Unavailable(f"{module} is not installed (`pip install {pip_name}`): {e}") from None


class _OnnxRuntime:
    def __init__(self, path: Path, device: str, threads, manifest: dict, entry: dict):
        ort = _import("onnxruntime", "onnxruntime")
        available = ort.get_available_providers()
        if _device_family(device) == "cuda":
            if "CUDAExecutionProvider" not in available:
                raise Unavailable("this onnxruntime has no CUDAExecutionProvider (onnxruntime-gpu has it)")
            providers = [("CUDAExecutionProvider", {"device_id": int(str(device).partition(":")[2] or 0)}),
                         "CPUExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        try:
            self._sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
            raise SeedgeError(f"{path}: ONNX Runtime could not load it ({str(e).splitlines()[0][:200]})") from None
        self._input = self._sess.get_inputs()[0].name
        self._facts = {"providers": self._sess.get_providers(), "threads": threads,
                       "onnxruntime_version": ort.__version__}

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._sess.run(None, {self._input: x})[0]

    def facts(self) -> dict:
        return dict(self._facts)

    def close(self) -> None:
        self._sess = None


class _OpenVINO:
    def __init__(self, path: Path, device: str, threads, manifest: dict, entry: dict):
        ov = _import("openvino", "openvino")
        if _device_family(device) != "cpu":
            raise Unavailable(f"the runtime runs OpenVINO on the CPU, not on {device}")
        config = {}
        # Export records the inference precision it verified with (e.g. "f32": the CPU plugin
        # would otherwise pick bf16 on AMX/AVX512-BF16 CPUs and break FP32 parity).
        precision_hint = (entry.get("build") or {}).get("inference_precision")
        if precision_hint:
            config["INFERENCE_PRECISION_HINT"] = str(precision_hint)
        elif entry["precision"] == "fp32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        from seedge.backends.openvino import ShapeCompiledModels  # torch-free, like the TensorRT runner

        core = ov.Core()
        try:
            self._models = ShapeCompiledModels(core, core.read_model(str(path)), config)
        except Exception as e:  # noqa: BLE001 - OpenVINO raises RuntimeError subclasses
            raise SeedgeError(f"{path}: OpenVINO could not compile it ({str(e).splitlines()[0][:200]})") from None
        self._facts = {"openvino_version": ov.__version__, "threads": threads, "config": config}

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._models.infer(x).get_output_tensor(0).data.copy()

    def facts(self) -> dict:
        return {**self._facts, "static_shapes": self._models.static_shapes_compiled()}

    def close(self) -> None:
        self._models.close()


class _TensorRT:
    def __init__(self, path: Path, device: str, threads, manifest: dict, entry: dict):
        from seedge.backends.tensorrt import TensorRTRunner  # torch-free (cuda-python for memory)

        self._runner = TensorRTRunner(path, device=device, threads=threads, build=entry.get("build") or {},
                                      input_name=(manifest.get("input") or {}).get("name", "input"))
        self._runner.__enter__()

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._runner.infer({self._runner.input_name: x})[0]

    def facts(self) -> dict:
        return self._runner.describe()

    def close(self) -> None:
        self._runner.close()


_ADAPTERS = {"onnxruntime": _OnnxRuntime, "openvino": _OpenVINO, "tensorrt": _TensorRT}
