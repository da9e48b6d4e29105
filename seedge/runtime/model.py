"""The device runtime: open an `exported/<name>/` folder and classify images, without torch.

    from seedge.runtime import Model
    with Model.open("exported/demo") as m:          # best artifact this machine can run
        print(m.self_test())                        # reference.npz vs stored eager logits
        print(m.classify("cat.png", top_k=3))       # [(class_name, probability), ...]

What is its own: choosing the artifact (among artifacts that passed parity at export and that the
folder's last `seedge bench` did not flag slow: fastest measured p50 first, else the backend
table's RUNTIME_PREFERENCE; the rule is written once in seedge.bench_record), and images in /
labels out. Everything else is shared with `seedge verify` and `seedge bench`, so the device
runs exactly what they checked and timed: the artifact is opened by the same runner
(seedge.backends.open_artifact, same threads and backend settings), large inputs are split as
verify splits them (seedge.verify.run), the self-test is judged by the gates the artifact's
parity record kept at export (seedge.verify.parity.recorded_thresholds, as verify and the C++
runtime judge it; a default only for an older manifest, and describe() says which), and images
go through seedge.preprocess, the one preprocessing training and export use.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from seedge import artifacts
from seedge.backends.cpu_features import NeedsVnni, refusal, refuses
from seedge.backends.open import open_artifact
from seedge.backends.table import BACKENDS, RUNTIME_PREFERENCE, device_family, reads
from seedge.bench_record import slow_artifacts, timings
from seedge.errors import SeedgeError, Unavailable, api_boundary
from seedge.preprocess import is_image_like, preprocess_batch, preprocess_image, spec_dict, to_input_pixels
from seedge.preprocess.pixels import gives_probabilities, pixels_for, pixels_from_tensor, takes_pixels
from seedge.verify.parity import compare, judge, recorded_thresholds, with_overrides
from seedge.verify.run import batching, model_class_names, run_batched
from seedge.verify.shapes import check_declared_shapes

# Backends the runtime may use: those that run without torch.
RUNTIME_BACKENDS = tuple(name for name, b in BACKENDS.items() if b.torch_free)


def candidates(
    manifest: dict,
    backend: str | None = None,
    artifact: str | None = None,
    device: str = "cpu",
    slow: dict | None = None,
    p50: dict | None = None,
) -> list[tuple[dict, str]]:
    """(artifact entry, backend) pairs to try, best first, by the rule in seedge.bench_record's
    docstring (the C++ runtime's candidates() follows it too). An explicit `artifact` is the only
    candidate; an explicit `backend` keeps only artifacts it can read. Artifacts whose recorded
    parity failed, and those `seedge bench` flagged slow on this device family (`slow`, from the
    folder's bench.json), are never chosen automatically. `p50`: {artifact id: ms} measured by
    `seedge bench` at one batch on this device family (None: static order; a contended bench's
    p50s are not passed, see Model.open)."""
    family = device_family(device)
    if backend is not None and backend not in RUNTIME_BACKENDS:
        raise SeedgeError(f"runtime backend '{backend}' is not one of {', '.join(RUNTIME_BACKENDS)}")
    if artifact is not None:
        entry = artifacts.find_artifact(manifest, artifact)
        use = backend or entry["backend"]
        if use not in RUNTIME_BACKENDS or not reads(use, entry):
            raise SeedgeError(
                f"artifact '{artifact}' ({entry['format']}) cannot run on the runtime's "
                f"'{use}' backend; runtime backends: {', '.join(RUNTIME_BACKENDS)}"
            )
        return [(entry, use)]
    # An artifact this CPU refuses (8-bit INT8 weights without VNNI/AMX) is no candidate at all, so
    # its p50 orders no group (as in the C++ runtime); Model.open's NeedsVnni catch stays a backstop.
    refused = [a for a in manifest.get("artifacts", []) if refuses(a.get("build"))]
    usable = [
        a
        for a in manifest.get("artifacts", [])
        if (a.get("parity") or {}).get("passed", True) and not refuses(a.get("build"))
    ]
    if slow and usable and all(a["id"] in slow for a in usable):
        why = "; ".join(f"{k}: " + ", ".join(v) for k, v in slow.items())
        raise SeedgeError(
            f"{manifest.get('name', 'folder')}: `seedge bench` flagged every artifact slow on "
            f"{family} ({why}); pass artifact= to run one anyway, or bench again"
        )
    usable = [a for a in usable if a["id"] not in (slow or {})]
    # An artifact with the preprocessing inside comes before its plain sibling: exported on purpose
    # for the device, it takes uint8 pixels (a quarter of the float input) and normalizes in-graph.
    usable.sort(key=lambda a: not takes_pixels(a))
    groups = []  # (measured latency or inf, members) per (backend, precision), in static order
    for want_backend, precision in RUNTIME_PREFERENCE[family]:
        if backend is not None and want_backend != backend:
            continue
        own = [a for a in usable if a["precision"] == precision and a["backend"] == want_backend]
        members = [(a, want_backend) for a in own]
        if backend is not None:  # e.g. openvino asked, only an ONNX file of this precision exists
            members += [
                (a, backend)
                for a in usable
                if a["precision"] == precision and a["backend"] != backend and reads(backend, a)
            ]
        # Only the group's own artifacts count: the others' p50 was taken on another backend.
        timed = p50 or {}
        measured = [timed[a["id"]] for a in own if a["id"] in timed]
        groups.append((min(measured, default=math.inf), members))
    groups.sort(key=lambda g: g[0])  # stable: ties and unmeasured groups keep the static order
    order = [m for _, members in groups for m in members]
    if not order:
        have = ", ".join(f"{a['id']} ({a['backend']})" for a in manifest.get("artifacts", [])) or "none"
        want = f"backend '{backend}'" if backend else "the runtime's backends"
        raise SeedgeError(
            f"{manifest.get('name', 'folder')}: no artifact for {want} on {family} "
            f"(artifacts: {have}); export one or pass artifact={_refusal(refused)}"
        )
    return order


def _refusal(refused: list[dict]) -> str:
    """ "; <why the first refused artifact cannot run here>" (the C++ runtime's words), or ""."""
    return f"; {refusal(refused[0]['id'], refused[0].get('build'))}" if refused else ""


def folder_candidates(
    folder: Path, manifest: dict, backend: str | None = None, artifact: str | None = None, device: str = "cpu"
) -> tuple[list[tuple[dict, str]], dict, dict | None]:
    """candidates() with what the folder's bench.json says for `device`'s family: (the order,
    the artifacts passed over as slow, bench_record.timings). A contended bench's p50s are not
    used for the order (a busy machine's numbers mislead); its flags are."""
    slow = slow_artifacts(folder, device) if artifact is None else {}
    measured = timings(folder, device)
    p50 = measured["p50_ms"] if measured and not measured["contended"] else None
    return candidates(manifest, backend, artifact, device, slow, p50), slow, measured


def order_note(measured: dict | None, family: str, explicit: bool, entry: dict, use: str) -> dict:
    """How the choice was ordered (the C++ runtime's describe_json says it in the same words):
    {"rule": text, "batch": the batch of the p50s or None, "p50_ms": the chosen artifact's p50
    there, when bench measured it on the backend it runs on now, else None}. `measured`: timings()."""
    if explicit:
        rule = "asked for by id"
    elif measured is None:
        rule = f"static preference (no p50 from seedge bench on {family})"
    elif measured["contended"]:
        rule = (
            f"static preference (seedge bench {measured['measured']} on {family} was contended: its p50s are not used)"
        )
    else:
        rule = f"measured p50 at batch {measured['batch']} by seedge bench {measured['measured']}"
    if measured is None:
        return {"rule": rule, "batch": None, "p50_ms": None}
    known = use == entry["backend"]
    return {"rule": rule, "batch": measured["batch"], "p50_ms": measured["p50_ms"].get(entry["id"]) if known else None}


class Model:
    """An opened artifact plus its preprocessing and class names. Use `Model.open`."""

    def __init__(self, folder: Path, manifest: dict, artifact: dict, backend: str, runner, device: str):
        self.folder, self.manifest, self.artifact = folder, manifest, artifact
        self.backend, self.device, self._runner = backend, device, runner
        self.passed_over: dict = {}  # artifacts the folder's last `seedge bench` flagged slow (not chosen)
        self.order: dict = {}  # how the artifact was chosen (order_note)
        self.preprocessing = spec_dict(manifest["preprocessing"])
        self.input_size = tuple(int(v) for v in self.preprocessing["input_size"])
        self._fixed_batch, self._batch = batching(manifest, artifact)
        model = manifest.get("model", {})
        n = model.get("num_classes")
        self.class_names = list(model.get("class_names") or [str(i) for i in range(n or 0)])
        # Preprocessing inside the artifact: it is fed uint8 pixels after geometry only, and
        # with a softmax inside its outputs are already probabilities (seedge.preprocess.pixels).
        self.takes_pixels, self.gives_probabilities = takes_pixels(artifact), gives_probabilities(artifact)

    @property
    def precision(self) -> str:
        return self.artifact["precision"]

    @classmethod
    @api_boundary("Model.open")
    def open(
        cls,
        folder,
        backend: str | None = None,
        artifact: str | None = None,
        device: str = "cpu",
        threads: int | None = None,
        trust_native: bool = False,
    ) -> Model:
        """Open the best artifact of `folder` this machine can run (the rule in seedge.bench_record:
        the folder's last uncontended `seedge bench` p50s, else the backend table's
        RUNTIME_PREFERENCE); an explicit `artifact` id or `backend` narrows the choice. The
        artifact's sha256 is checked first; `threads` defaults to what bench and verify use.
        `trust_native`: a native artifact (TensorRT plan) this machine did not build may run
        (seedge.trust); without it such an artifact is passed over, or refused when asked for."""
        folder = Path(folder)
        manifest = artifacts.read_manifest(folder)
        order, slow, measured = folder_candidates(folder, manifest, backend, artifact, device)
        tried = []
        for entry, use in order:
            runner = None
            try:
                runner = open_artifact(
                    folder, manifest, entry, device=device, threads=threads, backend_name=use, trust_native=trust_native
                )
                runner.__enter__()
            except Unavailable as e:  # library or device support missing here: try the next one
                if runner is not None:
                    runner.close()
                # A backend asked for still gets its next artifact when this one only needs another CPU.
                if artifact is not None or (backend is not None and not isinstance(e, NeedsVnni)):
                    raise
                tried.append(f"{entry['id']}: {e}")
                continue
            try:  # an artifact built for another input size or class count than the manifest's is refused
                check_declared_shapes(runner, manifest, entry, len(model_class_names(manifest)))
            except SeedgeError:
                runner.close()
                raise
            model = cls(folder, manifest, entry, use, runner, device)
            model.passed_over = slow
            model.order = order_note(measured, device_family(device), artifact is not None, entry, use)
            return model
        raise SeedgeError(f"{folder}: no artifact could be opened on {device}: " + "; ".join(tried))

    # ------------------------------------------------------------------ inference

    def preprocess(self, image) -> np.ndarray:
        """One image (path, PIL image or uint8 array) -> float32 (C, H, W) network input."""
        return preprocess_image(image, self.preprocessing)

    def _as_batch(self, inputs) -> np.ndarray:
        if self.takes_pixels and isinstance(inputs, np.ndarray) and inputs.dtype == np.uint8 and inputs.ndim == 4:
            return self._check_pixels(inputs)
        if isinstance(inputs, np.ndarray) and not is_image_like(inputs):
            x = self._check_tensor(inputs)
            return pixels_for(self.artifact, pixels_from_tensor(x, self.preprocessing)) if self.takes_pixels else x
        if is_image_like(inputs):
            inputs = [inputs]
        if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
            raise SeedgeError(
                f"input of type {type(inputs).__name__} is not an image, a list of images or a float32 NCHW array"
            )
        if self.takes_pixels:
            return pixels_for(self.artifact, self._pixels(list(inputs)))
        return preprocess_batch(inputs, self.preprocessing)

    def _check_pixels(self, x: np.ndarray) -> np.ndarray:
        """A uint8 NHWC batch, as the artifact takes it (its color order), at the input size."""
        c, h, w = self.input_size
        if tuple(x.shape[1:]) != (h, w, c) or x.shape[0] < 1:
            raise SeedgeError(
                f"uint8 batch of shape {list(x.shape)} is not (N, {h}, {w}, {c}) pixels, which "
                f"artifact {self.artifact['id']} takes"
            )
        return np.ascontiguousarray(x)

    def _pixels(self, images: list) -> np.ndarray:
        """Images -> uint8 NHWC RGB after seedge.preprocess's geometry only (decode, resize, crop)."""
        if not images:
            raise SeedgeError("preprocessing: no images given")
        out = [np.asarray(to_input_pixels(im, self.preprocessing), dtype=np.uint8) for im in images]
        return np.stack([p[..., None] if p.ndim == 2 else p for p in out])

    def _check_tensor(self, x: np.ndarray) -> np.ndarray:
        """A preprocessed tensor: float, (N,) C, H, W of the model's input size, finite."""
        want = ", ".join(map(str, self.input_size))
        if x.dtype.kind != "f":
            hint = (
                "a uint8 array is an image only as HxW or HxWxC; pass a list of them"
                if x.dtype == np.uint8
                else "pass images, or preprocessed float32 NCHW"
            )
            raise SeedgeError(f"input array of dtype {x.dtype} and shape {list(x.shape)} is not a float tensor; {hint}")
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_size or x.shape[0] < 1:
            raise SeedgeError(
                f"input tensor of shape {list(x.shape)} is not (N, {want}); pass images or preprocessed NCHW float32"
            )
        x = np.ascontiguousarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            raise SeedgeError(
                f"input tensor holds {int((~np.isfinite(x)).sum())} NaN/Inf values; "
                f"a model's answer to them means nothing"
            )
        return x

    @api_boundary("Model.predict", quiet=False)
    def predict(self, inputs) -> np.ndarray:
        """Logits (N, num_classes) for a float32 NCHW batch (or one CHW), or for images; an artifact
        with a softmax inside gives probabilities. Large batches run in chunks, as verify runs them."""
        x = self._as_batch(inputs)
        if self._runner is None:
            raise SeedgeError(f"{self.folder}: the model is closed")
        # Each call's width is checked against the class list (as the C++ runtime checks it), so
        # no label is ever read past the list of a folder whose manifest and artifact disagree.
        logits = run_batched(
            self._runner,
            self._runner.input_name,
            x,
            self._batch,
            self._fixed_batch,
            len(self.class_names),
            f"artifact '{self.artifact['id']}'",
        )
        return np.asarray(logits, dtype=np.float32)

    @api_boundary("Model.classify", quiet=False)
    def classify(self, images, top_k: int = 1):
        """Top-k (class_name, probability) pairs: a list for one image, a list of lists for several."""
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
            raise SeedgeError(f"top_k={top_k!r}: give how many classes to return, a whole number of 1 or more")
        single = is_image_like(images) or (isinstance(images, np.ndarray) and images.ndim == 3)
        logits = self.predict(images).astype(np.float64)
        if self.gives_probabilities:  # the softmax ran inside the artifact
            probs = logits
        else:
            with np.errstate(invalid="ignore", over="ignore"):  # Inf logits are refused just below
                z = np.exp(logits - logits.max(axis=1, keepdims=True))
                probs = z / z.sum(axis=1, keepdims=True)
        self._check_finite(probs)
        k = min(int(top_k), probs.shape[1])
        out = []
        for row in probs:
            idx = np.argsort(-row, kind="stable")[:k]
            out.append([(self._class_name(int(i)), float(row[i])) for i in idx])
        return out[0] if single else out

    def _check_finite(self, probs: np.ndarray) -> None:
        """A NaN/Inf answer (a finite input far outside the training range can overflow a layer)
        names no class: refused instead of ranked."""
        bad = ~np.isfinite(probs).all(axis=1)
        if bad.any():
            raise SeedgeError(
                f"artifact '{self.artifact['id']}' gave non-finite outputs (NaN or Inf) for "
                f"{int(bad.sum())} of {len(probs)} inputs; no class can be named (inputs far "
                f"outside the preprocessed range overflow the model)"
            )

    def _class_name(self, i: int) -> str:
        return self.class_names[i] if i < len(self.class_names) else str(i)

    def thresholds(self) -> tuple[dict, str]:
        """(the gates the self-test judges this artifact by, where they come from): those its
        parity record kept at export ("recorded"), else an older manifest's ("manifest (older
        export)") or the defaults ("default (older export)"); a malformed record is a SeedgeError."""
        return recorded_thresholds(self.artifact, self.manifest)

    @api_boundary("Model.self_test", quiet=False)
    def self_test(self, atol: float | None = None) -> dict:
        """Run reference.npz's inputs and compare with the stored eager FP32 logits, judged by
        seedge.verify.parity with the artifact's recorded gates (thresholds()); atol, if given,
        replaces the max-abs-diff bound, and "thresholds_source" says so."""
        path = self.folder / artifacts.REFERENCE
        gates, source = with_overrides(*self.thresholds(), {"max_abs_diff": float(atol)} if atol is not None else None)
        # Read as verify reads it: inside the folder, a regular file, no pickle, size-bounded.
        ref = artifacts.read_reference(self.folder, self.manifest)
        if ref.get("logits") is None:
            raise SeedgeError(f"{path}: reference data has no 'logits' array; re-run `seedge export`")
        x, expected, labels = np.asarray(ref["input"], np.float32), ref["logits"], ref.get("labels")
        if self.takes_pixels and ref.get("pixels") is not None:  # the images `x` was made from
            x = pixels_for(self.artifact, ref["pixels"])
        if self.gives_probabilities:
            from seedge.verify.run import softmax

            expected = softmax(np.asarray(expected, np.float32))
        t0 = time.perf_counter()
        got = self.predict(x)
        seconds = time.perf_counter() - t0
        if got.shape != expected.shape:
            raise SeedgeError(
                f"{path}: stored logits have shape {list(expected.shape)}, the artifact gives "
                f"{list(got.shape)}; re-run `seedge export`"
            )
        metrics = compare(expected, got, labels)
        ok, reason = judge(metrics, gates)
        return {
            "artifact": self.artifact["id"],
            "backend": self.backend,
            "precision": self.precision,
            "device": self.device,
            **metrics,
            "thresholds": gates,
            "thresholds_source": source,
            "passed": ok,
            "reason": reason,
            "seconds": round(seconds, 4),
        }

    # ------------------------------------------------------------------ lifecycle

    def describe(self) -> dict:
        """The artifact and the runner's own description: the same settings `seedge bench` reports."""
        gates, source = self.thresholds()
        return {
            "folder": str(self.folder),
            "artifact": self.artifact["id"],
            "file": self.artifact["file"],
            "backend": self.backend,
            "precision": self.precision,
            "device": self.device,
            "input_size": list(self.input_size),
            "classes": len(self.class_names),
            "runner": self._runner.describe() if self._runner is not None else None,
            # artifacts not chosen because the folder's last `seedge bench` flagged them slow
            "passed_over_as_slow": dict(self.passed_over),
            # how the choice was ordered, and the chosen artifact's p50 then if bench measured it
            "order": dict(self.order),
            # the gates self_test() judges by, and whether the export recorded them
            "thresholds": gates,
            "thresholds_source": source,
        }

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
