"""Grad-CAM (Selvaraju et al.): where in the image the network looked for its answer.

Target layer (default): the last module, in execution order, whose output is a 4-D feature
map of at least MIN_SIDE x MIN_SIDE (7x7, the map of a ResNet's layer4 at 224 px). The last
conv stage before global pooling is often far coarser at a seed's input size -- res_se_net's
last stage at 245x457 is 1x3 pixels, an overlay that says nothing -- so the deepest layer that
still has a usable map is taken; when no layer reaches 7x7 (tiny inputs), the last one with
more than one spatial position. Found by tracing one forward pass, so it works for any family.
`--gradcam-layer MODULE` names another one.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess import denormalize

MIN_SIDE = 7


def feature_maps(model, input_size) -> list[tuple[str, tuple]]:
    """(module name, output shape) of every named module, in the order their forward passes end."""
    import torch

    order: list[tuple[str, tuple]] = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, name=name: order.append((name, _shape(out))))
        for name, m in model.named_modules()
        if name
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            p = next(model.parameters())
            model(torch.zeros((1, *input_size), dtype=p.dtype, device=p.device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return order


def find_target_layer(model, input_size) -> str:
    """Dotted name of the module Grad-CAM should look at (see module docstring)."""
    maps = [(name, shape) for name, shape in feature_maps(model, input_size) if len(shape) == 4]
    big = [name for name, shape in maps if min(shape[2], shape[3]) >= MIN_SIDE]
    spatial = [name for name, shape in maps if shape[2] * shape[3] > 1]
    if not (big or spatial):
        raise SeedgeError(
            f"{getattr(model, 'seedge_arch', 'model')}: no 4-D feature map with spatial extent "
            f"at input {tuple(input_size)}; Grad-CAM needs a convolutional stage"
        )
    return (big or spatial)[-1]


def check_target_layer(model, input_size, name: str) -> str:
    """`name` if it is a module whose output is a 4-D feature map, else a SeedgeError naming some that are."""
    maps = {n: shape for n, shape in feature_maps(model, input_size) if len(shape) == 4}
    if name in maps:
        return name
    arch = getattr(model, "seedge_arch", "the model")
    some = ", ".join(f"{n} ({s[2]}x{s[3]})" for n, s in list(maps.items())[-6:])
    what = "is not a module of" if name not in dict(model.named_modules()) else "has no 4-D feature map output in"
    raise SeedgeError(f"--gradcam-layer {name}: {what} {arch}; layers with feature maps end with: {some}")


def _shape(out) -> tuple:
    return tuple(out.shape) if hasattr(out, "shape") else ()


def gradcam(model, x: np.ndarray, target_layer: str | None = None, classes=None) -> tuple[np.ndarray, np.ndarray]:
    """Heat maps (N, H, W) in [0, 1] at input resolution, and the class each map explains
    (`classes`, default: the predicted class). x: float32 NCHW, preprocessed."""
    import torch
    import torch.nn.functional as F

    model.eval()
    name = target_layer or find_target_layer(model, x.shape[1:])
    layer = dict(model.named_modules())[name]
    store = {}

    def hook(mod, inp, out):
        store["act"] = out
        out.register_hook(lambda g: store.__setitem__("grad", g))
        return out.clone()  # later in-place ops (ReLU(inplace)) must not touch the saved activation

    handle = layer.register_forward_hook(hook)
    try:
        p = next(model.parameters())
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(p.device, p.dtype)
        with torch.enable_grad():
            logits = model(xt)
            target = logits.argmax(1) if classes is None else torch.as_tensor(np.asarray(classes), device=p.device)
            model.zero_grad(set_to_none=True)
            logits.gather(1, target.view(-1, 1)).sum().backward()
    finally:
        handle.remove()
    act, grad = store["act"].detach(), store["grad"].detach()
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]
    flat = cam.flatten(1)
    lo, hi = flat.min(1).values.view(-1, 1, 1), flat.max(1).values.view(-1, 1, 1)
    cam = (cam - lo) / (hi - lo).clamp_min(1e-12)
    model.zero_grad(set_to_none=True)
    return cam.cpu().numpy(), target.cpu().numpy()


def save_overlays(
    model,
    x: np.ndarray,
    y: np.ndarray,
    pred: np.ndarray,
    spec,
    class_names: list[str],
    out_dir: Path,
    target_layer: str | None = None,
    explain=None,
    batch: int = 8,
) -> list[Path]:
    """One PNG per image: the input and its Grad-CAM overlay side by side, named
    `gradcam_<i>_true-<class>_pred-<class>.png`. The map explains `explain` (class indices, one per
    image) or, by default, the predicted class. Returns the paths."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layer = target_layer or find_target_layer(model, x.shape[1:])
    targets = np.asarray(pred if explain is None else explain, dtype=np.int64)
    cams = (
        np.concatenate(
            [gradcam(model, x[s : s + batch], layer, targets[s : s + batch])[0] for s in range(0, len(x), batch)]
        )
        if len(x)
        else np.zeros((0, *x.shape[2:]))
    )
    jet = colormaps["jet"]
    paths = []
    for i in range(len(x)):
        img = denormalize(x[i], spec)
        overlay = np.clip(0.55 * img + 0.45 * jet(cams[i])[:, :, :3], 0, 1)
        true, said, why = (class_names[int(v)] for v in (y[i], pred[i], targets[i]))
        fig = Figure(figsize=(6, 3.2), dpi=100)
        FigureCanvasAgg(fig)
        for k, (panel, title) in enumerate(
            ((img, f"true: {true}"), (overlay, f"pred: {said}  (Grad-CAM of {why} at {layer})"))
        ):
            ax = fig.add_subplot(1, 2, k + 1)
            ax.imshow(panel, interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        fig.tight_layout()
        path = out_dir / f"gradcam_{i:03d}_true-{_file_part(true)}_pred-{_file_part(said)}.png"
        fig.savefig(path)
        paths.append(path)
    return paths


def pick_images(y: np.ndarray, per_class: int, class_index: int | None = None) -> np.ndarray:
    """Indices of the first `per_class` images of each class (or of `class_index` only), class by class."""
    y = np.asarray(y)
    classes = [class_index] if class_index is not None else sorted(set(y.tolist()))
    return np.array([i for c in classes for i in np.flatnonzero(y == c)[:per_class]], dtype=np.int64)


def _file_part(name: str) -> str:
    """A class name made safe for a file name (letters, digits, . _ - kept)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:40] or "class"
