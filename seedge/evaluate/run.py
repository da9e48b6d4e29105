"""`seedge evaluate`: a checkpoint's accuracy, macro precision/recall/F1, per-class recall and
confusion matrix on one split of a data source, optionally with Grad-CAM overlays.

Labels are encoded with the checkpoint's class names, so a data label the model was
not trained on is reported (bad input) instead of being silently miscounted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError


def predict(model, x: np.ndarray, batch_size: int = 256, device: str = "cpu") -> np.ndarray:
    """Logits (N, classes) of `model` on preprocessed inputs, in batches."""
    import torch

    model.eval().to(device)
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            out.append(model(torch.from_numpy(x[s:s + batch_size]).to(device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.seedge_cfg.num_classes), np.float32)


def default_out_dir(checkpoint: str | Path, split: str) -> Path:
    """Results sit beside the model they describe: <checkpoint folder>/eval-<split>."""
    from seedge.checkpoint import resolve_source

    return resolve_source(checkpoint).parent / f"eval-{split}"


def evaluate_checkpoint(checkpoint: str | Path, data: str | None = None, split: str = "test",
                        limit: int | None = None, batch_size: int = 256, gradcam: int = 0,
                        out: str | Path | None = None, data_root=None, arch: str | None = None,
                        allow_pickle: bool = False, device: str = "cpu", save_png: bool = True,
                        data_options=None) -> dict:
    """Evaluate; returns the metrics dict (see seedge.evaluate.metrics) plus checkpoint/data facts and the
    files written (confusion-matrix PNG, metrics.json, Grad-CAM PNGs)."""
    from seedge.checkpoint import load_model
    from seedge.data import load_arrays
    from seedge.evaluate.metrics import classification_metrics

    if gradcam < 0:
        raise SeedgeError(f"--gradcam must be 0 or more, got {gradcam}")
    if save_png or gradcam:  # where the results go is checked before the model and data load
        from seedge.artifacts import check_output_location

        check_output_location(Path(out) if out else default_out_dir(checkpoint, split), "--out")
    model, info = load_model(checkpoint, arch=arch, allow_pickle=allow_pickle)
    data, data_options = _data_and_options(checkpoint, info, data, data_options)
    spec = info["preprocess"]
    x, y, names = load_arrays(data, spec, split=split, limit=limit, seed=0, class_names=info["class_names"],
                              root=data_root, progress=True, options=data_options)
    if len(x) == 0:
        raise SeedgeError(f"{data}: the {split} split is empty")
    logits = predict(model, x, batch_size, device)
    result = classification_metrics(y, logits.argmax(1), names)
    result = {"checkpoint": info["source"], "arch": info["arch"], "data": str(data), "split": split, **result}
    files: dict = {}
    if save_png or gradcam:
        out_dir = Path(out) if out else default_out_dir(checkpoint, split)
        out_dir.mkdir(parents=True, exist_ok=True)
        if save_png:
            files["confusion_matrix_png"] = str(save_confusion_png(result["confusion_matrix"], names,
                                                                   out_dir / "confusion_matrix.png",
                                                                   title=f"{info['arch']} on {data} ({split})"))
        if gradcam:
            from seedge.evaluate.gradcam import save_overlays

            model.to("cpu")
            n = min(gradcam, len(x))
            paths = save_overlays(model, x[:n], y[:n], spec, names, out_dir / "gradcam")
            files["gradcam"] = [str(p) for p in paths]
        result["files"] = files
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
        files["metrics_json"] = str(out_dir / "metrics.json")
    result["files"] = files
    return result


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


def save_confusion_png(cm, class_names: list[str], path: Path, title: str = "") -> Path:
    """Confusion matrix heat map with counts (matplotlib Agg canvas; no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    n = len(class_names)
    side = min(14.0, 2.5 + 0.45 * n)
    fig = Figure(figsize=(side, side), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), labels=class_names, rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center")
    ax.set_yticks(range(n), labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    if n <= 30:
        thresh = cm.max() / 2 if cm.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > thresh else "black")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
