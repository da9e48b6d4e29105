"""`seedge evaluate`: a checkpoint's accuracy, macro and weighted precision/recall/F1, per-class
table, one-vs-rest ROC-AUC, confusion matrix and ROC curves on one split of a data source,
optionally with Grad-CAM overlays (N images per class, or of one class; any layer).

Labels are encoded with the checkpoint's class names, so a data label the model was
not trained on is reported (bad input) instead of being silently miscounted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError
from seedge.evaluate.plots import save_confusion_png, save_roc_png

__all__ = ["default_out_dir", "evaluate_checkpoint", "predict", "save_confusion_png", "save_roc_png"]


def predict(model, x: np.ndarray, batch_size: int = 256, device: str = "cpu") -> np.ndarray:
    """Logits (N, classes) of `model` on preprocessed inputs, in batches."""
    import torch

    model.eval().to(device)
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            out.append(model(torch.from_numpy(x[s : s + batch_size]).to(device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.seedge_cfg.num_classes), np.float32)


def default_out_dir(checkpoint: str | Path, split: str) -> Path:
    """Results sit beside the model they describe: <checkpoint folder>/eval-<split>."""
    from seedge.checkpoint import resolve_source

    return resolve_source(checkpoint).parent / f"eval-{split}"


def evaluate_checkpoint(
    checkpoint: str | Path,
    data: str | None = None,
    split: str = "test",
    limit: int | None = None,
    batch_size: int = 256,
    gradcam: int = 0,
    out: str | Path | None = None,
    data_root=None,
    arch: str | None = None,
    allow_pickle: bool = False,
    device: str = "cpu",
    save_png: bool = True,
    data_options=None,
    gradcam_class: str | None = None,
    gradcam_layer: str | None = None,
    say: Callable[[str], None] | None = None,
    class_names=None,
    preprocessing=None,
) -> dict:
    """Evaluate; returns the metrics dict (see seedge.evaluate.metrics) plus checkpoint/data facts and the
    files written (confusion-matrix and ROC PNGs, metrics.json, Grad-CAM PNGs).

    gradcam: overlays for the first N images of each class (of `gradcam_class` only, explaining that
    class, when given; else explaining the predicted class). gradcam_layer: the module to look at
    (default: seedge.evaluate.gradcam.find_target_layer). say: gets the one-line data description.
    class_names: the model's classes in output order, for a checkpoint that does not record them.
    preprocessing: the normalization stated (seedge.preprocess.stated; a user model needs it).
    """
    from seedge.checkpoint import load_model
    from seedge.data import load_split_arrays, open_source
    from seedge.preprocess.stated import stated_preprocess

    if gradcam < 0:
        raise SeedgeError(f"--gradcam must be 0 or more, got {gradcam}")
    if save_png or gradcam:  # where the results go is checked before the model and data load
        from seedge.publishing import check_output_location

        check_output_location(Path(out) if out else default_out_dir(checkpoint, split), "--out")
    model, info = load_model(checkpoint, arch=arch, allow_pickle=allow_pickle, class_names=class_names)
    spec = stated_preprocess(info, preprocessing)  # a user model's normalization is stated, never assumed
    names = list(info["class_names"])
    explain_class = _class_index(gradcam_class, names)
    layer = _gradcam_layer(model, spec, gradcam_layer) if gradcam else None
    data, data_options = _data_and_options(checkpoint, info, data, data_options)
    source = open_source(data, root=data_root, class_names=names, options=data_options)
    notes = source.notes_line(data)
    if say and notes:
        say(notes)
    samples = source.split(split).limit(limit, 0)
    if len(samples) == 0:
        raise SeedgeError(f"{data}: the {split} split is empty")
    x, y = load_split_arrays(samples, spec, progress=True), samples.labels.copy()
    logits = predict(model, x, batch_size, device)
    result, curves, pred = _scored(logits, y, names, info, data, split)
    files: dict = {}
    if save_png or gradcam:
        out_dir = Path(out) if out else default_out_dir(checkpoint, split)
        out_dir.mkdir(parents=True, exist_ok=True)
        title = f"{info['arch']} on {data} ({split})"
        if save_png:
            files.update(_save_plots(result, curves, names, out_dir, title))
        if gradcam:
            files["gradcam"] = _save_gradcam(
                result, model, x, y, pred, spec, names, out_dir, layer, gradcam, gradcam_class, explain_class
            )
        result["files"] = files
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
        files["metrics_json"] = str(out_dir / "metrics.json")
    result["files"] = files
    return result


def _scored(logits: np.ndarray, y: np.ndarray, names: list[str], info: dict, data, split: str):
    """The metrics of `logits` against labels `y`, headed by the checkpoint/data facts:
    (result, ROC curves, predicted classes)."""
    from seedge.evaluate.metrics import classification_metrics

    probs = _softmax(logits)
    pred = logits.argmax(1)
    result = classification_metrics(y, pred, names, scores=probs)
    curves = result.pop("roc_curves")
    result = {
        "checkpoint": info["source"],
        "arch": info["arch"],
        "data": str(data),
        "split": split,
        **result,
        "roc_curves": curves,
    }
    return result, curves, pred


def _save_plots(result: dict, curves, names: list[str], out_dir: Path, title: str) -> dict:
    """The confusion-matrix PNG and, when there are ROC curves, the ROC PNG: {file key: path}."""
    files = {
        "confusion_matrix_png": str(
            save_confusion_png(result["confusion_matrix"], names, out_dir / "confusion_matrix.png", title=title)
        )
    }
    if curves:
        aucs = {c["class"]: c["auc"] for c in result["per_class"] if c.get("auc") is not None}
        files["roc_png"] = str(save_roc_png(curves, aucs, out_dir / "roc.png", title=title))
    return files


def _save_gradcam(
    result: dict, model, x, y, pred, spec, names, out_dir: Path, layer, gradcam: int, gradcam_class, explain_class
) -> list[str]:
    """Grad-CAM overlays for the first `gradcam` images of each class; records the settings in `result`."""
    from seedge.evaluate.gradcam import pick_images, save_overlays

    model.to("cpu")
    idx = pick_images(y, gradcam, explain_class)
    explain = None if explain_class is None else np.full(len(idx), explain_class)
    paths = save_overlays(model, x[idx], y[idx], pred[idx], spec, names, out_dir / "gradcam", layer, explain)
    result["gradcam"] = {
        "layer": layer,
        "class": gradcam_class,
        "per_class": gradcam,
        "explains": gradcam_class or "the predicted class",
    }
    return [str(p) for p in paths]


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _class_index(name: str | None, names: list[str]) -> int | None:
    if name is None:
        return None
    if name not in names:
        raise SeedgeError(
            f"--gradcam-class {name!r}: not one of the model's classes "
            f"({', '.join(names[:20])}{', ...' if len(names) > 20 else ''})"
        )
    return names.index(name)


def _gradcam_layer(model, spec, name: str | None) -> str:
    """The Grad-CAM layer, checked (one forward pass on zeros) before any image is decoded."""
    from seedge.evaluate.gradcam import check_target_layer, find_target_layer

    size = tuple(spec.input_size)
    return check_target_layer(model, size, name) if name else find_target_layer(model, size)


def _data_and_options(checkpoint, info: dict, data, options):
    """The data to evaluate on (default: the training data the checkpoint records) and how to read
    it: the given SourceOptions over the training run's own (same columns, same split fractions),
    so the test split is the one training held out."""
    from seedge.checkpoint import read_sidecar, resolve_source
    from seedge.data import SourceOptions

    training = (read_sidecar(resolve_source(checkpoint)) or {}).get("training") or {}
    if data is None:
        data = training.get("data")
        if not data:
            raise SeedgeError(f"{info['source']}: the checkpoint does not record its training data; pass --data SRC")
    if str(data) == str(training.get("data")):
        options = (options or SourceOptions()).merged_over(SourceOptions.from_dict(training.get("data_options")))
    return data, options
